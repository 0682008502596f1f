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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from mira_ls import __version__, config, paths
from mira_ls.features import call_hierarchy, code_lens, hover, symbols
from mira_ls.features.positions import LineMap
from mira_ls.features.session import Located, Session
from mira_ls.index import indexer, resolve
from mira_ls.index.languages import language_for_path
from mira_ls.progress import ThreadSafeProgress
from mira_ls.store import StoreError, open_store

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

    def send_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

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


# -- documents ------------------------------------------------------------------------


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def on_save(ls: MiraServer, params: types.DidSaveTextDocumentParams) -> None:
    path = uri_to_path(params.text_document.uri)
    loc = ls.session.locate(path) if path else None
    if loc is None or language_for_path(loc.rel_path) is None:
        return
    ls.submit(ls.index_jobs, f"updating {loc.rel_path}", _update_file, ls, loc)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def on_watched(ls: MiraServer, params: types.DidChangeWatchedFilesParams) -> None:
    for change in params.changes:
        path = uri_to_path(change.uri)
        loc = ls.session.locate(path) if path else None
        if loc is None or ".git/" in f"/{loc.rel_path}" or language_for_path(loc.rel_path) is None:
            continue
        ls.submit(ls.index_jobs, f"updating {loc.rel_path}", _update_file, ls, loc)


# -- requests -------------------------------------------------------------------------


def _position(ls: MiraServer, text: str, pos: types.Position) -> tuple[int, int]:
    return LineMap(text, ls.encoding).from_client(pos)


@server.feature(types.TEXT_DOCUMENT_HOVER)
@guarded(None, "the hover")
def on_hover(ls: MiraServer, params: types.HoverParams) -> types.Hover | None:
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


def run_stdio() -> None:
    server.start_io()


def run_tcp(host: str, port: int) -> None:
    server.start_tcp(host, port)
