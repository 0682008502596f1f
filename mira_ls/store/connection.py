"""Open SQLite connections the one way mira-ls uses them.

The stdlib ``sqlite3`` of some Python builds (pyenv's among them) cannot load extensions,
so sqlite-vec would be unavailable; ``sqlean`` is an API-compatible build that can. The
probe runs once per process and the chosen module is used for every connection.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from mira_ls.store.errors import DatabaseCorrupt, DatabaseLocked, DatabaseNotWritable, StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Backend:
    name: str  # "sqlite3" or "sqlean"
    module: ModuleType
    sqlite_version: str
    vec_version: str | None  # None when sqlite-vec could not be loaded
    vec_error: str | None

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return error_types()


def _try_load_vec(conn: Any) -> str:
    import sqlite_vec

    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)
    return conn.execute("select vec_version()").fetchone()[0]


@functools.cache
def backend() -> Backend:
    """Pick stdlib sqlite3 when it loads extensions, else sqlean (once per process)."""
    try:
        conn = sqlite3.connect(":memory:")
        if hasattr(conn, "enable_load_extension"):
            version = _try_load_vec(conn)
            return Backend("sqlite3", sqlite3, sqlite3.sqlite_version, version, None)
    except Exception as exc:  # noqa: BLE001 - any failure means: try the fallback
        log.debug("stdlib sqlite3 cannot load sqlite-vec: %s", exc)
    try:
        import sqlean

        conn = sqlean.connect(":memory:")
        version = _try_load_vec(conn)
        sv = conn.execute("select sqlite_version()").fetchone()[0]
        return Backend("sqlean", sqlean, sv, version, None)
    except Exception as exc:  # noqa: BLE001
        log.warning("sqlite-vec is unavailable, vector search is disabled: %s", exc)
        return Backend("sqlite3", sqlite3, sqlite3.sqlite_version, None, str(exc))


@functools.cache
def error_types() -> tuple[type[BaseException], ...]:
    """Both modules' error bases: their exception classes are unrelated."""
    types_: list[type[BaseException]] = [sqlite3.Error]
    try:
        import sqlean

        types_.append(sqlean.Error)
    except ImportError:
        pass
    return tuple(types_)


def _explain(exc: BaseException, path: Path) -> StoreError:
    msg = str(exc).lower()
    if "locked" in msg or "busy" in msg:
        return DatabaseLocked(
            f"The database {path} is locked by another process for longer than "
            f"{BUSY_TIMEOUT_MS // 1000} s; close the other program or try again."
        )
    if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
        return DatabaseCorrupt(
            f"The database {path} is damaged ({exc}). Move it aside (it holds only derived "
            "data, budget history and the LLM cache) and mira-ls will create a new one."
        )
    if "readonly" in msg or "unable to open" in msg or "read-only" in msg:
        return DatabaseNotWritable(
            f"Cannot write the database {path}: {exc}. Set MIRA_DB or the 'databasePath' "
            "option to a writable location."
        )
    return StoreError(f"Database error on {path}: {exc}")


def ensure_parent(path: Path) -> None:
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseNotWritable(
            f"Cannot create the database directory {parent}: {exc.strerror or exc}. "
            "Set MIRA_DB or the 'databasePath' option to a writable location."
        ) from exc
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DatabaseNotWritable(
            f"The database directory {parent} is not writable. "
            "Set MIRA_DB or the 'databasePath' option to a writable location."
        )


def connect(path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Any:
    """A connection in autocommit mode (transactions are explicit), WAL, foreign keys on."""
    path = Path(path)
    be = backend()
    if str(path) != ":memory:":
        ensure_parent(path)
    try:
        conn = be.module.connect(
            str(path), timeout=busy_timeout_ms / 1000, isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys=ON")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal" and str(path) != ":memory:":
            log.warning("journal_mode is %s, not WAL, for %s", mode, path)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-16000")
        if be.vec_version is not None:
            _try_load_vec(conn)
    except error_types() as exc:
        raise _explain(exc, path) from exc
    return conn


def explain(exc: BaseException, path: Path | str) -> StoreError:
    """Turn a driver error into a StoreError with an actionable sentence."""
    return _explain(exc, Path(path))
