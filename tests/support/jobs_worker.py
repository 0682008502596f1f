"""Module-level job functions for ProcessExecutor tests (a child process imports them)."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any


def square_with_progress(ctx: Any, n: int) -> tuple[int, int]:
    for i in range(3):
        ctx.report(i + 1, 3, f"step {i + 1}")
    return n * n, os.getpid()


def fail(ctx: Any) -> None:
    raise ValueError("the worker could not read its input")


def until_cancelled(ctx: Any) -> str:
    ctx.report(0, 0, "waiting")
    while not ctx.cancelled():
        time.sleep(0.01)
    return "saw the cancel"


def ignore_cancel(ctx: Any) -> None:
    ctx.report(0, 0, "busy")
    while True:
        time.sleep(0.05)


def niceness(ctx: Any) -> int:
    """The child's CPU priority (os.nice(0) reads it)."""
    return os.nice(0)


def start_a_program_and_ignore_cancel(ctx: Any, pid_file: str) -> None:
    """Starts a long-running program (as blame starts git), then never looks at the cancel."""
    proc = subprocess.Popen(["sleep", "60"])
    with open(pid_file, "w") as fh:
        fh.write(str(proc.pid))
    ctx.report(0, 0, "started")
    while True:
        time.sleep(0.05)


def scheduling(ctx: Any) -> tuple[int, int]:
    """(niceness, scheduling policy) of the child."""
    return os.nice(0), os.sched_getscheduler(0)
