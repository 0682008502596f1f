"""``mira.embed``: embed a workspace folder's code and mined git history (the ``code`` and
``git`` collections) in the background, asking first when the estimate is above
``vectors.confirmAboveUsd``. Resumable by construction: each batch's vectors are committed
as they arrive, and a new run embeds only what is still missing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mira_ls.features.session import NO_PROJECT, ProjectRoot, Session
from mira_ls.llm.pricing import usd
from mira_ls.vectors import code as code_vectors
from mira_ls.vectors import git as git_vectors
from mira_ls.vectors.embeddings import Cancel, Embedder, Estimate, Progress, semantic_off_reason
from mira_ls.vectors.sqlite_vec import unavailable_reason
from mira_ls.vectors.stores import QdrantUnavailable, open_index


class CannotEmbed(Exception):
    """str(exc) says why and what to do."""


@dataclass
class EmbedPlan:
    project: ProjectRoot
    embedder: Embedder
    plan: code_vectors.CodePlan
    estimate: Estimate  # both collections together
    git: git_vectors.GitPlan | None = None

    @property
    def needs_confirmation(self) -> bool:
        limit = self.embedder.settings.vectors.confirm_above_usd
        return self.estimate.cost_micro > limit * 1_000_000

    @property
    def nothing_to_do(self) -> bool:
        return self.estimate.texts == 0 and not self.plan.texts and not self.git_texts

    @property
    def git_texts(self) -> int:
        return len(self.git.texts) if self.git is not None else 0

    def question(self) -> str:
        e = self.estimate
        what = f"{len(self.plan.texts)} definitions"
        if self.git_texts:
            what += f" and {self.git_texts} commits and past fixes"
        return (
            f"Embedding {self.project.root.name} for semantic search will send {e.texts} "
            f"texts ({what}, {e.tokens} tokens) to {self.embedder.model}, about "
            f"{usd(e.cost_micro)}. Embed now?"
        )


def plan(session: Session, root_index: int = 0) -> EmbedPlan:
    if session.store is None:
        raise CannotEmbed("mira-ls has no database, so nothing can be embedded.")
    roots = [r for r in session.roots if r.project_id != NO_PROJECT]
    if not roots:
        raise CannotEmbed("mira-ls has no indexed workspace folder to embed; open a folder.")
    project = roots[min(root_index, len(roots) - 1)]
    reason = unavailable_reason() or semantic_off_reason(session.settings)
    if reason is not None:
        raise CannotEmbed(reason)
    emb = Embedder(session.store, session.settings)
    p = code_vectors.plan(emb, project.project_id)
    gp = git_vectors.plan(emb, project.project_id)
    texts = [t for _, t, _ in p.texts.values()] + [x.text for x in gp.texts.values()] + gp.errors
    return EmbedPlan(project, emb, p, emb.estimate(texts), gp if gp.entries else None)


def run(ep: EmbedPlan, progress: Progress | None, cancel: Cancel | None) -> dict[str, Any]:
    """Embed what the plan lacks; the answer says what was done and why it stopped."""
    try:
        index = open_index(
            ep.embedder.store, ep.embedder.settings, ep.embedder.model, ep.embedder.dimensions
        )
    except QdrantUnavailable as exc:
        raise CannotEmbed(str(exc)) from exc
    pid = ep.project.project_id
    git: git_vectors.GitSync | None = None
    try:
        done = code_vectors.sync(ep.embedder, index, pid, ep.plan, progress=progress, cancel=cancel)
        if ep.git is not None and not done.run.stopped:
            git = git_vectors.sync(
                ep.embedder, index, pid, ep.git, progress=progress, cancel=cancel
            )
    except QdrantUnavailable as exc:
        raise CannotEmbed(f"{exc} The vectors made so far are kept.") from exc
    finally:
        index.close()
    runs = [done.run] + ([git.run] if git is not None else [])
    embedded = sum(r.embedded for r in runs)
    calls = sum(r.calls for r in runs)
    cost = sum(r.cost_micro for r in runs)
    points = done.points + (git.points if git is not None else 0)
    stopped = next((r.stopped for r in runs if r.stopped), None)
    message = (
        f"Embedded {embedded} texts of {ep.project.root.name} in {calls} calls "
        f"({usd(cost)}); {done.points} definitions"
        + (f" and {git.points} commits and past fixes" if git is not None else "")
        + " now searchable by meaning."
    )
    if stopped:
        message += f" Stopped: {stopped} Run mira.embed again to go on."
    out: dict[str, Any] = {
        "embedded": embedded,
        "reused": sum(r.reused for r in runs),
        "calls": calls,
        "cost_usd": cost / 1_000_000,
        "points": points,
        "stopped": stopped,
        "message": message,
    }
    if git is not None:
        out["git"] = {"embedded": git.run.embedded, "points": git.points}
    return out
