"""Git intelligence over LSP: background mining with $/progress, blame on open, and the
co-change diagnostics."""

from __future__ import annotations

import logging
from pathlib import Path

from lsprotocol import types

from mira_ls.features import (
    cochange_diagnostics,
)
from mira_ls.features.session import Located
from mira_ls.git import blame as git_blame
from mira_ls.git import miner
from mira_ls.git import xray as git_xray
from mira_ls.git.repo import GitError
from mira_ls.index.languages import language_for_path
from mira_ls.server.base import MiraServer, open_documents
from mira_ls.server.progress import ThreadSafeProgress

log = logging.getLogger(__name__)


def schedule_mining(ls: MiraServer, root: Path) -> None:
    """Mine in the background (cheap when HEAD has not moved); one queued run per root."""
    if ls.session.store is None or not ls.session.settings.git.enabled:
        return
    with ls.mining_lock:
        if root in ls.mining_queued:
            return
        ls.mining_queued.add(root)
    ls.submit(ls.git_jobs, f"mining the git history of {root}", _mine, ls, root)


def _mine(ls: MiraServer, root: Path) -> None:
    with ls.mining_lock:
        ls.mining_queued.discard(root)
    store = ls.session.store
    loc = ls.session.locate(root)
    if store is None or loc is None:
        return
    progress = ThreadSafeProgress(ls, f"mira-ls: git history of {root.name}")
    started = False

    def report(message: str, pct: int | None) -> None:
        nonlocal started
        if not started:  # no progress bar for a run that finds HEAD unchanged
            started = True
            progress.begin(message)
        progress.report(pct or 0, 100 if pct is not None else 0, message)

    try:
        stats = miner.mine(
            store,
            loc.project.project_id,
            root,
            ls.session.settings,
            progress=report,
            cancel=progress.cancelled,
        )
    except BaseException:
        if started:
            progress.end("mining failed")
        raise
    if started:
        progress.end(
            f"{stats.new_commits} commits mined ({stats.mode}) in {stats.seconds:.1f} s"
            if stats.status == "ok"
            else stats.message or stats.status
        )
    if stats.status == "error":
        ls.show(stats.message, types.MessageType.Warning)
    if stats.status == "ok":
        for _, doc_loc in open_documents(ls, loc.project.project_id):
            schedule_blame(ls, doc_loc)
        _publish_cochange(ls, loc.project.project_id, root)


def schedule_blame(ls: MiraServer, loc: Located) -> None:
    if ls.session.store is None or not ls.session.settings.git.enabled:
        return
    ls.submit(ls.blame_jobs, f"blaming {loc.rel_path}", _blame, ls, loc)


def _blame(ls: MiraServer, loc: Located) -> None:
    store = ls.session.store
    if store is None:
        return
    git_blame.ensure_blame(
        store, loc.project.project_id, loc.project.root, loc.rel_path, ls.session.settings
    )
    lens = ls.client_capabilities.workspace and ls.client_capabilities.workspace.code_lens
    if ls.session.settings.code_lens.authors and lens and lens.refresh_support:
        ls.send_soon(ls.workspace_code_lens_refresh, None)
    if language_for_path(loc.rel_path) is not None:
        ls.submit(ls.git_jobs, f"X-Ray of {loc.rel_path}", _xray, ls, loc)


def _xray(ls: MiraServer, loc: Located) -> None:
    """The symbol-level history the hover shows (cached per HEAD: usually instant)."""
    store = ls.session.store
    if store is None:
        return
    progress = ThreadSafeProgress(ls, f"mira-ls: X-Ray of {loc.rel_path}")
    started = False

    def report(message: str, pct: int | None) -> None:
        nonlocal started
        if not started:
            started = True
            progress.begin(message)
        progress.report(pct or 0, 100 if pct is not None else 0, message)

    try:
        x = git_xray.ensure_xray(
            store,
            loc.project.project_id,
            loc.project.root,
            loc.rel_path,
            progress=report,
            cancel=progress.cancelled,
        )
    except git_xray.Cancelled:
        progress.end("X-Ray cancelled")
        return
    except GitError as exc:
        log.info("no X-Ray of %s: %s", loc.rel_path, exc)
        if started:
            progress.end("X-Ray failed")
        return
    if started:
        progress.end(f"{len(x.definitions)} definitions, {x.commits} commits")


def _publish_cochange(ls: MiraServer, project_id: int, root: Path) -> None:
    """Co-change diagnostics for every open file of the project (one git call)."""
    store = ls.session.store
    docs = open_documents(ls, project_id)
    if store is None or not docs:
        return
    found = cochange_diagnostics.cochange_diagnostics_many(
        store.conn(),
        project_id,
        root,
        [d.rel_path for _, d in docs],
        ls.session.settings,
        ls.lines(),
    )
    for uri, d in docs:
        ls.publish_diagnostics(uri, "cochange", found.get(d.rel_path, []))


def after_save(ls: MiraServer, loc: Located) -> None:
    """HEAD may have moved (a commit from the terminal): mine, blame the saved file, then
    check co-change partners of every open file."""
    _mine(ls, loc.project.root)
    schedule_blame(ls, loc)
    _publish_cochange(ls, loc.project.project_id, loc.project.root)


def is_git_head_change(rel_path: str) -> bool:
    return rel_path in (".git/HEAD", ".git/packed-refs") or rel_path.startswith(".git/refs/")
