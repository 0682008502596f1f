"""pygls wiring only: translate LSP messages into feature calls and back.

Slow work (index, git mining, jedi) runs in background executors and reports $/progress;
requests are answered from what is indexed so far. A failing handler answers with an empty
result and a message the user can read; the server stays up.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from mira_ls import __version__, config, paths
from mira_ls.build import detect as build_detect
from mira_ls.build import pipeline as build_pipeline
from mira_ls.features import (
    build_actions,
    build_diagnostics,
    call_hierarchy,
    chat,
    cochange_diagnostics,
    code_lens,
    hover,
    symbols,
)
from mira_ls.features import report as report_feature
from mira_ls.features.positions import LineMap
from mira_ls.features.session import Located, ProjectRoot, Session
from mira_ls.git import blame as git_blame
from mira_ls.git import miner
from mira_ls.index import indexer, resolve
from mira_ls.index.languages import language_for_path
from mira_ls.llm.errors import LlmError
from mira_ls.progress import ThreadSafeProgress
from mira_ls.store import StoreError, open_store
from mira_ls.store import projects as project_store

log = logging.getLogger(__name__)

T = TypeVar("T")
MESSAGE_REPEAT_S = 60.0


def uri_to_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme not in ("file", ""):
        return None
    return Path(unquote(parsed.path))


class MiraServer(LanguageServer):
    """The server object is the only mutable state: session, executors, loop."""

    def __init__(self) -> None:
        super().__init__("mira-ls", __version__)
        self.session = Session(store=None, settings=config.Settings())
        self.loop: asyncio.AbstractEventLoop | None = None
        self.index_jobs = ThreadPoolExecutor(1, thread_name_prefix="mira-index")
        self.git_jobs = ThreadPoolExecutor(1, thread_name_prefix="mira-git")
        self.llm_jobs = ThreadPoolExecutor(2, thread_name_prefix="mira-llm")
        self.chat = chat.ChatState()
        self.blame_jobs = ThreadPoolExecutor(1, thread_name_prefix="mira-blame")
        self.mining_queued: set[Path] = set()
        self._mining_lock = threading.Lock()
        self.build_jobs = ThreadPoolExecutor(1, thread_name_prefix="mira-build")
        self.builds_running: set[Path] = set()  # project roots with a build queued or running
        self.builds_again: set[Path] = set()  # saved again while building: build once more
        self._build_lock = threading.Lock()
        # Diagnostics per document and source: publishDiagnostics replaces a document's whole
        # list, so each source (co-change, the build) updates its part and all are sent.
        self._diagnostics: dict[str, dict[str, list[types.Diagnostic]]] = {}
        self._diagnostics_lock = threading.Lock()
        self.tasks: set[asyncio.Future[Any]] = set()  # fire-and-forget coroutines, kept alive
        self.shutting_down = False
        self.init_options: dict[str, Any] = {}
        self._shown: dict[str, float] = {}
        self._shown_lock = threading.Lock()
        self.pending: list[Future[Any]] = []

    # -- messages ---------------------------------------------------------------------

    def show(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        """window/showMessage from any thread, without repeating itself every keystroke."""
        now = time.monotonic()
        with self._shown_lock:
            if now - self._shown.get(message, -1e9) < MESSAGE_REPEAT_S:
                return
            self._shown[message] = now
        log.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, "%s", message)
        params = types.ShowMessageParams(type=kind, message=message)
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.window_show_message, params)
        else:
            self.window_show_message(params)

    def publish_diagnostics(self, uri: str, source: str, diags: list[types.Diagnostic]) -> None:
        """Replace one source's diagnostics of a document and publish the merged list."""
        with self._diagnostics_lock:
            per = self._diagnostics.setdefault(uri, {})
            if not diags and source not in per:
                return  # nothing was shown, nothing to clear
            per[source] = list(diags)
            merged = [d for ds in per.values() for d in ds]
        params = types.PublishDiagnosticsParams(uri=uri, diagnostics=merged)
        self.send_soon(self.text_document_publish_diagnostics, params)

    def send_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def uris_with(self, source: str) -> list[str]:
        """Documents that currently show diagnostics of a source."""
        with self._diagnostics_lock:
            return [u for u, per in self._diagnostics.items() if per.get(source)]

    # -- documents --------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or types.PositionEncodingKind.Utf16)

    def document(self, uri: str) -> tuple[Located, str] | None:
        """The file's project location and its live text (the buffer, else the disk)."""
        path = uri_to_path(uri)
        if path is None:
            return None
        loc = self.session.locate(path)
        if loc is None:
            return None
        doc = self.workspace.text_documents.get(unquote(uri)) or self.workspace.text_documents.get(
            uri
        )
        if doc is not None:
            return loc, doc.source
        try:
            return loc, path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return None

    def submit(
        self, pool: ThreadPoolExecutor, what: str, fn: Callable[..., T], *args: Any
    ) -> Future[T] | None:
        """Run background work; its failure becomes a message, never a dead server."""
        if self.shutting_down:
            return None

        def run() -> T | None:
            try:
                return fn(*args)
            except StoreError as exc:
                self.show(str(exc))
            except Exception as exc:
                log.exception("%s failed", what)
                self.show(f"mira-ls: {what} failed: {exc}. Details are in the server log.")
            return None

        fut = pool.submit(run)
        self.pending = [f for f in self.pending if not f.done()] + [fut]
        return fut  # type: ignore[return-value]


