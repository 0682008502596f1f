"""The Store: one database file, a connection per thread, short write transactions."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mira_ls.store.connection import (
    BUSY_TIMEOUT_MS,
    Connection,
    connect,
    error_types,
    explain,
    is_busy,
    is_environmental,
)
from mira_ls.store.errors import StoreError
from mira_ls.store.migrate import migrate


class Store:
    """Readers never wait on writers (WAL); writers use ``write()`` (BEGIN IMMEDIATE).

    ``migrations`` overrides the migrations directory (tests); ``busy_timeout_ms`` is how
    long a statement waits for another process's lock before DatabaseLocked is raised.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        migrate_schema: bool = True,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        migrations: Path | None = None,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.applied_now: list[int] = []
        self._local = threading.local()
        self._all: list[Connection] = []
        self._lock = threading.Lock()
        try:
            conn = self.conn()
            if migrate_schema:
                self.applied_now = migrate(conn, directory=migrations, db_label=str(self.path))
                self._optimize(conn)
        except StoreError:
            self.close()
            raise
        except error_types() as exc:
            self.close()
            raise explain(exc, self.path, busy_timeout_ms) from exc

    def _optimize(self, conn: Connection) -> None:
        """Refresh planner statistics if SQLite thinks they are stale, but never wait for
        another process's write lock to do it (busy_timeout 0 for this one statement)."""
        try:
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA optimize=0x10002")
        except error_types():
            pass  # optional; another process is writing
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")

    def conn(self) -> Connection:
        """This thread's connection (created on first use)."""
        c = getattr(self._local, "conn", None)
        if c is None:
            c = connect(self.path, busy_timeout_ms=self.busy_timeout_ms)
            self._local.conn = c
            with self._lock:
                self._all.append(c)
        return c

    @contextlib.contextmanager
    def write(self, *, eager: bool = False) -> Iterator[Connection]:
        """One short write transaction, rolled back on any exception.

        Nested use on the same thread becomes a savepoint inside the outer transaction, so
        store functions that write can call each other. ``eager``: while another
        connection holds the write lock, ask again every millisecond (up to the same
        timeout) instead of SQLite's busy handler, whose sleeps grow to 25-100 ms: for a
        write a user waits for (a save's symbols), behind a background pass's short ones.
        """
        c = self.conn()
        if c.in_transaction:
            depth = getattr(self._local, "depth", 0) + 1
            self._local.depth = depth
            name = f"mira_sp{depth}"
            c.execute(f"SAVEPOINT {name}")
            try:
                yield c
            except BaseException:
                if c.in_transaction:  # an I/O error may already have rolled everything back
                    with contextlib.suppress(*error_types()):
                        c.execute(f"ROLLBACK TO {name}")
                        c.execute(f"RELEASE {name}")
                raise
            else:
                c.execute(f"RELEASE {name}")
            finally:
                self._local.depth = depth - 1
            return
        try:
            if eager:
                self._begin_eagerly(c)
            else:
                c.execute("BEGIN IMMEDIATE")
        except error_types() as exc:
            raise explain(exc, self.path, self.busy_timeout_ms) from exc
        try:
            yield c
        except BaseException as exc:
            if c.in_transaction:
                with contextlib.suppress(*error_types()):
                    c.execute("ROLLBACK")
            if isinstance(exc, error_types()) and is_environmental(exc):
                raise explain(exc, self.path, self.busy_timeout_ms) from exc
            raise
        else:
            try:
                c.execute("COMMIT")
            except error_types() as exc:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise explain(exc, self.path, self.busy_timeout_ms) from exc

    def _begin_eagerly(self, c: Connection) -> None:
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        c.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    c.execute("BEGIN IMMEDIATE")
                    return
                except error_types() as exc:
                    if not is_busy(exc) or time.monotonic() > deadline:
                        raise
                time.sleep(0.001)
        finally:
            c.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for c in conns:
            with contextlib.suppress(Exception):
                c.close()
        self._local = threading.local()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: Path | str, **kwargs: Any) -> Store:
    """A migrated Store; every failure is a StoreError with a sentence for the user."""
    try:
        return Store(path, **kwargs)
    except StoreError:
        raise
    except error_types() as exc:
        raise explain(exc, Path(path)) from exc
