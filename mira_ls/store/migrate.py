"""Apply ``migrations/NNN_name.sql`` in order, once each, and refuse edited or unknown ones.

Each file runs in one transaction together with its ``schema_migrations`` row, so a
failure leaves nothing half-applied, and two processes starting at once cannot both
apply the same file (the second one's insert of the version row fails and it moves on).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mira_ls.store.connection import error_types
from mira_ls.store.errors import MigrationChecksumMismatch, SchemaTooNew, StoreError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str
    checksum: str


def migrations_dir() -> Path:
    """The wheel ships them as ``mira_ls/migrations``; a source checkout has them at the top."""
    pkg = Path(__file__).resolve().parent.parent
    for candidate in (pkg / "migrations", pkg.parent / "migrations"):
        if candidate.is_dir():
            return candidate
    raise StoreError(f"The migrations directory is missing next to {pkg}; reinstall mira-ls.")


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or migrations_dir()
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise StoreError(f"Migration file name {path.name!r} is not NNN_name.sql")
        data = path.read_bytes()
        found.append(
            Migration(
                version=int(m.group(1)),
                name=m.group(2),
                path=path,
                sql=data.decode("utf-8"),
                checksum=hashlib.sha256(data).hexdigest(),
            )
        )
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"Two migration files share a version number in {directory}")
    return found


def _ensure_table(conn: Any) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " checksum TEXT NOT NULL,"
        " applied_at INTEGER NOT NULL)"
    )


def applied(conn: Any) -> dict[int, tuple[str, str, int]]:
    """version -> (name, checksum, applied_at)."""
    rows = conn.execute(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
    ).fetchall()
    return {int(r[0]): (r[1], r[2], int(r[3])) for r in rows}


def _check(done: dict[int, tuple[str, str, int]], known: list[Migration], db_label: str) -> None:
    by_version = {m.version: m for m in known}
    newest = max(by_version, default=0)
    too_new = [v for v in done if v > newest]
    if too_new:
        raise SchemaTooNew(
            f"The database {db_label} has schema version {max(too_new)}, newer than this "
            f"mira-ls knows ({newest}). Upgrade mira-ls; the database was not changed."
        )
    for version, (name, checksum, _) in done.items():
        m = by_version.get(version)
        if m is None:
            raise StoreError(f"Migration {version:03d}_{name} is applied but its file is missing.")
        if m.checksum != checksum:
            raise MigrationChecksumMismatch(
                f"Migration {m.path.name} was edited after it was applied to {db_label} "
                f"(checksum {checksum[:12]} in the database, {m.checksum[:12]} on disk). "
                "A landed migration is never edited: restore it and add a new NNN_*.sql file."
            )


def migrate(conn: Any, *, directory: Path | None = None, db_label: str = "database") -> list[int]:
    """Apply pending migrations; return the versions applied now."""
    known = load_migrations(directory)
    _ensure_table(conn)
    _check(applied(conn), known, db_label)
    done_now: list[int] = []
    for m in known:
        if m.version in applied(conn):
            continue
        script = (
            "BEGIN IMMEDIATE;\n"
            f"INSERT INTO schema_migrations(version, name, checksum, applied_at) VALUES "
            f"({m.version}, '{m.name}', '{m.checksum}', {int(time.time())});\n"
            f"{m.sql}\n;\nCOMMIT;"
        )
        try:
            conn.executescript(script)
        except error_types() as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            current = applied(conn)
            if m.version in current:  # another process applied it while we waited
                _check(current, known, db_label)
                continue
            raise StoreError(f"Migration {m.path.name} failed: {exc}") from exc
        log.info("applied migration %s", m.path.name)
        done_now.append(m.version)
    return done_now
