"""The runner: lanes of queued jobs, coalesced by key, run by their lane's executor."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from mira_ls.jobs.context import Cancelled, CancelToken, JobContext, NullProgress, ProgressSink
from mira_ls.jobs.executors import Executor, ThreadExecutor, WorkerFailed

log = logging.getLogger(__name__)

Merge = Callable[[tuple[Any, ...], tuple[Any, ...]], tuple[Any, ...]]


@dataclass
class Lane:
    """A named queue with its own workers. ``workers`` > 1 runs that many jobs at once
    (never two of the same key)."""

    name: str
    workers: int = 1
    executor: Executor = field(default_factory=ThreadExecutor)


@dataclass
class Job:
    """``fn(ctx, *args)``. ``title`` says what it does in logs and error messages
    ("indexing /src/app"); ``progress`` is the title of its progress bar (None: the job
    gets a ``NullProgress``)."""

    lane: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    key: Hashable | None = None
    title: str | None = None
    progress: str | None = None


class Handle:
    """A submitted job: its result as a ``concurrent.futures.Future`` (await it with
    ``asyncio.wrap_future``), and ``cancel()``. A coalesced submission returns the handle
    of the queued job it joined."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.token = CancelToken()
        self.future: Future[Any] = Future()

    def cancel(self) -> None:
        self.token.cancel()
        self.future.cancel()  # only succeeds while queued; a running job sees the token

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled


@dataclass
class _LaneState:
    lane: Lane
    queue: deque[Handle] = field(default_factory=deque)
    running: dict[int, Handle] = field(default_factory=dict)  # id(handle) -> handle
    threads: list[threading.Thread] = field(default_factory=list)

    def queued_with(self, key: Hashable) -> Handle | None:
        for h in self.queue:
            if h.job.key == key and not h.cancelled:  # a cancelled entry takes no new work
                return h
        return None

    def running_keys(self) -> set[Hashable]:
        return {h.job.key for h in self.running.values() if h.job.key is not None}

    def next_ready(self) -> Handle | None:
        busy = self.running_keys()
        for h in self.queue:
            if h.job.key is None or h.job.key not in busy:
                self.queue.remove(h)
                return h
        return None


