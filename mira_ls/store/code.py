"""Queries over code_elements, call_graph and repository_files (the code index)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def symbol_from_row(r: Any) -> SymbolRow:
    return SymbolRow(*r)


def get_symbol(conn: Any, symbol_id: int) -> SymbolRow | None:
    r = conn.execute(
        f"SELECT {SYMBOL_COLS} FROM code_elements WHERE id = ?", (symbol_id,)
    ).fetchone()
    return symbol_from_row(r) if r else None


def find_symbol(
    conn: Any, project_id: int, file_path: str, qualified_name: str, kind: str, ordinal: int = 0
) -> SymbolRow | None:
    """Look a symbol up by its identity (file, qualified name, kind, ordinal)."""
    r = conn.execute(
        f"SELECT {SYMBOL_COLS} FROM code_elements WHERE project_id = ? AND file_path = ? "
        "AND qualified_name = ? AND kind = ? AND ordinal = ?",
        (project_id, file_path, qualified_name, kind, ordinal),
    ).fetchone()
    return symbol_from_row(r) if r else None


def symbols_in_file(conn: Any, project_id: int, file_path: str) -> list[SymbolRow]:
    rows = conn.execute(
        f"SELECT {SYMBOL_COLS} FROM code_elements WHERE project_id = ? AND file_path = ? "
        "ORDER BY start_line, start_col",
        (project_id, file_path),
    ).fetchall()
    return [symbol_from_row(r) for r in rows]
