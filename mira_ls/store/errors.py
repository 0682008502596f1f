"""Store errors carry a sentence a person can act on; the LSP layer shows it as is."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: str(exc) is the message shown to the user."""


class DatabaseNotWritable(StoreError):
    pass


class DatabaseCorrupt(StoreError):
    pass


class DatabaseLocked(StoreError):
    pass


class SchemaTooNew(StoreError):
    pass


class MigrationChecksumMismatch(StoreError):
    pass
