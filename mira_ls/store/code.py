"""Queries over code_elements, call_graph and repository_files (the code index)."""

from __future__ import annotations

import bisect
import json
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from mira_ls.paths import raw_path, text_path
from mira_ls.store.connection import Connection

SYMBOL_COLS = (
    "id, project_id, file_path, language, kind, name, qualified_name, ordinal, parent_id, "
    "start_line, start_col, end_line, end_col, name_line, name_col, signature, docstring, "
    "content_hash, signature_hash, complexity"
)


@dataclass(frozen=True)
class SymbolRow:
    """A stored symbol. Lines are 1-based inclusive; columns 0-based code points."""

    id: int
    project_id: int
    file_path: str
    language: str
    kind: str
    name: str
    qualified_name: str
    ordinal: int
    parent_id: int | None
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    name_line: int
    name_col: int
    signature: str | None
    docstring: str | None
    content_hash: str
    signature_hash: str
    complexity: int


# A file's symbols are found through its id (the identity index leads with file_id).
_FILE_ID = "file_id = (SELECT id FROM repository_files WHERE project_id = ? AND file_path = ?)"


def symbol_from_row(r: Any) -> SymbolRow:
    return SymbolRow(*r)


def get_symbol(conn: Connection, symbol_id: int) -> SymbolRow | None:
    r = conn.execute(
        f"SELECT {SYMBOL_COLS} FROM code_elements WHERE id = ?", (symbol_id,)
    ).fetchone()
    return symbol_from_row(r) if r else None


def find_symbol(
    conn: Connection,
    project_id: int,
    file_path: str,
    qualified_name: str,
    kind: str,
    ordinal: int = 0,
) -> SymbolRow | None:
    """Look a symbol up by its identity (file, qualified name, kind, ordinal)."""
    r = conn.execute(
        f"SELECT {SYMBOL_COLS} FROM code_elements WHERE {_FILE_ID} "
        "AND qualified_name = ? AND kind = ? AND ordinal = ?",
        (project_id, file_path, qualified_name, kind, ordinal),
    ).fetchone()
    return symbol_from_row(r) if r else None


def symbols_in_file(conn: Connection, project_id: int, file_path: str) -> list[SymbolRow]:
    rows = conn.execute(
        f"SELECT {SYMBOL_COLS} FROM code_elements WHERE {_FILE_ID} ORDER BY start_line, start_col",
        (project_id, file_path),
    ).fetchall()
    return [symbol_from_row(r) for r in rows]


# --- files -----------------------------------------------------------------------------

FILE_COLS = (
    "id, project_id, file_path, content_hash, language, size_bytes, line_count, mtime_ns, "
    "status, error, parse_errors"
)


@dataclass(frozen=True)
class FileRow:
    id: int
    project_id: int
    file_path: str
    content_hash: str
    language: str | None
    size_bytes: int
    line_count: int
    mtime_ns: int | None
    status: str
    error: str | None
    parse_errors: int


def get_file(conn: Connection, project_id: int, file_path: str) -> FileRow | None:
    """``file_path`` as the file system gives it (a name that is not UTF-8 included)."""
    r = conn.execute(
        f"SELECT {FILE_COLS} FROM repository_files WHERE project_id = ? AND file_path = ?",
        (project_id, text_path(file_path)),
    ).fetchone()
    return FileRow(*r) if r else None


def files_of_project(conn: Connection, project_id: int) -> dict[str, FileRow]:
    """The project's files by their name as the file system gives it (the exact bytes of a
    name that is not UTF-8 come back from raw_path)."""
    rows = conn.execute(
        f"SELECT {FILE_COLS}, raw_path FROM repository_files WHERE project_id = ?",
        (project_id,),
    ).fetchall()
    return {
        (os.fsdecode(bytes(r[-1])) if r[-1] is not None else r[2]): FileRow(*r[:-1]) for r in rows
    }


def upsert_file(
    conn: Connection,
    project_id: int,
    file_path: str,
    *,
    content_hash: str,
    language: str | None,
    size_bytes: int,
    line_count: int,
    mtime_ns: int | None,
    status: str,
    error: str | None,
    parse_errors: int,
    at: int,
    non_ascii_lines: str | None = None,
) -> int:
    """Insert or update the file row; returns its id (stable across updates).

    ``file_path`` as the file system gives it: a name that is not UTF-8 is stored escaped
    in file_path (paths.text_path) and exactly in raw_path. ``non_ascii_lines``: see
    migration 015 (None: not known)."""
    r = conn.execute(
        "INSERT INTO repository_files(project_id, file_path, content_hash, language, size_bytes,"
        " line_count, mtime_ns, status, error, parse_errors, indexed_at, raw_path,"
        " non_ascii_lines)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT(project_id, file_path) DO UPDATE SET content_hash = excluded.content_hash,"
        " language = excluded.language, size_bytes = excluded.size_bytes,"
        " line_count = excluded.line_count, mtime_ns = excluded.mtime_ns,"
        " status = excluded.status, error = excluded.error,"
        " parse_errors = excluded.parse_errors, indexed_at = excluded.indexed_at,"
        " non_ascii_lines = excluded.non_ascii_lines"
        " WHERE repository_files.raw_path IS excluded.raw_path"
        " RETURNING id",
        (
            project_id,
            text_path(file_path),
            content_hash,
            language,
            size_bytes,
            line_count,
            mtime_ns,
            status,
            error,
            parse_errors,
            at,
            raw_path(file_path),
            non_ascii_lines,
        ),
    ).fetchone()
    if r is None:  # the WHERE above: another name escapes to the same text
        raise ValueError(
            f"its name reads the same as another file's once escaped ({text_path(file_path)})"
        )
    return int(r[0])


def _line_set(value: str | None) -> frozenset[int] | None:
    if value is None:
        return None
    return frozenset(int(n) for n in value.split(",")) if value else frozenset()


def non_ascii_lines_many(
    conn: Connection, project_id: int, file_paths: list[str]
) -> dict[str, frozenset[int]]:
    """non_ascii_lines() of many files at once; files where it is not known are left out."""
    out: dict[str, frozenset[int]] = {}
    for part in _chunks(file_paths):
        marks = ",".join("?" * len(part))
        for path, value in conn.execute(
            "SELECT file_path, non_ascii_lines FROM repository_files WHERE project_id = ?"
            f" AND status = 'indexed' AND file_path IN ({marks})",
            (project_id, *part),
        ):
            known = _line_set(value)
            if known is not None:
                out[path] = known
    return out


def non_ascii_lines(conn: Connection, project_id: int, file_path: str) -> frozenset[int] | None:
    """The 1-based lines of an indexed file that are not ASCII (empty: all are), or None
    when that is not known (no row, or indexed before migration 015)."""
    r = conn.execute(
        "SELECT non_ascii_lines FROM repository_files WHERE project_id = ? AND file_path = ?"
        " AND status = 'indexed'",
        (project_id, file_path),
    ).fetchone()
    return _line_set(r[0]) if r is not None else None


def touch_files(conn: Connection, rows: list[tuple[int, int | None, int]]) -> None:
    """(size_bytes, mtime_ns, file_id): the bytes are unchanged, only the stat moved."""
    conn.executemany("UPDATE repository_files SET size_bytes = ?, mtime_ns = ? WHERE id = ?", rows)


