"""historical_fixes rows."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection


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


def insert_fixes(conn: Connection, project_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
    """rows: (commit_id, hash, subject, message, category, error_text, files JSON,
    issue_refs JSON, words, similarity_hash, fixed_at)."""
    conn.executemany(
        "INSERT OR IGNORE INTO historical_fixes(project_id, commit_id, commit_hash, subject, "
        "message, category, error_text, files, issue_refs, words, similarity_hash, fixed_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        ((project_id, *r) for r in rows),
    )
    terms = [
        (project_id, kind, term, project_id, r[1])
        for r in rows
        for kind, term in [("word", w) for w in r[8].split()]
        + [("file", f) for f in json.loads(r[6])]
    ]
    conn.executemany(_INSERT_TERM, terms)


# A fix's words and files (migration 027), by commit hash: what ranking looks up.
_INSERT_TERM = (
    "INSERT OR IGNORE INTO historical_fix_terms(project_id, kind, term, fix_id) "
    "SELECT ?, ?, ?, id FROM historical_fixes WHERE project_id = ? AND commit_hash = ?"
)


def best_fixes(
    conn: Connection,
    project_id: int,
    words: Collection[str],
    files: Collection[str],
    similarity_hash: str,
    limit: int,
) -> list[FixRow]:
    """The ``limit`` fixes scoring best against an error's words, files and similarity
    hash, by the score of ``git.fixes.score_fix`` computed here over the fixes sharing a
    term with it (a fix sharing none scores below the cut-off and is never read)."""
    terms = [("word", w) for w in words] + [("file", f) for f in files]
    if len(terms) > 900:  # SQLite's variable limit: an error this long ranks by its start
        terms = terms[:900]
    match = " OR ".join("(kind = ? AND term = ?)" for _ in terms) or "0"
    rows = conn.execute(
        f"""
        WITH hits(fix_id, w, f) AS (
            SELECT fix_id, SUM(kind = 'word'), SUM(kind = 'file') FROM historical_fix_terms
            WHERE project_id = ? AND ({match}) GROUP BY fix_id
            UNION ALL
            SELECT id, 0, 0 FROM historical_fixes WHERE project_id = ? AND similarity_hash = ?
        ), scored AS (
            SELECT h.id, h.fixed_at, h.commit_hash, CASE WHEN h.similarity_hash = ? THEN 1.0
                ELSE 0.2 + 0.15 * (CAST(x.f AS REAL) / ?) + 0.65 * (CASE WHEN u > 0
                    THEN CAST(x.w AS REAL) / u ELSE 0.0 END) END AS s
            FROM (SELECT hits.*, (SELECT COUNT(*) FROM historical_fix_terms t
                                  WHERE t.fix_id = hits.fix_id AND t.kind = 'word') + ? - w AS u
                  FROM hits) x
            JOIN historical_fixes h ON h.id = x.fix_id
        )
        SELECT {_COLS} FROM historical_fixes WHERE id IN (
            SELECT id FROM scored WHERE s >= 0.3 - 1e-9
            ORDER BY s DESC, fixed_at DESC, commit_hash LIMIT ?)
        """,
        (
            project_id,
            *(x for t in terms for x in t),
            project_id,
            similarity_hash,
            similarity_hash,
            max(1, len(files)),
            len(words),
            limit,
        ),
    ).fetchall()
    return [_row(r) for r in rows]


def fixes_by_id(conn: Connection, project_id: int, ids: Sequence[int]) -> list[FixRow]:
    """The project's fixes among ``ids`` (the vector store's neighbours of an error)."""
    out: list[FixRow] = []
    ids = list(ids)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        out.extend(
            _row(r)
            for r in conn.execute(
                f"SELECT {_COLS} FROM historical_fixes WHERE project_id = ?"
                f" AND id IN ({','.join('?' * len(chunk))})",
                (project_id, *chunk),
            )
        )
    return out


def all_fixes(conn: Connection, project_id: int) -> list[FixRow]:
    return [
        _row(r)
        for r in conn.execute(
            f"SELECT {_COLS} FROM historical_fixes WHERE project_id = ?", (project_id,)
        )
    ]


def fixes_for_file(conn: Connection, project_id: int, path: str, limit: int = 50) -> list[FixRow]:
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


def pending_symbols(conn: Connection, project_id: int) -> list[tuple[int, str]]:
    return [
        (int(r[0]), r[1])
        for r in conn.execute(
            "SELECT id, commit_hash FROM historical_fixes WHERE project_id = ? "
            "AND symbols_done = 0 ORDER BY id",
            (project_id,),
        )
    ]


def set_symbols(conn: Connection, updates: Iterable[tuple[str, int]]) -> None:
    """updates: (symbols JSON [[path, name], ...], fix id)."""
    updates = list(updates)
    conn.executemany(
        "UPDATE historical_fixes SET symbols = ?, symbols_done = 1 WHERE id = ?", updates
    )
    conn.executemany(
        "INSERT OR IGNORE INTO historical_fix_symbols(fix_id, project_id, file_path, name) "
        "SELECT id, project_id, ?, ? FROM historical_fixes WHERE id = ?",
        ((p, n, fid) for js, fid in updates for p, n in json.loads(js)),
    )


def rename_paths(conn: Connection, project_id: int, renames: dict[str, str]) -> None:
    """Symbols recorded under an older file name move to the file's current name."""
    touched: set[int] = set()
    for old, new in renames.items():
        touched.update(
            int(r[0])
            for r in conn.execute(
                "SELECT fix_id FROM historical_fix_symbols WHERE project_id = ? AND file_path = ?",
                (project_id, old),
            )
        )
        conn.execute(
            "UPDATE OR REPLACE historical_fix_symbols SET file_path = ? WHERE project_id = ? "
            "AND file_path = ?",
            (new, project_id, old),
        )
    for fid in touched:
        syms = [
            [r[0], r[1]]
            for r in conn.execute(
                "SELECT file_path, name FROM historical_fix_symbols WHERE fix_id = ? "
                "ORDER BY file_path, name",
                (fid,),
            )
        ]
        conn.execute(
            "UPDATE historical_fixes SET symbols = ? WHERE id = ?",
            (json.dumps(syms, ensure_ascii=False), fid),
        )


@dataclass(frozen=True)
class FixBrief:
    commit_hash: str
    subject: str
    fixed_at: int


def fixes_for_symbol(
    conn: Connection, project_id: int, path: str, name: str, limit: int
) -> list[FixBrief]:
    """Fixes that touched the definition ``name`` in ``path``, newest first."""
    return [
        FixBrief(r[0], r[1], int(r[2]))
        for r in conn.execute(
            "SELECT h.commit_hash, h.subject, h.fixed_at FROM historical_fix_symbols s "
            "JOIN historical_fixes h ON h.id = s.fix_id WHERE s.project_id = ? AND "
            "s.file_path = ? AND s.name = ? ORDER BY h.fixed_at DESC, h.id LIMIT ?",
            (project_id, path, name, limit),
        )
    ]


def recent_fixes_for_file(
    conn: Connection, project_id: int, path: str, limit: int
) -> list[FixBrief]:
    """Fixes whose commit touched the file (under any of its names), newest first."""
    return [
        FixBrief(r[0], r[1], int(r[2]))
        for r in conn.execute(
            "SELECT h.commit_hash, h.subject, h.fixed_at FROM git_commit_files f "
            "JOIN historical_fixes h ON h.commit_id = f.commit_id WHERE f.project_id = ? "
            "AND f.canonical_path = ? ORDER BY h.fixed_at DESC, h.id LIMIT ?",
            (project_id, path, limit),
        )
    ]


def fix_file_paths(conn: Connection, fix_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """fix id -> {path in that commit: canonical path}."""
    out: dict[int, dict[str, str]] = {}
    ids = list(fix_ids)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        q = ",".join("?" * len(part))
        for fid, p, cp in conn.execute(
            "SELECT h.id, f.file_path, f.canonical_path FROM historical_fixes h "
            f"JOIN git_commit_files f ON f.commit_id = h.commit_id WHERE h.id IN ({q})",
            part,
        ):
            out.setdefault(int(fid), {})[p] = cp
    return out


def refresh_files(conn: Connection, project_id: int, paths: Iterable[str]) -> None:
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
        conn.execute("DELETE FROM historical_fix_terms WHERE fix_id = ? AND kind = 'file'", (fid,))
        conn.executemany(
            "INSERT OR IGNORE INTO historical_fix_terms(project_id, kind, term, fix_id) "
            "VALUES (?, 'file', ?, ?)",
            ((project_id, f, fid) for f in files),
        )
