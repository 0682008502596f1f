"""Apply ``migrations/NNN_name.sql`` in order, once each, and refuse edited or unknown ones.

Each file runs inside one ``BEGIN IMMEDIATE`` transaction together with its
``schema_migrations`` row, so a failure leaves nothing half-applied. The applied set is
re-read after the write lock is taken, so two processes starting on a fresh database at
once apply every file exactly once: the second waits for the lock, sees the row and moves on.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from mira_ls.store.connection import (
    Connection,
    backend,
    error_types,
    is_environmental,
    refuse_foreign,
)
from mira_ls.store.errors import (
    MigrationChecksumMismatch,
    SchemaTooNew,
    StoreError,
)

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
# Statements that would break the one-transaction-per-file rule, or silently do nothing
# inside a transaction (PRAGMA foreign_keys / journal_mode are no-ops there).
_FORBIDDEN = re.compile(
    r"^(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|VACUUM|ATTACH|DETACH|"
    r"PRAGMA\s+(?:\w+\.)?(?:foreign_keys|journal_mode|locking_mode))\b",
    re.I,
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    statements: tuple[str, ...]
    checksum: str

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: int


def migrations_dir() -> Path:
    """The wheel ships them as ``mira_ls/migrations``; a source checkout has them at the top."""
    pkg = Path(__file__).resolve().parent.parent
    for candidate in (pkg / "migrations", pkg.parent / "migrations"):
        if candidate.is_dir():
            return candidate
    raise StoreError(f"The migrations directory is missing next to {pkg}; reinstall mira-ls.")


def checksum(data: bytes) -> str:
    """SHA-256 of the file with line endings normalised, so a CRLF checkout is not 'edited'."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def split_statements(sql: str) -> list[str]:
    """Split a script into complete statements (semicolons in strings and triggers kept)."""
    complete = backend().module.complete_statement
    out: list[str] = []
    start = 0
    pos = sql.find(";")
    while pos != -1:
        chunk = sql[start : pos + 1]
        if complete(chunk):
            if _LEADING_COMMENTS.sub("", chunk).strip() not in ("", ";"):
                out.append(chunk.strip())
            start = pos + 1
        pos = sql.find(";", pos + 1)
    rest = _LEADING_COMMENTS.sub("", sql[start:]).strip()
    if rest:
        out.append(sql[start:].strip())  # a last statement without ';' still runs
    return out


def _parse(path: Path, version: int, name: str) -> Migration:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoreError(f"Migration {path.name} is not valid UTF-8 ({exc}).") from exc
    statements = split_statements(text)
    for stmt in statements:
        m = _FORBIDDEN.match(_LEADING_COMMENTS.sub("", stmt))
        if m:
            raise StoreError(
                f"Migration {path.name} contains '{m.group(1)}'; the runner applies each file "
                "in one transaction, so migrations must not manage transactions, attach "
                "databases or change connection pragmas (use PRAGMA defer_foreign_keys)."
            )
    return Migration(version, name, path, tuple(statements), checksum(data))


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or migrations_dir()
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise StoreError(
                f"Migration file name {path.name!r} in {directory} is not NNN_name.sql "
                "(three digits, underscore, lowercase name)."
            )
        found.append(_parse(path, int(m.group(1)), m.group(2)))
    versions = [m.version for m in found]
    dupes = sorted({v for v in versions if versions.count(v) > 1})
    if dupes:
        raise StoreError(f"Two migration files share version {dupes[0]:03d} in {directory}.")
    return found


MIN_SQLITE = (3, 38, 0)  # unixepoch(), built-in JSON functions


def _require_sqlite(conn: Connection) -> None:
    version = conn.execute("SELECT sqlite_version()").fetchone()[0]
    parts = tuple(int(x) for x in re.findall(r"\d+", version)[:3])
    if parts < MIN_SQLITE:
        raise StoreError(
            f"SQLite {version} is too old for mira-ls (it needs 3.38 or newer). Install the "
            "'sqlean.py' package (a dependency of mira-ls) or use a newer Python build."
        )


def _has_table(conn: Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def _ensure_table(conn: Connection, db_label: str) -> None:
    """Create schema_migrations on a fresh database; refuse a database of another program."""
    if _has_table(conn, "schema_migrations"):
        return  # no write: opening a migrated database never needs the write lock
    refuse_foreign(conn, db_label)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " checksum TEXT NOT NULL,"
        " applied_at INTEGER NOT NULL)"
    )


def applied(conn: Connection) -> dict[int, AppliedMigration]:
    """The migrations recorded in the database, by version (empty when there are none)."""
    if not _has_table(conn, "schema_migrations"):
        return {}
    rows = conn.execute(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
    ).fetchall()
    return {int(r[0]): AppliedMigration(int(r[0]), r[1], r[2], int(r[3])) for r in rows}


def _check(done: dict[int, AppliedMigration], known: list[Migration], db_label: str) -> None:
    by_version = {m.version: m for m in known}
    newest = max(by_version, default=0)
    too_new = [v for v in done if v > newest]
    if too_new:
        raise SchemaTooNew(
            f"The database {db_label} has schema version {max(too_new):03d}, newer than this "
            f"mira-ls knows ({newest:03d}); it was written by a newer mira-ls. Upgrade mira-ls "
            "(the database was not changed)."
        )
    for version, row in sorted(done.items()):
        m = by_version.get(version)
        if m is None:
            raise StoreError(
                f"Migration {version:03d}_{row.name}.sql is recorded in {db_label} but its "
                "file is missing from this mira-ls; reinstall mira-ls."
            )
        if m.checksum != row.checksum:
            raise MigrationChecksumMismatch(
                f"Migration {m.filename} was edited after it was applied to {db_label} "
                f"(checksum {row.checksum[:12]} in the database, {m.checksum[:12]} on disk). "
                f"A landed migration is never edited: restore {m.filename} and put the "
                "change in a new NNN_*.sql file."
            )


def _apply_one(conn: Connection, m: Migration, known: list[Migration], db_label: str) -> bool:
    """Apply one file in one transaction; False when another process applied it first."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = applied(conn)
        _check(current, known, db_label)
        if m.version in current:
            conn.execute("ROLLBACK")
            return False
        for stmt in m.statements:
            conn.execute(stmt)
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StoreError(
                f"Migration {m.filename} leaves {len(broken)} foreign key violation(s), "
                f"first in table {broken[0][0]}; it was rolled back."
            )
        conn.execute(
            "INSERT INTO schema_migrations(version, name, checksum, applied_at) "
            "VALUES (?, ?, ?, ?)",
            (m.version, m.name, m.checksum, int(time.time())),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True


def migrate(
    conn: Connection, *, directory: Path | None = None, db_label: str = "database"
) -> list[int]:
    """Apply pending migrations; return the versions this call applied.

    Driver errors raised while applying a file are wrapped in a StoreError naming the
    file, except busy/locked errors, which the caller turns into DatabaseLocked.
    """
    known = load_migrations(directory)
    _require_sqlite(conn)
    _ensure_table(conn, db_label)
    done = applied(conn)
    _check(done, known, db_label)
    done_now: list[int] = []
    for m in known:
        if m.version in done:
            continue
        try:
            if _apply_one(conn, m, known, db_label):
                log.info("applied migration %s to %s", m.filename, db_label)
                done_now.append(m.version)
        except error_types() as exc:
            if is_environmental(exc):
                raise  # locked, read-only, corrupt, full: the caller explains those
            raise StoreError(f"Migration {m.filename} failed and was rolled back: {exc}") from exc
    return done_now
