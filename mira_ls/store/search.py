"""The keyword index's SQL (migration 016): FTS5 rows for symbols and commits, BM25 queries.

Rows hold text already prepared by ``mira_ls.search.terms`` (identifiers split); the store
only writes and ranks it. A symbol's row is removed by a trigger when its code_elements row
goes, so every delete path (a file removed, a project dropped) keeps the index exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection

# BM25 column weights: a hit in the name counts most, then the qualified name, signature,
# docstring, path and body (columns in the table's order).
SYMBOL_WEIGHTS = (10.0, 5.0, 1.5, 3.0, 2.0, 1.0)
COMMIT_WEIGHTS = (4.0, 1.0, 1.5)

SymbolText = tuple[int, str, str, str, str, str, str]
"""(code_elements.id, name, qualified_name, path, signature, docstring, body)."""


def insert_symbol_rows(conn: Connection, rows: Sequence[SymbolText]) -> None:
    conn.executemany(
        "INSERT INTO search_symbols(rowid, name, qualified_name, path, signature, docstring,"
        " body) VALUES (?,?,?,?,?,?,?)",
        rows,
    )


def replace_symbol_rows(conn: Connection, rows: Sequence[SymbolText]) -> None:
    """A symbol's text changed: its one row is rewritten."""
    conn.executemany("DELETE FROM search_symbols WHERE rowid = ?", [(r[0],) for r in rows])
    insert_symbol_rows(conn, rows)


def differing_rows(conn: Connection, rows: Sequence[SymbolText]) -> list[SymbolText]:
    """The rows whose stored text differs from ``rows`` (or that have none stored)."""
    stored: dict[int, tuple[Any, ...]] = {}
    ids = [r[0] for r in rows]
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for r in conn.execute(
            "SELECT rowid, name, qualified_name, path, signature, docstring, body"
            f" FROM search_symbols WHERE rowid IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            stored[int(r[0])] = tuple(r)
    return [r for r in rows if stored.get(r[0]) != tuple(r)]


def rename_symbol_rows(conn: Connection, file_id: int, expand: Callable[[str | None], str]) -> None:
    """A file moved: its rows take the new path and qualified names (bodies unchanged)."""
    rows = conn.execute(
        "SELECT id, qualified_name, file_path FROM code_elements WHERE file_id = ?", (file_id,)
    ).fetchall()
    conn.executemany(
        "UPDATE search_symbols SET qualified_name = ?, path = ? WHERE rowid = ?",
        [(expand(qn), expand(path), sid) for sid, qn, path in rows],
    )


# --------------------------------------------------------------------------- backfill


def needs_backfill(conn: Connection, project_id: int) -> bool:
    """Whether symbols indexed before the keyword index existed still lack rows."""
    r = conn.execute(
        "SELECT symbols_backfill FROM search_state WHERE project_id = ?", (project_id,)
    ).fetchone()
    return bool(r and r[0])


def files_missing_rows(conn: Connection, project_id: int) -> list[tuple[int, str]]:
    """(file_id, path) of the project's files with a symbol that has no search row."""
    return [
        (int(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT DISTINCT e.file_id, e.file_path FROM code_elements e WHERE e.project_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM search_symbols s WHERE s.rowid = e.id)"
            " ORDER BY e.file_path",
            (project_id,),
        ).fetchall()
    ]


def symbols_of_file(conn: Connection, file_id: int) -> list[tuple[Any, ...]]:
    """(id, qualified_name, kind, ordinal, has_row) of a file's symbols."""
    return conn.execute(
        "SELECT e.id, e.qualified_name, e.kind, e.ordinal,"
        " EXISTS (SELECT 1 FROM search_symbols s WHERE s.rowid = e.id)"
        " FROM code_elements e WHERE e.file_id = ?",
        (file_id,),
    ).fetchall()


def set_backfilled(conn: Connection, project_id: int) -> None:
    conn.execute(
        "INSERT INTO search_state(project_id, symbols_backfill) VALUES (?, 0)"
        " ON CONFLICT(project_id) DO UPDATE SET symbols_backfill = 0",
        (project_id,),
    )


# ---------------------------------------------------------------------------- commits


def commits_upto(conn: Connection, project_id: int) -> int:
    r = conn.execute(
        "SELECT commits_upto FROM search_state WHERE project_id = ?", (project_id,)
    ).fetchone()
    return int(r[0]) if r else 0


def max_commit_id(conn: Connection, project_id: int) -> int:
    r = conn.execute(
        "SELECT coalesce(max(id), 0) FROM git_commits WHERE project_id = ?", (project_id,)
    ).fetchone()
    return int(r[0])


def commits_after(
    conn: Connection, project_id: int, after_id: int
) -> list[tuple[int, str, str, str]]:
    """(id, subject, message, files joined by newlines) of commits not yet in the index."""
    return [
        (int(r[0]), r[1], r[2], r[3] or "")
        for r in conn.execute(
            "SELECT c.id, c.subject, c.message,"
            " (SELECT group_concat(f.file_path, char(10)) FROM git_commit_files f"
            "  WHERE f.commit_id = c.id)"
            " FROM git_commits c WHERE c.project_id = ? AND c.id > ? ORDER BY c.id",
            (project_id, after_id),
        ).fetchall()
    ]


def insert_commit_rows(
    conn: Connection, project_id: int, rows: Sequence[tuple[int, str, str, str]], upto: int
) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO search_commits(rowid, subject, message, files) VALUES (?,?,?,?)",
        rows,
    )
    conn.execute(
        "INSERT INTO search_state(project_id, commits_upto) VALUES (?, ?)"
        " ON CONFLICT(project_id) DO UPDATE SET commits_upto = excluded.commits_upto",
        (project_id, upto),
    )


