"""Facts about a database for ``mira-ls db status``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.store.connection import Connection, backend
from mira_ls.store.db import Store
from mira_ls.store.migrate import applied


@dataclass
class DbStatus:
    path: str
    size_bytes: int  # database + WAL
    backend: str  # "sqlite3" (stdlib) or "sqlean"
    sqlite_version: str
    sqlite_vec_version: str | None  # None: sqlite-vec could not be loaded
    journal_mode: str
    schema_version: int
    migrations: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)


def table_names(conn: Connection) -> list[str]:
    """Ordinary tables, without SQLite's own and the shadow tables of virtual tables."""
    rows = conn.execute(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows]


def status(store: Store) -> DbStatus:
    conn = store.conn()
    be = backend()
    size = 0
    for suffix in ("", "-wal"):
        p = Path(str(store.path) + suffix)
        if p.exists():
            size += p.stat().st_size
    done = applied(conn)
    st = DbStatus(
        path=str(store.path),
        size_bytes=size,
        backend=be.name,
        sqlite_version=conn.execute("SELECT sqlite_version()").fetchone()[0],
        sqlite_vec_version=be.vec_version,
        journal_mode=conn.execute("PRAGMA journal_mode").fetchone()[0],
        schema_version=max(done, default=0),
    )
    for m in done.values():
        st.migrations.append(
            {
                "version": m.version,
                "name": m.name,
                "checksum": m.checksum[:12],
                "applied_at": m.applied_at,
            }
        )
    for t in table_names(conn):
        st.tables[t] = conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
    return st
