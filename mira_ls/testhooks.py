"""Pause points for tests that kill a run at an exact place (kill -9 durability).

With ``MIRA_TEST_PAUSE_AT`` naming a point (``index:parse:middle``, ...) and
``MIRA_TEST_PAUSE_DIR`` a folder, the process reaching that point writes
``<dir>/<point>`` (its pid) and sleeps until it is killed. Unset, ``pause_point`` is one
dictionary lookup. tests/README.md lists the points.

``MIRA_TEST_HOLD_AT`` names a point where the process waits instead, until the test writes
``<dir>/<point>.go``: for watching what a client sees while slow work is under way.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def pause_point(name: str) -> None:
    """Stop here for good if a test asked to (see the module docstring)."""
    if os.environ.get("MIRA_TEST_PAUSE_AT") != name:
        return
    folder = os.environ.get("MIRA_TEST_PAUSE_DIR")
    if not folder:
        return
    marker = Path(folder) / name.replace(":", "_").replace(" ", "_")
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(str(os.getpid()), encoding="ascii")
    tmp.replace(marker)
    while True:  # the test kill -9s this process
        time.sleep(1)


def hold_point(name: str) -> None:
    """Wait here until the test lets go (see the module docstring)."""
    if os.environ.get("MIRA_TEST_HOLD_AT") != name:
        return
    folder = os.environ.get("MIRA_TEST_PAUSE_DIR")
    if not folder:
        return
    marker = Path(folder) / name.replace(":", "_").replace(" ", "_")
    marker.write_text(str(os.getpid()), encoding="ascii")
    go = marker.with_name(marker.name + ".go")
    while not go.exists():
        time.sleep(0.05)
