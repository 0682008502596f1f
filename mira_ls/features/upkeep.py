"""``mira-ls db prune``: drop what can be recomputed or is no longer needed.

Expired LLM cache entries, blame cached for file versions that are neither in HEAD nor the
version a file was last viewed at, and build snapshots no open error can still need.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from mira_ls.git import repo as git_repo
from mira_ls.store import Store, build_snapshots, git_blame, llm_cache
from mira_ls.store import projects as project_store


@dataclass
class PruneResult:
    cache_entries: int = 0
    blame_versions: int = 0
    blame_rows: int = 0
    build_run_files: int = 0
    build_snapshots: int = 0


def prune(store: Store, now: int | None = None) -> PruneResult:
    now = int(time.time()) if now is None else now
    result = PruneResult()
    with store.write() as conn:
        result.cache_entries = llm_cache.delete_expired(conn, now)
        result.build_run_files, result.build_snapshots = build_snapshots.prune(conn)
    for project in project_store.all_projects(store.conn()):
        head = (
            git_repo.head_blobs(Path(project.root_path))
            if Path(project.root_path).is_dir()
            else set()
        )
        if head is None:  # no git here: keep what the hover shows, drop the rest
            head = set()
        versions = git_blame.blamed_versions(store.conn(), project.id)
        stale = [(p, b) for p, b, current in versions if not current and (p, b) not in head]
        if stale:
            with store.write() as conn:
                result.blame_rows += git_blame.forget_versions(conn, project.id, stale)
            result.blame_versions += len(stale)
    return result
