"""The Store: one database file, a connection per thread, short write transactions."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mira_ls.store.connection import connect, error_types, explain
from mira_ls.store.errors import StoreError
from mira_ls.store.migrate import migrate


class Store:
    """Readers never wait on writers (WAL); writers use ``write()`` (BEGIN IMMEDIATE)."""

    def __init__(self, path: Path | str, *, migrate_schema: bool = True) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        conn = self.conn()
        if migrate_schema:
            try:
                migrate(conn, db_label=str(self.path))
            except error_types() as exc:
                raise explain(exc, self.path) from exc
            try:
                conn.execute("PRAGMA optimize=0x10002")
            except error_types():
                pass

    def conn(self) -> Any:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = connect(self.path)
            self._local.conn = c
            with self._lock:
                self._all.append(c)
        return c

    @contextlib.contextmanager
    def write(self) -> Iterator[Any]:
        """One short write transaction; rolled back on any exception."""
        c = self.conn()
        try:
            c.execute("BEGIN IMMEDIATE")
        except error_types() as exc:
            raise explain(exc, self.path) from exc
        try:
            yield c
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        else:
            try:
                c.execute("COMMIT")
            except error_types() as exc:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise explain(exc, self.path) from exc

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


def open_store(path: Path | str) -> Store:
    try:
        return Store(path)
    except StoreError:
        raise
    except error_types() as exc:
        raise explain(exc, Path(path)) from exc
