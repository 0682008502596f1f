"""The server object and what every handler module shares: messages from any thread,
diagnostics merged per source, live documents, background jobs, guarded handlers.

A server object (made by ``mira_ls.server.create_server``) holds all mutable state;
handlers are pygls wiring around feature functions, and a failing handler answers empty
with a sentence for the user.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from mira_ls import __version__, config
from mira_ls.features import (
    chat,
)
from mira_ls.features.positions import LineMap, Lines
from mira_ls.features.session import Located, Session
from mira_ls.index import indexer
from mira_ls.index.save_process import SaveProcess
from mira_ls.jobs import Handle, Job, Lane, ProcessExecutor, ProgressSink, Runner
from mira_ls.jobs.runner import Merge
from mira_ls.server.progress import ThreadSafeProgress
from mira_ls.store import StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")
MESSAGE_REPEAT_S = 60.0
BACKGROUND_NICE = 10  # background children yield the CPU to the process answering requests


def uri_to_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme not in ("file", ""):
        return None
    return Path(unquote(parsed.path))


def lanes() -> list[Lane]:
    """The server's lanes: each area queues apart, so a long build never delays a blame.
    jedi is pure Python and slow: in a thread it would hold the GIL (and every hover) for
    minutes, so it runs in a child process, killed on exit."""
    return [
        Lane("index"),
        Lane("mine"),
        Lane("blame"),
        Lane("build"),
        Lane("llm", workers=2),
        Lane("embed"),  # a workspace's embedding run: apart from chat, which it would delay
        Lane("analysis"),  # mira.analyze: apart from chat too
        Lane("jedi", workers=2, executor=ProcessExecutor(nice=BACKGROUND_NICE, idle=True)),
        # the semantic graph's builds: Python and SQLite for most of a second on a large
        # project, which in a thread would hold the GIL while requests wait
        Lane("graph", executor=ProcessExecutor(nice=BACKGROUND_NICE, idle=True)),
    ]


class MiraServer(LanguageServer):
    """One server's mutable state: session, job runner, diagnostics, loop."""

    def __init__(self) -> None:
        super().__init__("mira-ls", __version__)
        self.session = Session(store=None, settings=config.Settings())
        self.loop: asyncio.AbstractEventLoop | None = None
        self.jobs = Runner(lanes(), progress=self._progress_for, on_error=self._job_failed)
        # Mining and blame run in child processes that write the database themselves; the
        # lane's thread only waits on a pipe, so requests never wait on their GIL.
        self.workers = ProcessExecutor(nice=BACKGROUND_NICE, idle=True)
        self.parse_cache = indexer.ParseCache()  # a save re-parses only the edited region
        self._saves: SaveProcess | None = None  # see save_process()
        self._edited: set[str] = set()  # URIs edited since they were opened (first_edit)
        self._saves_lock = threading.Lock()
        self.chat = chat.ChatState()
        # Diagnostics per document and source: publishDiagnostics replaces a document's whole
        # list, so each source (co-change, the build) updates its part and all are sent.
        self._diagnostics: dict[str, dict[str, list[types.Diagnostic]]] = {}
        self._diagnostics_lock = threading.Lock()
        self.tasks: set[asyncio.Future[Any]] = set()  # fire-and-forget coroutines, kept alive
        self.shutting_down = False
        self.shutdown_requested = False  # the exit code says whether shutdown came first
        self.init_options: dict[str, Any] = {}
        self._shown: dict[str, float] = {}
        self._resolved_uris: dict[str, Path] = {}  # open documents' URIs -> resolved paths
        self._shown_lock = threading.Lock()

    # -- messages ---------------------------------------------------------------------

    def show(
        self, message: str, kind: types.MessageType = types.MessageType.Error, *, once: bool = True
    ) -> None:
        """window/showMessage from any thread. ``once``: a message from background work or a
        failing request is not repeated within a minute (not every keystroke); the answer
        to something the user asked for (once=False) is always shown, as some editors
        (Helix) show nothing else."""
        now = time.monotonic()
        with self._shown_lock:
            if once and now - self._shown.get(message, -1e9) < MESSAGE_REPEAT_S:
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

    async def show_document(
        self, uri: str, *, external: bool = False, fallback: str | None = None
    ) -> bool:
        """window/showDocument when the client has it; else (or when it fails) show
        ``fallback`` as a message. Returns whether the client opened the document."""
        window = self.client_capabilities.window
        opened = False
        if window and window.show_document and window.show_document.support:
            try:
                result = await asyncio.wait_for(
                    self.window_show_document_async(
                        types.ShowDocumentParams(
                            uri=uri, external=external or None, take_focus=not external or None
                        )
                    ),
                    30,
                )
                opened = bool(result and result.success)
            except Exception as exc:
                log.debug("window/showDocument failed: %s", exc)
        if not opened and fallback:
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Info, message=fallback)
            )
        return opened

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

    def lines(self) -> Lines:
        """A per-request converter of stored positions in any file to the client's encoding,
        reading open buffers (what the client counts in) before the disk."""
        by_path: dict[Path, str] | None = None

        def buffer_text(path: Path) -> str | None:
            nonlocal by_path
            if by_path is None:  # once per request; stored paths are under resolved roots
                by_path = {}
                for uri, doc in list(self.workspace.text_documents.items()):
                    p = self._resolved_uris.get(uri)
                    if p is None:  # resolved once per URI: a dozen per request cost 1 ms
                        p = uri_to_path(uri)
                        if p is None:
                            continue
                        try:
                            p = p.resolve()
                        except OSError:
                            pass
                        if len(self._resolved_uris) > 10_000:
                            self._resolved_uris.clear()
                        self._resolved_uris[uri] = p
                    by_path[p] = doc.source
            return by_path.get(path)

        return Lines(self.encoding, buffer_text, self.session.stored_non_ascii)

    # -- background work --------------------------------------------------------------

    def submit(
        self,
        lane: str,
        what: str,
        fn: Callable[..., Any],
        *args: Any,
        key: Hashable | None = None,
        progress: str | None = None,
        merge: Merge | None = None,
    ) -> Handle | None:
        """Run ``fn(ctx, *args)`` on a lane of the job runner; ``what`` names it in the
        message its failure becomes (never a dead server); ``progress`` titles its bar;
        ``merge`` combines the arguments of a job queued under the same key."""
        if self.shutting_down:
            return None
        return self.jobs.submit(
            lane, fn, *args, key=key, title=what, progress=progress, merge=merge
        )

    async def result_of(self, handle: Handle) -> Any:
        """A job's result, awaited without blocking the server; the editor cancelling the
        request cancels the job."""
        try:
            return await asyncio.shield(asyncio.wrap_future(handle.future))
        except asyncio.CancelledError:
            handle.token.cancel()
            raise

    async def ask(
        self,
        message: str,
        yes: str,
        no: str,
        *,
        kind: types.MessageType = types.MessageType.Info,
        timeout_s: float = 600,
    ) -> bool:
        """A yes/no question (window/showMessageRequest): False when declined, not answered
        in time, or the client cannot ask."""
        try:
            choice = await asyncio.wait_for(
                self.window_show_message_request_async(
                    types.ShowMessageRequestParams(
                        type=kind,
                        message=message,
                        actions=[
                            types.MessageActionItem(title=yes),
                            types.MessageActionItem(title=no),
                        ],
                    )
                ),
                timeout_s,
            )
        except Exception as exc:
            log.debug("showMessageRequest failed: %s", exc)
            return False
        return choice is not None and choice.title == yes

    def _progress_for(self, job: Job) -> ProgressSink:
        return ThreadSafeProgress(self, job.progress or job.title or job.lane)

    def _job_failed(self, job: Job, exc: BaseException) -> None:
        if isinstance(exc, StoreError):
            self.show(str(exc))
        else:
            what = job.title or f"a {job.lane} job"
            self.show(f"mira-ls: {what} failed: {exc}. Details are in the server log.")

    def save_process(self) -> SaveProcess | None:
        """The child process that re-indexes saved files (index/save_process.py), for the
        session's database."""
        store = self.session.store
        if store is None or self.shutting_down:
            return None
        with self._saves_lock:
            saves = self._saves
            if saves is None or saves.db_path != store.path:
                if saves is not None:
                    saves.stop()
                saves = self._saves = SaveProcess(store.path)
            return saves

    def first_edit(self, uri: str) -> bool:
        """True the first time a document is edited (since it was opened)."""
        with self._saves_lock:
            if uri in self._edited:
                return False
            self._edited.add(uri)
            return True

    def forget_edits(self, uri: str) -> None:
        with self._saves_lock:
            self._edited.discard(uri)

    def stop_background(self) -> None:
        """Shutdown: cancel every job and kill worker processes, waiting for none."""
        self.shutting_down = True
        self.jobs.stop()
        self.workers.stop()
        with self._saves_lock:
            if self._saves is not None:
                self._saves.stop()


