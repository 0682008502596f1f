"""Build and refresh the semantic graph in a child process.

The first build of a large project's graph takes most of a second of pure Python and
SQLite (0.8 s on sqlalchemy), and the refresh after jedi placed more calls as long; in a
thread of the server it would hold the GIL while hovers and symbol searches wait. The
server runs these jobs on a lane with a ``ProcessExecutor``, writing through the same
database, like the jedi pass.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def after_index_job(
    ctx: Any, db_path: str, project_id: int, changed: bool, since: float | None
) -> float | None:
    """``graph.after_index`` in the child: after a whole-workspace index run."""
    from mira_ls.store import open_store
    from mira_ls.understand import graph

    with open_store(db_path) as store:
        return graph.after_index(store, project_id, changed, since)


def refresh_job(
    ctx: Any, db_path: str, project_id: int, files: list[str] | None, parts: tuple[str, ...]
) -> bool:
    """``graph.refresh`` in the child, when the graph was built (else its build does it)."""
    from mira_ls.store import open_store
    from mira_ls.store import semantic_graph as graph_store
    from mira_ls.understand import graph

    with open_store(db_path) as store:
        if not graph_store.built(store.conn(), project_id):
            return False
        graph.refresh(store, project_id, files, parts)
        return True
