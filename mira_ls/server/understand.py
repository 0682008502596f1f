"""mira.analyze: features/analyze.py does the work; this asks first and runs it as a job.
Quality diagnostics of open documents: measured on the index lane, published per source."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types

from mira_ls.features import analyze as analyze_feature
from mira_ls.features import quality_diagnostics
from mira_ls.features.chat import NeedInput
from mira_ls.features.session import Located, ProjectRoot
from mira_ls.index.languages import language_for_path
from mira_ls.jobs import JobContext
from mira_ls.llm.pricing import usd
from mira_ls.server.base import Handlers, MiraServer, command_arg, open_documents
from mira_ls.understand import background

log = logging.getLogger(__name__)
handlers = Handlers()
register = handlers.register


@handlers.command("mira.analyze")
async def cmd_analyze(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{uri?, yes?}: what each definition of a folder or file (default: the workspace) is
    for, asked of the LLM in the background with $/progress (cancellable); asks first with
    window/showMessageRequest above analysis.confirmAboveUsd ({yes: true} skips)."""
    arg = command_arg(args)
    try:
        svc = ls.chat.service(ls.session)
        ap = await asyncio.to_thread(analyze_feature.plan, ls.session, svc, arg)
    except (analyze_feature.CannotAnalyse, NeedInput) as exc:
        ls.show(str(exc), types.MessageType.Warning, once=False)
        return {"analysed": 0, "message": str(exc)}
    if not ap.plan.prompts:
        msg = f"{ap.what}: all {ap.plan.analysed} definitions are analysed already."
        ls.show(msg, types.MessageType.Info, once=False)
        return {"analysed": 0, "message": msg}
    if (
        ap.needs_confirmation
        and not arg.get("yes")
        and not await ls.ask(ap.question(), "Analyse", "Not now")
    ):
        msg = "Not analysed: " + ap.question().replace(" Analyse now?", "")
        return {"analysed": 0, "message": msg}
    handle = ls.submit(
        "analysis",
        f"analysing {ap.what}",
        _analyse_job,
        ap,
        key=("analysis", ap.project.root),
        progress=f"Mira: analysing {ap.what}",
    )
    if handle is None:
        return {"analysed": 0, "message": "mira-ls is shutting down."}
    result: dict[str, Any] = await ls.result_of(handle)
    kind = types.MessageType.Warning if result.get("stopped") else types.MessageType.Info
    ls.show(result["message"], kind, once=False)
    return result


def _analyse_job(ctx: JobContext, ap: analyze_feature.AnalysePlan) -> dict[str, Any]:
    """On the "analysis" lane: $/progress from the runner's sink, cancelled from the
    editor's bar or at shutdown."""
    progress = ctx.progress
    progress.begin(f"{len(ap.plan.pending)} definitions to analyse")
    result = analyze_feature.run(ap, progress.report, ctx.cancelled)
    progress.end(str(result["message"])[:200])
    return result


# -- quality diagnostics ----------------------------------------------------------------

QUALITY = "quality"  # the diagnostics source key (merged with the others per document)


def schedule_quality(ls: MiraServer, docs: list[tuple[str, Located]]) -> None:
    """Measure open documents and publish their quality diagnostics, on the index lane
    (after a queued index update of the same file); one queued run per file."""
    if ls.session.store is None:
        return
    on = ls.session.settings.quality.diagnostics
    shown = set(ls.uris_with(QUALITY))
    for uri, loc in docs:
        if uri not in shown and (not on or language_for_path(loc.rel_path) is None):
            continue  # off (or not code), and nothing shown to clear
        ls.submit(
            "index",
            f"measuring {loc.rel_path}",
            _quality_job,
            ls,
            uri,
            key=("quality", loc.project.project_id, loc.rel_path),
        )


def schedule_quality_open(ls: MiraServer, project_id: int | None = None) -> None:
    """Every open document (of one project)."""
    docs: list[tuple[str, Located]] = []
    for root in list(ls.session.roots):
        if project_id is None or root.project_id == project_id:
            docs.extend(open_documents(ls, root.project_id))
    schedule_quality(ls, docs)


def _quality_job(ctx: JobContext, ls: MiraServer, uri: str) -> None:
    if uri not in ls.workspace.text_documents:
        ls.publish_diagnostics(uri, QUALITY, [])  # closed meanwhile
        return
    found = ls.document(uri)
    if found is None:
        return
    loc, text = found
    diags = quality_diagnostics.file_diagnostics(ls.session, loc, text, ls.encoding)
    if diags is not None:
        ls.publish_diagnostics(uri, QUALITY, diags)


# -- background analysis ------------------------------------------------------------------


def schedule_background_analysis(
    ls: MiraServer, project: ProjectRoot, paths: list[str], *, hotspots: bool = False
) -> None:
    """Analyse what ``paths`` lack on the analysis lane (one queued run per file set), when
    analysis.background is on; for the top hotspots (``hotspots``) also the quality
    findings of their worst functions. The job itself checks the key, the day's allowance
    and the budget (understand/background.py)."""
    if ls.session.store is None or not ls.session.settings.analysis.background or not paths:
        return
    ls.submit(
        "analysis",
        f"analysing {', '.join(paths[:3])} in the background",
        _background_job,
        ls,
        project,
        list(paths),
        hotspots,
        key=("background-analysis", project.project_id, tuple(paths), hotspots),
    )


def _background_job(
    ctx: JobContext, ls: MiraServer, project: ProjectRoot, paths: list[str], hotspots: bool
) -> None:
    store = ls.session.store
    if store is None:
        return
    skipped = background.why_not_before(ls.session.settings)
    if skipped is not None:
        log.debug("background analysis of %s skipped: %s", ", ".join(paths), skipped)
        return
    try:
        svc = ls.chat.service(ls.session)
    except NeedInput as exc:
        log.info("background analysis: %s", exc)
        return
    run = background.analyse_files(
        store, svc, project.project_id, project.root, paths, ctx.cancelled
    )
    if run.files:
        log.info(
            "background analysis of %s: %d definitions in %d calls (%s)",
            ", ".join(run.files), run.analysed, run.calls, usd(run.cost_micro),
        )  # fmt: skip
    if not hotspots or ctx.cancelled():
        return
    found = background.hotspot_findings(
        store, svc, project.project_id, project.root, paths, ctx.cancelled
    )
    if found.findings:
        log.info(
            "background quality findings for %d functions of %s in %d calls (%s)",
            found.findings, ", ".join(found.files), found.calls, usd(found.cost_micro),
        )  # fmt: skip
        schedule_quality_open(ls, project.project_id)  # the diagnostics carry the findings


def schedule_hotspot_analysis(ls: MiraServer, project: ProjectRoot) -> None:
    """After mining: the top hotspots (analysis.backgroundHotspots of them), and the quality
    findings of their worst functions."""
    store = ls.session.store
    n = ls.session.settings.analysis.background_hotspots
    if store is None or not ls.session.settings.analysis.background or n <= 0:
        return
    schedule_background_analysis(
        ls, project, background.hotspot_files(store, project.project_id, n), hotspots=True
    )
