"""historical_fixes rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FixRow:
    id: int
    commit_hash: str
    subject: str
    category: str
    error_text: str | None
    files: tuple[str, ...]
    symbols: tuple[tuple[str, str], ...]
    words: str
    similarity_hash: str
    fixed_at: int


_COLS = (
    "id, commit_hash, subject, category, error_text, files, symbols, words, "
    "similarity_hash, fixed_at"
)


def _row(r: Any) -> FixRow:
    return FixRow(
        int(r[0]),
        r[1],
        r[2],
        r[3],
        r[4],
        tuple(json.loads(r[5])),
        tuple(tuple(x) for x in json.loads(r[6])),
        r[7],
        r[8],
        int(r[9]),
    )


def insert_fixes(conn: Any, project_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
    """rows: (commit_id, hash, subject, message, category, error_text, files JSON,
    issue_refs JSON, words, similarity_hash, fixed_at)."""
    conn.executemany(
        "INSERT OR IGNORE INTO historical_fixes(project_id, commit_id, commit_hash, subject, "
        "message, category, error_text, files, issue_refs, words, similarity_hash, fixed_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        ((project_id, *r) for r in rows),
    )


def all_fixes(conn: Any, project_id: int) -> list[FixRow]:
    return [
        _row(r)
        for r in conn.execute(
            f"SELECT {_COLS} FROM historical_fixes WHERE project_id = ?", (project_id,)
        )
    ]


def fixes_for_file(conn: Any, project_id: int, path: str, limit: int = 50) -> list[FixRow]:
    """Fixes whose commit touched this file (under any of its names), newest first."""
    return [
        _row(r)
        for r in conn.execute(
            f"SELECT {', '.join('h.' + c.strip() for c in _COLS.split(','))} "
            "FROM git_commit_files f JOIN historical_fixes h ON h.commit_id = f.commit_id "
            "WHERE f.project_id = ? AND f.canonical_path = ? "
            "ORDER BY h.fixed_at DESC, h.id LIMIT ?",
            (project_id, path, limit),
        )
    ]


def pending_symbols(conn: Any, project_id: int) -> list[tuple[int, str]]:
    return [
        (int(r[0]), r[1])
        for r in conn.execute(
            "SELECT id, commit_hash FROM historical_fixes WHERE project_id = ? "
            "AND symbols_done = 0 ORDER BY id",
            (project_id,),
        )
    ]


def set_symbols(conn: Any, updates: Iterable[tuple[str, int]]) -> None:
    conn.executemany(
        "UPDATE historical_fixes SET symbols = ?, symbols_done = 1 WHERE id = ?", updates
    )


def set_symbols_by_hash(conn: Any, project_id: int, updates: Iterable[tuple[str, str]]) -> None:
    """updates: (symbols JSON, commit hash)."""
    conn.executemany(
        "UPDATE historical_fixes SET symbols = ?, symbols_done = 1 WHERE project_id = ? "
        "AND commit_hash = ?",
        ((js, project_id, h) for js, h in updates),
    )


def fix_file_paths(conn: Any, project_id: int) -> dict[str, dict[str, str]]:
    """fix commit hash -> {path in that commit: canonical path}."""
    out: dict[str, dict[str, str]] = {}
    for h, p, cp in conn.execute(
        "SELECT h.commit_hash, f.file_path, f.canonical_path FROM historical_fixes h "
        "JOIN git_commit_files f ON f.commit_id = h.commit_id WHERE h.project_id = ?",
        (project_id,),
    ):
        out.setdefault(h, {})[p] = cp
    return out


def refresh_files(conn: Any, project_id: int, paths: Iterable[str]) -> None:
    """Rewrite the file lists of fixes touching ``paths`` with current canonical names."""
    ids: set[int] = set()
    for p in paths:
        ids.update(
            int(r[0])
            for r in conn.execute(
                "SELECT h.id FROM git_commit_files f JOIN historical_fixes h ON h.commit_id = "
                "f.commit_id WHERE f.project_id = ? AND f.canonical_path = ?",
                (project_id, p),
            )
        )
    for fid in ids:
        files = sorted(
            {
                r[0]
                for r in conn.execute(
                    "SELECT f.canonical_path FROM historical_fixes h JOIN git_commit_files f ON "
                    "f.commit_id = h.commit_id WHERE h.id = ?",
                    (fid,),
                )
            }
        )
        conn.execute(
            "UPDATE historical_fixes SET files = ? WHERE id = ?",
            (json.dumps(files, ensure_ascii=False), fid),
        )


def fix_count(conn: Any, project_id: int) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM historical_fixes WHERE project_id = ?", (project_id,)
        ).fetchone()[0]
    )
