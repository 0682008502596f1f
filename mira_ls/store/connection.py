"""Open SQLite connections the one way mira-ls uses them.

The stdlib ``sqlite3`` of some Python builds (pyenv's among them) cannot load extensions,
so sqlite-vec would be unavailable; ``sqlean`` is an API-compatible build that can. The
probe runs once per process and the chosen module is used for every connection.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeAlias

from mira_ls.store.errors import (
    DatabaseCorrupt,
    DatabaseLocked,
    DatabaseNotWritable,
    NotAMiraDatabase,
    StoreError,
)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000

Connection: TypeAlias = sqlite3.Connection
"""What ``connect`` returns. With sqlean it is ``sqlean.Connection``: the same C type built
against another SQLite, with the same methods but not a subclass, so it is named by the
stdlib's class for type checking only (never use it with ``isinstance``)."""


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


def inserted_id(cur: sqlite3.Cursor) -> int:
    """The rowid an INSERT just made (``lastrowid`` is None only for other statements)."""
    rowid = cur.lastrowid
    if rowid is None:
        raise RuntimeError("inserted_id() needs the cursor of an INSERT")
    return rowid


def _vec_path() -> str:
    """The sqlite-vec extension's path, found without importing the package (its
    ``__init__`` imports numpy when installed: a third of a small command's start)."""
    spec = importlib.util.find_spec("sqlite_vec")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("sqlite-vec is not installed")
    return os.path.join(next(iter(spec.submodule_search_locations)), "vec0")


def _try_load_vec(conn: Connection) -> str:
    conn.enable_load_extension(True)
    conn.load_extension(_vec_path())
    conn.enable_load_extension(False)
    return conn.execute("select vec_version()").fetchone()[0]


@functools.cache
def backend() -> Backend:
    """Pick stdlib sqlite3 when it loads extensions, else sqlean (once per process)."""
    conn = None
    try:
        conn = sqlite3.connect(":memory:")
        if hasattr(conn, "enable_load_extension"):
            version = _try_load_vec(conn)
            return Backend("sqlite3", sqlite3, sqlite3.sqlite_version, version, None)
    except Exception as exc:
        log.debug("stdlib sqlite3 cannot load sqlite-vec: %s", exc)
    finally:
        if conn is not None:
            conn.close()
    conn = None
    try:
        import sqlean

        conn = sqlean.connect(":memory:")
        sv = conn.execute("select sqlite_version()").fetchone()[0]
        version = _try_load_vec(conn)
        return Backend("sqlean", sqlean, sv, version, None)
    except Exception as exc:
        log.warning("sqlite-vec is unavailable, vector search is disabled: %s", exc)
        return Backend("sqlite3", sqlite3, sqlite3.sqlite_version, None, str(exc))
    finally:
        if conn is not None:
            conn.close()


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


# SQLite primary result codes (extended codes carry them in the low byte).
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = (
    3, 5, 6, 8, 10, 11, 13, 14, 26,
)  # fmt: skip
_ENVIRONMENTAL = {_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB}
# Drivers without sqlite_errorcode: fall back to SQLite's fixed messages.
_MESSAGES = {
    "database is locked": _BUSY,
    "database table is locked": _LOCKED,
    "file is not a database": _NOTADB,
    "database disk image is malformed": _CORRUPT,
    "attempt to write a readonly database": _READONLY,
    "unable to open database file": _CANTOPEN,
    "database or disk is full": _FULL,
    "disk i/o error": _IOERR,
}


