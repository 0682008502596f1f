"""Shared fixtures: real SQLite files in per-test temporary directories."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mira_ls.store import Store

# Background analysis (analysis.background, on by default) would add chat requests to every
# server a test starts with a key and opens a file in, and the tests count them: it is off
# for every process the suite starts unless a test turns it on (tests/lsp/
# test_background_analysis_e2e.py, tests/test_understand_background.py).
os.environ.setdefault("MIRA_ANALYSIS_BACKGROUND", "false")


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
