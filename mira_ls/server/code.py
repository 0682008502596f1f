"""The code index over LSP: background indexing with $/progress, and the requests served
from it (hover, symbols, call hierarchy, code lens) plus mira.reindex / mira.callers."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types

from mira_ls.features import (
    call_hierarchy,
    code_lens,
    hover,
    symbols,
)
from mira_ls.features.session import Located
from mira_ls.index import indexer
from mira_ls.server.base import MiraServer, command_arg, guarded, position, server
from mira_ls.server.git import schedule_mining
from mira_ls.server.progress import ThreadSafeProgress
from mira_ls.store import code as code_store

log = logging.getLogger(__name__)

JEDI_PENDING = 2  # call_graph.needs_resolution: scope rules failed, jedi may place it


def full_index(ls: MiraServer, root: Path) -> None:
    store = ls.session.store
    if store is None:
        return
    progress = ThreadSafeProgress(ls, f"mira-ls: indexing {root.name}")
    progress.begin("listing files")
    try:
        stats = indexer.index_workspace(
            store,
            root,
            ls.session.settings.index,
            progress=lambda done, total, msg: progress.report(done, total, msg),
            cancel=progress.cancelled,
            trust_git=ls.session.settings.git.trust_repository_config,
        )
    except BaseException:
        progress.end("indexing failed")
        raise
    progress.end(
        f"{stats.files} files, {stats.symbols} symbols, {stats.resolved} of "
        f"{stats.edges} calls resolved in {stats.seconds:.1f} s"
    )
    if not progress.cancelled():
        schedule_mining(ls, root)
        project = ls.session.locate(root)
        if project is not None:
            schedule_jedi(ls, project.project.project_id, root)


def schedule_jedi(ls: MiraServer, project_id: int, root: Path) -> None:
    """Resolve what scope rules could not, with jedi in its own process; refresh the lenses
    when it is done, since caller counts may have grown."""
    store = ls.session.store
    if store is None or not ls.session.settings.index.jedi or ls.shutting_down:
        return

    def done(_: int) -> None:
        lens = ls.client_capabilities.workspace and ls.client_capabilities.workspace.code_lens
        if lens and lens.refresh_support:
            ls.send_soon(ls.workspace_code_lens_refresh, None)

    ls.jedi.start(store.path, project_id, root, on_done=done)


def update_file(ls: MiraServer, loc: Located) -> None:
    store = ls.session.store
    if store is None:
        return
    pid, root = loc.project.project_id, loc.project.root
    if loc.abs_path.is_file():
        result = indexer.update_file(
            store,
            pid,
            root,
            loc.rel_path,
            settings=ls.session.settings.index,
            cache=ls.parse_cache,
        )
        if result.status == "indexed" and code_store.file_has_pending(
            store.conn(), pid, loc.rel_path, JEDI_PENDING
        ):
            schedule_jedi(ls, pid, root)
    else:
        indexer.remove_file(store, pid, loc.rel_path)


def rename_file(ls: MiraServer, old: Located, new: Located) -> None:
    """A rename keeps the file's symbol ids (and whatever is keyed on them)."""
    store = ls.session.store
    if store is None:
        return
    if old.project != new.project:
        indexer.remove_file(store, old.project.project_id, old.rel_path)
        update_file(ls, new)
        return
    indexer.rename_file(store, new.project.project_id, old.rel_path, new.rel_path)


def apply_file_changes(ls: MiraServer, changes: list[tuple[str, Located]]) -> None:
    """Files changed outside the editor. A deleted file whose stored content reappears under
    a new name in the same batch is a rename: its symbols move and keep their ids."""
    store = ls.session.store
    if store is None:
        return
    deleted = {(loc.project, loc.rel_path): loc for kind, loc in changes if kind == "deleted"}
    for kind, loc in changes:
        if kind == "deleted" or not loc.abs_path.is_file():
            continue
        twin = _renamed_from(ls, loc, [d for (p, _), d in deleted.items() if p == loc.project])
        if twin is not None:
            del deleted[(twin.project, twin.rel_path)]
            rename_file(ls, twin, loc)
        else:
            update_file(ls, loc)
    for loc in deleted.values():
        update_file(ls, loc)  # gone from disk: removed


def _renamed_from(ls: MiraServer, new: Located, candidates: list[Located]) -> Located | None:
    if not candidates or ls.session.store is None:
        return None
    try:
        digest = hashlib.sha256(new.abs_path.read_bytes()).hexdigest()
    except OSError:
        return None
    conn = ls.session.store.conn()
    for old in candidates:
        row = code_store.get_file(conn, old.project.project_id, old.rel_path)
        if row is not None and row.content_hash == digest:
            return old
    return None


