"""`mira-ls db prune`: expired cache entries and blame of versions no one can see go."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mira_ls.config import CacheSettings, Settings
from mira_ls.features.upkeep import prune
from mira_ls.git.blame import ensure_blame
from mira_ls.llm.cache import LlmCache
from mira_ls.store import open_store
from mira_ls.store import projects as project_store
from mira_ls.store.git_blame import blamed_versions
from tests.support.repo import T0, Repo


def test_prune_drops_expired_cache_and_old_blame(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("one", {"a.py": "def f():\n    return 1\n"}, at=T0)
    store = open_store(tmp_path / "mira.db")
    with store.write() as conn:
        project = project_store.get_or_create(conn, repo.root)
    settings = Settings()

    # Blame the committed version, then an edited (uncommitted) one, then a third.
    ensure_blame(store, project.id, repo.root, "a.py", settings)
    repo.write("a.py", "def f():\n    return 2\n")
    ensure_blame(store, project.id, repo.root, "a.py", settings)
    repo.write("a.py", "def f():\n    return 3\n")
    ensure_blame(store, project.id, repo.root, "a.py", settings)
    versions = blamed_versions(store.conn(), project.id)
    assert len(versions) == 3

    clock = [1_000_000.0]
    cache = LlmCache(store, CacheSettings(), clock=lambda: clock[0])
    common = dict(
        model="gpt-5.1",
        reasoning_effort="medium",
        tool_calls=[],
        input_tokens=1,
        output_tokens=1,
        cost_micro=10,
    )
    old, new = "a" * 64, "b" * 64
    cache.put(old, response="old", ttl_seconds=10, **common)
    cache.put(new, response="new", ttl_seconds=10_000, **common)

    result = prune(store, now=int(clock[0]) + 100)
    assert result.cache_entries == 1
    # Kept: the version in HEAD (return 1) and the one last viewed (return 3).
    kept = blamed_versions(store.conn(), project.id)
    assert len(kept) == 2 and result.blame_versions == 1
    assert sum(1 for *_, current in kept if current) == 1
    keys = [r[0] for r in store.conn().execute("SELECT cache_key FROM llm_cache")]
    assert keys == [new]
    # A second prune has nothing left to do.
    again = prune(store, now=int(clock[0]) + 100)
    assert (again.cache_entries, again.blame_versions) == (0, 0)
    store.close()


def test_prune_cli(tmp_path: Path) -> None:
    db = tmp_path / "mira.db"
    out = subprocess.run(
        [sys.executable, "-m", "mira_ls", "db", "prune", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data == {
        "cache_entries": 0,
        "blame_versions": 0,
        "blame_rows": 0,
        "build_run_files": 0,
        "build_snapshots": 0,
    }
