"""Running a command tool: an argv list (never a shell string) in the workspace, in its own
process group, with a timeout after which the whole group is killed, stdin closed, output
kept up to a cap (the rest read and dropped, so the child never blocks on a full pipe), and
an environment without secrets."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# Variables a child never gets: keys, tokens, passwords and anything else named like a
# secret, mira-ls's own settings and the API endpoints' (MIRA_*, OPENAI_*).
_SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|API_?KEY|_KEY$|^KEY$|_PAT$|AUTH"
    r"|COOKIE|SESSION)",
    re.IGNORECASE,
)
_DROPPED_PREFIXES = ("MIRA_", "OPENAI_", "AWS_", "AZURE_", "GOOGLE_", "ANTHROPIC_", "GH_")


def clean_env(environ: Mapping[str, str], secrets: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment a command tool runs with: ours without anything secret-looking, and
    without any variable whose value holds one of ``secrets`` (the API key, whatever its
    variable is called)."""
    out = {}
    for name, value in environ.items():
        upper = name.upper()
        if _SECRET_NAME.search(upper) or upper.startswith(_DROPPED_PREFIXES):
            continue
        if any(s and s in value for s in secrets):
            continue
        out[name] = value
    return out


@dataclass(frozen=True)
class CommandRun:
    returncode: int | None  # None: it did not finish (timeout) or did not start
    output: str
    output_bytes: int  # how much it wrote in all (more than kept when truncated)
    truncated: bool
    timed_out: bool
    seconds: float
    error: str | None = None  # why it failed to start or was stopped

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None


def _drain(stream: IO[bytes], keep: bytearray, cap: int, total: list[int]) -> None:
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        total[0] += len(chunk)
        room = cap - len(keep)
        if room > 0:
            keep.extend(chunk[:room])


def run_command(
    argv: list[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    output_max_bytes: int,
) -> CommandRun:
    """Run ``argv`` in ``cwd``; stdout and stderr together, at most ``output_max_bytes``."""
    start = time.monotonic()
    program = argv[0]
    found = program if ("/" in program) else shutil.which(program, path=env.get("PATH"))
    if found is None:
        return CommandRun(None, "", 0, False, False, 0.0, f"{program}: program not found")
    try:
        proc = subprocess.Popen(
            [found, *argv[1:]],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a timeout kills its children too
            close_fds=True,
        )
    except OSError as exc:
        return CommandRun(
            None, "", 0, False, False, time.monotonic() - start, f"{program}: {exc.strerror}"
        )
    keep = bytearray()
    total = [0]
    reader = threading.Thread(
        target=_drain, args=(proc.stdout, keep, output_max_bytes, total), daemon=True
    )
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        proc.wait()
    reader.join(timeout=5)  # a grandchild that escaped the group may still hold the pipe
    if proc.stdout is not None:
        proc.stdout.close()
    seconds = time.monotonic() - start
    text = bytes(keep).decode("utf-8", errors="replace")
    truncated = total[0] > len(keep)
    if timed_out:
        return CommandRun(
            None, text, total[0], truncated, True, seconds,
            f"stopped after {timeout_s:g} s (the tool's timeout)",
        )  # fmt: skip
    return CommandRun(proc.returncode, text, total[0], truncated, False, seconds)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
