"""Background analysis: the semantic analysis of the files the user opens or saves, and of
the top hotspots after mining, without a command (``analysis.background``, on by default).

It is never a surprise bill: it runs only with an API key, asks only for definitions with
no analysis at their current content hash (an unchanged file costs nothing, not even a
cache lookup), spends at most ``analysis.backgroundDailyUsd`` a day (UTC, counted from the
budget rows of its own operation name, ``analyze-background``), goes through the budget
like every call (a refusal stops it quietly), and is recorded as an operation
(``mira-ls ops``). A whole tree is analysed only on ``mira-ls analyze`` / ``mira.analyze``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mira_ls.llm.budget import periods
from mira_ls.llm.pricing import usd
from mira_ls.llm.service import LlmService
from mira_ls.store import Store
from mira_ls.store import understanding as q
from mira_ls.store.report_queries import file_churn
from mira_ls.understand import analysis_run, semantic

log = logging.getLogger(__name__)

OPERATION = "analyze-background"


@dataclass
class BackgroundRun:
    files: list[str] = field(default_factory=list)  # files something was asked for
    analysed: int = 0
    calls: int = 0
    cost_micro: int = 0
    skipped: str | None = None  # why it did not run, or stopped


def why_not(svc: LlmService) -> str | None:
    """Why background analysis may not run at all (None: it may)."""
    if not svc.settings.analysis.background:
        return "analysis.background is off"
    if not svc.endpoint.api_key:
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
