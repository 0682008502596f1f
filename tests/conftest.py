"""Shared fixtures: real SQLite files in per-test temporary directories."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mira_ls.store import Store


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One freshly migrated database file per test session, copied by ``tmp_db``."""
    path = tmp_path_factory.mktemp("template") / "mira.db"
    Store(path).close()  # closing the last connection checkpoints and removes the WAL
    return path


@pytest.fixture
def tmp_db(tmp_path: Path, migrated_template: Path) -> Iterator[Store]:
    """A fresh, fully migrated Store on ``tmp_path / "mira.db"``; closed afterwards."""
    path = tmp_path / "mira.db"
    shutil.copyfile(migrated_template, path)
    store = Store(path)
    try:
        yield store
    finally:
        store.close()
