"""author_expertise and path_fragmentation rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from mira_ls.store.connection import Connection


class _ExpertLike(Protocol):
    """git.expertise.Expert as the store reads it (read-only: that dataclass is frozen)."""

    @property
    def author(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def commits(self) -> int: ...
    @property
    def lines_added(self) -> int: ...
    @property
    def lines_deleted(self) -> int: ...
    @property
    def last_at(self) -> int: ...
    @property
    def score(self) -> float: ...
    @property
    def share(self) -> float: ...


def insert_rows(
    conn: Connection, project_id: int, rows: Iterable[tuple[str, str, _ExpertLike]], now: int
) -> None:
    """rows: (scope, path, expert)."""
    conn.executemany(
        "INSERT INTO author_expertise(project_id, scope, path, author_name, author_email, "
        "commits, lines_added, lines_deleted, last_commit_at, score, ownership_share, "
        "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            (
                project_id,
                scope,
                path,
                e.author,
                e.email,
                e.commits,
                e.lines_added,
                e.lines_deleted,
                e.last_at,
                e.score,
                e.share,
                now,
            )
            for scope, path, e in rows
        ),
    )


def insert_fragmentation(
    conn: Connection, project_id: int, rows: Iterable[tuple[str, str, int, float]]
) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO path_fragmentation(project_id, scope, path, authors, "
        "fragmentation) VALUES (?,?,?,?,?)",
        ((project_id, s, p, n, f) for s, p, n, f in rows),
    )


def delete_all(conn: Connection, project_id: int) -> None:
    conn.execute("DELETE FROM author_expertise WHERE project_id = ?", (project_id,))
    conn.execute("DELETE FROM path_fragmentation WHERE project_id = ?", (project_id,))


def delete_scope(conn: Connection, project_id: int, scope: str) -> None:
    conn.execute(
        "DELETE FROM author_expertise WHERE project_id = ? AND scope = ?", (project_id, scope)
    )
    conn.execute(
        "DELETE FROM path_fragmentation WHERE project_id = ? AND scope = ?", (project_id, scope)
    )


def delete_paths(conn: Connection, project_id: int, scope: str, paths: Iterable[str]) -> None:
    for p in paths:
        conn.execute(
            "DELETE FROM author_expertise WHERE project_id = ? AND scope = ? AND path = ?",
            (project_id, scope, p),
        )
        conn.execute(
            "DELETE FROM path_fragmentation WHERE project_id = ? AND scope = ? AND path = ?",
            (project_id, scope, p),
        )


def add_directory(
    conn: Connection,
    project_id: int,
    path: str,
    email: str,
    name: str,
    commits: int,
    added: int,
    deleted: int,
    last_at: int,
) -> None:
    """Add a new commit batch's aggregates to a directory author's row."""
    conn.execute(
        "INSERT INTO author_expertise(project_id, scope, path, author_name, author_email, "
        "commits, lines_added, lines_deleted, last_commit_at, score, ownership_share) "
        "VALUES (?, 'directory', ?, ?, ?, ?, ?, ?, ?, 0, 0) "
        "ON CONFLICT(project_id, scope, path, author_email) DO UPDATE SET "
        "author_name = excluded.author_name, commits = commits + excluded.commits, "
        "lines_added = lines_added + excluded.lines_added, "
        "lines_deleted = lines_deleted + excluded.lines_deleted, "
        "last_commit_at = max(last_commit_at, excluded.last_commit_at)",
        (project_id, path, name, email, commits, added, deleted, last_at),
    )


def rename_author(conn: Connection, project_id: int, email: str, name: str) -> None:
    conn.execute(
        "UPDATE author_expertise SET author_name = ? WHERE project_id = ? AND author_email = ? "
        "AND author_name != ?",
        (name, project_id, email, name),
    )


def aggregates(
    conn: Connection, project_id: int, scope: str, path: str
) -> dict[str, tuple[str, int, int, int, int]]:
    """email -> (name, commits, lines added, lines deleted, last commit at)."""
    return {
        r[0]: (r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]))
        for r in conn.execute(
            "SELECT author_email, author_name, commits, lines_added, lines_deleted, last_commit_at "
            "FROM author_expertise WHERE project_id = ? AND scope = ? AND path = ?",
            (project_id, scope, path),
        )
    }


def fragmentation(conn: Connection, project_id: int, scope: str, path: str) -> float | None:
    r = conn.execute(
        "SELECT fragmentation FROM path_fragmentation WHERE project_id = ? AND scope = ? "
        "AND path = ?",
        (project_id, scope, path),
    ).fetchone()
    return float(r[0]) if r else None


def refresh_scores(conn: Connection, project_id: int, scope: str, path: str, now: int) -> None:
    """Recompute score, share and fragmentation of one path from its stored aggregates
    (same formula as expertise.score, in two statements instead of a row-by-row rewrite)."""
    r = conn.execute(
        "SELECT count(*), max(commits), max(lines_added), sum(lines_added), "
        "sum(lines_added * lines_added) FROM author_expertise WHERE project_id = ? AND "
        "scope = ? AND path = ?",
        (project_id, scope, path),
    ).fetchone()
    n, max_c, max_l, total, squares = (int(x or 0) for x in r)
    if n == 0:
        conn.execute(
            "DELETE FROM path_fragmentation WHERE project_id = ? AND scope = ? AND path = ?",
            (project_id, scope, path),
        )
        return
    conn.execute(
        "UPDATE author_expertise SET "
        "score = min(100.0, max(0.0, "
        "  (CASE WHEN :mc > 0 THEN 40.0 * commits / :mc ELSE 0.0 END) "
        "+ (CASE WHEN :ml > 0 THEN 30.0 * lines_added / :ml ELSE 0.0 END) "
        "+ 30.0 * (365 - min(max(0, (:now - last_commit_at) / 86400), 365)) / 365)), "
        "ownership_share = CASE WHEN :tot > 0 THEN 1.0 * lines_added / :tot ELSE 0.0 END, "
        "updated_at = :now "
        "WHERE project_id = :pid AND scope = :scope AND path = :path",
        {
            "mc": max_c,
            "ml": max_l,
            "now": now,
            "tot": total,
            "pid": project_id,
            "scope": scope,
            "path": path,
        },
    )
    frag = 1.0 - squares / (total * total) if total > 0 else 0.0
    conn.execute(
        "INSERT OR REPLACE INTO path_fragmentation(project_id, scope, path, authors, "
        "fragmentation) VALUES (?,?,?,?,?)",
        (project_id, scope, path, n, max(0.0, min(1.0, frag))),
    )


_SCORE_SQL = (
    "(CASE WHEN m.mc > 0 THEN 40.0 * e.commits / m.mc ELSE 0.0 END) "
    "+ (CASE WHEN m.ml > 0 THEN 30.0 * e.lines_added / m.ml ELSE 0.0 END) "
    "+ 30.0 * (365 - min(max(0, (:now - e.last_commit_at) / 86400), 365)) / 365"
)


def top(
    conn: Connection, project_id: int, scope: str, path: str, now: int, limit: int
) -> list[tuple[str, str, int, int, int, int, float, float]]:
    """The best ``limit`` authors of a path scored against ``now`` in SQL (the hover path:
    a file with a hundred authors costs one query, not a hundred objects).

    Rows: (name, email, commits, lines added, lines deleted, last commit, score, share).
    """
    return [
        (r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]), float(r[6]), float(r[7]))
        for r in conn.execute(
            "WITH m AS (SELECT max(commits) AS mc, max(lines_added) AS ml, "
            "sum(lines_added) AS tot FROM author_expertise WHERE project_id = :p AND "
            "scope = :s AND path = :path) "
            "SELECT e.author_name, e.author_email, e.commits, e.lines_added, e.lines_deleted, "
            f"e.last_commit_at, min(100.0, max(0.0, {_SCORE_SQL})) AS sc, "
            "CASE WHEN m.tot > 0 THEN 1.0 * e.lines_added / m.tot ELSE 0.0 END "
            "FROM author_expertise e, m WHERE e.project_id = :p AND e.scope = :s AND "
            "e.path = :path ORDER BY sc DESC, e.commits DESC, e.author_email LIMIT :n",
            {"p": project_id, "s": scope, "path": path, "now": now, "n": limit},
        )
    ]