server = MiraServer()


def guarded(
    default: Any = None, what: str = "request"
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """A handler that fails answers `default` and tells the user once, in a sentence."""

    def deco(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def wrapper(ls: MiraServer, params: Any) -> T:
            try:
                return fn(ls, params)
            except StoreError as exc:
                ls.show(str(exc))
            except Exception as exc:
                log.exception("%s failed", what)
                ls.show(f"mira-ls could not answer {what}: {exc}. Details are in the server log.")
            return default

        return wrapper

    return deco


# -- lifecycle ------------------------------------------------------------------------


@server.feature(types.INITIALIZE)
def on_initialize(ls: MiraServer, params: types.InitializeParams) -> None:
    opts = params.initialization_options
    ls.init_options = opts if isinstance(opts, dict) else {}
    settings, problems = config.load(init_options=ls.init_options)
    ls.session.settings = settings
    logging.getLogger("mira_ls").setLevel(settings.log_level.upper())
    for p in problems:
        ls.show(p, types.MessageType.Warning)
    db_path = paths.database_path(settings.database_path)
    try:
        ls.session.store = open_store(db_path)
    except StoreError as exc:
        ls.session.store = None
        ls.show(f"mira-ls runs without its database: {exc}")
    roots: list[Path] = []
    for folder in params.workspace_folders or []:
        p = uri_to_path(folder.uri)
        if p is not None:
            roots.append(p)
    if not roots and params.root_uri:
        p = uri_to_path(params.root_uri)
        if p is not None:
            roots.append(p)
    if not roots and params.root_path:
        roots.append(Path(params.root_path))
    for r in roots:
        try:
            ls.session.add_root(r)
        except StoreError as exc:
            ls.show(str(exc))


@server.feature(types.INITIALIZED)
async def on_initialized(ls: MiraServer, params: types.InitializedParams) -> None:
    ls.loop = asyncio.get_running_loop()
    await _pull_configuration(ls)
    await _register_watchers(ls)
    if ls.session.settings.index.on_start and ls.session.store is not None:
        for root in list(ls.session.roots):
            ls.submit(ls.index_jobs, f"indexing {root.root}", _full_index, ls, root.root)


@server.feature(types.SHUTDOWN)
def on_shutdown(ls: MiraServer, params: None) -> None:
    ls.shutting_down = True
    ls.index_jobs.shutdown(wait=False, cancel_futures=True)
    ls.git_jobs.shutdown(wait=False, cancel_futures=True)
    ls.llm_jobs.shutdown(wait=False, cancel_futures=True)
    ls.blame_jobs.shutdown(wait=False, cancel_futures=True)
    ls.build_jobs.shutdown(wait=False, cancel_futures=True)


async def _pull_configuration(ls: MiraServer) -> None:
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return
    try:
        result = await asyncio.wait_for(
            ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=config.SECTION)])
            ),
            5,
        )
    except Exception as exc:
        log.debug("workspace/configuration failed: %s", exc)
        return
    section = result[0] if result else None
    if not isinstance(section, dict):
        return
    settings, problems = config.load(init_options=ls.init_options, workspace=section)
    if settings.database_path != ls.session.settings.database_path:
        settings.database_path = ls.session.settings.database_path  # fixed at start
    ls.session.settings = settings
    for p in problems:
        ls.show(p, types.MessageType.Warning)


