"""The code index over LSP: background indexing with $/progress, and the requests served
from it (hover, symbols, call hierarchy, code lens) plus mira.reindex / mira.callers."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from lsprotocol import types

from mira_ls.features import (
    call_hierarchy,
    chat,
    code_lens,
    hover,
    symbols,
)
from mira_ls.features.session import Located
from mira_ls.index import indexer, jedi_process, renames
from mira_ls.jobs import JobContext
from mira_ls.server.base import (
    Handlers,
    MiraServer,
    command_arg,
    guarded,
    open_documents,
    position,
)
from mira_ls.server.git import schedule_mining
from mira_ls.server.understand import (
    schedule_background_analysis,
    schedule_quality,
    schedule_quality_open,
)
from mira_ls.store import code as code_store
from mira_ls.store import locks
from mira_ls.store import semantic_graph as graph_store
from mira_ls.understand import graph, graph_process

log = logging.getLogger(__name__)
handlers = Handlers()
register = handlers.register

# Another process (a `mira-ls index` in a terminal) indexing the same workspace: the server
# waits for it, then catches up on what is left (usually nothing).
INDEX_LOCK_WAIT_S = 900.0
JEDI_PENDING = 2  # call_graph.needs_resolution: scope rules failed, jedi may place it


def schedule_index(ls: MiraServer, root: Path) -> None:
    """A full index of a root in the background; a second request while one is queued
    joins it."""
    ls.submit(
        "index",
        f"indexing {root}",
        full_index,
        ls,
        root,
        key=("full", root),
        progress=f"mira-ls: indexing {root.name}",
    )


def schedule_day_check(ls: MiraServer, root: Path) -> None:
    """What became of the fixes applied a day ago or more (kept or not): at the server's
    start and after each index run, in the background."""
    ls.submit("mine", f"the applied fixes of {root}", _day_check, ls, root, key=("day_check", root))


def _day_check(ctx: JobContext, ls: MiraServer, root: Path) -> None:
    for r in list(ls.session.roots):
        if r.root == root:
            chat.applied_kept(ls.session, r)


def full_index(ctx: JobContext, ls: MiraServer, root: Path) -> None:
    store = ls.session.store
    if store is None:
        return
    progress = ctx.progress
    progress.begin("listing files")
    started = time.time()
    try:
        stats = indexer.index_workspace(
            store,
            root,
            ls.session.settings.index,
            progress=lambda done, total, msg: progress.report(done, total, msg),
            cancel=ctx.cancelled,
            trust_git=ls.session.settings.git.trust_repository_config,
            wait_s=INDEX_LOCK_WAIT_S,
            on_wait=lambda msg: progress.report(0, 0, msg, force=True),
        )
    except locks.Busy as exc:
        progress.end(str(exc))
        log.warning("%s", exc)
        return
    except BaseException:
        progress.end("indexing failed")
        raise
    progress.end(
        f"{stats.files} files, {stats.symbols} symbols, {stats.resolved} of "
        f"{stats.edges} calls resolved in {stats.seconds:.1f} s"
    )
    if not ctx.cancelled():
        schedule_mining(ls, root)
        schedule_day_check(ls, root)
        project = ls.session.locate(root)
        if project is not None:
            pid = project.project.project_id
            changed = bool(stats.parsed or stats.removed)
            ls.submit(
                "graph", f"the semantic graph of {root}", graph_process.after_index_job,
                str(store.path), pid, changed, started, key=("graph", pid),
            )  # fmt: skip
            schedule_jedi(ls, pid, root)
            schedule_quality_open(ls, pid)
            opened = sorted({d.rel_path for _, d in open_documents(ls, pid)})
            schedule_background_analysis(ls, project.project, opened)  # opened meanwhile
            # workspace/symbol's names read now, not by the user's first search (a cold
            # read of 22,000 names took 0.7 s while the jedi pass started)
            code_store.hold_symbol_names(store.conn(), pid)


def _graph_files(ls: MiraServer, project_id: int, files: list[str]) -> None:
    """After an update of some files: their part of the graph (when it was built), in the
    graph lane's child process; files saved while one is queued join it."""
    store = ls.session.store
    if store is not None and graph_store.built(store.conn(), project_id):
        ls.submit(
            "graph", "the semantic graph of the saved files", graph_process.refresh_job,
            str(store.path), project_id, files, graph.PARTS, key=("graph-files", project_id),
            merge=_more_graph_files,
        )  # fmt: skip


