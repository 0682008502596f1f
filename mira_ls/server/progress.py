"""$/progress and notifications from worker threads, marshalled onto the server's loop.

pygls writes to its transport from the event loop; background jobs run in threads, so every
message they send is handed to the loop with call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any

from lsprotocol import types

log = logging.getLogger(__name__)

REPORT_EVERY_S = 0.2


class ThreadSafeProgress:
    """One progress bar driven from a worker thread; a no-op when the client has none."""

    def __init__(self, ls: Any, title: str, *, cancellable: bool = True) -> None:
        self._ls = ls
        self.title = title
        self.token = f"mira-{uuid.uuid4().hex[:12]}"
        self._cancellable = cancellable
        self._last = 0.0
        self._enabled = bool(
            ls.client_capabilities.window and ls.client_capabilities.window.work_done_progress
        )
        self._cancel = threading.Event()
        self._begun = threading.Event()

    def _run(self, fn: Any, *args: Any) -> None:
        loop = getattr(self._ls, "loop", None)
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(fn, *args)

    def _on_token_done(self, fut: Future[Any]) -> None:
        if fut.cancelled():  # the client cancelled the progress
            self._cancel.set()

    def begin(self, message: str | None = None) -> None:
        if not self._enabled:
            return
        done = threading.Event()

        async def create() -> None:
            try:
                await asyncio.wait_for(self._ls.work_done_progress.create_async(self.token), 5)
                self._ls.work_done_progress.begin(
                    self.token,
                    types.WorkDoneProgressBegin(
                        title=self.title,
                        message=message,
                        cancellable=self._cancellable,
                        percentage=0,
                    ),
                )
                fut = self._ls.work_done_progress.tokens.get(self.token)
                if fut is not None:
                    fut.add_done_callback(self._on_token_done)
                self._begun.set()
            except Exception as exc:  # some clients refuse server-initiated progress
                log.debug("progress not available: %s", exc)
            finally:
                done.set()

        loop = getattr(self._ls, "loop", None)
        if loop is None or loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(create(), loop)
        done.wait(6)

    def report(
        self, done: int, total: int, message: str | None = None, force: bool = False
    ) -> None:
        if not self._begun.is_set():
            return
        now = time.monotonic()
        if not force and now - self._last < REPORT_EVERY_S:
            return
        self._last = now
        pct = int(100 * done / total) if total else None
        self._run(
            self._ls.work_done_progress.report,
            self.token,
            types.WorkDoneProgressReport(
                message=message, percentage=pct, cancellable=self._cancellable
            ),
        )

    def end(self, message: str | None = None) -> None:
        if not self._begun.is_set():
            return
        self._run(
            self._ls.work_done_progress.end, self.token, types.WorkDoneProgressEnd(message=message)
        )

    def cancelled(self) -> bool:
        return self._cancel.is_set() or getattr(self._ls, "shutting_down", False)