async def _register_watchers(ls: MiraServer) -> None:
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps else None
    if not (watched and watched.dynamic_registration):
        return
    reg = types.Registration(
        id="mira-watch",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern="**/*")]
        ),
    )
    try:
        await asyncio.wait_for(
            ls.client_register_capability_async(types.RegistrationParams([reg])), 5
        )
    except Exception as exc:
        log.debug("could not register file watchers: %s", exc)


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_config_change(ls: MiraServer, params: types.DidChangeConfigurationParams) -> None:
    if isinstance(params.settings, dict) and params.settings:
        settings, problems = config.load(init_options=ls.init_options, workspace=params.settings)
        settings.database_path = ls.session.settings.database_path
        ls.session.settings = settings
        for p in problems:
            ls.show(p, types.MessageType.Warning)
    else:
        await _pull_configuration(ls)


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def on_folders(ls: MiraServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    for folder in params.event.removed:
        p = uri_to_path(folder.uri)
        if p is not None:
            ls.session.remove_root(p)
    for folder in params.event.added:
        p = uri_to_path(folder.uri)
        if p is not None and ls.session.store is not None:
            root = ls.session.add_root(p)
            ls.submit(ls.index_jobs, f"indexing {root.root}", _full_index, ls, root.root)


# -- background indexing --------------------------------------------------------------


def _full_index(ls: MiraServer, root: Path) -> None:
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
        )
    except BaseException:
        progress.end("indexing failed")
        raise
    progress.end(
        f"{stats.files} files, {stats.symbols} symbols, {stats.resolved} of "
        f"{stats.edges} calls resolved in {stats.seconds:.1f} s"
    )
    if not progress.cancelled():
        _schedule_mining(ls, root)
    if ls.session.settings.index.jedi and not progress.cancelled():
        project = ls.session.locate(root)
        if project is not None:
            resolve.resolve_python_with_jedi(
                store, project.project.project_id, root, cancel=progress.cancelled
            )


def _update_file(ls: MiraServer, loc: Located) -> None:
    store = ls.session.store
    if store is None:
        return
    if loc.abs_path.is_file():
        indexer.update_file(store, loc.project.project_id, loc.project.root, loc.rel_path)
    else:
        indexer.remove_file(store, loc.project.project_id, loc.rel_path)


# -- git history ----------------------------------------------------------------------


def _schedule_mining(ls: MiraServer, root: Path) -> None:
    """Mine in the background (cheap when HEAD has not moved); one queued run per root."""
    if ls.session.store is None or not ls.session.settings.git.enabled:
        return
    with ls._mining_lock:
        if root in ls.mining_queued:
            return
        ls.mining_queued.add(root)
    ls.submit(ls.git_jobs, f"mining the git history of {root}", _mine, ls, root)


def _mine(ls: MiraServer, root: Path) -> None:
    with ls._mining_lock:
        ls.mining_queued.discard(root)
    store = ls.session.store
    loc = ls.session.locate(root)
    if store is None or loc is None:
        return
    progress = ThreadSafeProgress(ls, f"mira-ls: git history of {root.name}")
    started = False

    def report(message: str, pct: int | None) -> None:
        nonlocal started
        if not started:  # no progress bar for a run that finds HEAD unchanged
            started = True
            progress.begin(message)
        progress.report(pct or 0, 100 if pct is not None else 0, message)

    try:
        stats = miner.mine(
            store,
            loc.project.project_id,
            root,
            ls.session.settings,
            progress=report,
            cancel=progress.cancelled,
        )
    except BaseException:
        if started:
            progress.end("mining failed")
        raise
    if started:
        progress.end(
            f"{stats.new_commits} commits mined ({stats.mode}) in {stats.seconds:.1f} s"
            if stats.status == "ok"
            else stats.message or stats.status
        )
    if stats.status == "error":
        ls.show(stats.message, types.MessageType.Warning)
    if stats.status == "ok":
        for _, doc_loc in _open_documents(ls, loc.project.project_id):
            _schedule_blame(ls, doc_loc)
        _publish_cochange(ls, loc.project.project_id, root)


def _open_documents(ls: MiraServer, project_id: int) -> list[tuple[str, Located]]:
    """(uri as the client sent it, location) of the project's open documents."""
    out = []
    for uri in list(ls.workspace.text_documents):
        path = uri_to_path(uri)
        loc = ls.session.locate(path) if path else None
        if loc is not None and loc.project.project_id == project_id:
            out.append((uri, loc))
    return out


def _schedule_blame(ls: MiraServer, loc: Located) -> None:
    if ls.session.store is None or not ls.session.settings.git.enabled:
        return
    ls.submit(ls.blame_jobs, f"blaming {loc.rel_path}", _blame, ls, loc)


def _blame(ls: MiraServer, loc: Located) -> None:
    store = ls.session.store
    if store is None:
        return
    git_blame.ensure_blame(
        store, loc.project.project_id, loc.project.root, loc.rel_path, ls.session.settings
    )
    lens = ls.client_capabilities.workspace and ls.client_capabilities.workspace.code_lens
    if ls.session.settings.code_lens.authors and lens and lens.refresh_support:
        ls.send_soon(ls.workspace_code_lens_refresh, None)


