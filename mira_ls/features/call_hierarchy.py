"""Call hierarchy served from call_graph; items carry the stored symbol id."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from lsprotocol import types

from mira_ls.features.locate import target_at
from mira_ls.features.positions import Lines
from mira_ls.features.session import Located, Session
from mira_ls.features.symbol_kinds import lsp_kind
from mira_ls.features.symbols import name_range, place_for, seed_lines
from mira_ls.index.overrides import dispatched_callers
from mira_ls.store import code as code_store
from mira_ls.store.code import SymbolRow


def item_for(session: Session, row: SymbolRow, lines: Lines) -> types.CallHierarchyItem:
    path, uri = place_for(session, row)
    return types.CallHierarchyItem(
        name=row.name,
        kind=lsp_kind(row.kind),
        uri=uri,
        range=lines.range(path, row.start_line, row.start_col, row.end_line, row.end_col),
        selection_range=name_range(lines, path, row),
        detail=row.qualified_name,
        data={"id": row.id},
    )


def prepare(
    session: Session, loc: Located, text: str, line: int, col: int, lines: Lines | None = None
) -> list[types.CallHierarchyItem] | None:
    """``lines`` converts stored columns to the client's units (UTF-16 from disk if None)."""
    target = target_at(session, loc, text, line, col)
    if target is None or target.row is None:
        return None
    return [item_for(session, target.row, lines or Lines())]


def _item_id(item: types.CallHierarchyItem) -> int | None:
    data: Any = item.data
    if isinstance(data, dict) and isinstance(data.get("id"), int):
        return data["id"]
    return None


def _site_range(lines: Lines, path: Path, line: int, col: int, name: str) -> types.Range:
    return lines.range(path, line, col, line, col + len(name))


def incoming(
    session: Session, item: types.CallHierarchyItem, lines: Lines | None = None
) -> list[types.CallHierarchyIncomingCall]:
    lines = lines or Lines()
    sid = _item_id(item)
    if sid is None or session.store is None:
        return []
    conn = session.store.conn()
    grouped: OrderedDict[tuple[int, str], tuple[SymbolRow, list[types.Range]]] = OrderedDict()
    # its own callers, then the calls that reach it through a method it overrides
    sites = [(site, "") for site in code_store.callers(conn, sid)]
    sites += [
        (d.site, d.through.qualified_name) for d in dispatched_callers(conn, sid, session.resolvers)
    ]
    seed_lines(session, lines, [site.symbol for site, _ in sites if site.symbol is not None])
    for site, through in sites:
        if site.symbol is None:
            continue
        entry = grouped.setdefault((site.symbol.id, through), (site.symbol, []))
        # Call sites lie in the caller's file.
        caller_path = place_for(session, site.symbol)[0]
        entry[1].append(_site_range(lines, caller_path, site.line, site.col, site.callee_name))
    out = []
    for (_, through), (row, ranges) in grouped.items():
        item = item_for(session, row, lines)
        if through:
            item.detail = f"{row.qualified_name} (through {through})"
        out.append(types.CallHierarchyIncomingCall(from_=item, from_ranges=ranges))
    return out


def outgoing(
    session: Session, item: types.CallHierarchyItem, lines: Lines | None = None
) -> list[types.CallHierarchyOutgoingCall]:
    lines = lines or Lines()
    sid = _item_id(item)
    if sid is None or session.store is None:
        return []
    conn = session.store.conn()
    caller = code_store.get_symbol(conn, sid)
    if caller is None:
        return []
    own_path = place_for(session, caller)[0]
    grouped: OrderedDict[int, tuple[SymbolRow, list[types.Range]]] = OrderedDict()
    sites = code_store.callees(conn, sid)
    seed_lines(session, lines, [caller, *(s.symbol for s in sites if s.symbol is not None)])
    for site in sites:
        if site.symbol is None:
            continue  # unresolved: no place to go to
        entry = grouped.setdefault(site.symbol.id, (site.symbol, []))
        # Call sites lie in the item's own file (the caller), not the callee's.
        entry[1].append(_site_range(lines, own_path, site.line, site.col, site.callee_name))
    return [
        types.CallHierarchyOutgoingCall(to=item_for(session, row, lines), from_ranges=ranges)
        for row, ranges in grouped.values()
    ]
