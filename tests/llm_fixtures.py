"""The ``world`` fixture for LLM tests (registered with ``pytest_plugins``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mira_ls.config import Settings
from mira_ls.index import indexer
from mira_ls.store import Store
from mira_ls.store import projects as project_store
from tests.support.llm_world import APP, World
from tests.support.openai_server import OpenAIServer
from tests.support.repo import T0, Repo


@pytest.fixture
def world(tmp_db: Store, tmp_path: Path) -> Iterator[World]:
    root = tmp_path / "proj"
    repo = Repo(root)
    repo.commit(
        "initial",
        {"app.py": APP, "CLAUDE.md": "Prefer small functions.\n"},
        author=("Alice", "alice@example.com"),
        at=T0,
    )
    settings = Settings()
    settings.llm.max_retries = 0
    settings.llm.timeout_seconds = 5
    indexer.index_workspace(tmp_db, root, settings.index)
    project = project_store.by_root(tmp_db.conn(), root)
    assert project is not None
    with OpenAIServer() as srv:
        settings.llm.base_url = srv.base_url
        yield World(root, repo, tmp_db, settings, srv, project.id)