def _more_graph_files(old: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[Any, ...]:
    db, pid, files, parts = old
    return db, pid, files + [f for f in new[2] if f not in files], parts


def schedule_jedi(ls: MiraServer, project_id: int, root: Path) -> None:
    """Resolve what scope rules could not, with jedi in its own process (one per project;
    asked again while it runs, it runs once more after); refresh the lenses when it is
    done, since caller counts may have grown."""
    store = ls.session.store
    if store is None or not ls.session.settings.index.jedi:
        return
    handle = ls.submit(
        "jedi",
        f"resolving calls in {root} with jedi",
        jedi_process.resolve_job,
        str(store.path),
        project_id,
        str(root),
        None,
        key=project_id,
    )
    if handle is not None:
        handle.future.add_done_callback(lambda fut: _jedi_done(ls, project_id, fut))


def _jedi_done(ls: MiraServer, project_id: int, fut: Future[Any]) -> None:
    if fut.cancelled() or fut.exception() is not None:
        return
    store = ls.session.store
    if store is not None:
        ls.submit(
            "graph", "the semantic graph's calls", graph_process.refresh_job, str(store.path),
            project_id, None, ("calls",), key=("graph-calls", project_id),
        )  # fmt: skip
    lens = ls.client_capabilities.workspace and ls.client_capabilities.workspace.code_lens
    if lens and lens.refresh_support:
        ls.send_soon(ls.workspace_code_lens_refresh, None)


def update_file_job(ctx: JobContext, ls: MiraServer, loc: Located) -> None:
    update_file(ls, loc)


def rename_file_job(ctx: JobContext, ls: MiraServer, old: Located, new: Located) -> None:
    rename_file(ls, old, new)


def update_file(ls: MiraServer, loc: Located) -> None:
    store = ls.session.store
    if store is None:
        return
    pid, root = loc.project.project_id, loc.project.root
    if loc.abs_path.is_file():
        settings = ls.session.settings.index
        saves = ls.save_process()
        result = saves.update(pid, root, loc.rel_path, settings) if saves is not None else None
        if result is None:  # no child (or it failed): in this process
            result = indexer.update_file(
                store, pid, root, loc.rel_path, settings=settings, cache=ls.parse_cache
            )
        if result.status == "indexed" and code_store.file_has_pending(
            store.conn(), pid, loc.rel_path, JEDI_PENDING
        ):
            schedule_jedi(ls, pid, root)
        if result.status != "unchanged":
            _graph_files(ls, pid, [loc.rel_path])
    else:
        indexer.remove_file(store, pid, loc.rel_path)
        _graph_files(ls, pid, [loc.rel_path])
    # an open file's quality diagnostics, measured after this update (same lane), and
    # the analysis of what changed in it (after the update, so the new content is asked)
    opened = [(u, d) for u, d in open_documents(ls, pid) if d.rel_path == loc.rel_path]
    schedule_quality(ls, opened)
    if opened and loc.abs_path.is_file():
        schedule_background_analysis(ls, loc.project, [loc.rel_path])


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
    _graph_files(ls, new.project.project_id, [old.rel_path, new.rel_path])


def apply_file_changes(ctx: JobContext, ls: MiraServer, changes: list[tuple[str, Located]]) -> None:
    """Files changed outside the editor; renames among them keep their symbol ids."""
    store = ls.session.store
    if store is None:
        return
    located: dict[renames.Change, Located] = {}
    for kind, loc in changes:
        change = renames.Change(
            loc.project.project_id, loc.project.root, loc.rel_path, kind == "deleted"
        )
        located.setdefault(change, loc)
    for step in renames.plan(store.conn(), list(located)):
        if ctx.cancelled():
            return
        if step.old is not None:
            rename_file(ls, located[step.old], located[step.change])
        else:
            update_file(ls, located[step.change])


@handlers.feature(types.TEXT_DOCUMENT_HOVER)
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


@handlers.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded([], "document symbols")
def on_document_symbol(
    ls: MiraServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    found = ls.document(params.text_document.uri)
    if found is None:
        return []
    loc, text = found
    return symbols.document_symbols_for(ls.session, loc, text, ls.encoding)


@handlers.feature(types.WORKSPACE_SYMBOL)
@guarded([], "workspace symbols")
def on_workspace_symbol(
    ls: MiraServer, params: types.WorkspaceSymbolParams
) -> list[types.WorkspaceSymbol]:
    return symbols.workspace_symbols(ls.session, params.query, lines=ls.lines())


@handlers.feature(types.TEXT_DOCUMENT_PREPARE_CALL_HIERARCHY)
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


@handlers.feature(types.CALL_HIERARCHY_INCOMING_CALLS)
@guarded([], "incoming calls")
def on_incoming(
    ls: MiraServer, params: types.CallHierarchyIncomingCallsParams
) -> list[types.CallHierarchyIncomingCall]:
    return call_hierarchy.incoming(ls.session, params.item, ls.lines())


@handlers.feature(types.CALL_HIERARCHY_OUTGOING_CALLS)
@guarded([], "outgoing calls")
def on_outgoing(
    ls: MiraServer, params: types.CallHierarchyOutgoingCallsParams
) -> list[types.CallHierarchyOutgoingCall]:
    return call_hierarchy.outgoing(ls.session, params.item, ls.lines())


@handlers.feature(types.TEXT_DOCUMENT_CODE_LENS)
@guarded([], "code lenses")
def on_code_lens(ls: MiraServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    found = ls.document(params.text_document.uri)
    if found is None:
        return []
    loc, text = found
    return code_lens.code_lenses(ls.session, loc, text, ls.encoding)


@handlers.command("mira.reindex")
def cmd_reindex(ls: MiraServer, *args: Any) -> dict[str, Any]:
    if ls.session.store is None:
        return {"started": False, "message": "mira-ls has no database; see the earlier error."}
    roots = list(ls.session.roots)
    for r in roots:
        schedule_index(ls, r.root)
    return {"started": True, "roots": [str(r.root) for r in roots]}


@handlers.command("mira.callers")
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
