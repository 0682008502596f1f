"""Run the real command line, ``python -m mira_ls ARGS``, in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    unset: Iterable[str] = (),
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """This process's environment without the ``unset`` names, plus ``env``; text output
    captured, never raising on a non-zero exit (the tests check the code)."""
    drop = set(unset)
    full = {k: v for k, v in os.environ.items() if k not in drop}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "mira_ls", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        input=stdin,
        timeout=timeout,
        check=False,
    )