def _publish_cochange(ls: MiraServer, project_id: int, root: Path) -> None:
    """Co-change diagnostics for every open file of the project (one git call)."""
    store = ls.session.store
    docs = _open_documents(ls, project_id)
    if store is None or not docs:
        return
    found = cochange_diagnostics.cochange_diagnostics_many(
        store, project_id, root, [d.rel_path for _, d in docs], ls.session.settings
    )
    for uri, d in docs:
        ls.publish_diagnostics(uri, "cochange", found.get(d.rel_path, []))


def _after_save(ls: MiraServer, loc: Located) -> None:
    """HEAD may have moved (a commit from the terminal): mine, blame the saved file, then
    check co-change partners of every open file."""
    _mine(ls, loc.project.root)
    _schedule_blame(ls, loc)
    _publish_cochange(ls, loc.project.project_id, loc.project.root)


def _is_git_head_change(rel_path: str) -> bool:
    return rel_path in (".git/HEAD", ".git/packed-refs") or rel_path.startswith(".git/refs/")


# -- documents ------------------------------------------------------------------------


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def on_open(ls: MiraServer, params: types.DidOpenTextDocumentParams) -> None:
    path = uri_to_path(params.text_document.uri)
    loc = ls.session.locate(path) if path else None
    if loc is not None:
        _schedule_blame(ls, loc)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def on_save(ls: MiraServer, params: types.DidSaveTextDocumentParams) -> None:
    path = uri_to_path(params.text_document.uri)
    loc = ls.session.locate(path) if path else None
    if loc is not None and ls.session.store is not None and ls.session.settings.git.enabled:
        ls.submit(ls.git_jobs, f"checking git for {loc.rel_path}", _after_save, ls, loc)
    if loc is not None and ls.session.settings.build.on_save and ls.session.store is not None:
        task = asyncio.ensure_future(_start_build(ls, loc.project, None, on_save=True))
        ls.tasks.add(task)
        task.add_done_callback(ls.tasks.discard)
    if loc is None or language_for_path(loc.rel_path) is None:
        return
    ls.submit(ls.index_jobs, f"updating {loc.rel_path}", _update_file, ls, loc)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def on_watched(ls: MiraServer, params: types.DidChangeWatchedFilesParams) -> None:
    for change in params.changes:
        path = uri_to_path(change.uri)
        loc = ls.session.locate(path) if path else None
        if loc is not None and _is_git_head_change(loc.rel_path):
            _schedule_mining(ls, loc.project.root)  # a commit, checkout or reset
            continue
        if loc is None or ".git/" in f"/{loc.rel_path}" or language_for_path(loc.rel_path) is None:
            continue
        ls.submit(ls.index_jobs, f"updating {loc.rel_path}", _update_file, ls, loc)


# -- requests -------------------------------------------------------------------------


def _position(ls: MiraServer, text: str, pos: types.Position) -> tuple[int, int]:
    return LineMap(text, ls.encoding).from_client(pos)


@server.feature(types.TEXT_DOCUMENT_HOVER)
@guarded(None, "the hover")
def on_hover(ls: MiraServer, params: types.HoverParams) -> types.Hover | None:
    ls.chat.saw(params.text_document.uri, params.position.line, params.position.character)
    found = ls.document(params.text_document.uri)
    if found is None:
        return None
    loc, text = found
    line, col = _position(ls, text, params.position)
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
    return symbols.workspace_symbols(ls.session, params.query)


@server.feature(types.TEXT_DOCUMENT_PREPARE_CALL_HIERARCHY)
@guarded(None, "the call hierarchy")
def on_prepare_calls(
    ls: MiraServer, params: types.CallHierarchyPrepareParams
) -> list[types.CallHierarchyItem] | None:
    found = ls.document(params.text_document.uri)
    if found is None:
        return None
    loc, text = found
    line, col = _position(ls, text, params.position)
    return call_hierarchy.prepare(ls.session, loc, text, line, col)


@server.feature(types.CALL_HIERARCHY_INCOMING_CALLS)
@guarded([], "incoming calls")
def on_incoming(
    ls: MiraServer, params: types.CallHierarchyIncomingCallsParams
) -> list[types.CallHierarchyIncomingCall]:
    return call_hierarchy.incoming(ls.session, params.item)


@server.feature(types.CALL_HIERARCHY_OUTGOING_CALLS)
@guarded([], "outgoing calls")
def on_outgoing(
    ls: MiraServer, params: types.CallHierarchyOutgoingCallsParams
) -> list[types.CallHierarchyOutgoingCall]:
    return call_hierarchy.outgoing(ls.session, params.item)


