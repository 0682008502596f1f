"""SQLite store: connections, migrations and the queries every subsystem uses."""

from mira_ls.store.connection import backend, connect, error_types
from mira_ls.store.db import Store, open_store
from mira_ls.store.errors import (
    DatabaseCorrupt,
    DatabaseLocked,
    DatabaseNotWritable,
    MigrationChecksumMismatch,
    NotAMiraDatabase,
    SchemaTooNew,
    StoreError,
)

__all__ = [
    "DatabaseCorrupt",
    "DatabaseLocked",
    "DatabaseNotWritable",
    "MigrationChecksumMismatch",
    "NotAMiraDatabase",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "backend",
    "connect",
    "error_types",
    "open_store",
]