@server.feature(types.TEXT_DOCUMENT_HOVER)
@guarded(None, "the hover")
def on_hover(ls: MiraServer, params: types.HoverParams) -> types.Hover | None:
    ls.chat.saw(params.text_document.uri, params.position.line, params.position.character)
    found = ls.document(params.text_document.uri)
    if found is None:
        return None
    loc, text = found
    line, col = position(ls, text, params.position)
    md = hover.hover_markdown(ls.session, loc, text, line, col)
    if md is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=md))


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded([], "document symbols")
def on_document_symbol(
    ls: MiraServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    found = ls.document(params.text_document.uri)
    if found is None:
        return []
    loc, text = found
    return symbols.document_symbols_for(ls.session, loc, text, ls.encoding)


@server.feature(types.WORKSPACE_SYMBOL)
@guarded([], "workspace symbols")
def on_workspace_symbol(
    ls: MiraServer, params: types.WorkspaceSymbolParams
) -> list[types.WorkspaceSymbol]:
    return symbols.workspace_symbols(ls.session, params.query, lines=ls.lines())


@server.feature(types.TEXT_DOCUMENT_PREPARE_CALL_HIERARCHY)
@guarded(None, "the call hierarchy")
def on_prepare_calls(
    ls: MiraServer, params: types.CallHierarchyPrepareParams
) -> list[types.CallHierarchyItem] | None:
    found = ls.document(params.text_document.uri)
    if found is None:
        return None
    loc, text = found
    line, col = position(ls, text, params.position)
    return call_hierarchy.prepare(ls.session, loc, text, line, col, ls.lines())


@server.feature(types.CALL_HIERARCHY_INCOMING_CALLS)
@guarded([], "incoming calls")
def on_incoming(
    ls: MiraServer, params: types.CallHierarchyIncomingCallsParams
) -> list[types.CallHierarchyIncomingCall]:
    return call_hierarchy.incoming(ls.session, params.item, ls.lines())


@server.feature(types.CALL_HIERARCHY_OUTGOING_CALLS)
@guarded([], "outgoing calls")
def on_outgoing(
    ls: MiraServer, params: types.CallHierarchyOutgoingCallsParams
) -> list[types.CallHierarchyOutgoingCall]:
    return call_hierarchy.outgoing(ls.session, params.item, ls.lines())


@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
@guarded([], "code lenses")
def on_code_lens(ls: MiraServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    found = ls.document(params.text_document.uri)
    if found is None:
        return []
    loc, text = found
    return code_lens.code_lenses(ls.session, loc, text, ls.encoding)


@server.command("mira.reindex")
def cmd_reindex(ls: MiraServer, *args: Any) -> dict[str, Any]:
    if ls.session.store is None:
        return {"started": False, "message": "mira-ls has no database; see the earlier error."}
    roots = list(ls.session.roots)
    for r in roots:
        ls.submit(ls.index_jobs, f"indexing {r.root}", full_index, ls, r.root)
    return {"started": True, "roots": [str(r.root) for r in roots]}


@server.command("mira.callers")
def cmd_callers(ls: MiraServer, *args: Any) -> list[dict[str, Any]]:
    """Caller locations of the symbol at {uri, position}: what the "N callers" lens opens."""
    a = command_arg(args)
    uri, pos = a.get("uri"), a.get("position")
    if not isinstance(uri, str) or not isinstance(pos, dict):
        ls.show(
            'Callers needs a symbol: {"uri": ..., "position": {"line": L, "character": C}} '
            '(the "N callers" code lens sends it).',
            types.MessageType.Warning,
            once=False,
        )
        return []
    found = ls.document(uri)
    if found is None:
        ls.show(f"{uri} is not in a workspace folder mira-ls serves.", types.MessageType.Warning)
        return []
    loc, text = found
    at = types.Position(int(pos.get("line", 0)), int(pos.get("character", 0)))
    line, col = position(ls, text, at)
    lines = ls.lines()
    items = call_hierarchy.prepare(ls.session, loc, text, line, col, lines) or []
    out: list[dict[str, Any]] = []
    for item in items:
        for call in call_hierarchy.incoming(ls.session, item, lines):
            for r in call.from_ranges:
                out.append(
                    {
                        "uri": call.from_.uri,
                        "range": ls.protocol._converter.unstructure(r),
                        "name": call.from_.name,
                    }
                )
    return out