def code_generation(conn: Connection, project_id: int) -> int:
    """Moves whenever one of the project's file rows is written (migration 048)."""
    row = conn.execute(
        "SELECT generation FROM code_generation WHERE project_id = ?", (project_id,)
    ).fetchone()
    return int(row[0]) if row is not None else 0


def delete_file(conn: Connection, file_id: int) -> None:
    """Remove a file row; its symbols, their edges and its imports go with it (cascade)."""
    conn.execute(
        "UPDATE call_graph SET needs_resolution = 1 WHERE callee_id IN "
        "(SELECT id FROM code_elements WHERE file_id = ?)",
        (file_id,),
    )
    conn.execute(
        "DELETE FROM code_elements WHERE file_id = ? AND parent_id IS NOT NULL", (file_id,)
    )
    conn.execute("DELETE FROM code_elements WHERE file_id = ?", (file_id,))
    conn.execute("DELETE FROM repository_files WHERE id = ?", (file_id,))


def rename_file_rows(
    conn: Connection, project_id: int, file_id: int, new_path: str, old_module: str, new_module: str
) -> None:
    """Point a file's rows at its new path; qualified names move to the new module name so
    the next reconcile matches the same rows (ids survive a rename)."""
    conn.execute(
        "DELETE FROM repository_files WHERE project_id = ? AND file_path = ? AND id <> ?",
        (project_id, new_path, file_id),
    )
    conn.execute("UPDATE repository_files SET file_path = ? WHERE id = ?", (new_path, file_id))
    conn.execute(
        "UPDATE code_elements SET file_path = ?, qualified_name = CASE"
        " WHEN qualified_name = ? THEN ?"
        " WHEN substr(qualified_name, 1, ?) = ? THEN ? || substr(qualified_name, ?)"
        " ELSE qualified_name END WHERE file_id = ?",
        (
            new_path,
            old_module,
            new_module,
            len(old_module) + 1,
            old_module + ".",
            new_module,
            len(old_module) + 1,
            file_id,
        ),
    )


def file_path_of(conn: Connection, file_id: int) -> str | None:
    r = conn.execute("SELECT file_path FROM repository_files WHERE id = ?", (file_id,)).fetchone()
    return r[0] if r else None


# --- symbols (writes) ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredKey:
    """What reconciling a file needs of a stored symbol."""

    id: int
    qualified_name: str
    kind: str
    ordinal: int
    parent_id: int | None
    content_hash: str
    signature_hash: str
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    name_line: int
    name_col: int
    name: str


def stored_keys(conn: Connection, file_id: int) -> list[StoredKey]:
    rows = conn.execute(
        "SELECT id, qualified_name, kind, ordinal, parent_id, content_hash, signature_hash,"
        " start_line, start_col, end_line, end_col, name_line, name_col, name"
        " FROM code_elements WHERE file_id = ?",
        (file_id,),
    ).fetchall()
    return [StoredKey(*r) for r in rows]


def next_symbol_id(conn: Connection) -> int:
    """First free id; only valid inside the write transaction that uses it."""
    return int(conn.execute("SELECT coalesce(max(id), 0) + 1 FROM code_elements").fetchone()[0])


# Row order for inserts and full updates.
SYMBOL_WRITE_COLS = (
    "project_id, file_id, file_path, language, kind, name, qualified_name, ordinal, parent_id,"
    " start_line, start_col, end_line, end_col, name_line, name_col, signature, docstring,"
    " content_hash, signature_hash, complexity, nesting, params, updated_at"
)