class Runner:
    """Background work off the request path. ``progress(job)`` makes the sink of a job
    with a progress title; ``on_error(job, exc)`` hears about a job that failed (the lane
    goes on)."""

    def __init__(
        self,
        lanes: Iterable[Lane],
        *,
        progress: Callable[[Job], ProgressSink] | None = None,
        on_error: Callable[[Job, BaseException], None] | None = None,
    ) -> None:
        self._lanes = {lane.name: _LaneState(lane) for lane in lanes}
        self._progress = progress
        self._on_error = on_error
        self._cond = threading.Condition()
        self._stopped = False

    # -- submitting ---------------------------------------------------------------------

    def submit(
        self,
        lane: str,
        fn: Callable[..., Any],
        *args: Any,
        key: Hashable | None = None,
        title: str | None = None,
        progress: str | None = None,
        merge: Merge | None = None,
    ) -> Handle | None:
        """Queue ``fn(ctx, *args)`` on ``lane``. Same ``key`` still queued: that entry
        takes these arguments (``merge(old_args, new_args)`` when given) and keeps its
        place. None once the runner is stopped."""
        with self._cond:
            if self._stopped:
                return None
            state = self._lanes[lane]
            if key is not None:
                queued = state.queued_with(key)
                if queued is not None:
                    queued.job.args = merge(queued.job.args, args) if merge else args
                    queued.job.fn = fn
                    queued.job.title = title or queued.job.title
                    queued.job.progress = progress or queued.job.progress
                    return queued
            handle = Handle(Job(lane, fn, args, key, title, progress))
            state.queue.append(handle)
            self._start_workers(state)
            self._cond.notify_all()
            return handle

    def _start_workers(self, state: _LaneState) -> None:
        while len(state.threads) < state.lane.workers:
            t = threading.Thread(
                target=self._work,
                args=(state,),
                name=f"mira-{state.lane.name}-{len(state.threads)}",
                daemon=True,  # exit never joins a worker (ThreadPoolExecutor's would)
            )
            state.threads.append(t)
            t.start()

    # -- running ------------------------------------------------------------------------

    def _work(self, state: _LaneState) -> None:
        while True:
            with self._cond:
                handle = None
                while not self._stopped:
                    handle = state.next_ready()
                    if handle is not None:
                        break
                    self._cond.wait()
                if handle is None:
                    return
                state.running[id(handle)] = handle
            try:
                self._run(state, handle)
            finally:
                with self._cond:
                    state.running.pop(id(handle), None)
                    self._cond.notify_all()

    def _run(self, state: _LaneState, handle: Handle) -> None:
        job = handle.job
        if not handle.future.set_running_or_notify_cancel():
            return  # cancelled while queued
        progress: ProgressSink = NullProgress()
        if job.progress is not None and self._progress is not None:
            try:
                progress = self._progress(job)
            except Exception as exc:  # no progress bar is no reason not to run
                log.debug("no progress for %s: %s", job.progress, exc)
        ctx = JobContext(job.lane, job.key, handle.token, progress)
        try:
            if ctx.cancelled():
                raise Cancelled
            result = state.lane.executor.run(job.fn, job.args, ctx)
        except Cancelled as exc:
            handle.future.set_exception(exc)
        except BaseException as exc:
            if isinstance(exc, WorkerFailed) and exc.details:
                log.error("%s failed in its process:\n%s", job.title or job.lane, exc.details)
            else:
                log.exception("%s failed", job.title or job.lane)
            handle.future.set_exception(exc)
            if self._on_error is not None and not self._stopped:
                try:
                    self._on_error(job, exc)
                except Exception:
                    log.exception("the error handler of %s failed", job.title or job.lane)
        else:
            handle.future.set_result(result)

    # -- stopping -----------------------------------------------------------------------

    def cancel(self, lane: str, key: Hashable) -> None:
        """Cancel the queued and the running job of ``key`` on ``lane``."""
        with self._cond:
            state = self._lanes[lane]
            hits = [h for h in list(state.queue) + list(state.running.values()) if h.job.key == key]
            for h in hits:
                if h in state.queue:
                    state.queue.remove(h)
        for h in hits:
            h.cancel()

    def cancel_all(self) -> None:
        """Drop every queued job and tell every running one to stop."""
        with self._cond:
            handles = []
            for state in self._lanes.values():
                handles += list(state.queue) + list(state.running.values())
                state.queue.clear()
            self._cond.notify_all()
        for h in handles:
            h.cancel()

    def stop(self) -> None:
        """Cancel everything, accept nothing more, end the executors' work; wait for
        nothing (worker threads are daemons, child processes are killed)."""
        with self._cond:
            self._stopped = True
        self.cancel_all()
        for state in self._lanes.values():
            try:
                state.lane.executor.stop()
            except Exception as exc:
                log.debug("stopping the %s lane: %s", state.lane.name, exc)

    @property
    def stopped(self) -> bool:
        return self._stopped

    # -- observing ----------------------------------------------------------------------

    def busy(self, lane: str | None = None) -> int:
        """Jobs queued or running (on one lane, or all)."""
        with self._cond:
            states = [self._lanes[lane]] if lane else list(self._lanes.values())
            return sum(len(s.queue) + len(s.running) for s in states)

    def has_key(self, lane: str, key: Hashable) -> bool:
        """Whether a job of ``key`` is queued or running on ``lane``."""
        with self._cond:
            state = self._lanes[lane]
            handles = list(state.queue) + list(state.running.values())
            return any(h.job.key == key and not h.cancelled for h in handles)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running (the CLI, tests); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._idle(), timeout)

    def _idle(self) -> bool:
        return all(not s.queue and not s.running for s in self._lanes.values())
