"""Run one build command: an argument list in its own process group, with a timeout, a
cancel check, an output cap and tolerant decoding.

The command is never given to a shell. On timeout or cancel the whole process tree is
stopped (SIGTERM, then SIGKILL after a grace period), including children that left the
group. Output beyond the cap is read and counted but not kept: the first part and the last
part are kept, so both a tool's first errors and its final summary survive.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from mira_ls.build.model import BuildCommand, ToolOutput

KILL_GRACE_S = 1.0
READ_CHUNK = 65536
REPORT_FILE_CAP = 50_000_000
PLACEHOLDERS = {"{junitxml}": "junit.xml", "{tmpdir}": ""}

# Tools print plainly when they think nobody is looking at a terminal; wide COLUMNS keeps
# pytest's one-line summaries from being cut.
QUIET_ENV = {
    "NO_COLOR": "1",
    "CLICOLOR": "0",
    "TERM": "dumb",
    "COLUMNS": "250",
    "CARGO_TERM_COLOR": "never",
    "PY_COLORS": "0",
    "MYPY_FORCE_COLOR": "0",
}


@dataclass
class RunOutcome:
    """What happened when a command ran. ``state`` is finished, timeout, cancelled,
    not_found or start_failed; ``message`` says so in a sentence when it is not finished."""

    command: BuildCommand
    argv: list[str]
    cwd: Path
    started_at: int
    ended_at: int
    state: str
    exit_code: int | None
    output: ToolOutput
    output_bytes: int = 0
    truncated: bool = False
    message: str | None = None
    stopped_pids: list[int] = field(default_factory=list)


class CappedBuffer:
    """Keeps the first ``head`` and the last ``tail`` bytes of a stream; counts all of it."""

    def __init__(self, cap: int) -> None:
        self.tail_cap = min(cap // 4, 1_000_000)
        self.head_cap = cap - self.tail_cap
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_len = 0
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail.append(chunk)
        self.tail_len += len(chunk)
        while self.tail and self.tail_len - len(self.tail[0]) >= self.tail_cap:
            self.tail_len -= len(self.tail.popleft())

    @property
    def truncated(self) -> bool:
        return self.total > self.head_cap + self.tail_cap

    def text(self) -> str:
        if not self.tail:
            return self.head.decode("utf-8", "replace")
        tail = b"".join(self.tail)
        if len(tail) > self.tail_cap:
            tail = tail[len(tail) - self.tail_cap :]
        omitted = self.total - len(self.head) - len(tail)
        if omitted <= 0:
            return (bytes(self.head) + tail).decode("utf-8", "replace")
        # Cut at line boundaries so no parser sees half a line.
        head = bytes(self.head)
        head = head[: head.rfind(b"\n") + 1] if b"\n" in head else b""
        nl = tail.find(b"\n")
        tail = tail[nl + 1 :] if nl >= 0 else b""
        marker = f"\n[mira-ls: {omitted} bytes of output omitted]\n".encode()
        return (head + marker + tail).decode("utf-8", "replace")


def _pump(stream: object, buf: CappedBuffer) -> None:
    fd = stream.fileno()  # type: ignore[attr-defined]
    try:
        while True:
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                break
            buf.feed(chunk)
    except OSError:
        pass


def _substitute(argv: tuple[str, ...], tmpdir: Path) -> list[str]:
    out = []
    for a in argv:
        for token, name in PLACEHOLDERS.items():
            if token in a:
                a = a.replace(token, str(tmpdir / name) if name else str(tmpdir))
        out.append(a)
    return out


def resolve_executable(exe: str, cwd: Path, env: dict[str, str]) -> str | None:
    """The program that would run, or None when it is not installed / not on PATH."""
    if os.sep in exe or (os.altsep and os.altsep in exe):
        p = Path(exe) if Path(exe).is_absolute() else cwd / exe
        return str(p) if p.is_file() and os.access(p, os.X_OK) else None
    return shutil.which(exe, path=env.get("PATH", os.defpath))


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _gone(proc: subprocess.Popen[bytes], procs: list[psutil.Process], wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None and not any(_alive(p) for p in procs):
            return True
        time.sleep(0.02)
    return False


def _signal_all(proc: subprocess.Popen[bytes], procs: list[psutil.Process], hard: bool) -> None:
    if hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL if hard else signal.SIGTERM)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            if hard:
                p.kill()
            else:
                p.terminate()
    if hard or not hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            proc.kill()


def stop_tree(
    proc: subprocess.Popen[bytes], extra: list[psutil.Process] | None = None
) -> list[int]:
    """Stop a process, its group and every descendant (SIGTERM, then SIGKILL); return the
    pids that were stopped."""
    found = {p.pid: p for p in [*(extra or []), *_descendants(proc.pid)]}
    procs = list(found.values())
    _signal_all(proc, procs, hard=False)
    if not _gone(proc, procs, KILL_GRACE_S):
        _signal_all(proc, procs, hard=True)
        _gone(proc, procs, KILL_GRACE_S)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(KILL_GRACE_S)
    return sorted({proc.pid, *found})


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def run_command(
    cmd: BuildCommand,
    root: Path,
    *,
    timeout_s: float,
    cap_bytes: int,
    cancel: Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
) -> RunOutcome:
    """Run ``cmd`` in ``root / cmd.cwd``; never raises for the command's own failures."""
    cwd = (root / cmd.cwd) if cmd.cwd else root
    full_env = {**(env if env is not None else os.environ), **QUIET_ENV}
    full_env.pop("FORCE_COLOR", None)
    started = int(time.time())

    def outcome(
        state: str,
        message: str | None,
        exit_code: int | None = None,
        output: ToolOutput | None = None,
    ) -> RunOutcome:
        return RunOutcome(
            cmd,
            list(cmd.argv),
            cwd,
            started,
            int(time.time()),
            state,
            exit_code,
            output or ToolOutput("", "", exit_code),
            message=message,
        )

    if not cmd.argv:
        return outcome("start_failed", f"The build step '{cmd.name}' has an empty command.")
    if not cwd.is_dir():
        return outcome(
            "start_failed",
            f"The build step '{cmd.name}' should run in {cwd}, which is not a directory.",
        )
    exe = resolve_executable(cmd.argv[0], cwd, full_env)
    if exe is None:
        where = (
            "configured in mira.build.commands"
            if cmd.source == "settings"
            else "detected from the project"
        )
        return outcome(
            "not_found",
            f"The build step '{cmd.name}' ({where}) needs '{cmd.argv[0]}', which is not "
            f"installed or not on PATH. Install it, or set mira.build.commands to the command "
            "to use.",
        )
    tmpdir = Path(tempfile.mkdtemp(prefix="mira-build-"))
    try:
        argv = _substitute(cmd.argv, tmpdir)
        try:
            proc = subprocess.Popen(
                [exe, *argv[1:]],
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            return outcome(
                "start_failed",
                f"The build step '{cmd.name}' could not start {argv[0]}: {exc.strerror or exc}.",
            )
        out_buf, err_buf = CappedBuffer(cap_bytes), CappedBuffer(cap_bytes)
        readers = [
            threading.Thread(target=_pump, args=(proc.stdout, out_buf), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, err_buf), daemon=True),
        ]
        for t in readers:
            t.start()
        deadline = time.monotonic() + timeout_s
        state, message, stopped = "finished", None, []
        seen: dict[int, psutil.Process] = {}
        next_scan = 0.0
        while True:
            try:
                proc.wait(0.05)
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() >= next_scan:  # remember children that may leave the group
                next_scan = time.monotonic() + 0.5
                for p in _descendants(proc.pid):
                    seen.setdefault(p.pid, p)
            if time.monotonic() >= deadline:
                state = "timeout"
                message = (
                    f"The build step '{cmd.name}' did not finish within {timeout_s:g} s and was "
                    "stopped with all its child processes. Raise mira.build.timeoutSeconds if it "
                    "needs longer."
                )
            elif cancel is not None and cancel():
                state, message = "cancelled", f"The build step '{cmd.name}' was cancelled."
            else:
                continue
            stopped = stop_tree(proc, list(seen.values()))
            break
        for t in readers:
            t.join(2.0)
        if any(t.is_alive() for t in readers):
            # The command ended but something it started still holds its output open.
            stopped = sorted({*stopped, *stop_tree(proc, list(seen.values()))})
            for t in readers:
                t.join(2.0)
        for s in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                s.close()  # type: ignore[union-attr]
        files: dict[str, str] = {}
        for token, name in PLACEHOLDERS.items():
            report = tmpdir / name if name else None
            if report is not None and report.is_file():
                with report.open("rb") as fh:
                    files[token.strip("{}")] = fh.read(REPORT_FILE_CAP).decode("utf-8", "replace")
        exit_code = proc.returncode if state == "finished" else None
        output = ToolOutput(out_buf.text(), err_buf.text(), exit_code, files)
        return RunOutcome(
            cmd,
            argv,
            cwd,
            started,
            int(time.time()),
            state,
            exit_code,
            output,
            output_bytes=out_buf.total + err_buf.total,
            truncated=out_buf.truncated or err_buf.truncated,
            message=message,
            stopped_pids=stopped,
        )
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