class Handlers:
    """One module's handlers, declared with ``@handlers.feature(...)`` /
    ``@handlers.command(...)`` as on a pygls server, and put on a fresh server by
    ``register(ls)``. The table is filled once, at import; all state is on the server."""

    def __init__(self) -> None:
        self._features: list[tuple[tuple[Any, ...], Callable[..., Any]]] = []
        self._commands: list[tuple[str, Callable[..., Any]]] = []

    def feature(self, *args: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(fn: Callable[..., T]) -> Callable[..., T]:
            self._features.append((args, fn))
            return fn

        return deco

    def command(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(fn: Callable[..., T]) -> Callable[..., T]:
            self._commands.append((name, fn))
            return fn

        return deco

    def register(self, ls: LanguageServer) -> None:
        for args, fn in self._features:
            ls.feature(*args)(fn)
        for name, fn in self._commands:
            ls.command(name)(fn)


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


def command_arg(args: tuple[Any, ...]) -> dict[str, Any]:
    """Commands take one optional object; Helix's picker sends nothing at all."""
    if args and isinstance(args[0], dict):
        return args[0]
    return {}


def position(ls: MiraServer, text: str, pos: types.Position) -> tuple[int, int]:
    return LineMap(text, ls.encoding).from_client(pos)


def open_documents(ls: MiraServer, project_id: int) -> list[tuple[str, Located]]:
    """(uri as the client sent it, location) of the project's open documents."""
    out = []
    for uri in list(ls.workspace.text_documents):
        path = uri_to_path(uri)
        loc = ls.session.locate(path) if path else None
        if loc is not None and loc.project.project_id == project_id:
            out.append((uri, loc))
    return out
