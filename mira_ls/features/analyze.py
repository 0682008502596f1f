"""``mira.analyze``: the LLM semantic analysis of a workspace, a folder or a file in the
background, asking first when the estimate is above ``analysis.confirmAboveUsd``.
Resumable by construction: each batch is stored as its answer validates, and a new run
asks only for definitions with no analysis at their current content."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mira_ls.features.session import NO_PROJECT, ProjectRoot, Session
from mira_ls.llm.pricing import usd
from mira_ls.llm.service import LlmService
from mira_ls.understand import analysis_run, semantic


class CannotAnalyse(Exception):
    """str(exc) says why and what to do."""


@dataclass
class AnalysePlan:
    project: ProjectRoot
    svc: LlmService
    prefix: str  # "" for the whole workspace, else a folder or file in it
    plan: semantic.Plan

    @property
    def what(self) -> str:
        return self.prefix or self.project.root.name

    @property
    def needs_confirmation(self) -> bool:
        limit = self.svc.settings.analysis.confirm_above_usd
        return self.plan.cost_micro > limit * 1_000_000

    def question(self) -> str:
        p = self.plan
        return (
            f"Analysing {self.what} will send {len(p.pending)} definitions in "
            f"{len(p.prompts)} calls to {self.svc.settings.llm.model}, at most "
            f"{usd(p.cost_micro)}. Analyse now?"
        )


def _target(session: Session, uri: str | None) -> tuple[ProjectRoot, str]:
    roots = [r for r in session.roots if r.project_id != NO_PROJECT]
    if not roots:
        raise CannotAnalyse("mira-ls has no indexed workspace folder to analyse; open a folder.")
    if not uri:
        return roots[0], ""
    parsed = urlparse(uri)
    path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(uri)
    for r in sorted(roots, key=lambda r: len(r.root.parts), reverse=True):
        try:
            rel = path.resolve().relative_to(r.root)
        except ValueError:
            continue
        return r, "" if str(rel) == "." else rel.as_posix()
    raise CannotAnalyse(f"{path} is not in an open workspace folder, so it is not indexed.")


def plan(session: Session, svc: LlmService, arg: dict[str, Any]) -> AnalysePlan:
    """What ``{uri?}`` (a folder or file; default the first workspace folder) would ask."""
    if session.store is None:
        raise CannotAnalyse("mira-ls has no database, so nothing can be analysed.")
    uri = arg.get("uri") or arg.get("path")
    project, prefix = _target(session, str(uri) if uri else None)
    p = semantic.plan(svc, project.root, project.project_id, prefix)
    return AnalysePlan(project, svc, prefix, p)


def run(ap: AnalysePlan, progress: semantic.Progress | None, cancel: Any) -> dict[str, Any]:
    """Analyse what the plan lacks; the answer says what was done and why it stopped."""
    done = analysis_run.analyse(
        ap.svc.store, ap.svc, ap.project.project_id, ap.plan, ap.what, cancel, progress
    )
    return done.as_json(ap.what)
