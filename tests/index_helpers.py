"""Shared by the index tests: a store in a tmp dir and small workspace builders."""

from __future__ import annotations

from pathlib import Path

from mira_ls.config import IndexSettings
from mira_ls.index import indexer
from mira_ls.store import Store, open_store
from mira_ls.store import code as cs
from mira_ls.store.code import SymbolRow


def new_store(tmp: Path) -> Store:
    return open_store(tmp / "db" / "mira.db")


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")


def index(store: Store, root: Path, **settings: object) -> indexer.IndexStats:
    return indexer.index_workspace(store, root, IndexSettings(**settings))  # type: ignore[arg-type]


def sym(
    store: Store, project_id: int, qualified_name: str, kind: str | None = None, ordinal: int = 0
) -> cs.SymbolRow:
    rows = (
        store.conn()
        .execute(
            f"SELECT {cs.SYMBOL_COLS} FROM code_elements WHERE project_id = ?"
            " AND qualified_name = ? AND ordinal = ?" + (" AND kind = ?" if kind else ""),
            (project_id, qualified_name, ordinal, *([kind] if kind else [])),
        )
        .fetchall()
    )
    assert len(rows) == 1, (qualified_name, rows)
    return cs.symbol_from_row(rows[0])


def edges(store: Store, project_id: int) -> list[tuple[str, str, str | None, str | None]]:
    """(caller qn, callee_name, callee qn or None, resolved_by) sorted."""
    rows = (
        store.conn()
        .execute(
            "SELECT a.qualified_name, g.callee_name, b.qualified_name, g.resolved_by"
            " FROM call_graph g JOIN code_elements a ON a.id = g.caller_id"
            " LEFT JOIN code_elements b ON b.id = g.callee_id WHERE g.project_id = ?"
            " ORDER BY 1, 2, g.line, g.col",
            (project_id,),
        )
        .fetchall()
    )
    return [tuple(r) for r in rows]


def edge_map(store: Store, project_id: int) -> dict[tuple[str, str], str | None]:
    return {(a, n): b for a, n, b, _ in edges(store, project_id)}


def function_row(
    name: str, start: int, end: int, *, path: str = "a.py", parent: int | None = None, sid: int = 1
) -> SymbolRow:
    """A stored Python function's row as the store returns it, without a database (for
    features that take rows: lenses, hover sections)."""
    return SymbolRow(
        id=sid,
        project_id=0,
        file_path=path,
        language="python",
        kind="function",
        name=name,
        qualified_name=name,
        ordinal=0,
        parent_id=parent,
        start_line=start,
        start_col=0,
        end_line=end,
        end_col=0,
        name_line=start,
        name_col=4,
        signature=None,
        docstring=None,
        content_hash="",
        signature_hash="",
        complexity=1,
    )
