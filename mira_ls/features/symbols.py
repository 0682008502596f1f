"""documentSymbol from the live buffer; workspace/symbol from the index."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from mira_ls.features.positions import LineMap, Lines
from mira_ls.features.session import Located, Session
from mira_ls.features.symbol_kinds import lsp_kind
from mira_ls.index.symbols import FileExtract, Symbol
from mira_ls.paths import fs_name
from mira_ls.store import code as code_store
from mira_ls.store import projects as project_store
from mira_ls.store import semantic_graph as graph_store
from mira_ls.store.code import SymbolRow


def _doc_symbol(
    s: Symbol, lm: LineMap, children: list[types.DocumentSymbol]
) -> types.DocumentSymbol:
    full = lm.range(s.start_line, s.start_col, s.end_line, s.end_col)
    sel = lm.range(s.name_line, s.name_col, s.name_line, s.name_col + len(s.name))
    if not (full.start.line <= sel.start.line <= full.end.line):
        sel = types.Range(full.start, full.start)
    detail = (s.signature or "").strip().splitlines()[0] if s.signature else None
    return types.DocumentSymbol(
        name=s.name or "<anonymous>",
        kind=lsp_kind(s.kind),
        range=full,
        selection_range=sel,
        detail=detail,
        children=children or None,
    )


def document_symbols(fx: FileExtract, lm: LineMap) -> list[types.DocumentSymbol]:
    """A hierarchy of the buffer's symbols; the module symbol's children are the top level."""
    children: dict[int | None, list[int]] = {}
    module_ids = {i for i, s in enumerate(fx.symbols) if s.kind == "module"}
    for i, s in enumerate(fx.symbols):
        if i in module_ids:
            continue
        parent = None if s.parent in module_ids else s.parent
        children.setdefault(parent, []).append(i)

    def build(i: int) -> types.DocumentSymbol:
        return _doc_symbol(fx.symbols[i], lm, [build(c) for c in children.get(i, [])])

    return [build(i) for i in children.get(None, [])]


def path_for(session: Session, row: SymbolRow) -> Path:
    for r in session.roots:
        if r.project_id == row.project_id:
            return fs_name(r.root, row.file_path)
    if session.store is not None:
        project = project_store.by_id(session.store.conn(), row.project_id)
        if project is not None:
            return fs_name(Path(project.root_path), row.file_path)
    return Path(row.file_path).resolve()


def uri_for(session: Session, row: SymbolRow) -> str:
    return place_for(session, row)[1]


def place_for(session: Session, row: SymbolRow) -> tuple[Path, str]:
    """The row's file and its URI, once per session: pathlib per row cost more than the
    rest of building a list of answers (workspace/symbol, incoming calls)."""
    key = (row.project_id, row.file_path)
    hit = session.places.get(key)
    if hit is None:
        if len(session.places) > 100_000:
            session.places.clear()
        path = path_for(session, row)
        hit = session.places[key] = (path, path.as_uri())
    return hit


def seed_lines(session: Session, lines: Lines, rows: list[SymbolRow]) -> None:
    """Which lines of the rows' files are not ASCII, in one query per project, so that
    converting their columns reads no file whose lines are all ASCII."""
    if session.store is None:
        return
    by_project: dict[int, dict[str, Path]] = {}
    for row in rows:
        by_project.setdefault(row.project_id, {})[row.file_path] = place_for(session, row)[0]
    conn = session.store.conn()
    for pid, paths in by_project.items():
        known = code_store.non_ascii_lines_many(conn, pid, list(paths))
        lines.seed({paths[fp]: lines_of for fp, lines_of in known.items()})


def name_range(lines: Lines, path: Path, row: SymbolRow) -> types.Range:
    """The symbol's name, in the client's units (stored columns count code points)."""
    line = row.name_line or row.start_line
    return lines.range(path, line, row.name_col, line, row.name_col + len(row.name))


def workspace_symbols(
    session: Session, query: str, limit: int = 200, lines: Lines | None = None
) -> list[types.WorkspaceSymbol]:
    """Index matches; ``lines`` converts their columns (one read per file and request)."""
    lines = lines or Lines()
    if session.store is None:
        return []
    conn = session.store.conn()
    rows: list[SymbolRow] = []
    ids: list[int | None] = [r.project_id for r in session.roots] or [None]
    concept = graph_store.concept_query(query)
    if concept is not None:  # "concept:retry policy": the symbols whose analysis names it
        for pid in ids:
            rows.extend(s for s, _ in graph_store.concept_symbols(conn, pid, concept, limit))
    else:
        for pid in ids:
            rows.extend(code_store.search_symbols(conn, pid, query, limit=limit))
        rows = [row for row in rows[:limit] if not (row.kind == "module" and query)]
    rows = rows[:limit]
    out: list[types.WorkspaceSymbol] = []
    seed_lines(session, lines, rows)
    for row in rows:
        path, uri = place_for(session, row)
        out.append(
            types.WorkspaceSymbol(
                name=row.name,
                kind=lsp_kind(row.kind),
                location=types.Location(uri=uri, range=name_range(lines, path, row)),
                container_name=row.qualified_name.rpartition(".")[0] or None,
            )
        )
    return out


def document_symbols_for(
    session: Session, loc: Located, text: str, encoding: str
) -> list[types.DocumentSymbol]:
    fx = session.parse(loc.rel_path, text)
    if fx is None:
        return []
    return document_symbols(fx, LineMap(text, encoding))
