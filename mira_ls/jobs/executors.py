"""How a lane runs a job: in its own thread, or in a child process.

A process is for CPU-bound pure-Python work (jedi, and the embedding and analysis jobs to
come): it has its own interpreter, so the server's request path never waits on its GIL,
and it can be killed at once on cancel or exit. Its function and arguments must pickle
(a module-level function); it gets a ``ChildContext`` in place of the ``JobContext``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from mira_ls.jobs.context import Cancelled, JobContext

log = logging.getLogger(__name__)

POLL_S = 0.05


class Executor(Protocol):
    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], ctx: JobContext) -> Any:
        """Run ``fn(ctx, *args)`` to the end (or cancellation) and return its result."""
        ...

    def stop(self) -> None:
        """End whatever is running, without waiting for it."""
        ...


class ThreadExecutor:
    """Runs the job in the lane's worker thread (I/O-bound work: git, SQLite, HTTP)."""

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], ctx: JobContext) -> Any:
        return fn(ctx, *args)

    def stop(self) -> None:
        return None  # a thread cannot be killed; its job sees ctx.cancelled()


class WorkerFailed(RuntimeError):
    """The job raised in its process; the message names the exception, ``details`` holds
    the child's traceback for the log."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class ChildContext:
    """The job's side in the child process: cancel flag and progress, over a pipe."""

    def __init__(self, conn: Any, cancel: Any) -> None:
        self._conn = conn
        self._cancel = cancel

    def cancelled(self) -> bool:
        return bool(self._cancel.is_set())

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled

    def report(self, done: int, total: int, message: str | None = None) -> None:
        try:
            self._conn.send(("progress", done, total, message))
        except OSError:  # the server is gone; the job will be killed
            pass


def _child_main(job: bytes, conn: Any, cancel: Any, nice: int = 0, idle: bool = False) -> None:
    """``job``: the pickled (function, arguments), loaded only once the priority is
    lowered: loading imports the job's modules (tenths of a second of CPU for the git and
    index jobs), which at the server's priority took the CPU from requests."""
    try:  # a group of its own: killing the job kills the programs it started (git) too
        os.setpgid(0, 0)
    except OSError as exc:
        log.debug("the worker keeps its parent's process group: %s", exc)
    if idle:
        _idle_policy()
    if nice:
        try:
            os.nice(nice)
        except OSError as exc:  # not allowed here: the work still runs, only not yielding
            log.debug("could not lower the worker's priority: %s", exc)
    ctx = ChildContext(conn, cancel)
    try:
        fn, args = pickle.loads(job)
        result = fn(ctx, *args)
    except Cancelled:
        conn.send(("cancelled",))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    else:
        conn.send(("result", result))
    finally:
        conn.close()


def _idle_policy() -> None:
    """Linux's SCHED_IDLE for this process and what it starts: it runs when the CPU has
    nothing else to do. Inherited by its git processes."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError) as exc:  # not Linux: nice alone
        log.debug("could not give the worker the idle policy: %s", exc)


class ProcessExecutor:
    """One child process per job (``forkserver``: cheap to start, no inherited threads or
    locks). On cancel the child is asked to stop, and killed after ``grace_s``.

    ``nice``: how much lower the child's CPU priority is. The server's background children
    (mining, blame, X-Ray, jedi) run at nice 10, so on a busy machine the process answering
    requests gets the CPU first (each X-Ray of a large file is seconds of CPU, and a user
    opens a dozen files at once); they still use every idle cycle.

    ``idle``: the idle scheduling policy as well (Linux). Niceness alone was not enough on
    two cores: a request waited up to a few ms for the CPU behind nice 10 work (empty round
    trip p95 1.2 -> 3.6 ms with two nice 10 busy loops beside the server, 1.2 ms with two
    idle-policy ones). On a machine busy with other work they get very little CPU."""

    def __init__(
        self,
        start_method: str = "forkserver",
        grace_s: float = 0.5,
        nice: int = 0,
        *,
        idle: bool = False,
    ) -> None:
        self._mp: Any = multiprocessing.get_context(start_method)
        self._grace_s = grace_s
        self._nice = nice
        self._idle = idle
        self._procs: set[Any] = set()
        self._lock = threading.Lock()

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], ctx: JobContext) -> Any:
        recv, send = self._mp.Pipe(duplex=False)
        cancel = self._mp.Event()
        proc = self._mp.Process(
            target=_child_main,
            args=(pickle.dumps((fn, args)), send, cancel, self._nice, self._idle),
            name=f"mira-{ctx.lane}",
            daemon=True,
        )
        with self._lock:
            self._procs.add(proc)
        try:
            proc.start()
            send.close()
            return self._wait(proc, recv, cancel, ctx)
        finally:
            recv.close()
            with self._lock:
                self._procs.discard(proc)

    def _wait(self, proc: Any, recv: Any, cancel: Any, ctx: JobContext) -> Any:
        kill_at: float | None = None
        waited = 0.0
        while True:
            if ctx.cancelled() and kill_at is None:
                cancel.set()
                kill_at = waited + self._grace_s
            if kill_at is not None and waited >= kill_at:
                _kill(proc)
                raise Cancelled
            try:
                ready = recv.poll(POLL_S)
            except (EOFError, OSError):
                ready = False
            waited += POLL_S
            if not ready:
                if not proc.is_alive():
                    try:  # its last message may have come between the poll and now
                        if recv.poll(0):
                            continue
                    except (EOFError, OSError):
                        pass
                    break
                continue
            try:
                msg = recv.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "progress":
                ctx.progress.report(msg[1], msg[2], msg[3])
            elif msg[0] == "result":
                proc.join(self._grace_s)
                return msg[1]
            elif msg[0] == "cancelled":
                proc.join(self._grace_s)
                raise Cancelled
            elif msg[0] == "error":
                proc.join(self._grace_s)
                raise WorkerFailed(msg[1], msg[2])
        proc.join(self._grace_s)
        if kill_at is not None:
            raise Cancelled
        raise WorkerFailed(f"the worker process ended with status {proc.exitcode}")

    def stop(self) -> None:
        with self._lock:
            procs = list(self._procs)
        for p in procs:
            _kill(p)  # no join: exit must not wait for a child


def _kill(proc: Any) -> None:
    """Kill a job's process and whatever it started (its process group, see _child_main):
    a blame's git left running would go on for seconds after the server has exited."""
    try:
        pid = proc.pid
        if pid is not None and hasattr(os, "killpg") and os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
            return
    except OSError:  # already gone, or not yet its own group: the process alone
        pass
    try:
        proc.kill()
    except (OSError, ValueError, AttributeError):  # not started or already reaped
        pass
