"""Run the jedi pass in its own process.

jedi is pure Python and slow (tens of ms per call site); in a thread of the server it would
hold the GIL for minutes on a large project and make every hover wait. The server runs
``resolve_job`` on a job lane with a ``ProcessExecutor``: a child process with its own
interpreter, killed with the server, writing through the same database.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def resolve_job(ctx: Any, db_path: str, project_id: int, root: str, budget: float | None) -> int:
    """The jedi pass as a job for a ``ProcessExecutor`` lane (it runs in the child)."""
    from mira_ls.index.resolve import resolve_python_with_jedi
    from mira_ls.store import open_store

    logging.basicConfig(level=logging.WARNING)
    with open_store(db_path) as store:
        n = resolve_python_with_jedi(store, project_id, Path(root), time_budget_s=budget)
    log.info("jedi resolved %d calls in %s", n, root)
    return n
