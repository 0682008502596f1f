"""Git work the server runs in a child process: mining and blame.

Both are CPU-bound Python (parsing git's output, co-change and expertise counts) beside a
git child; run in the server's threads they held its GIL and every request waited behind
them (issue 13: a fifth of the samples during workspace/symbol queries were blame). A
child process has its own interpreter and writes to the database itself, in its own short
transactions, so the server only waits on a pipe. Each function takes what pickles (the
database path, ids, paths, settings) and opens its own connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from mira_ls.config import Settings
from mira_ls.git import blame, miner
from mira_ls.git.miner import MineStats
from mira_ls.store import open_store


class WorkerContext(Protocol):
    """What the child gets from the job runner: the cancel flag and a progress pipe."""

    def cancelled(self) -> bool: ...

    def report(self, done: int, total: int, message: str | None = None) -> None: ...


def mine_in_child(
    ctx: WorkerContext, db_path: str, project_id: int, root: str, settings: Settings
) -> MineStats:
    """Bring the mined history up to HEAD; progress as percent of the commits to read."""

    def progress(message: str, pct: int | None) -> None:
        ctx.report(pct or 0, 100 if pct is not None else 0, message)

    store = open_store(Path(db_path))
    try:
        return miner.mine(
            store, project_id, Path(root), settings, progress=progress, cancel=ctx.cancelled
        )
    finally:
        store.close()


def blame_in_child(
    ctx: WorkerContext,
    db_path: str,
    project_id: int,
    root: str,
    rel_paths: list[str],
    settings: Settings,
) -> int:
    """Blame each file unless its content was blamed already; returns how many were
    looked at before a cancel."""
    store = open_store(Path(db_path))
    done = 0
    try:
        for rel in rel_paths:
            if ctx.cancelled():
                break
            blame.ensure_blame(store, project_id, Path(root), rel, settings)
            done += 1
    finally:
        store.close()
    return done
