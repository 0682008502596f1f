"""Saves re-indexed in one long-lived child process, beside the process answering requests.

A save's ``update_file`` is tens of ms of Python (parse, extraction, receiver types, the
diff against the stored rows). In a thread of the server it took turns on the GIL with the
requests a user sends right after saving (the editor asks for symbols, lenses, hovers), so
both took twice as long. In a child it runs on the other core; the child keeps its own
parse cache (a tree does not pickle), so it lives as long as the server, and writes the
database itself. The server gets the ``FileUpdate`` back for what follows a save (the jedi
pass, the graph, diagnostics).

A child that cannot start or dies is started again on the next save; the save that met the
failure runs in the server's own process instead, so a save is never lost to it.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from pathlib import Path
from typing import Any

from mira_ls.config import IndexSettings
from mira_ls.index.writer import FileUpdate

log = logging.getLogger(__name__)


def _serve(conn: Any, db_path: str) -> None:
    """The child: one request at a time until the pipe closes (the server exited)."""
    from mira_ls.index.incremental import ParseCache, prime_parse, update_file
    from mira_ls.store import open_store

    store = open_store(Path(db_path), migrate_schema=False)
    cache = ParseCache()
    try:
        while True:
            try:
                op, project_id, root, rel, settings = conn.recv()
            except (EOFError, OSError):
                return
            try:
                if op == "prime":
                    prime_parse(cache, project_id, Path(root), rel, settings)
                    continue
                upd = update_file(
                    store, project_id, Path(root), rel, settings=settings, cache=cache
                )
            except Exception as exc:  # the server logs it and updates in its own process
                if op != "prime":
                    conn.send(("error", f"{type(exc).__name__}: {exc}"))
                else:
                    log.info("could not parse %s ahead of its first save: %s", rel, exc)
            else:
                conn.send(("ok", upd))
    finally:
        store.close()


class SaveProcess:
    """The server's save indexer for one database (started on first use)."""

    def __init__(self, db_path: Path, start_method: str = "forkserver") -> None:
        self.db_path = Path(db_path)
        self._mp: Any = multiprocessing.get_context(start_method)
        self._proc: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()  # one save at a time: the child serves one

    def start(self) -> None:
        """Start the child now (a client opened a file): its start-up (imports, the
        database) is not paid by the first save."""
        with self._lock:
            try:
                self._ensure()
            except OSError as exc:
                log.info("the save indexer process could not start: %s", exc)
                self._close()

    def edited(self, project_id: int, root: Path, rel: str, settings: IndexSettings) -> None:
        """A client began editing a file: the child starts (if it has not) and parses the
        file as saved, so its save re-parses only what was edited (no answer waited for)."""
        with self._lock:
            try:
                self._ensure().send(("prime", project_id, str(root), rel, settings))
            except (EOFError, OSError) as exc:
                log.info("the save indexer process could not start: %s", exc)
                self._close()

    def update(
        self, project_id: int, root: Path, rel: str, settings: IndexSettings
    ) -> FileUpdate | None:
        """The child's ``update_file``; None when the child failed (the caller updates in
        its own process)."""
        with self._lock:
            try:
                conn = self._ensure()
                conn.send(("update", project_id, str(root), rel, settings))
                status, value = conn.recv()
            except (EOFError, OSError) as exc:
                log.warning("the save indexer process stopped (%s); it is started again", exc)
                self._close()
                return None
            if status != "ok":
                log.warning("the save indexer could not update %s: %s", rel, value)
                return None
            return value if isinstance(value, FileUpdate) else None

    def stop(self) -> None:
        """Kill the child without waiting (exit must not wait for it)."""
        with self._lock:
            self._close()

    @property
    def started(self) -> bool:
        return self._proc is not None

    def _ensure(self) -> Any:
        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            return self._conn
        self._close()
        ours, theirs = self._mp.Pipe(duplex=True)
        proc = self._mp.Process(
            target=_serve, args=(theirs, str(self.db_path)), name="mira-save", daemon=True
        )
        proc.start()
        theirs.close()
        self._proc, self._conn = proc, ours
        return ours

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
        if self._proc is not None:
            try:
                self._proc.kill()
            except (OSError, ValueError, AttributeError):
                pass
        self._proc = self._conn = None