@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
@guarded([], "code lenses")
def on_code_lens(ls: MiraServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    found = ls.document(params.text_document.uri)
    if found is None:
        return []
    loc, text = found
    return code_lens.code_lenses(ls.session, loc, text, ls.encoding)


# -- commands -------------------------------------------------------------------------


def _arg(args: tuple[Any, ...]) -> dict[str, Any]:
    """Commands take one optional object; Helix's picker sends nothing at all."""
    if args and isinstance(args[0], dict):
        return args[0]
    return {}


@server.command("mira.reindex")
def cmd_reindex(ls: MiraServer, *args: Any) -> dict[str, Any]:
    if ls.session.store is None:
        return {"started": False, "message": "mira-ls has no database; see the earlier error."}
    roots = list(ls.session.roots)
    for r in roots:
        ls.submit(ls.index_jobs, f"indexing {r.root}", _full_index, ls, r.root)
    return {"started": True, "roots": [str(r.root) for r in roots]}


@server.command("mira.callers")
def cmd_callers(ls: MiraServer, *args: Any) -> list[dict[str, Any]]:
    """Caller locations of the symbol at {uri, position}: what the "N callers" lens opens."""
    a = _arg(args)
    uri, pos = a.get("uri"), a.get("position")
    if not isinstance(uri, str) or not isinstance(pos, dict):
        return []
    found = ls.document(uri)
    if found is None:
        return []
    loc, text = found
    position = types.Position(int(pos.get("line", 0)), int(pos.get("character", 0)))
    line, col = _position(ls, text, position)
    items = call_hierarchy.prepare(ls.session, loc, text, line, col) or []
    out: list[dict[str, Any]] = []
    for item in items:
        for call in call_hierarchy.incoming(ls.session, item):
            for r in call.from_ranges:
                out.append(
                    {
                        "uri": call.from_.uri,
                        "range": ls.protocol._converter.unstructure(r),
                        "name": call.from_.name,
                    }
                )
    return out


# -- LLM commands (features/chat.py does the work; this is wiring) ----------------------


async def _chat_command(ls: MiraServer, op: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """Run one chat command in llm_jobs: chunks as mira/chatChunk and $/progress, the answer
    as a markdown file shown with window/showDocument (showMessage when unsupported)."""
    arg = _arg(args)
    aid = uuid.uuid4().hex[:12]
    cancel = threading.Event()
    seq_box = [0]

    def notify(text: str, seq: int, done: bool) -> None:
        ls.send_soon(
            ls.protocol.notify,
            "mira/chatChunk",
            {"id": aid, "seq": seq, "text": text, "done": done},
        )

    def job() -> dict[str, Any]:
        try:
            svc = ls.chat.service(ls.session)
            prep = chat.prepare(ls.chat, ls.session, op, arg, ls.document, ls.encoding, svc.secrets)
        except chat.NeedInput as exc:
            return chat.error_result(exc, aid)
        progress = ThreadSafeProgress(ls, f"Mira: {prep.title}")
        progress.begin("asking the model")
        tail: list[str] = []

        def chunk(text: str, seq: int) -> None:
            seq_box[0] = seq
            notify(text, seq, False)
            tail.append(text)
            shown = "".join(tail)[-80:].replace("\n", " ").strip()
            progress.report(0, 0, shown)

        sink = chat.Sink(chunk, lambda: cancel.is_set() or progress.cancelled())
        try:
            result = chat.run(ls.chat, ls.session, prep, sink, aid)
        except (LlmError, chat.NeedInput) as exc:
            log.warning("mira.%s failed: %s", op, svc.scrub(str(exc)))
            progress.end(svc.scrub(str(exc))[:200])
            return chat.error_result(exc, aid)
        finally:
            notify("", seq_box[0] + 1, True)
        if tail:  # the last throttled report would otherwise hide the end of the answer
            progress.report(0, 0, "".join(tail)[-80:].replace("\n", " ").strip(), force=True)
        progress.end(result["cost"])
        return result

    fut = asyncio.get_running_loop().run_in_executor(ls.llm_jobs, job)
    try:
        result = await asyncio.shield(fut)
    except asyncio.CancelledError:
        cancel.set()
        raise
    if "error" in result:
        kind = (
            types.MessageType.Warning
            if result["kind"] in ("input", "budget")
            else types.MessageType.Error
        )
        ls.window_show_message(types.ShowMessageParams(type=kind, message=result["error"]))
        return result
    caps = ls.client_capabilities.window
    shown = False
    if caps is not None and caps.show_document is not None and caps.show_document.support:
        try:
            r = await asyncio.wait_for(
                ls.window_show_document_async(
                    types.ShowDocumentParams(uri=result["uri"], take_focus=True)
                ),
                10,
            )
            shown = bool(r and r.success)
        except Exception as exc:
            log.debug("showDocument failed: %s", exc)
    if not shown:
        ls.window_show_message(
            types.ShowMessageParams(
                type=types.MessageType.Info,
                message=f"{result['text'][:1500]}\n\n({result['cost']}; full answer: "
                f"{result['file']})",
            )
        )
    if result.get("edit_files") and caps is not None and caps.show_message is not None:
        task = asyncio.ensure_future(_offer_fix(ls, result["id"], arg.get("uri")))
        ls.chat.tasks.add(task)
        task.add_done_callback(ls.chat.tasks.discard)
    return result


async def _offer_fix(ls: MiraServer, aid: str, uri: str | None) -> None:
    apply = types.MessageActionItem(title="Apply")
    try:
        choice = await asyncio.wait_for(
            ls.window_show_message_request_async(
                types.ShowMessageRequestParams(
                    type=types.MessageType.Info,
                    message="Mira's fix applies to the current file. Apply it?",
                    actions=[apply, types.MessageActionItem(title="Dismiss")],
                )
            ),
            600,
        )
    except Exception as exc:
        log.debug("showMessageRequest failed: %s", exc)
        return
    if choice is not None and choice.title == apply.title:
        await cmd_apply_fix(ls, {"id": aid, "uri": uri})


def _root_of(ls: MiraServer, uri: str) -> Path | None:
    path = uri_to_path(uri)
    loc = ls.session.locate(path) if path else None
    return loc.project.root if loc else None


@server.command("mira.chat")
async def cmd_chat(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _chat_command(ls, "chat", args)


@server.command("mira.explain")
async def cmd_explain(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _chat_command(ls, "explain", args)


@server.command("mira.fixError")
async def cmd_fix_error(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _chat_command(ls, "fix_error", args)


@server.command("mira.reviewChanges")
async def cmd_review(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _chat_command(ls, "review", args)


@server.command("mira.applyFix")
async def cmd_apply_fix(ls: MiraServer, *args: Any) -> dict[str, Any]:
    a = _arg(args)
    aid = a.get("id") if isinstance(a.get("id"), str) else ""
    uri = a.get("uri") if isinstance(a.get("uri"), str) else None
    if uri is None and ls.chat.cursor is not None:
        uri = ls.chat.cursor.uri
    edit = chat.workspace_edit(ls.chat, aid, lambda u: _root_of(ls, u), uri, ls.encoding)
    if edit is None:
        msg = "No applicable fix with that id; run mira.fixError again."
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=msg))
        return {"applied": False, "error": msg}
    r = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=edit, label="Mira: apply fix")
    )
    return {"applied": bool(r and r.applied)}


def _llm_info(
    ls: MiraServer, fn: Callable[[Any], dict[str, Any]], text: Callable[[dict[str, Any]], str]
) -> dict[str, Any]:
    try:
        data = fn(ls.chat.service(ls.session))
    except (chat.NeedInput, StoreError) as exc:
        ls.show(str(exc), types.MessageType.Warning)
        return {"error": str(exc)}
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=text(data)))
    return data


