"""file_cochange_patterns: each file's kept partners (one row per direction)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from mira_ls.store.connection import Connection


class _PatternLike(Protocol):
    """git.cochange.Pattern as the store reads it (read-only: that dataclass is frozen)."""

    @property
    def file(self) -> str: ...
    @property
    def partner(self) -> str: ...
    @property
    def shared(self) -> int: ...
    @property
    def commits(self) -> int: ...
    @property
    def partner_commits(self) -> int: ...
    @property
    def jaccard(self) -> float: ...
    @property
    def dice(self) -> float: ...
    @property
    def last_at(self) -> int: ...


@dataclass(frozen=True)
class PartnerRow:
    path: str
    shared: int
    commits: int
    partner_commits: int
    jaccard: float  # c/(a+b-c)
    dice: float  # 2c/(a+b), code-maat's degree c/mean(a, b)
    last_at: int | None

    @property
    def confidence(self) -> float:
        """Directional confidence c/a (of this file's commits, the share that changed the
        partner): the measure partners are ranked and judged by."""
        return min(self.shared / self.commits, 1.0) if self.commits else 0.0

    @property
    def reverse_confidence(self) -> float:
        """c/b: of the partner's commits, the share that changed this file."""
        return min(self.shared / self.partner_commits, 1.0) if self.partner_commits else 0.0


def _rows(project_id: int, patterns: Iterable[_PatternLike], now: int) -> Iterable[tuple]:
    rank = 0
    current = None
    for p in patterns:
        if p.file != current:
            current, rank = p.file, 0
        rank += 1
        yield (
            project_id,
            p.file,
            p.partner,
            p.shared,
            p.commits,
            p.partner_commits,
            p.jaccard,
            p.dice,
            p.last_at,
            rank,
            now,
        )


def insert_patterns(
    conn: Connection, project_id: int, patterns: Iterable[_PatternLike], now: int
) -> None:
    """Insert partner rows; patterns of one file must be consecutive, strongest first."""
    conn.executemany(
        # The confidence column holds Jaccard (migration 003); c/a is computed from c and a.
        "INSERT INTO file_cochange_patterns(project_id, file_a, file_b, shared_commits, "
        "commits_a, commits_b, confidence, dice, last_changed_together, rank, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        _rows(project_id, patterns, now),
    )


def delete_all(conn: Connection, project_id: int) -> None:
    conn.execute("DELETE FROM file_cochange_patterns WHERE project_id = ?", (project_id,))


def delete_for(conn: Connection, project_id: int, files: Iterable[str]) -> None:
    """Drop the stored partner lists of these files."""
    fs = list(files)
    for i in range(0, len(fs), 400):
        part = fs[i : i + 400]
        q = ",".join("?" * len(part))
        conn.execute(
            f"DELETE FROM file_cochange_patterns WHERE project_id = ? AND file_a IN ({q})",
            (project_id, *part),
        )


def files_listing(conn: Connection, project_id: int, partners: Iterable[str]) -> set[str]:
    """Files whose stored lists name any of ``partners``."""
    out: set[str] = set()
    ps = list(partners)
    for i in range(0, len(ps), 400):
        part = ps[i : i + 400]
        q = ",".join("?" * len(part))
        out.update(
            r[0]
            for r in conn.execute(
                f"SELECT DISTINCT file_a FROM file_cochange_patterns WHERE project_id = ? "
                f"AND file_b IN ({q})",
                (project_id, *part),
            )
        )
    return out


def partners(
    conn: Connection, project_id: int, path: str, limit: int | None = None
) -> list[PartnerRow]:
    """The stored partners of ``path``, strongest first."""
    sql = (
        "SELECT file_b, shared_commits, commits_a, commits_b, confidence, dice, "
        "last_changed_together FROM file_cochange_patterns WHERE project_id = ? AND file_a = ? "
        "ORDER BY rank"
    )
    args: tuple[Any, ...] = (project_id, path)
    if limit is not None:
        sql += " LIMIT ?"
        args = (*args, limit)
    return [
        PartnerRow(r[0], int(r[1]), int(r[2]), int(r[3]), float(r[4]), float(r[5]), r[6])
        for r in conn.execute(sql, args)
    ]


def strong_partners(
    conn: Connection,
    project_id: int,
    path: str,
    min_confidence: float,
    min_shared: int,
    max_partner_commits: int | None = None,
) -> list[PartnerRow]:
    """Partners with enough shared commits and confidence c/a; with
    ``max_partner_commits``, partners that change in more commits than that (a changelog
    every commit touches) are left out."""
    return [
        p
        for p in partners(conn, project_id, path)
        if p.confidence >= min_confidence
        and p.shared >= min_shared
        and (max_partner_commits is None or p.partner_commits <= max_partner_commits)
    ]


def all_patterns(conn: Connection, project_id: int) -> list[tuple[Any, ...]]:
    """Every stored row (for comparing two runs)."""
    return [
        tuple(r)
        for r in conn.execute(
            "SELECT file_a, file_b, shared_commits, commits_a, commits_b, round(confidence, 9), "
            "round(dice, 9), last_changed_together, rank FROM file_cochange_patterns "
            "WHERE project_id = ? ORDER BY file_a, rank",
            (project_id,),
        )
    ]