# ---------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class SymbolHit:
    id: int
    project_id: int
    path: str
    qualified_name: str
    name: str
    kind: str
    language: str
    line: int  # the name's line (1-based), where an editor puts the cursor
    col: int  # 0-based code points
    end_line: int
    signature: str | None
    bm25: float  # FTS5's bm25(): lower is better; 0.0 for exact-name hits found by name


@dataclass(frozen=True)
class CommitHit:
    id: int
    project_id: int
    commit_hash: str
    subject: str
    authored_at: int
    author_name: str
    files: list[str]
    bm25: float


_SYMBOL_COLS = (
    "e.id, e.project_id, e.file_path, e.qualified_name, e.name, e.kind, e.language,"
    " e.name_line, e.name_col, e.end_line, e.signature"
)


def _hit(r: Any, bm25: float) -> SymbolHit:
    return SymbolHit(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], bm25)


def _filters(
    project_ids: Sequence[int] | None, kinds: Sequence[str] | None, path_like: str | None
) -> tuple[str, list[Any]]:
    sql = ""
    args: list[Any] = []
    if project_ids is not None:
        sql += f" AND e.project_id IN ({','.join('?' * len(project_ids))})"
        args.extend(project_ids)
    if kinds:
        sql += f" AND e.kind IN ({','.join('?' * len(kinds))})"
        args.extend(kinds)
    if path_like:
        sql += " AND e.file_path GLOB ?"
        args.append(path_like)
    return sql, args


def match_symbols(
    conn: Connection,
    match: str,
    *,
    project_ids: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    path_glob: str | None = None,
    limit: int = 50,
) -> list[SymbolHit]:
    """Symbols matching an FTS5 expression, best BM25 first."""
    where, args = _filters(project_ids, kinds, path_glob)
    w = ", ".join(str(x) for x in SYMBOL_WEIGHTS)
    rows = conn.execute(
        f"SELECT {_SYMBOL_COLS}, s.score FROM"
        f" (SELECT rowid, bm25(search_symbols, {w}) AS score FROM search_symbols"
        "  WHERE search_symbols MATCH ?) s JOIN code_elements e ON e.id = s.rowid"
        f" WHERE 1 = 1{where} ORDER BY s.score, e.id LIMIT ?",
        (match, *args, limit),
    ).fetchall()
    return [_hit(r, float(r[11])) for r in rows]


