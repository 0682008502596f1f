"""Store errors carry a sentence a person can act on; the LSP layer shows it as is."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: str(exc) is the message shown to the user."""


class DatabaseNotWritable(StoreError):
    """The file or its directory cannot be created or written."""


class DatabaseCorrupt(StoreError):
    """The file is not an SQLite database or is damaged."""


class DatabaseLocked(StoreError):
    """Another connection held a lock for longer than the busy timeout."""


class SchemaTooNew(StoreError):
    """The database was migrated by a newer mira-ls; nothing is written to it."""


class MigrationChecksumMismatch(StoreError):
    """An applied migration file was edited afterwards."""


class NotAMiraDatabase(StoreError):
    """The file is an SQLite database of another program; it is left alone."""