def _code(exc: BaseException) -> int | None:
    """The primary SQLite result code of a driver error, or None for errors of the SQL."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    msg = str(exc).lower()
    return next((c for text, c in _MESSAGES.items() if msg.startswith(text)), None)


def is_busy(exc: BaseException) -> bool:
    """Another connection holds a lock this one needs (worth waiting for)."""
    return _code(exc) in (_BUSY, _LOCKED)


def is_environmental(exc: BaseException) -> bool:
    """An error about the file or other processes (lock, permissions, damage, disk), not
    about the SQL that was run (syntax, constraints)."""
    return _code(exc) in _ENVIRONMENTAL


def _explain(exc: BaseException, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> StoreError:
    code = _code(exc)
    if code in (_BUSY, _LOCKED):
        return DatabaseLocked(
            f"The database {path} is locked: another process kept it busy for longer than "
            f"{busy_timeout_ms / 1000:g} s. Close the other program using it (or wait for "
            "it to finish) and try again."
        )
    if code in (_CORRUPT, _NOTADB):
        return DatabaseCorrupt(
            f"The database {path} is damaged or not an SQLite file ({exc}). Move it aside "
            "and mira-ls will create a new one: the code index and git history are rebuilt "
            "from your files, but the budget history, LLM cache and conversations in it "
            "are only recoverable from the moved file (sqlite3 FILE .recover)."
        )
    if code in (_READONLY, _CANTOPEN, _PERM):
        return DatabaseNotWritable(
            f"Cannot write the database {path} ({exc}). Check the permissions of the file "
            "and its directory, or set MIRA_DB or the 'databasePath' option to a writable "
            "location."
        )
    if code == _FULL:
        return StoreError(
            f"The disk holding the database {path} is full; free some space and try again."
        )
    if code == _IOERR:
        return StoreError(
            f"Reading or writing the database {path} failed with an I/O error ({exc}); "
            "check the disk or file system it is on."
        )
    return StoreError(f"Database error on {path}: {exc}")


def check_path(path: Path) -> None:
    """Refuse paths SQLite would fail on obscurely (or hang on, like a FIFO) before opening."""
    if path.exists() and not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise DatabaseNotWritable(
            f"The database path {path} is {kind}. Set MIRA_DB or the 'databasePath' option "
            "to a file name (it is created if missing)."
        )
    ensure_parent(path)


def ensure_parent(path: Path) -> None:
    parent = path.parent
    for p in (parent, *parent.parents):
        if p.exists():
            if not p.is_dir():
                raise DatabaseNotWritable(
                    f"Cannot create the database directory {parent}: {p} is a file, not a "
                    "directory. Set MIRA_DB or the 'databasePath' option to a writable location."
                )
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseNotWritable(
            f"Cannot create the database directory {parent}: {exc.strerror or exc}. "
            "Set MIRA_DB or the 'databasePath' option to a writable location."
        ) from exc
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DatabaseNotWritable(
            f"The database directory {parent} is not writable by this user (SQLite needs to "
            "create its -wal and -shm files next to the database). Set MIRA_DB or the "
            "'databasePath' option to a writable location."
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseNotWritable(
            f"The database file {path} is not readable and writable by this user. Fix its "
            "permissions, or set MIRA_DB or the 'databasePath' option to another file."
        )


def _enter_wal(conn: Connection, path: Path, memory: bool, busy_timeout_ms: int) -> str:
    """Switch to WAL, retrying while another process holds the lock it needs. SQLite does
    not call the busy handler for every lock this switch takes (a fresh file that other
    processes are opening and migrating at the same moment answered "locked" at once), so
    the wait is done here, up to the same timeout."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    pause = 0.005
    while True:
        try:
            if not memory and conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                refuse_foreign(conn, path)  # before WAL, which rewrites the file header
            return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except error_types() as exc:
            if not is_busy(exc) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


STATEMENT_CACHE = 1024  # prepared statements kept per connection


def connect(path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, foreign keys on."""
    path = Path(path)
    be = backend()
    memory = str(path) == ":memory:"
    if not memory:
        check_path(path)
    conn = None
    try:
        conn = be.module.connect(
            str(path),
            timeout=busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
            # the server's features prepare a few hundred distinct statements: with the
            # default 128, one fixError's context assembly evicted the statements of the
            # next lookup, and re-preparing them was half its time
            cached_statements=STATEMENT_CACHE,
        )
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys=ON")
        mode = _enter_wal(conn, path, memory, busy_timeout_ms)
        if str(mode).lower() != "wal" and not memory:
            log.warning("journal_mode is %s, not WAL, for %s", mode, path)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-16000")
        if be.vec_version is not None:
            _try_load_vec(conn)
    except error_types() as exc:
        if conn is not None:
            conn.close()
        raise _explain(exc, path, busy_timeout_ms) from exc
    except StoreError:
        if conn is not None:
            conn.close()
        raise
    return conn


def refuse_foreign(conn: Connection, path: Path | str) -> None:
    """Leave the database of another program untouched (tables, but no schema_migrations)."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name = 'schema_migrations' DESC, name"
        ).fetchall()
    ]
    if names and names[0] != "schema_migrations":
        raise NotAMiraDatabase(
            f"The file {path} is an SQLite database of another program (it has tables such "
            f"as {', '.join(names[:3])} but no mira-ls schema). Nothing was changed; point "
            "MIRA_DB or the 'databasePath' option at a new file."
        )


def explain(
    exc: BaseException, path: Path | str, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> StoreError:
    """Turn a driver error into a StoreError with an actionable sentence."""
    return _explain(exc, Path(path), busy_timeout_ms)