def insert_symbols(conn: Connection, rows: list[tuple[Any, ...]], *, bulk: bool = False) -> None:
    """Rows are (id, *SYMBOL_WRITE_COLS); ids come from next_symbol_id(). Their names are
    counted into symbol_names here (deletes and renames count out by triggers) and logged
    for the searches that hold names in memory (migration 041): each name, or with ``bulk``
    (a full index) one row per project saying to read them all again."""
    conn.executemany(
        f"INSERT INTO code_elements(id, {SYMBOL_WRITE_COLS}) VALUES "
        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    # workspace/symbol's names: (project_id, name) -> symbols added (r[5] kind, r[6] name)
    added: dict[tuple[int, str], int] = {}
    for r in rows:
        if r[5] != "module":
            key = (r[1], r[6])
            added[key] = added.get(key, 0) + 1
    conn.executemany(
        "INSERT INTO symbol_names(project_id, name, lower, len, symbols, initials, words)"
        " VALUES (?1, ?2, lower(?2), length(?2), ?3, ?4, ?5) ON CONFLICT (project_id, name)"
        " DO UPDATE SET symbols = symbols + excluded.symbols,"
        " initials = coalesce(initials, excluded.initials),"
        " words = coalesce(words, excluded.words)",
        [(pid, name, n, *name_words(name)) for (pid, name), n in added.items()],
    )
    if bulk:
        log: list[tuple[int, str]] = [(pid, "") for pid in {pid for pid, _ in added}]
    else:
        log = list(added)
    conn.executemany(
        "INSERT INTO symbol_names_log(project_id, name, added) VALUES (?, ?, ?)",
        [(pid, name, 2 if bulk else 1) for pid, name in log],
    )


def update_symbols(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Rows are (parent_id, start_line, start_col, end_line, end_col, name_line, name_col,
    signature, docstring, content_hash, signature_hash, complexity, nesting, params,
    updated_at, id)."""
    conn.executemany(
        "UPDATE code_elements SET parent_id = ?, start_line = ?, start_col = ?, end_line = ?,"
        " end_col = ?, name_line = ?, name_col = ?, signature = ?, docstring = ?,"
        " content_hash = ?, signature_hash = ?, complexity = ?, nesting = ?, params = ?,"
        " updated_at = ? WHERE id = ?",
        rows,
    )


def move_symbols(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Rows are (parent_id, start_line, start_col, end_line, end_col, name_line, name_col,
    id): same bytes, new place."""
    conn.executemany(
        "UPDATE code_elements SET parent_id = ?, start_line = ?, start_col = ?, end_line = ?,"
        " end_col = ?, name_line = ?, name_col = ? WHERE id = ?",
        rows,
    )


def delete_symbols(conn: Connection, ids: list[int]) -> list[int]:
    """Delete symbols; edges pointing at them are flagged for re-resolution first (their
    callers' ids are returned)."""
    callers_ = flag_callers_of(conn, ids)
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM code_elements WHERE id IN ({marks})", chunk)
    return callers_


# --- edges (writes) --------------------------------------------------------------------

EDGE_WRITE_COLS = (
    "project_id, caller_id, callee_id, callee_name, receiver, line, col, resolved_by,"
    " needs_resolution, receiver_type, external"
)


def insert_edges(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        f"INSERT INTO call_graph({EDGE_WRITE_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
    )


def delete_edges_from(conn: Connection, caller_ids: list[int]) -> None:
    for chunk in _chunks(caller_ids):
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM call_graph WHERE caller_id IN ({marks})", chunk)


def shift_edges(conn: Connection, rows: list[tuple[int, int]]) -> None:
    """(line delta, caller_id): a symbol moved without changing."""
    conn.executemany("UPDATE call_graph SET line = line + ? WHERE caller_id = ?", rows)


def edges_of_callers(conn: Connection, caller_ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
    """caller id -> [(edge id, callee_name, receiver, line, col, receiver_type)] ordered by
    position."""
    out: dict[int, list[tuple[Any, ...]]] = {}
    for chunk in _chunks(caller_ids):
        marks = ",".join("?" * len(chunk))
        for r in conn.execute(
            "SELECT caller_id, id, callee_name, receiver, line, col, receiver_type FROM call_graph"
            f" WHERE caller_id IN ({marks}) ORDER BY caller_id, line, col",
            chunk,
        ):
            out.setdefault(r[0], []).append(r[1:])
    return out


def set_edge_lines(conn: Connection, rows: list[tuple[int, int]]) -> None:
    """(line, edge id): the call moved with its unchanged surroundings."""
    conn.executemany("UPDATE call_graph SET line = ? WHERE id = ?", rows)


def flag_callers_of(conn: Connection, callee_ids: list[int]) -> list[int]:
    """Mark edges into these symbols for re-resolution; returns the callers' ids."""
    out: list[int] = []
    for chunk in _chunks(callee_ids):
        marks = ",".join("?" * len(chunk))
        out.extend(
            int(r[0])
            for r in conn.execute(
                f"UPDATE call_graph SET needs_resolution = 1 WHERE callee_id IN ({marks})"
                " RETURNING caller_id",
                chunk,
            ).fetchall()
        )
    return out


def flag_unresolved_named(conn: Connection, project_id: int, names: list[str]) -> list[int]:
    """Unresolved edges calling one of these (new) names get another chance; returns the
    callers' ids."""
    out: list[int] = []
    for chunk in _chunks(sorted(set(names))):
        marks = ",".join("?" * len(chunk))
        out.extend(
            int(r[0])
            for r in conn.execute(
                "UPDATE call_graph SET needs_resolution = 1 WHERE project_id = ?"
                f" AND callee_id IS NULL AND callee_name IN ({marks}) AND needs_resolution <> 1"
                " RETURNING caller_id",
                (project_id, *chunk),
            ).fetchall()
        )
    return out


@dataclass(frozen=True)
class PendingEdge:
    id: int
    caller_id: int
    callee_name: str
    receiver: str | None
    line: int
    col: int
    receiver_type: str | None = None


def pending_files(conn: Connection, project_id: int, level: int) -> list[tuple[int, str, str]]:
    """(file_id, file_path, language) of files with edges at this needs_resolution level."""
    rows = conn.execute(
        "SELECT DISTINCT e.file_id, e.file_path, e.language FROM call_graph g"
        " JOIN code_elements e ON e.id = g.caller_id"
        " WHERE g.project_id = ? AND g.needs_resolution = ? ORDER BY e.file_id",
        (project_id, level),
    ).fetchall()
    return [(int(r[0]), r[1], r[2]) for r in rows]


def file_info(conn: Connection, file_ids: list[int]) -> list[tuple[int, str, str]]:
    """(file_id, file_path, language) of these files."""
    out: list[tuple[int, str, str]] = []
    for chunk in _chunks(sorted(set(file_ids))):
        marks = ",".join("?" * len(chunk))
        out.extend(
            (int(r[0]), r[1], r[2])
            for r in conn.execute(
                f"SELECT id, file_path, language FROM repository_files WHERE id IN ({marks})",
                chunk,
            )
        )
    return out


def pending_edges_in_file(conn: Connection, file_id: int, level: int) -> list[PendingEdge]:
    rows = conn.execute(
        "SELECT g.id, g.caller_id, g.callee_name, g.receiver, g.line, g.col, g.receiver_type"
        " FROM call_graph g"
        " WHERE g.caller_id IN (SELECT id FROM code_elements WHERE file_id = ?)"
        " AND g.needs_resolution = ?",
        (file_id, level),
    ).fetchall()
    return [PendingEdge(*r) for r in rows]


def set_edge_resolutions(
    conn: Connection, rows: list[tuple[int | None, str | None, int, str | None, int]]
) -> None:
    """(callee_id, resolved_by, needs_resolution, external module, edge_id)."""
    conn.executemany(
        "UPDATE call_graph SET callee_id = ?, resolved_by = ?, needs_resolution = ?,"
        " external = ? WHERE id = ?",
        rows,
    )


# --- resolution lookups ----------------------------------------------------------------


@dataclass(frozen=True)
class SymbolRef:
    """A compact symbol for resolving names: enough to choose, not to display."""

    id: int
    file_id: int
    file_path: str
    language: str
    kind: str
    name: str
    qualified_name: str
    parent_id: int | None
    parent_kind: str | None
    parent_name: str | None


_REF_SELECT = (
    "SELECT c.id, c.file_id, c.file_path, c.language, c.kind, c.name, c.qualified_name,"
    " c.parent_id,"
    " p.kind, p.name FROM code_elements c LEFT JOIN code_elements p ON p.id = c.parent_id"
)


def refs_by_name(conn: Connection, project_id: int, name: str, limit: int = 500) -> list[SymbolRef]:
    rows = conn.execute(
        f"{_REF_SELECT} WHERE c.project_id = ? AND c.name = ? COLLATE NOCASE LIMIT ?",
        (project_id, name, limit),
    ).fetchall()
    return [SymbolRef(*r) for r in rows if r[5] == name]


def refs_by_qualified(conn: Connection, project_id: int, qualified_name: str) -> list[SymbolRef]:
    rows = conn.execute(
        f"{_REF_SELECT} WHERE c.project_id = ? AND c.qualified_name = ?",
        (project_id, qualified_name),
    ).fetchall()
    return [SymbolRef(*r) for r in rows]


def ref_by_id(conn: Connection, symbol_id: int) -> SymbolRef | None:
    r = conn.execute(f"{_REF_SELECT} WHERE c.id = ?", (symbol_id,)).fetchone()
    return SymbolRef(*r) if r else None


def signature_of(conn: Connection, symbol_id: int) -> str | None:
    """A symbol's display signature (bases of a class, annotations of a function)."""
    r = conn.execute("SELECT signature FROM code_elements WHERE id = ?", (symbol_id,)).fetchone()
    return r[0] if r else None


def is_decorated(conn: Connection, symbol_id: int) -> bool:
    """Whether a symbol's span starts before its name's line (decorators, attributes)."""
    r = conn.execute(
        "SELECT start_line < name_line FROM code_elements WHERE id = ?", (symbol_id,)
    ).fetchone()
    return bool(r and r[0])


def members_named(conn: Connection, class_id: int, name: str) -> list[SymbolRef]:
    """The direct members of a class with this name, in file order."""
    rows = conn.execute(
        f"{_REF_SELECT} WHERE c.parent_id = ? AND c.name = ? ORDER BY c.id", (class_id, name)
    ).fetchall()
    return [SymbolRef(*r) for r in rows]


def names_in_file(conn: Connection, file_id: int) -> set[str]:
    """The names a file defines."""
    return {
        r[0] for r in conn.execute("SELECT name FROM code_elements WHERE file_id = ?", (file_id,))
    }


def scope_rows(conn: Connection, file_id: int) -> list[tuple[int, str, str, str, int | None]]:
    """A file's symbols as (id, kind, name, qualified_name, parent_id), by id: what a
    resolution scope needs (no join for the parent's kind and name)."""
    return conn.execute(
        "SELECT id, kind, name, qualified_name, parent_id FROM code_elements"
        " WHERE file_id = ? ORDER BY id",
        (file_id,),
    ).fetchall()


def refs_in_file(conn: Connection, file_id: int) -> list[SymbolRef]:
    rows = conn.execute(f"{_REF_SELECT} WHERE c.file_id = ?", (file_id,)).fetchall()
    return [SymbolRef(*r) for r in rows]


def symbol_containing_line(
    conn: Connection, project_id: int, file_path: str, line: int
) -> int | None:
    """The innermost symbol of a file whose name is on ``line`` (else that contains it)."""
    r = conn.execute(
        f"SELECT id FROM code_elements WHERE {_FILE_ID} AND name_line = ?"
        " AND kind <> 'module' ORDER BY start_line DESC LIMIT 1",
        (project_id, file_path, line),
    ).fetchone()
    if r:
        return int(r[0])
    r = conn.execute(
        f"SELECT id FROM code_elements WHERE {_FILE_ID} AND start_line <= ?"
        " AND end_line >= ? ORDER BY (end_line - start_line) LIMIT 1",
        (project_id, file_path, line, line),
    ).fetchone()
    return int(r[0]) if r else None


def module_prefix_exists(conn: Connection, project_id: int, prefix: str) -> bool:
    """Some symbol's qualified name starts with ``prefix`` (a package of the project)."""
    r = conn.execute(
        "SELECT 1 FROM code_elements WHERE project_id = ? AND qualified_name >= ?"
        " AND qualified_name < ? LIMIT 1",
        (project_id, prefix, prefix + "\U0010ffff"),
    ).fetchone()
    return r is not None


def module_dirs(conn: Connection, project_id: int, language: str) -> set[str]:
    """Directories holding files of a language (Go packages are directories)."""
    rows = conn.execute(
        "SELECT file_path FROM repository_files WHERE project_id = ? AND language = ?",
        (project_id, language),
    ).fetchall()
    return {r[0].rsplit("/", 1)[0] if "/" in r[0] else "" for r in rows}


def file_exists(conn: Connection, project_id: int, file_path: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM repository_files WHERE project_id = ? AND file_path = ?",
            (project_id, file_path),
        ).fetchone()
        is not None
    )


# --- imports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRow:
    module: str
    name: str | None
    alias: str | None
    line: int


def replace_imports(
    conn: Connection,
    project_id: int,
    file_id: int,
    rows: list[tuple[str, str | None, str | None, int]],
) -> None:
    conn.execute("DELETE FROM code_imports WHERE file_id = ?", (file_id,))
    insert_imports(conn, project_id, file_id, rows)


def insert_import_rows(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Rows are (project_id, file_id, module, name, alias, line)."""
    if rows:
        conn.executemany(
            "INSERT INTO code_imports(project_id, file_id, module, name, alias, line)"
            " VALUES (?,?,?,?,?,?)",
            rows,
        )


def insert_imports(
    conn: Connection,
    project_id: int,
    file_id: int,
    rows: list[tuple[str, str | None, str | None, int]],
) -> None:
    if rows:
        conn.executemany(
            "INSERT INTO code_imports(project_id, file_id, module, name, alias, line)"
            " VALUES (?,?,?,?,?,?)",
            [(project_id, file_id, *r) for r in rows],
        )


def imports_of_file(conn: Connection, file_id: int) -> list[ImportRow]:
    rows = conn.execute(
        "SELECT module, name, alias, line FROM code_imports WHERE file_id = ? ORDER BY line",
        (file_id,),
    ).fetchall()
    return [ImportRow(*r) for r in rows]


def project_imports(
    conn: Connection, project_id: int
) -> list[tuple[str, str, str, str | None, int]]:
    """(file_path, language, module, name, line) of every import in a project."""
    rows = conn.execute(
        "SELECT f.file_path, f.language, i.module, i.name, i.line FROM code_imports i"
        " JOIN repository_files f ON f.id = i.file_id WHERE i.project_id = ?",
        (project_id,),
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


# --- reads for features and the CLI -----------------------------------------------------


@dataclass(frozen=True)
class CallSite:
    """One call: ``symbol`` is the other end (caller for callers(), callee for callees(); None
    when the callee is unresolved); the position is the called name in ``file_path``."""

    symbol: SymbolRow | None
    callee_name: str
    receiver: str | None
    file_path: str
    line: int
    col: int
    resolved_by: str | None
    external: str | None = None  # callees(): the module an unresolved call goes into
    language: str = ""  # callees(): the caller's language
    receiver_type: str | None = None  # callers(): what the parser said the receiver holds


_PREFIXED_COLS = ", ".join(f"s.{c.strip()}" for c in SYMBOL_COLS.split(","))


def callers(conn: Connection, symbol_id: int) -> list[CallSite]:
    rows = conn.execute(
        f"SELECT {_PREFIXED_COLS}, g.callee_name, g.receiver, g.line, g.col, g.resolved_by,"
        " g.receiver_type FROM call_graph g JOIN code_elements s ON s.id = g.caller_id"
        " WHERE g.callee_id = ? ORDER BY s.file_path, g.line, g.col",
        (symbol_id,),
    ).fetchall()
    n = len(SYMBOL_COLS.split(","))
    out = []
    for r in rows:
        s = symbol_from_row(r[:n])
        out.append(
            CallSite(
                s, r[n], r[n + 1], s.file_path, r[n + 2], r[n + 3], r[n + 4],
                receiver_type=r[n + 5],
            )
        )  # fmt: skip
    return out


def callees(conn: Connection, symbol_id: int) -> list[CallSite]:
    rows = conn.execute(
        f"SELECT {_PREFIXED_COLS}, g.callee_name, g.receiver, g.line, g.col, g.resolved_by,"
        " c.file_path, g.external, c.language FROM call_graph g"
        " JOIN code_elements c ON c.id = g.caller_id"
        " LEFT JOIN code_elements s ON s.id = g.callee_id"
        " WHERE g.caller_id = ? ORDER BY g.line, g.col",
        (symbol_id,),
    ).fetchall()
    n = len(SYMBOL_COLS.split(","))
    out = []
    for r in rows:
        s = symbol_from_row(r[:n]) if r[0] is not None else None
        out.append(
            CallSite(s, r[n], r[n + 1], r[n + 5], r[n + 2], r[n + 3], r[n + 4], r[n + 6], r[n + 7])
        )
    return out


def unresolved_kinds(
    conn: Connection, project_id: int
) -> list[tuple[str, str, str | None, str | None, int]]:
    """(language, callee_name, receiver, external, count) of a project's unresolved calls."""
    rows = conn.execute(
        "SELECT c.language, g.callee_name, g.receiver, g.external, count(*) FROM call_graph g"
        " JOIN code_elements c ON c.id = g.caller_id"
        " WHERE g.project_id = ? AND g.callee_id IS NULL GROUP BY 1, 2, 3, 4",
        (project_id,),
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


def callee_rows(conn: Connection, symbol_id: int) -> list[tuple[str, str | None, str | None]]:
    """(callee_name, receiver, external) of the unresolved calls inside a symbol, plus one
    ('', None, None) row per resolved call (counts without loading symbols)."""
    rows = conn.execute(
        "SELECT CASE WHEN callee_id IS NULL THEN callee_name ELSE '' END,"
        " CASE WHEN callee_id IS NULL THEN receiver END,"
        " CASE WHEN callee_id IS NULL THEN external END"
        " FROM call_graph WHERE caller_id = ?",
        (symbol_id,),
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def unresolved_calls_named(
    conn: Connection, project_id: int | None, name: str, limit: int = 200
) -> list[CallSite]:
    """Call sites of a name that no symbol was found for (the caller is ``symbol``)."""
    where = "g.callee_id IS NULL AND g.callee_name = ?"
    params: list[Any] = [name]
    if project_id is not None:
        where = "g.project_id = ? AND " + where
        params.insert(0, project_id)
    rows = conn.execute(
        f"SELECT {_PREFIXED_COLS}, g.callee_name, g.receiver, g.line, g.col, g.resolved_by"
        f" FROM call_graph g JOIN code_elements s ON s.id = g.caller_id WHERE {where}"
        " ORDER BY s.file_path, g.line LIMIT ?",
        (*params, limit),
    ).fetchall()
    n = len(SYMBOL_COLS.split(","))
    out = []
    for r in rows:
        s = symbol_from_row(r[:n])
        out.append(CallSite(s, r[n], r[n + 1], s.file_path, r[n + 2], r[n + 3], r[n + 4]))
    return out


def _edge_counts(conn: Connection, column: str, ids: list[int]) -> dict[int, int]:
    """symbol id -> call_graph rows whose ``column`` (caller_id or callee_id) is that id."""
    out: dict[int, int] = {}
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        for sid, n in conn.execute(
            f"SELECT {column}, count(*) FROM call_graph WHERE {column} IN ({marks})"
            f" GROUP BY {column}",
            chunk,
        ):
            out[int(sid)] = int(n)
    return out


def caller_counts(conn: Connection, ids: list[int]) -> dict[int, int]:
    """symbol id -> number of resolved call sites calling it (ids with none are absent)."""
    return _edge_counts(conn, "callee_id", ids)


def callee_counts(conn: Connection, ids: list[int]) -> dict[int, int]:
    """symbol id -> number of call sites inside it (resolved or not)."""
    return _edge_counts(conn, "caller_id", ids)


def find_by_name(
    conn: Connection, project_id: int | None, name: str, limit: int = 200
) -> list[SymbolRow]:
    """Symbols whose name or qualified name is exactly ``name`` (a dotted suffix also
    matches: 'Command.invoke' finds 'click.core.Command.invoke')."""
    proj = "project_id = ? AND " if project_id is not None else ""
    pp: tuple[Any, ...] = (project_id,) if project_id is not None else ()
    last = name.replace("::", ".").rsplit(".", 1)[-1]
    rows = conn.execute(
        f"SELECT {SYMBOL_COLS} FROM code_elements WHERE {proj}name = ? COLLATE NOCASE"
        " ORDER BY kind = 'module', file_path, start_line LIMIT ?",
        (*pp, last, limit * 5),
    ).fetchall()
    syms = [symbol_from_row(r) for r in rows]
    if "." in name or "::" in name:
        dotted = name.replace("::", ".")
        exact = [s for s in syms if s.qualified_name == dotted]
        suffix = [s for s in syms if s.qualified_name.endswith("." + dotted)]
        out = exact + [s for s in suffix if s not in exact]
        if not out:
            rows = conn.execute(
                f"SELECT {SYMBOL_COLS} FROM code_elements WHERE {proj}qualified_name = ?",
                (*pp, dotted),
            ).fetchall()
            out = [symbol_from_row(r) for r in rows]
        return out[:limit]
    exact_case = [s for s in syms if s.name == name]
    return (exact_case or syms)[:limit]


def index_summary(conn: Connection, project_id: int) -> dict[str, Any]:
    """The ``mira-ls index --json`` shape without ``seconds``."""
    langs: dict[str, dict[str, int]] = {}
    files = 0
    for lang, n in conn.execute(
        "SELECT language, count(*) FROM repository_files WHERE project_id = ?"
        " AND status = 'indexed' GROUP BY language",
        (project_id,),
    ):
        langs[lang or "other"] = {"files": int(n), "symbols": 0}
        files += int(n)
    symbols = 0
    for lang, n in conn.execute(
        "SELECT language, count(*) FROM code_elements WHERE project_id = ? GROUP BY language",
        (project_id,),
    ):
        langs.setdefault(lang, {"files": 0, "symbols": 0})["symbols"] = int(n)
        symbols += int(n)
    edges, resolved = conn.execute(
        "SELECT count(*), count(callee_id) FROM call_graph WHERE project_id = ?", (project_id,)
    ).fetchone()
    return {
        "files": files,
        "symbols": symbols,
        "edges": int(edges),
        "resolved": int(resolved or 0),
        "unresolved": int(edges) - int(resolved or 0),
        "languages": dict(sorted(langs.items())),
    }


def skipped_counts(conn: Connection, project_id: int) -> dict[str, int]:
    return {
        r[0]: int(r[1])
        for r in conn.execute(
            "SELECT status, count(*) FROM repository_files WHERE project_id = ?"
            " AND status <> 'indexed' GROUP BY status",
            (project_id,),
        )
    }


# --- workspace symbol search -----------------------------------------------------------

_WORD_SPLIT = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])|[0-9]+")


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.findall(name)]


def _initials_match(words: list[str], q: str) -> bool:
    """'gcs' / 'getcs' match get_call_sites: q consumes prefixes of consecutive words."""

    def go(wi: int, qi: int) -> bool:
        if qi == len(q):
            return True
        if wi == len(words):
            return False
        w = words[wi]
        k = 0
        while k < len(w) and qi + k < len(q) and w[k] == q[qi + k]:
            k += 1
            if go(wi + 1, qi + k):
                return True
        return False

    return bool(words) and words[0][:1] == q[:1] and go(0, 0)


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The words of a name as symbol_names keeps them: word i after the marker char(0xE000 + i),
# so a GLOB 'M0 p0 * M1 p1 * ...' matches exactly when p0 starts word 0, p1 word 1...: each
# marker occurs once, and words are [a-z0-9] (never a marker nor a GLOB character).
_MARK = 0xE000
_NAME_WORDS = 8  # words kept; an initials pattern of up to _PIECES pieces needs no more
_PIECES = 8  # longer queries (2^(n-1) splits) are checked in Python, over few candidates
_ALNUM = re.compile(r"[a-z0-9]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # lower()


def name_words(name: str) -> tuple[str, str]:
    """(initials, marked words) of a name for symbol_names, from its first 8 words."""
    words = _words(name)[:_NAME_WORDS]
    return "".join(w[0] for w in words), "".join(chr(_MARK + i) + w for i, w in enumerate(words))


def fill_symbol_words(conn: Connection, project_id: int | None = None) -> int:
    """Fill the words of symbol_names rows that have none yet (made by migration 024 or by
    a rename); returns how many. Runs inside the caller's write transaction."""
    proj = "project_id = ? AND " if project_id is not None else ""
    rows = conn.execute(
        f"SELECT project_id, name FROM symbol_names WHERE {proj}words IS NULL",
        (project_id,) if project_id is not None else (),
    ).fetchall()
    conn.executemany(
        "UPDATE symbol_names SET initials = ?, words = ? WHERE project_id = ? AND name = ?",
        [(*name_words(name), pid, name) for pid, name in rows],
    )
    return len(rows)


def _initials_hits(ql: str, proj: str) -> tuple[str, list[Any]]:
    """A compound SELECT of the (project_id, name) whose words ``ql`` (lower case letters
    and digits) matches by initials: one indexed probe per split of ``ql`` into pieces (p0
    starts word 0, p1 word 1...); each probe takes the project parameters, then three."""
    parts: list[str] = []
    args: list[Any] = []
    for cuts in range(1 << (len(ql) - 1)):
        pieces, start = [], 0
        for i in range(1, len(ql)):
            if cuts >> (i - 1) & 1:
                pieces.append(ql[start:i])
                start = i
        pieces.append(ql[start:])
        glob = "".join(chr(_MARK + i) + p + "*" for i, p in enumerate(pieces))
        if len(pieces[0]) > len(pieces):
            # word 0 begins with the first piece: the words start with it after word 0's
            # marker, a range of the words index (migration 041), narrower than the
            # initials' range when the first piece is longer than the initials ('tear' +
            # 'd': not every name of initials 'td...', among them every test_ name)
            first = chr(_MARK) + pieces[0]
            parts.append(
                f"SELECT project_id, name FROM symbol_names WHERE {proj}words >= ?"
                " AND words < ? AND words GLOB ?"
            )
            args += [first, first[:-1] + chr(ord(first[-1]) + 1), glob]
            continue
        # the initials start with the pieces' first letters: a range of that index (+words:
        # not the GLOB's own prefix range, which SQLite would otherwise derive and prefer)
        ini = "".join(p[0] for p in pieces)
        parts.append(
            f"SELECT project_id, name FROM symbol_names WHERE {proj}initials >= ?"
            " AND initials < ? AND +words GLOB ?"
        )
        args += [ini, ini[:-1] + chr(ord(ini[-1]) + 1), glob]
    return " UNION ".join(parts), args


def search_symbols(
    conn: Connection, project_id: int | None, query: str, limit: int = 100
) -> list[SymbolRow]:
    """Workspace symbol search, case-insensitive: exact > prefix > word boundary (after
    ``_ . - $`` or at a camelCase hump, or the words' initials: 'gcs' for get_call_sites) >
    substring > fuzzy subsequence; ties: shorter name first, then the name, then the id;
    modules are never answers. A query with a dot matches qualified names ('core.Command').

    Over symbol_names (the distinct names, their lower case and words kept ready): the
    initials come from one indexed probe per split of the query. An ASCII query in one
    project is ranked over the names held in memory (``_ranked_in_memory``, kept up to date
    from the log of migration 041); otherwise one statement ranks every name that holds the
    query as a subsequence and keeps the best ``limit``. The symbols of those names come
    back in rank order."""
    q = query.strip()
    if not q:
        return []
    if "." in q or "::" in q:
        dotted = q.replace("::", ".")
        last = dotted.rsplit(".", 1)[-1]
        hits = [
            s
            for s in find_by_name(conn, project_id, last, limit=limit * 20)
            if dotted.lower() in s.qualified_name.lower()
        ]
        return hits[:limit]
    if limit <= 0:
        return []
    ql = q.lower()
    if project_id is not None:
        proj, pp = "project_id = ? AND ", [project_id]
    else:
        proj, pp = "project_id IN (SELECT id FROM projects) AND ", []
    esc = [_like_escape(ch) for ch in ql]
    sub = "%" + "".join(esc) + "%"
    seq = "%" + "%".join(esc) + "%" if len(ql) > 1 else sub
    upper = ql[:-1] + chr(ord(ql[-1]) + 1)
    if ql.isascii():
        prefixed = _prefix_answer(conn, proj, pp, ql, upper, limit)
        if prefixed is not None:
            return prefixed
    can_match = len(ql) > 1 and _ALNUM.fullmatch(ql) is not None
    hits_sql, args = "SELECT NULL, NULL WHERE 0", []
    if can_match and len(ql) <= _PIECES:
        hits_sql, probe_args = _initials_hits(ql, proj)
        for i in range(0, len(probe_args), 3):  # each probe: its project, then its three
            args += [*pp, *probe_args[i : i + 3]]
    if can_match and (
        len(ql) > _PIECES
        or conn.execute(
            f"SELECT 1 FROM symbol_names WHERE {proj}words IS NULL LIMIT 1", pp
        ).fetchone()
    ):
        # a query too long to split, or names whose words are not stored yet (a database
        # migrated since the last index run): their candidates are checked here
        cond = "" if len(ql) > _PIECES else "words IS NULL AND "
        found = [
            [pid, name]
            for pid, name in conn.execute(
                f"SELECT project_id, name FROM symbol_names WHERE {proj}{cond}"
                "name LIKE ? ESCAPE '\\'",
                (*pp, seq),
            )
            if _initials_match(_words(name), ql)
        ]
        hits_sql += (
            " UNION SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
            " FROM json_each(?)"
        )
        args.append(json.dumps(found))
    if ql.isascii() and project_id is not None:
        in_memory = _ranked_in_memory(conn, project_id, q, hits_sql, args, limit)
        if in_memory is not None:
            return in_memory
    camel = q[:1].upper() + q[1:]
    # Exact, prefix and word-boundary matches all hold ql as a substring of lower (camel too
    # when its lower case is ql), so a name without it is an initials match or fuzzy: most
    # names are decided by the first test.
    short = (
        "  WHEN NOT instr(lower, ?) THEN CASE WHEN (project_id, name) IN hits THEN 2 ELSE 4 END"
        if camel.translate(_ASCII_LOWER) == ql
        else "  WHEN 0 AND ? THEN NULL"
    )
    sql = (
        f"WITH hits(project_id, name) AS ({hits_sql}),"
        f" ranked AS (SELECT project_id, name, len, CASE {short}"
        "  WHEN lower = ? THEN 0"
        "  WHEN name >= ? COLLATE NOCASE AND name < ? COLLATE NOCASE THEN 1"
        "  WHEN instr(lower, '_' || ?) OR instr(lower, '.' || ?) OR instr(lower, '-' || ?)"
        "   OR instr(lower, '$' || ?) OR instr(substr(name, 2), ?) THEN 2"
        "  WHEN (project_id, name) IN hits AND (NOT instr(lower, ?)"
        "   OR (? AND name >= ? COLLATE NOCASE AND name < ? COLLATE NOCASE)) THEN 2"
        "  WHEN instr(lower, ?) THEN 3 ELSE 4 END AS r"
        f"  FROM symbol_names WHERE {proj}name LIKE ? ESCAPE '\\'"
        "  ORDER BY r, len, name LIMIT ?)"
        f" SELECT {', '.join('e.' + c.strip() for c in SYMBOL_COLS.split(','))}"
        " FROM ranked JOIN code_elements e ON e.project_id = ranked.project_id"
        " AND e.name = ranked.name COLLATE NOCASE AND e.name = ranked.name"
        " WHERE e.kind <> 'module' ORDER BY ranked.r, ranked.len, ranked.name, e.id LIMIT ?"
    )
    args += [ql, ql, ql, upper, ql, ql, ql, ql, camel, ql, len(ql) > 1]
    args += [ql[0], ql[0] + chr(0x10FFFF), ql, *pp, seq, limit, limit]
    return [symbol_from_row(r) for r in conn.execute(sql, args)]


class _NameList:
    """A project's symbol_names in (length, name) order, as one string of their lower cases
    (each after a newline) that ``str.find`` and a compiled pattern scan at C speed, and
    what changed since it was read (``extra``: names come since, ``gone``: positions of
    names gone since), brought up to date from symbol_names_log (migration 041)."""

    def __init__(self, seq: int | None, names: list[str], lows: list[str]) -> None:
        self.seq = seq  # the last row of the log applied
        self.names = names
        self.lows = lows
        self.text = "\n" + "\n".join(lows) + "\n"
        self.starts: list[int] = []  # where each lower case begins in text
        at = 1
        for lo in lows:
            self.starts.append(at)
            at += len(lo) + 1
        self.index = {n: i for i, n in enumerate(names)}
        self.extra: dict[str, str] = {}  # name -> its lower case, as SQLite's lower()
        self.gone: set[int] = set()

    def apply(self, changes: list[tuple[int, str, int]]) -> None:
        """Copies, then swapped in: a search in another thread keeps iterating its own."""
        extra, gone, last = dict(self.extra), set(self.gone), self.seq
        for seq, name, added in changes:
            i = self.index.get(name)
            if added:
                if i is None:
                    extra[name] = name.translate(_ASCII_LOWER)
                else:
                    gone.discard(i)
            elif i is None:
                extra.pop(name, None)
            else:
                gone.add(i)
            last = seq
        self.extra, self.gone, self.seq = extra, gone, last


# (database file, project) -> its names; a few databases per process at most (tests open
# many: the oldest are dropped)
_name_lists: OrderedDict[tuple[str | int, int], _NameList] = OrderedDict()
_NAME_LISTS_KEPT = 8
_CHANGES_APPLIED = 2000  # more changes since the names were read: read them again


def _name_list(conn: Connection, project_id: int) -> _NameList | None:
    """The project's names, brought up to date by the log rows since they were read (one
    indexed probe when nothing changed), or read again after many changes; None when a name
    holds a newline (the string could not tell names apart)."""
    (last,) = conn.execute(
        "SELECT max(seq) FROM symbol_names_log WHERE project_id = ?", (project_id,)
    ).fetchone()
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    key = (path or id(conn), project_id)  # an in-memory database has no file name
    nl = _name_lists.get(key)
    if nl is not None and (nl.seq == last or last is None):
        return nl
    if nl is not None and nl.seq is not None and last > nl.seq:
        pruned = conn.execute(
            "SELECT below FROM symbol_names_log_pruned WHERE project_id = ?", (project_id,)
        ).fetchone()
        if pruned is None or nl.seq + 1 >= pruned[0]:
            changes = conn.execute(
                "SELECT seq, name, added FROM symbol_names_log WHERE project_id = ?"
                " AND seq > ? ORDER BY seq LIMIT ?",
                (project_id, nl.seq, _CHANGES_APPLIED + 1),
            ).fetchall()
            if len(changes) <= _CHANGES_APPLIED and all(a != 2 for _, _, a in changes):
                nl.apply(changes)
                return nl
    if last is None:  # no change logged for the project yet: what comes next follows this
        (last,) = conn.execute("SELECT max(seq) FROM symbol_names_log").fetchone()
    # the names, then the log rows after ``last`` at the next search: a change between the
    # two reads is applied again, which changes nothing
    rows = conn.execute(
        "SELECT name, lower FROM symbol_names WHERE project_id = ? ORDER BY len, name",
        (project_id,),
    ).fetchall()
    lows = [lo for _, lo in rows]
    if any("\n" in lo for lo in lows):
        return None
    nl = _name_lists[key] = _NameList(last, [n for n, _ in rows], lows)
    while len(_name_lists) > _NAME_LISTS_KEPT:
        _name_lists.popitem(last=False)
    return nl


def hold_symbol_names(conn: Connection, project_id: int) -> None:
    """Read a project's names into memory for the searches to come (any thread: they are
    held per database file)."""
    _name_list(conn, project_id)


def prune_symbol_names_log(conn: Connection, project_id: int, keep: int = 10000) -> None:
    """Drop a project's log rows but the last ``keep`` (at least one: a project whose log
    is empty has had no change since the names were read), and record below what seq they
    are gone (a process behind that reads the names again). In the caller's write
    transaction."""
    keep = max(keep, 1)
    r = conn.execute(
        "SELECT seq FROM symbol_names_log WHERE project_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
        (project_id, keep),
    ).fetchone()
    if r is None:
        return
    below = int(r[0]) + 1
    conn.execute(
        "DELETE FROM symbol_names_log WHERE project_id = ? AND seq < ?", (project_id, below)
    )
    conn.execute(
        "INSERT INTO symbol_names_log_pruned(project_id, below) VALUES (?, ?)"
        " ON CONFLICT (project_id) DO UPDATE SET below = excluded.below",
        (project_id, below),
    )


def _ranked_in_memory(
    conn: Connection,
    project_id: int,
    q: str,
    hits_sql: str,
    hits_args: list[Any],
    limit: int,
) -> list[SymbolRow] | None:
    """The ranking of ``search_symbols`` for an ASCII query, over the names held in memory
    (``_name_list``) instead of a scan that ranks every name holding the query as a
    subsequence: a name that holds neither the query (every exact, prefix, word-boundary
    and substring match does) nor its initials is a fuzzy match, rank 4, the last. So the
    names holding it (``str.find``) and the initials matches (the same indexed probes) are
    ranked, and only when they do not fill the answer are fuzzy matches looked for, in
    (length, name) order, stopping as soon as the answer is full. The same answers as the
    statement (tests/test_symbol_search_equivalence.py). None: no name list."""
    nl = _name_list(conn, project_id)
    if nl is None:
        return None
    ql = q.lower()
    camel = q[:1].upper() + q[1:]
    text, starts, lows, names, gone, extra = (
        nl.text,
        nl.starts,
        nl.lows,
        nl.names,
        nl.gone,
        nl.extra,
    )
    hit_names = {name for pid, name in conn.execute(hits_sql, hits_args) if pid == project_id}
    held: list[tuple[str, str]] = []  # (name, lower)
    at = text.find(ql, 1)
    while at >= 0:
        i = bisect.bisect_right(starts, at) - 1
        if i not in gone:
            held.append((names[i], lows[i]))
        at = text.find(ql, starts[i] + len(lows[i]) + 1)
    held += [(name, lo) for name, lo in extra.items() if ql in lo]
    boundary = ("_" + ql, "." + ql, "-" + ql, "$" + ql)
    first, first_end = ql[0], ql[0] + chr(0x10FFFF)
    ranked: list[tuple[int, int, str]] = []
    for name, lo in held:
        if lo == ql:
            r = 0
        elif lo.startswith(ql):
            r = 1
        elif (
            any(b in lo for b in boundary)
            or camel in name[1:]
            or (name in hit_names and len(ql) > 1 and first <= lo < first_end)
        ):
            r = 2
        else:
            r = 3
        ranked.append((r, len(name), name))
    taken = {name for name, _ in held}
    ranked += [(2, len(name), name) for name in hit_names if name not in taken]
    taken |= hit_names
    ranked.sort()
    order = [name for _, _, name in ranked[:limit]]
    need = limit - len(order)
    if need > 0:
        # the first letter, then each next one at its first occurrence (no backtracking:
        # the earliest occurrences are the best), then the rest of the line: each matching
        # name is one match
        pattern = re.compile(
            re.escape(ql[0])
            + "".join(f"[^\n{re.escape(c)}]*{re.escape(c)}" for c in ql[1:])
            + "[^\n]*"
        )
        fuzzy: list[str] = []
        for m in pattern.finditer(text):
            i = bisect.bisect_right(starts, m.start()) - 1
            if i not in gone and names[i] not in taken:
                fuzzy.append(names[i])
                if len(fuzzy) == need:
                    break
        more = [n for n, lo in extra.items() if n not in taken and pattern.search(lo)]
        if more:
            fuzzy = sorted(fuzzy + more, key=lambda n: (len(n), n))[:need]
        order += fuzzy
    if not order:
        return []
    cols = ", ".join("e." + c.strip() for c in SYMBOL_COLS.split(","))
    return [
        symbol_from_row(r)
        for r in conn.execute(
            f"WITH ranked(k, name) AS (SELECT key, value FROM json_each(?)) SELECT {cols}"
            " FROM ranked JOIN code_elements e ON e.project_id = ?"
            " AND e.name = ranked.name COLLATE NOCASE AND e.name = ranked.name"
            " WHERE e.kind <> 'module' ORDER BY ranked.k, e.id LIMIT ?",
            (json.dumps(order), project_id, limit),
        )
    ]


def _prefix_answer(
    conn: Connection, proj: str, pp: list[Any], ql: str, upper: str, limit: int
) -> list[SymbolRow] | None:
    """The answer when at least ``limit`` names begin with the query (ASCII): exact and
    prefix matches outrank every other kind, so they are the whole answer, in the same
    order, read through the NOCASE index (migration 028) instead of ranking every name
    that holds the query as a subsequence. None when they do not fill it."""
    bounds = [*pp, ql, upper]
    where = f"{proj}name >= ? COLLATE NOCASE AND name < ? COLLATE NOCASE"
    (n,) = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM symbol_names WHERE {where} LIMIT ?)",
        (*bounds, limit),
    ).fetchone()
    if n < limit:
        return None
    sql = (
        "WITH ranked AS (SELECT project_id, name, len, CASE WHEN lower = ? THEN 0 ELSE 1 END"
        f" AS r FROM symbol_names WHERE {where} ORDER BY r, len, name LIMIT ?)"
        f" SELECT {', '.join('e.' + c.strip() for c in SYMBOL_COLS.split(','))}"
        " FROM ranked JOIN code_elements e ON e.project_id = ranked.project_id"
        " AND e.name = ranked.name COLLATE NOCASE AND e.name = ranked.name"
        " WHERE e.kind <> 'module' ORDER BY ranked.r, ranked.len, ranked.name, e.id LIMIT ?"
    )
    return [symbol_from_row(r) for r in conn.execute(sql, (ql, *bounds, limit, limit))]


def _chunks(items: list[Any], size: int = 500) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def callee_split(conn: Connection, symbol_id: int) -> tuple[int, int]:
    """(resolved, unresolved) call sites inside a symbol."""
    r = conn.execute(
        "SELECT count(callee_id), count(*) - count(callee_id) FROM call_graph WHERE caller_id = ?",
        (symbol_id,),
    ).fetchone()
    return int(r[0] or 0), int(r[1] or 0)


def file_ids_of_symbols(conn: Connection, symbol_ids: list[int]) -> set[int]:
    out: set[int] = set()
    for chunk in _chunks(sorted(set(symbol_ids))):
        marks = ",".join("?" * len(chunk))
        out.update(
            int(r[0])
            for r in conn.execute(
                f"SELECT DISTINCT file_id FROM code_elements WHERE id IN ({marks})", chunk
            )
        )
    return out


def flag_file_edges(conn: Connection, file_id: int) -> None:
    """Every edge out of a file's symbols gets resolved again (its imports may mean
    something else now, e.g. after a rename)."""
    conn.execute(
        "UPDATE call_graph SET needs_resolution = 1 WHERE caller_id IN"
        " (SELECT id FROM code_elements WHERE file_id = ?)",
        (file_id,),
    )


def set_module_name(conn: Connection, file_id: int, name: str) -> None:
    conn.execute(
        "UPDATE code_elements SET name = ? WHERE file_id = ? AND kind = 'module'"
        " AND parent_id IS NULL",
        (name, file_id),
    )


def indexed_paths(conn: Connection, project_id: int) -> list[tuple[str, str | None]]:
    """(file_path, language) of the indexed files of a project."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT file_path, language FROM repository_files WHERE project_id = ?"
            " AND status = 'indexed'",
            (project_id,),
        )
    ]


def module_qualified_names(conn: Connection, project_id: int) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT qualified_name FROM code_elements WHERE project_id = ? AND kind = 'module'"
            " AND parent_id IS NULL",
            (project_id,),
        )
    }


def begin_bulk(conn: Connection) -> tuple[int, int]:
    """Settings for a long series of write transactions on this connection (a full index):
    fewer WAL checkpoints, and a 16 MB page cache (a 48 MB one saved no CPU measurably on a
    1.7 M-line corpus and added its size to the peak RSS). Returns what ``end_bulk``
    restores."""
    cache = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    auto = int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    conn.execute("PRAGMA cache_size=-16384")
    conn.execute("PRAGMA wal_autocheckpoint=16384")
    return cache, auto


def end_bulk(conn: Connection, saved: tuple[int, int]) -> None:
    cache, auto = saved
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.execute(f"PRAGMA cache_size={int(cache)}")
    conn.execute(f"PRAGMA wal_autocheckpoint={int(auto)}")
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def file_has_pending(conn: Connection, project_id: int, file_path: str, level: int) -> bool:
    """Whether a file's calls wait at this needs_resolution level (2: for jedi)."""
    r = conn.execute(
        "SELECT 1 FROM repository_files f JOIN code_elements e ON e.file_id = f.id"
        " JOIN call_graph g ON g.caller_id = e.id"
        " WHERE f.project_id = ? AND f.file_path = ? AND g.needs_resolution = ? LIMIT 1",
        (project_id, file_path, level),
    ).fetchone()
    return r is not None
