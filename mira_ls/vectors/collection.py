"""What every collection's sync shares: entries whose point is missing or stale are
embedded through the budget (each text once), pointed at their vectors, mirrored into the
vector store, and the whole run is one operation (command ``embed``) with its cost.

A collection (``code``, ``git``) only says which entries it has and what text each one
embeds; ``Pending`` is one entry to (re)point, ``embed_points`` does the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from mira_ls.store import vectors as vstore
from mira_ls.tasks.operations import Operation, Outcome
from mira_ls.vectors.embeddings import Cancel, Embedder, EmbedRun, Progress
from mira_ls.vectors.stores import VectorIndex


@dataclass(frozen=True)
class Pending:
    """An entry whose point is missing or stale: its text, the text's key, its payload."""

    text: str
    key: str
    kind: str
    path: str | None
    symbol_id: int | None = None
    commit_id: int | None = None
    fix_id: int | None = None


def embed_points(
    embedder: Embedder,
    index: VectorIndex,
    project_id: int,
    collection: str,
    pending: Sequence[Pending],
    *,
    extra_texts: Sequence[str] = (),
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> tuple[EmbedRun, int]:
    """Embed the pending texts (and ``extra_texts``, vectors without a point: queries
    known in advance) that have no vector, then point every entry whose vector is stored
    at it. Whatever was embedded before a stop gets its point; returns (run, points)."""
    run = embedder.embed(
        [p.text for p in pending] + list(extra_texts),
        project_id=project_id,
        progress=progress,
        cancel=cancel,
    )
    stored = embedder.stored([p.key for p in pending])
    new = [
        vstore.NewPoint(
            collection,
            embedder.point_id(p.key),
            stored[p.key][0],
            project_id,
            p.kind,
            p.path,
            p.symbol_id,
            p.commit_id,
            p.key,
            fix_id=p.fix_id,
        )
        for p in pending
        if p.key in stored
    ]
    with embedder.store.write() as c:
        vstore.replace_points(c, new)
    index.sync()
    return run, len(new)


class Synced(Protocol):
    @property
    def run(self) -> EmbedRun: ...

    @property
    def points(self) -> int: ...


S = TypeVar("S", bound=Synced)


def as_operation(
    embedder: Embedder,
    project_id: int,
    title: str,
    work: Callable[[], S],
    cancel: Cancel | None = None,
) -> S:
    """Run one sync as an operation: running, then done, failed (budget, endpoint) or
    cancelled, with what it embedded and cost."""
    op = Operation(embedder.store, uuid.uuid4().hex[:12], "embed", title, project_id)
    op.running(model=embedder.model)
    try:
        done = work()
    except BaseException as exc:
        op.failed(str(exc) or f"Embedding stopped: {type(exc).__name__}.")
        raise
    r = done.run
    outcome = Outcome(
        model=embedder.model,
        cost_micro=r.cost_micro,
        summary=f"{r.embedded} embedded in {r.calls} calls, {r.reused} reused, "
        f"{done.points} points",
    )
    if r.stopped and cancel is not None and cancel():
        op.cancelled(outcome)
    elif r.stopped:
        op.failed(r.stopped, outcome)
    else:
        op.done(outcome)
    return done