def symbols_named(
    conn: Connection,
    name: str,
    *,
    project_ids: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    path_glob: str | None = None,
    limit: int = 20,
) -> list[SymbolHit]:
    """Symbols whose name (any case) or qualified name is exactly ``name``."""
    where, args = _filters(project_ids, kinds, path_glob)
    qualified = name.replace("::", ".")
    last = qualified.rsplit(".", 1)[-1]
    if qualified != last:
        where += " AND (e.qualified_name = ? OR e.qualified_name LIKE ? ESCAPE '\\')"
        args.extend([qualified, "%." + _like_escape(qualified)])
    rows = conn.execute(
        f"SELECT {_SYMBOL_COLS} FROM code_elements e WHERE e.name = ? COLLATE NOCASE{where}"
        " ORDER BY e.name <> ?, e.kind = 'module', e.file_path GLOB '*test*',"
        " e.file_path, e.name_line LIMIT ?",
        (last, *args, last, limit),
    ).fetchall()
    return [_hit(r, 0.0) for r in rows]


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def match_commits(
    conn: Connection,
    match: str,
    *,
    project_ids: Sequence[int] | None = None,
    limit: int = 50,
) -> list[CommitHit]:
    """Commits matching an FTS5 expression, best BM25 first (merges and bot commits too:
    their messages are still history a person may look for)."""
    where = ""
    args: list[Any] = []
    if project_ids is not None:
        where = f" AND c.project_id IN ({','.join('?' * len(project_ids))})"
        args.extend(project_ids)
    w = ", ".join(str(x) for x in COMMIT_WEIGHTS)
    rows = conn.execute(
        "SELECT c.id, c.project_id, c.commit_hash, c.subject, c.authored_at, c.author_name,"
        " (SELECT group_concat(f.file_path, char(10)) FROM git_commit_files f"
        "  WHERE f.commit_id = c.id), s.score FROM"
        f" (SELECT rowid, bm25(search_commits, {w}) AS score FROM search_commits"
        "  WHERE search_commits MATCH ?) s JOIN git_commits c ON c.id = s.rowid"
        f" WHERE 1 = 1{where} ORDER BY s.score, c.authored_at DESC LIMIT ?",
        (match, *args, limit),
    ).fetchall()
    return [
        CommitHit(
            r[0], r[1], r[2], r[3], r[4], r[5], [f for f in (r[6] or "").split("\n") if f], r[7]
        )
        for r in rows
    ]


def counts(conn: Connection) -> dict[str, int]:
    """How many rows the keyword index holds (for db status and tests)."""
    sym = int(conn.execute("SELECT count(*) FROM search_symbols").fetchone()[0])
    com = int(conn.execute("SELECT count(*) FROM search_commits").fetchone()[0])
    return {"symbols": sym, "commits": com}


def commits_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, CommitHit]:
    """git_commits id -> its hit (bm25 0: found by the vector ranking)."""
    out: dict[int, CommitHit] = {}
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        for r in conn.execute(
            "SELECT c.id, c.project_id, c.commit_hash, c.subject, c.authored_at, c.author_name,"
            " (SELECT group_concat(f.file_path, char(10)) FROM git_commit_files f"
            "  WHERE f.commit_id = c.id) FROM git_commits c"
            f" WHERE c.id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            out[int(r[0])] = CommitHit(
                r[0], r[1], r[2], r[3], r[4], r[5], [f for f in (r[6] or "").split("\n") if f], 0.0
            )
    return out


def symbols_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, SymbolHit]:
    out: dict[int, SymbolHit] = {}
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        for r in conn.execute(
            f"SELECT {_SYMBOL_COLS} FROM code_elements e"
            f" WHERE e.id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            out[int(r[0])] = _hit(r, 0.0)
    return out
