"""The job runner: coalescing, cancellation, lane ordering, error isolation, processes."""

from __future__ import annotations

import os
import threading
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import pytest

from mira_ls.jobs import Cancelled, JobContext, Lane, ProcessExecutor, Runner
from mira_ls.jobs.executors import WorkerFailed
from tests.support import jobs_worker

WAIT = 30.0  # generous: the machine is shared; nothing here is timed


class Gate:
    """A job that blocks its lane until opened, so tests control what is queued."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()

    def __call__(self, ctx: JobContext) -> str:
        self.entered.set()
        assert self.open.wait(WAIT)
        return "gate"


def record(ctx: JobContext, out: list[Any], value: Any) -> Any:
    out.append(value)
    return value


@pytest.fixture
def runner() -> Any:
    r = Runner([Lane("a"), Lane("b"), Lane("wide", workers=2)])
    yield r
    r.stop()


def test_a_lane_runs_its_jobs_in_submission_order(runner: Runner) -> None:
    gate, out = Gate(), []
    runner.submit("a", gate)
    for i in range(5):
        runner.submit("a", record, out, i)
    gate.open.set()
    assert runner.wait_idle(WAIT)
    assert out == [0, 1, 2, 3, 4]


def test_a_blocked_lane_does_not_hold_up_another(runner: Runner) -> None:
    gate, out = Gate(), []
    runner.submit("a", gate)
    assert gate.entered.wait(WAIT)
    h = runner.submit("b", record, out, "b ran")
    assert h is not None and h.future.result(WAIT) == "b ran"
    assert runner.busy("a") == 1
    gate.open.set()
    assert runner.wait_idle(WAIT)


def test_a_queued_key_is_replaced_in_place(runner: Runner) -> None:
    gate, out = Gate(), []
    runner.submit("a", gate)
    first = runner.submit("a", record, out, "old", key="blame app.py")
    runner.submit("a", record, out, "other")
    again = runner.submit("a", record, out, "new", key="blame app.py")
    assert again is first  # joined the queued entry, same future
    gate.open.set()
    assert runner.wait_idle(WAIT)
    assert out == ["new", "other"]
    assert first is not None and first.future.result() == "new"


def test_a_cancelled_queued_job_takes_no_new_work(runner: Runner) -> None:
    gate, out = Gate(), []
    runner.submit("a", gate)
    first = runner.submit("a", record, out, "cancelled", key="k")
    assert first is not None
    first.cancel()
    again = runner.submit("a", record, out, "fresh", key="k")
    assert again is not None and again is not first
    gate.open.set()
    assert again.future.result(WAIT) == "fresh"
    assert runner.wait_idle(WAIT)
    assert out == ["fresh"]


def test_merge_combines_the_queued_arguments(runner: Runner) -> None:
    gate, out = Gate(), []
    runner.submit("a", gate)

    def merge(old: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[Any, ...]:
        return (old[0], old[1] + new[1])

    runner.submit("a", record, out, ["x.py"], key="changes", merge=merge)
    runner.submit("a", record, out, ["y.py"], key="changes", merge=merge)
    gate.open.set()
    assert runner.wait_idle(WAIT)
    assert out == [["x.py", "y.py"]]


def test_a_running_key_gets_one_follow_up(runner: Runner) -> None:
    started, release, out = threading.Event(), threading.Event(), []

    def build(ctx: JobContext, n: int) -> None:
        out.append(n)
        if n == 1:
            started.set()
            assert release.wait(WAIT)

    runner.submit("a", build, 1, key="build")
    assert started.wait(WAIT)
    runner.submit("a", build, 2, key="build")  # saved while building: build once more
    runner.submit("a", build, 3, key="build")  # coalesced with 2
    release.set()
    assert runner.wait_idle(WAIT)
    assert out == [1, 3]


def test_two_workers_never_run_one_key_twice_at_once(runner: Runner) -> None:
    inside, most, lock = [0], [0], threading.Lock()
    release = threading.Event()

    def job(ctx: JobContext) -> None:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        release.wait(0.2)
        with lock:
            inside[0] -= 1

    runner.submit("wide", job, key="k")
    runner.submit("wide", job, key="k")
    other = Gate()
    runner.submit("wide", other)  # the second worker is free for other keys
    assert other.entered.wait(WAIT)
    other.open.set()
    release.set()
    assert runner.wait_idle(WAIT)
    assert most[0] == 1


def test_a_failing_job_is_reported_and_the_lane_goes_on() -> None:
    errors: list[tuple[str | None, str]] = []
    r = Runner([Lane("a")], on_error=lambda job, exc: errors.append((job.title, str(exc))))
    try:

        def boom(ctx: JobContext) -> None:
            raise RuntimeError("disk full")

        out: list[Any] = []
        bad = r.submit("a", boom, title="indexing x")
        good = r.submit("a", record, out, "after")
        assert good is not None and good.future.result(WAIT) == "after"
        assert bad is not None and isinstance(bad.future.exception(WAIT), RuntimeError)
        assert errors == [("indexing x", "disk full")]
    finally:
        r.stop()


def test_cancel_drops_a_queued_job_and_tells_a_running_one(runner: Runner) -> None:
    saw, began = threading.Event(), threading.Event()

    def loop(ctx: JobContext) -> str:
        began.set()
        while not ctx.cancelled():
            ctx.token.wait(0.01)
        saw.set()
        return "stopped"

    running = runner.submit("a", loop, key="mine")
    out: list[Any] = []
    queued = runner.submit("a", record, out, "never")
    assert running is not None and queued is not None
    assert began.wait(WAIT)
    queued.cancel()
    runner.cancel("a", "mine")
    assert saw.wait(WAIT)
    assert running.future.result(WAIT) == "stopped"
    with pytest.raises(CancelledError):
        queued.future.result(WAIT)
    assert runner.wait_idle(WAIT)
    assert out == []


def test_check_raises_cancelled_and_the_future_says_so(runner: Runner) -> None:
    def job(ctx: JobContext) -> None:
        while True:
            ctx.check()
            ctx.token.wait(0.01)

    h = runner.submit("a", job)
    assert h is not None
    h.token.cancel()
    assert isinstance(h.future.exception(WAIT), Cancelled)


def test_stop_cancels_everything_and_accepts_nothing(runner: Runner) -> None:
    saw, began = threading.Event(), threading.Event()

    def loop(ctx: JobContext) -> None:
        began.set()
        while not ctx.cancelled():
            ctx.token.wait(0.01)
        saw.set()

    runner.submit("a", loop)
    out: list[Any] = []
    runner.submit("a", record, out, "never")
    assert began.wait(WAIT)
    runner.stop()
    assert saw.wait(WAIT)
    assert runner.submit("a", record, out, "late") is None
    assert out == []


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.user_cancelled = False

    def begin(self, message: str | None = None) -> None:
        self.events.append(("begin", message))

    def report(
        self, done: int, total: int, message: str | None = None, force: bool = False
    ) -> None:
        self.events.append(("report", done, total, message))

    def end(self, message: str | None = None) -> None:
        self.events.append(("end", message))

    def cancelled(self) -> bool:
        return self.user_cancelled


def test_jobs_with_a_progress_title_get_a_progress_sink_and_its_cancel_stops_them() -> None:
    sinks: dict[str, Sink] = {}

    def make(job: Any) -> Sink:
        sinks[job.progress] = Sink()
        return sinks[job.progress]

    r = Runner([Lane("a")], progress=make)
    try:

        def job(ctx: JobContext) -> str:
            ctx.progress.begin("listing")
            ctx.progress.report(1, 2, "half")
            sinks["indexing"].user_cancelled = True  # the editor's cancel button
            result = "cancelled" if ctx.cancelled() else "ran on"
            ctx.progress.end(result)
            return result

        h = r.submit("a", job, progress="indexing")
        untitled = r.submit("a", lambda ctx: type(ctx.progress).__name__)
        assert h is not None and h.future.result(WAIT) == "cancelled"
        assert untitled is not None and untitled.future.result(WAIT) == "NullProgress"
        assert sinks["indexing"].events == [
            ("begin", "listing"),
            ("report", 1, 2, "half"),
            ("end", "cancelled"),
        ]
        assert list(sinks) == ["indexing"]
    finally:
        r.stop()


# -- a lane that runs its jobs in child processes -------------------------------------


@pytest.fixture
def proc_runner() -> Any:
    sinks: list[Sink] = []

    def make(job: Any) -> Sink:
        sinks.append(Sink())
        return sinks[-1]

    r = Runner([Lane("jedi", executor=ProcessExecutor(grace_s=2.0))], progress=make)
    r.sinks = sinks  # type: ignore[attr-defined]
    yield r
    r.stop()


def wait_for_report(sinks: list[Sink]) -> None:
    """The child is up once it has reported."""
    for _ in range(int(WAIT / 0.05)):
        if sinks and sinks[0].events:
            return
        threading.Event().wait(0.05)
    raise AssertionError("the child process never reported")


def test_a_process_job_returns_its_result_and_progress(proc_runner: Any) -> None:
    h = proc_runner.submit("jedi", jobs_worker.square_with_progress, 7, progress="jedi")
    value, pid = h.future.result(WAIT)
    assert value == 49 and pid != os.getpid()
    assert proc_runner.sinks[0].events == [
        ("report", 1, 3, "step 1"),
        ("report", 2, 3, "step 2"),
        ("report", 3, 3, "step 3"),
    ]


def test_a_process_job_error_is_a_sentence_and_the_lane_goes_on(proc_runner: Any) -> None:
    bad = proc_runner.submit("jedi", jobs_worker.fail)
    good = proc_runner.submit("jedi", jobs_worker.square_with_progress, 3)
    exc = bad.future.exception(WAIT)
    assert isinstance(exc, WorkerFailed)
    assert str(exc) == "ValueError: the worker could not read its input"
    assert good.future.result(WAIT)[0] == 9


def test_a_process_job_sees_the_cancel(proc_runner: Any) -> None:
    h = proc_runner.submit("jedi", jobs_worker.until_cancelled, progress="wait")
    wait_for_report(proc_runner.sinks)
    h.token.cancel()
    assert h.future.result(WAIT) == "saw the cancel"


def test_a_process_job_that_ignores_the_cancel_is_killed(proc_runner: Any) -> None:
    h = proc_runner.submit("jedi", jobs_worker.ignore_cancel, progress="stubborn")
    wait_for_report(proc_runner.sinks)
    h.token.cancel()
    assert isinstance(h.future.exception(WAIT), Cancelled)
    after = proc_runner.submit("jedi", jobs_worker.square_with_progress, 2)
    assert after.future.result(WAIT)[0] == 4


def test_killing_a_process_job_kills_the_programs_it_started(
    proc_runner: Any, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    h = proc_runner.submit(
        "jedi", jobs_worker.start_a_program_and_ignore_cancel, str(pid_file), progress="git"
    )
    wait_for_report(proc_runner.sinks)
    program = int(pid_file.read_text())
    h.token.cancel()
    assert isinstance(h.future.exception(WAIT), Cancelled)
    for _ in range(int(WAIT / 0.05)):  # killed; reaped by init once its parent is gone
        if not _running(program):
            break
        threading.Event().wait(0.05)
    assert not _running(program)


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed child its parent has not waited for yet)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_process_job_runs_at_the_executors_lower_priority() -> None:
    r = Runner([Lane("bg", executor=ProcessExecutor(nice=5))])
    try:
        got = r.submit("bg", jobs_worker.niceness).future.result(WAIT)
    finally:
        r.stop()
    assert got == min(os.nice(0) + 5, 19)


def test_a_background_process_job_gets_the_idle_policy() -> None:
    r = Runner([Lane("bg", executor=ProcessExecutor(nice=10, idle=True))])
    try:
        nice, policy = r.submit("bg", jobs_worker.scheduling).future.result(WAIT)
    finally:
        r.stop()
    assert policy == os.SCHED_IDLE and nice == min(os.nice(0) + 10, 19)
