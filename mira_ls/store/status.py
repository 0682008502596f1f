"""Facts about a database for ``mira-ls db status``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.store.connection import backend
from mira_ls.store.db import Store
from mira_ls.store.migrate import applied


@dataclass
class DbStatus:
    path: str
    size_bytes: int
    backend: str
    sqlite_version: str
    sqlite_vec_version: str | None
    journal_mode: str
    migrations: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)


def table_names(conn: Any) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
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
    st = DbStatus(
        path=str(store.path),
        size_bytes=size,
        backend=be.name,
        sqlite_version=be.sqlite_version,
        sqlite_vec_version=be.vec_version,
        journal_mode=conn.execute("PRAGMA journal_mode").fetchone()[0],
    )
    for version, (name, checksum, at) in applied(conn).items():
        st.migrations.append(
            {"version": version, "name": name, "checksum": checksum[:12], "applied_at": at}
        )
    for t in table_names(conn):
        st.tables[t] = conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
    return st
