"""Position lookups over the stored index, for buffers identical to what was indexed.

A hover on an unchanged file needs no parse: the symbol whose name is under the cursor and
the call whose name is under the cursor are both rows already.
"""

from __future__ import annotations

from mira_ls.store.code import SYMBOL_COLS, SymbolRow, symbol_from_row
from mira_ls.store.connection import Connection

# Through the file's id: the identity index (file_id, ...) then holds only that file's rows;
# filtering on project_id and file_path instead scanned every symbol of the database.
_FILE_ID = "file_id = (SELECT id FROM repository_files WHERE project_id = ? AND file_path = ?)"


def symbol_named_at(
    conn: Connection, project_id: int, file_path: str, line: int, col: int
) -> SymbolRow | None:
    """The symbol whose name spans (1-based line, 0-based code-point col)."""
    r = conn.execute(
        f"SELECT {SYMBOL_COLS} FROM code_elements WHERE {_FILE_ID} "
        "AND name_line = ? AND name_col <= ? AND name_col + length(name) >= ? "
        "AND kind != 'module' ORDER BY start_line DESC LIMIT 1",
        (project_id, file_path, line, col, col),
    ).fetchone()
    return symbol_from_row(r) if r else None


def call_at(
    conn: Connection, project_id: int, file_path: str, line: int, col: int
) -> tuple[str, SymbolRow | None] | None:
    """(callee name, resolved callee or None) of the call whose name spans the position."""
    r = conn.execute(
        "SELECT e.callee_name, e.callee_id FROM code_elements c "
        "JOIN call_graph e ON e.caller_id = c.id "
        f"WHERE c.{_FILE_ID} AND c.start_line <= ? AND c.end_line >= ? "
        "AND e.line = ? AND e.col <= ? AND e.col + length(e.callee_name) >= ? "
        "ORDER BY c.start_line DESC LIMIT 1",
        (project_id, file_path, line, line, line, col, col),
    ).fetchone()
    if r is None:
        return None
    if r[1] is None:
        return r[0], None
    s = conn.execute(f"SELECT {SYMBOL_COLS} FROM code_elements WHERE id = ?", (r[1],)).fetchone()
    return r[0], symbol_from_row(s) if s else None
