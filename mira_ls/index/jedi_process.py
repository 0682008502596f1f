"""Run the jedi pass in its own process.

jedi is pure Python and slow (tens of ms per call site); in a thread of the server it would
hold the GIL for minutes on a large project and make every hover wait. A daemon process has
its own interpreter, is killed with the server, and writes through the same database.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def _run(db_path: str, project_id: int, root: str, time_budget_s: float | None) -> None:
    from mira_ls.index.resolve import resolve_python_with_jedi
    from mira_ls.store import open_store

    logging.basicConfig(level=logging.WARNING)
    with open_store(db_path) as store:
        n = resolve_python_with_jedi(store, project_id, Path(root), time_budget_s=time_budget_s)
    log.info("jedi resolved %d calls in %s", n, root)


class JediRunner:
    """At most one jedi process per project, killed when the server stops."""

    def __init__(self) -> None:
        self._procs: dict[int, multiprocessing.process.BaseProcess] = {}
        self._again: dict[int, tuple[Path, Path, float | None, Callable[[int], None] | None]] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def start(
        self,
        db_path: Path,
        project_id: int,
        root: Path,
        *,
        time_budget_s: float | None = None,
        on_done: Callable[[int], None] | None = None,
    ) -> None:
        """Run the pass; while one runs for the project, run once more after it instead."""
        with self._lock:
            running = self._procs.get(project_id)
            if running is not None and running.is_alive():
                self._again[project_id] = (db_path, root, time_budget_s, on_done)
                return
            proc = multiprocessing.get_context("forkserver").Process(
                target=_run,
                args=(str(db_path), project_id, str(root), time_budget_s),
                name=f"mira-jedi-{project_id}",
                daemon=True,
            )
            proc.start()
            self._procs[project_id] = proc

        def wait() -> None:
            proc.join()
            if on_done is not None and proc.exitcode == 0:
                on_done(project_id)
            with self._lock:
                again = self._again.pop(project_id, None)
                if self._procs.get(project_id) is proc:
                    del self._procs[project_id]
            if again is not None and not self._stopped:
                db, rt, budget, done = again
                self.start(db, project_id, rt, time_budget_s=budget, on_done=done)

        threading.Thread(target=wait, name="mira-jedi-wait", daemon=True).start()

    def running(self, project_id: int) -> bool:
        with self._lock:
            p = self._procs.get(project_id)
            return p is not None and p.is_alive()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._again.clear()
            procs, self._procs = list(self._procs.values()), {}
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(2)
