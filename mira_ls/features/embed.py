"""``mira.embed``: embed a workspace folder's code in the background, asking first when the
estimate is above ``vectors.confirmAboveUsd``. Resumable by construction: each batch's
vectors are committed as they arrive, and a new run embeds only what is still missing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mira_ls.features.session import NO_PROJECT, ProjectRoot, Session
from mira_ls.llm.pricing import usd
from mira_ls.vectors import code as code_vectors
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
    estimate: Estimate

    @property
    def needs_confirmation(self) -> bool:
        limit = self.embedder.settings.vectors.confirm_above_usd
        return self.estimate.cost_micro > limit * 1_000_000

    def question(self) -> str:
        e = self.estimate
        return (
            f"Embedding {self.project.root.name} for semantic search will send {e.texts} "
            f"definitions ({e.tokens} tokens) to {self.embedder.model}, about "
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
    return EmbedPlan(project, emb, p, code_vectors.estimate(emb, p))


def run(ep: EmbedPlan, progress: Progress | None, cancel: Cancel | None) -> dict[str, Any]:
    """Embed what the plan lacks; the answer says what was done and why it stopped."""
    try:
        index = open_index(
            ep.embedder.store, ep.embedder.settings, ep.embedder.model, ep.embedder.dimensions
        )
    except QdrantUnavailable as exc:
        raise CannotEmbed(str(exc)) from exc
    try:
        done = code_vectors.sync(
            ep.embedder, index, ep.project.project_id, ep.plan, progress=progress, cancel=cancel
        )
    except QdrantUnavailable as exc:
        raise CannotEmbed(f"{exc} The vectors made so far are kept.") from exc
    finally:
        index.close()
    r = done.run
    message = (
        f"Embedded {r.embedded} definitions of {ep.project.root.name} in {r.calls} calls "
        f"({usd(r.cost_micro)}); {done.points} now searchable by meaning."
    )
    if r.stopped:
        message += f" Stopped: {r.stopped} Run mira.embed again to go on."
    return {
        "embedded": r.embedded,
        "reused": r.reused,
        "calls": r.calls,
        "cost_usd": r.cost_micro / 1_000_000,
        "points": done.points,
        "stopped": r.stopped,
        "message": message,
    }
