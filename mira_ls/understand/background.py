"""Background analysis: the semantic analysis of the files the user opens or saves, and of
the top hotspots after mining, without a command (``analysis.background``, on by default).

It is never a surprise bill: it runs only with an API key, asks only for definitions with
no analysis at their current content hash (an unchanged file costs nothing, not even a
cache lookup), spends at most ``analysis.backgroundDailyUsd`` a day (UTC, counted from the
budget rows of its own operation name, ``analyze-background``), goes through the budget
like every call (a refusal stops it quietly), and is recorded as an operation
(``mira-ls ops``). A whole tree is analysed only on ``mira-ls analyze`` / ``mira.analyze``.

For the top hotspots it also asks for the quality finding of their worst functions (issue
19 part 5: why the function is hard to change, what to split; understand/findings.py):
measured from the index first, one call for the few worst functions in hotspot files that
have no finding at their current content hash, within the same daily allowance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mira_ls.config import Settings
from mira_ls.llm.budget import periods
from mira_ls.llm.errors import LlmError
from mira_ls.llm.pricing import usd
from mira_ls.llm.provider import endpoint_from
from mira_ls.llm.service import LlmService
from mira_ls.store import Store
from mira_ls.store import understanding as q
from mira_ls.store.report_queries import file_churn
from mira_ls.understand import analysis_run, findings, quality, semantic

log = logging.getLogger(__name__)

OPERATION = "analyze-background"


@dataclass
class BackgroundRun:
    files: list[str] = field(default_factory=list)  # files something was asked for
    analysed: int = 0
    calls: int = 0
    cost_micro: int = 0
    skipped: str | None = None  # why it did not run, or stopped
    findings: int = 0  # quality findings stored (hotspot_findings)


def why_not(svc: LlmService) -> str | None:
    """Why background analysis may not run at all (None: it may)."""
    return why_not_before(svc.settings, svc.env)


def why_not_before(settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    """``why_not`` before the LLM service is built: with no key it never is, as building
    it imports the SDK (about a second holding the server's GIL, while requests wait)."""
    if not settings.analysis.background:
        return "analysis.background is off"
    if not endpoint_from(settings.llm, env).api_key:
        return "no API key is configured"
    return None


def hotspot_files(store: Store, project_id: int, n: int) -> list[str]:
    """The ``n`` most changed files (counted commits) that are indexed with definitions."""
    if n <= 0:
        return []
    conn = store.conn()
    indexed = q.files_with_definitions(conn, project_id)
    churn = [c for c in file_churn(conn, project_id) if c.path in indexed]
    churn.sort(key=lambda c: (-c.commits, c.path))
    return [c.path for c in churn[:n]]


def analyse_files(
    store: Store,
    svc: LlmService,
    project_id: int,
    root: Path,
    paths: Sequence[str],
    cancelled: Callable[[], bool] | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> BackgroundRun:
    """Analyse what ``paths`` lack, one file (one operation) at a time, within the day's
    background allowance."""
    out = BackgroundRun()
    out.skipped = why_not(svc)
    if out.skipped is not None:
        return out
    cap = round(svc.settings.analysis.background_daily_usd * 1_000_000)
    for path in dict.fromkeys(paths):
        if cancelled is not None and cancelled():
            break
        plan = semantic.plan(svc, root, project_id, path)
        if not plan.prompts:
            continue
        spent = q.spent_today(store.conn(), periods(clock())[0], OPERATION)
        if spent + plan.cost_micro > cap:
            out.skipped = (
                f"background analysis stopped for today: {path} may cost up to "
                f"{usd(plan.cost_micro)} and {usd(spent)} of the {usd(cap)} a day "
                "(analysis.backgroundDailyUsd) is spent"
            )
            break
        run = analysis_run.analyse(
            store, svc, project_id, plan, path, cancelled, operation=OPERATION
        )
        out.files.append(path)
        out.analysed += run.done.symbols
        out.calls += run.done.calls
        out.cost_micro += run.done.cost_micro
        if run.stopped:  # the budget refused, the endpoint failed: not again this run
            out.skipped = run.stopped
            break
    if out.skipped:
        log.info("background analysis: %s", out.skipped)
    return out


def hotspot_findings(
    store: Store,
    svc: LlmService,
    project_id: int,
    root: Path,
    paths: Sequence[str],
    cancelled: Callable[[], bool] | None = None,
    *,
    clock: Callable[[], float] = time.time,
    top: int = findings.TOP,
) -> BackgroundRun:
    """The LLM's finding for the ``top`` worst functions of ``paths`` (the top hotspots)
    that sit in a hotspot file and have none at their current text: measured first (as the
    quality diagnostics do), then one call, within the day's background allowance."""
    out = BackgroundRun()
    out.skipped = why_not(svc)
    if out.skipped is not None or not paths:
        return out
    limits = quality.Thresholds.from_settings(svc.settings.quality)
    measured: list[quality.Measured] = []
    files = 0
    for path in dict.fromkeys(paths):
        if cancelled is not None and cancelled():
            return out
        run = quality.measure_project(store, project_id, root, path, limits)
        measured.extend(run.functions)
        files += run.files
    worst = findings.worst_hotspots(quality.QualityRun(measured, files, [], 0.0), top)
    fp = findings.plan(svc, root, worst)
    if not fp.pending or (cancelled is not None and cancelled()):
        return out
    cap = round(svc.settings.analysis.background_daily_usd * 1_000_000)
    spent = q.spent_today(store.conn(), periods(clock())[0], OPERATION)
    if spent + fp.cost_micro > cap:
        out.skipped = (
            f"background quality findings stopped for today: they may cost up to "
            f"{usd(fp.cost_micro)} and {usd(spent)} of the {usd(cap)} a day "
            "(analysis.backgroundDailyUsd) is spent"
        )
        log.info("background analysis: %s", out.skipped)
        return out
    try:
        done = findings.run(store, svc, project_id, fp, operation=OPERATION,
                            what=" (background)")  # fmt: skip
    except LlmError as exc:  # the budget refused, the endpoint failed, invalid twice
        out.skipped = str(exc)
        log.info("background quality findings: %s", exc)
        return out
    out.files = sorted({m.path for m in fp.pending})
    out.findings = len(fp.pending)
    out.calls, out.cost_micro = done.calls, done.cost_micro
    return out
