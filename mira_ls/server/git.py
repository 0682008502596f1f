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
from mira_ls.jobs import JobContext
from mira_ls.server.base import MiraServer, open_documents

log = logging.getLogger(__name__)


def schedule_mining(ls: MiraServer, root: Path) -> None:
    """Mine in the background (cheap when HEAD has not moved); one queued run per root."""
    if ls.session.store is None or not ls.session.settings.git.enabled:
        return
    ls.submit(
        "mine",
        f"mining the git history of {root}",
        _mine_job,
        ls,
        root,
        key=("mine", root),
        progress=f"mira-ls: git history of {root.name}",
    )


def _mine_job(ctx: JobContext, ls: MiraServer, root: Path) -> None:
    _mine(ctx, ls, root)


def _mine(ctx: JobContext, ls: MiraServer, root: Path) -> None:
    store = ls.session.store
    loc = ls.session.locate(root)
    if store is None or loc is None:
        return
    progress = ctx.progress
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
            cancel=ctx.cancelled,
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
    ls.submit(
        "blame",
        f"blaming {loc.rel_path}",
        _blame,
        ls,
        loc,
        key=(loc.project.project_id, loc.rel_path),
    )


def _blame(ctx: JobContext, ls: MiraServer, loc: Located) -> None:
    store = ls.session.store
    if store is None:
        return
    git_blame.ensure_blame(
        store, loc.project.project_id, loc.project.root, loc.rel_path, ls.session.settings
    )
    lens = ls.client_capabilities.workspace and ls.client_capabilities.workspace.code_lens
    if ls.session.settings.code_lens.authors and lens and lens.refresh_support:
        ls.send_soon(ls.workspace_code_lens_refresh, None)


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
    check co-change partners of every open file. One queued check per saved file."""
    if ls.session.store is None or not ls.session.settings.git.enabled:
        return
    ls.submit(
        "mine",
        f"checking git for {loc.rel_path}",
        _after_save_job,
        ls,
        loc,
        key=("save", loc.project.root, loc.rel_path),
        progress=f"mira-ls: git history of {loc.project.root.name}",
    )


def _after_save_job(ctx: JobContext, ls: MiraServer, loc: Located) -> None:
    _mine(ctx, ls, loc.project.root)
    if ctx.cancelled():
        return
    schedule_blame(ls, loc)
    _publish_cochange(ls, loc.project.project_id, loc.project.root)
