"""Call hierarchy served from call_graph; items carry the stored symbol id."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from lsprotocol import types

from mira_ls.features.locate import target_at
from mira_ls.features.positions import LineMap
from mira_ls.features.session import Located, Session
from mira_ls.features.symbol_kinds import lsp_kind
from mira_ls.features.symbols import uri_for
from mira_ls.store import code as code_store
from mira_ls.store.code import SymbolRow


def item_for(session: Session, row: SymbolRow) -> types.CallHierarchyItem:
    lm = LineMap(None)
    name_line = row.name_line or row.start_line
    return types.CallHierarchyItem(
        name=row.name,
        kind=lsp_kind(row.kind),
        uri=uri_for(session, row),
        range=lm.range(row.start_line, row.start_col, row.end_line, row.end_col),
        selection_range=lm.range(name_line, row.name_col, name_line, row.name_col + len(row.name)),
        detail=row.qualified_name,
        data={"id": row.id},
    )


def prepare(
    session: Session, loc: Located, text: str, line: int, col: int
) -> list[types.CallHierarchyItem] | None:
    target = target_at(session, loc, text, line, col)
    if target is None or target.row is None:
        return None
    return [item_for(session, target.row)]


def _item_id(item: types.CallHierarchyItem) -> int | None:
    data: Any = item.data
    if isinstance(data, dict) and isinstance(data.get("id"), int):
        return data["id"]
    return None


def _site_range(line: int, col: int, name: str) -> types.Range:
    return LineMap(None).range(line, col, line, col + len(name))


def incoming(
    session: Session, item: types.CallHierarchyItem
) -> list[types.CallHierarchyIncomingCall]:
    sid = _item_id(item)
    if sid is None or session.store is None:
        return []
    grouped: OrderedDict[int, tuple[SymbolRow, list[types.Range]]] = OrderedDict()
    for site in code_store.callers(session.store.conn(), sid):
        if site.symbol is None:
            continue
        entry = grouped.setdefault(site.symbol.id, (site.symbol, []))
        entry[1].append(_site_range(site.line, site.col, site.callee_name))
    return [
        types.CallHierarchyIncomingCall(from_=item_for(session, row), from_ranges=ranges)
        for row, ranges in grouped.values()
    ]


def outgoing(
    session: Session, item: types.CallHierarchyItem
) -> list[types.CallHierarchyOutgoingCall]:
    sid = _item_id(item)
    if sid is None or session.store is None:
        return []
    grouped: OrderedDict[int, tuple[SymbolRow, list[types.Range]]] = OrderedDict()
    for site in code_store.callees(session.store.conn(), sid):
        if site.symbol is None:
            continue  # unresolved: no place to go to
        entry = grouped.setdefault(site.symbol.id, (site.symbol, []))
        entry[1].append(_site_range(site.line, site.col, site.callee_name))
    return [
        types.CallHierarchyOutgoingCall(to=item_for(session, row), from_ranges=ranges)
        for row, ranges in grouped.values()
    ]