@server.command("mira.budget")
def cmd_budget(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return _llm_info(ls, chat.budget_report, chat.budget_text)


@server.command("mira.cacheStats")
def cmd_cache_stats(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return _llm_info(ls, lambda svc: svc.cache.stats().as_dict(), chat.cache_text)


@server.command("mira.clearCache")
def cmd_clear_cache(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return _llm_info(
        ls,
        lambda svc: {"removed": svc.cache.clear()},
        lambda d: f"LLM cache cleared: {d['removed']} answers removed.",
    )


# -- build intelligence ---------------------------------------------------------------

CONFIRM_TIMEOUT_S = 600.0


def _text_of(ls: MiraServer, root: Path) -> Callable[[str], str | None]:
    """Project-relative (or absolute) path -> live buffer text, else the file on disk."""

    def text_of(rel: str) -> str | None:
        p = Path(rel) if rel.startswith("/") else root / rel
        found = ls.document(p.as_uri())
        return found[1] if found else None

    return text_of


async def _confirm_build(
    ls: MiraServer, project: ProjectRoot, plan: build_detect.CommandPlan
) -> bool:
    """Detected commands run the repository's code: ask once per project (CONVENTIONS)."""
    store = ls.session.store
    if store is None:
        return False
    record = project_store.by_id(store.conn(), project.project_id)
    if record is not None and record.build_confirmed:
        return True
    listing = "; ".join(c.describe() for c in plan.commands)
    run, cancel = types.MessageActionItem("Run"), types.MessageActionItem("Cancel")
    message = (
        f"mira-ls found build commands in {project.root.name}. They run this project's "
        f"own code: {listing}. Run them? (Your answer is remembered for this project.)"
    )
    caps = ls.client_capabilities.window
    answer = None
    if caps is not None and caps.show_message is not None:
        try:
            answer = await asyncio.wait_for(
                ls.window_show_message_request_async(
                    types.ShowMessageRequestParams(
                        type=types.MessageType.Info, message=message, actions=[run, cancel]
                    )
                ),
                CONFIRM_TIMEOUT_S,
            )
        except Exception as exc:
            log.debug("build confirmation request failed: %s", exc)
            answer = None
    else:
        ls.show(
            f"mira-ls needs your confirmation to run the build commands found in "
            f"{project.root.name} ({listing}); this editor cannot ask. Run "
            f"'mira-ls build {project.root} --yes' once, or set mira.build.commands.",
            types.MessageType.Warning,
        )
        return False
    if answer is None or answer.title != run.title:
        ls.show(
            f"The build of {project.root.name} was not run: the detected commands were not "
            "confirmed.",
            types.MessageType.Info,
        )
        return False
    with store.write() as conn:
        project_store.set_build_confirmed(conn, project.project_id, True)
    return True


async def _start_build(
    ls: MiraServer, project: ProjectRoot, names: list[str] | None, on_save: bool = False
) -> dict[str, Any]:
    settings = ls.session.settings.build
    plan = build_detect.plan_commands(project.root, settings.commands, names)
    for problem in plan.problems:
        ls.show(problem, types.MessageType.Warning)
    shown = [
        {"name": c.name, "command": list(c.argv), "parser": c.parser, "source": c.source}
        for c in plan.commands
    ]
    result: dict[str, Any] = {"root": str(project.root), "commands": shown, "started": False}
    if not plan.commands:
        if not on_save:
            ls.show(
                f"mira-ls found no build commands for {project.root.name}: set "
                "mira.build.commands (a list of {name, command: [argv...], parser}).",
                types.MessageType.Info,
            )
        return result
    if plan.detected and not await _confirm_build(ls, project, plan):
        return result
    with ls._build_lock:
        if project.root in ls.builds_running:
            ls.builds_again.add(project.root)
            result["queued"] = True
            return result
        ls.builds_running.add(project.root)
    ls.submit(
        ls.build_jobs, f"building {project.root.name}", _build_job, ls, project, plan.commands
    )
    result["started"] = True
    return result


def _publish_build(
    ls: MiraServer, project: ProjectRoot, by_uri: dict[str, list[types.Diagnostic]]
) -> None:
    """Publish a project's build diagnostics under the URIs the client uses for open
    documents, and clear them where the latest runs no longer report anything."""
    source = f"build:{project.root}"
    client_uri: dict[str, str] = {}
    for uri in list(ls.workspace.text_documents):
        path = uri_to_path(uri)
        if path is not None:
            client_uri[path.resolve().as_uri()] = uri
    wanted = {client_uri.get(u, u): d for u, d in by_uri.items()}
    for uri in set(ls.uris_with(source)) | set(wanted):
        ls.publish_diagnostics(uri, source, wanted.get(uri, []))


def _report_progress(progress: ThreadSafeProgress, done: int, total: int, msg: str) -> None:
    progress.report(done, total, msg, force=True)


def _build_job(ls: MiraServer, project: ProjectRoot, commands: list[Any]) -> None:
    store = ls.session.store
    try:
        while store is not None and not ls.shutting_down:
            progress = ThreadSafeProgress(ls, f"mira-ls: build {project.root.name}")
            progress.begin(", ".join(c.name for c in commands))
            try:
                report = build_pipeline.run_build(
                    store,
                    project.project_id,
                    project.root,
                    commands,
                    ls.session.settings.build,
                    progress=functools.partial(_report_progress, progress),
                    cancel=progress.cancelled,
                )
            except BaseException:
                progress.end("build failed")
                raise
            by_uri = build_diagnostics.diagnostics_by_file(
                ls.session, project, ls.encoding, _text_of(ls, project.root)
            )
            _publish_build(ls, project, by_uri)
            progress.end(report.summary())
            for step in report.steps:
                if step.message and step.status not in ("cancelled",):
                    kind = (
                        types.MessageType.Error
                        if step.status in ("error", "timeout")
                        else types.MessageType.Warning
                    )
                    ls.show(step.message, kind)
            with ls._build_lock:
                if project.root not in ls.builds_again:
                    return
                ls.builds_again.discard(project.root)
    finally:
        with ls._build_lock:
            ls.builds_running.discard(project.root)
            ls.builds_again.discard(project.root)


@server.command("mira.runBuild")
async def cmd_run_build(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """Run the build of the project of {uri} (all workspace folders without one); {names}
    picks commands by name. Nothing runs on open: only here, or on save when enabled."""
    if ls.session.store is None:
        return {"started": False, "message": "mira-ls has no database; see the earlier error."}
    a = _arg(args)
    names = a.get("names")
    names = [n for n in names if isinstance(n, str)] if isinstance(names, list) else None
    projects: list[ProjectRoot] = list(ls.session.roots)
    uri = a.get("uri")
    if isinstance(uri, str):
        path = uri_to_path(uri)
        loc = ls.session.locate(path) if path else None
        if loc is None:
            ls.show(
                f"{uri} is not inside a workspace folder, so there is no build to run.",
                types.MessageType.Warning,
            )
            return {"started": False, "builds": []}
        projects = [loc.project]
    builds = [await _start_build(ls, p, names) for p in projects]
    return {"started": any(b["started"] for b in builds), "builds": builds}


@server.command(build_actions.SHOW_COMMAND)
async def cmd_show_resolutions(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """Open the markdown summary of an error's past resolutions ({errorHash, uri})."""
    a = _arg(args)
    error_hash, uri = a.get("errorHash"), a.get("uri")
    path = uri_to_path(uri) if isinstance(uri, str) else None
    loc = ls.session.locate(path) if path else None
    projects = [loc.project] if loc else list(ls.session.roots)
    if not isinstance(error_hash, str):
        ls.show(
            "Show past resolutions needs the error: use it from a build diagnostic's code actions.",
            types.MessageType.Warning,
        )
        return {"path": None}
    for project in projects:
        out = build_actions.write_resolutions(ls.session, project, error_hash)
        if out is None:
            continue
        caps = ls.client_capabilities.window
        if caps is not None and caps.show_document is not None and caps.show_document.support:
            try:
                await asyncio.wait_for(
                    ls.window_show_document_async(
                        types.ShowDocumentParams(uri=out.as_uri(), take_focus=True)
                    ),
                    10,
                )
            except Exception as exc:
                log.debug("showDocument failed: %s", exc)
                ls.show(f"Past resolutions are in {out}", types.MessageType.Info)
        else:
            ls.show(f"Past resolutions are in {out}", types.MessageType.Info)
        return {"path": str(out)}
    ls.show("That build error is no longer in the database.", types.MessageType.Warning)
    return {"path": None}


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
@guarded([], "code actions")
def on_code_action(ls: MiraServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    start = params.range.start
    ls.chat.saw(params.text_document.uri, start.line, start.character)
    found = ls.document(params.text_document.uri)
    if found is None:
        return []
    loc, text = found
    return build_actions.code_actions(
        ls.session,
        loc,
        text,
        params.range.start.line + 1,
        params.range.end.line + 1,
        ls.encoding,
        _text_of(ls, loc.project.root),
    )


@server.command("mira.openReport")
async def cmd_open_report(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """Write the insight report of the workspace ({uri?} picks the folder) under the state
    dir and ask the client to open it in a browser; without showDocument, say where it is."""
    a = _arg(args)
    if ls.session.store is None:
        msg = "mira-ls has no database, so there is nothing to report; see the earlier error."
        ls.show(msg)
        return {"opened": False, "message": msg}
    uri = a.get("uri")
    target = uri_to_path(uri) if isinstance(uri, str) else None
    loc = ls.session.locate(target) if target is not None else None
    root = loc.project.root if loc else (ls.session.roots[0].root if ls.session.roots else None)
    if root is None:
        msg = "mira-ls has no workspace folder to report on; open a folder first."
        ls.show(msg, types.MessageType.Warning)
        return {"opened": False, "message": msg}
    try:
        path, _ = await asyncio.to_thread(
            report_feature.write_workspace_report, ls.session.store, root, ls.session.settings
        )
    except StoreError as exc:
        ls.show(str(exc))
        return {"opened": False, "message": str(exc)}
    except Exception as exc:
        log.exception("the report failed")
        msg = f"mira-ls could not write the report: {exc}. Details are in the server log."
        ls.show(msg)
        return {"opened": False, "message": msg}
    file_uri = path.as_uri()
    opened = False
    window = ls.client_capabilities.window
    if window and window.show_document and window.show_document.support:
        try:
            result = await asyncio.wait_for(
                ls.window_show_document_async(
                    types.ShowDocumentParams(uri=file_uri, external=True)
                ),
                30,
            )
            opened = bool(result and result.success)
        except Exception as exc:
            log.debug("window/showDocument failed: %s", exc)
    if not opened:
        ls.show(
            f"mira-ls wrote the report to {path}; open it in a browser.", types.MessageType.Info
        )
    return {"opened": opened, "path": str(path), "uri": file_uri}


def run_stdio() -> None:
    server.start_io()


def run_tcp(host: str, port: int) -> None:
    server.start_tcp(host, port)
