"""Git intelligence over LSP: background mining with $/progress, blame on open, and the
co-change diagnostics."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lsprotocol import types

from mira_ls.features import (
    cochange_diagnostics,
)
from mira_ls.features.session import Located
from mira_ls.git import background
from mira_ls.git.miner import MineStats
from mira_ls.index.languages import language_for_path
from mira_ls.jobs import JobContext, ProgressSink
from mira_ls.server.base import MiraServer, open_documents
from mira_ls.server.understand import schedule_hotspot_analysis, schedule_quality_open
from mira_ls.understand import graph

log = logging.getLogger(__name__)

AFTER_SAVE_DELAY_S = 0.5


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
    bar = _LazyBar(ctx.progress)  # no bar for a run that finds HEAD unchanged
    try:
        stats: MineStats = ls.workers.run(
            background.mine_in_child,
            (str(store.path), loc.project.project_id, str(root), ls.session.settings),
            JobContext(ctx.lane, ctx.key, ctx.token, bar),
        )
    except BaseException:
        bar.finish("mining failed")
        raise
    bar.finish(
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
        if stats.new_commits:
            schedule_quality_open(ls, loc.project.project_id)  # hotspots may have moved
            graph.refresh_cochange(store, loc.project.project_id)  # changes_with edges
            schedule_hotspot_analysis(ls, loc.project)  # the top hotspots may be new


class _LazyBar:
    """A child's progress (done of 100, or 0 of 0 with a message) to the job's bar, which
    begins with the first report: a run that finds its work done shows none."""

    def __init__(self, sink: ProgressSink) -> None:
        self._sink = sink
        self.started = False

    def begin(self, message: str | None = None) -> None:
        return None

    def report(
        self, done: int, total: int, message: str | None = None, force: bool = False
    ) -> None:
        if not self.started:
            self.started = True
            self._sink.begin(message or "")
        self._sink.report(done if total else 0, 100 if total else 0, message or "")

    def end(self, message: str | None = None) -> None:
        return None

    def finish(self, message: str) -> None:
        if self.started:
            self._sink.end(message)

    def cancelled(self) -> bool:
        return self._sink.cancelled()


def schedule_blame(ls: MiraServer, loc: Located) -> None:
    if ls.session.store is None or not ls.session.settings.git.enabled:
        return
    ls.submit(
        "blame",
        f"blaming {loc.rel_path}",
        _blame,
        ls,
        [loc],
        key=("blame", loc.project.project_id),
        merge=_more_files,
    )


def _more_files(old: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[Any, ...]:
    """Files asked for while a blame is queued join it: one child process blames them all."""
    ls, locs = old
    return ls, locs + [loc for loc in new[1] if loc not in locs]


def _blame(ctx: JobContext, ls: MiraServer, locs: list[Located]) -> None:
    store = ls.session.store
    if store is None or not locs:
        return
    project = locs[0].project
    ls.workers.run(
        background.blame_in_child,
        (
            str(store.path),
            project.project_id,
            str(project.root),
            [loc.rel_path for loc in locs],
            ls.session.settings,
        ),
        ctx,
    )
    lens = ls.client_capabilities.workspace and ls.client_capabilities.workspace.code_lens
    if ls.session.settings.code_lens.authors and lens and lens.refresh_support:
        ls.send_soon(ls.workspace_code_lens_refresh, None)
    for loc in locs:
        if language_for_path(loc.rel_path) is not None:
            schedule_xray(ls, loc)


def schedule_xray(ls: MiraServer, loc: Located) -> None:
    """The symbol-level history the hover shows, after the file's blame (cached per HEAD:
    usually instant). In a child process: parsing every version is CPU-bound Python."""
    ls.submit(
        "blame",
        f"X-Ray of {loc.rel_path}",
        _xray,
        ls,
        loc,
        key=("xray", loc.project.project_id, loc.rel_path),
        progress=f"mira-ls: X-Ray of {loc.rel_path}",
    )


def _xray(ctx: JobContext, ls: MiraServer, loc: Located) -> None:
    store = ls.session.store
    if store is None:
        return
    bar = _LazyBar(ctx.progress)  # no bar when the cache answers
    try:
        said: str = ls.workers.run(
            background.xray_in_child,
            (str(store.path), loc.project.project_id, str(loc.project.root), loc.rel_path),
            JobContext(ctx.lane, ctx.key, ctx.token, bar),
        )
    except BaseException:
        bar.finish("X-Ray failed")
        raise
    log.debug("X-Ray of %s: %s", loc.rel_path, said)
    bar.finish(said)


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
    # Debounced: the save's own index update goes first, and saves in a burst (format on
    # save, save all) queue one check, not one each.
    if ctx.token.wait(AFTER_SAVE_DELAY_S):
        return
    _mine(ctx, ls, loc.project.root)
    if ctx.cancelled():
        return
    schedule_blame(ls, loc)
    _publish_cochange(ls, loc.project.project_id, loc.project.root)
