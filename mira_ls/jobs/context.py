"""What a running job sees: its cancel token and its progress sink."""

from __future__ import annotations

import threading
from typing import Protocol


class Cancelled(Exception):
    """Raised by ``JobContext.check()`` so a job can stop from deep inside a loop."""


class CancelToken:
    """Set once, read from any thread (and, through ``ProcessExecutor``, any process)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


class ProgressSink(Protocol):
    """Where a job's progress goes. ``cancelled`` lets the sink's user (the editor's
    cancel button) stop the job too."""

    def begin(self, message: str | None = None) -> None: ...

    def report(
        self, done: int, total: int, message: str | None = None, force: bool = False
    ) -> None: ...

    def end(self, message: str | None = None) -> None: ...

    def cancelled(self) -> bool: ...


class NullProgress:
    """Progress nobody watches (tests, the CLI without a terminal)."""

    def begin(self, message: str | None = None) -> None:
        return None

    def report(
        self, done: int, total: int, message: str | None = None, force: bool = False
    ) -> None:
        return None

    def end(self, message: str | None = None) -> None:
        return None

    def cancelled(self) -> bool:
        return False


class JobContext:
    """Handed to a job function: check ``cancelled()`` between units of work, report
    through ``progress``. Progress is not begun for the job: a job that finds nothing to
    do (HEAD unchanged) shows no bar."""

    def __init__(self, lane: str, key: object, token: CancelToken, progress: ProgressSink) -> None:
        self.lane = lane
        self.key = key
        self.token = token
        self.progress = progress

    def cancelled(self) -> bool:
        return self.token.cancelled or self.progress.cancelled()

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled
