"""The ``code`` collection: one vector per definition (functions, methods, classes, and
each module's code between its definitions), from the keyword index's text of it.

Embedding a workspace asks only for texts with no stored vector, so re-running it on an
unchanged workspace makes no call, and an edited function costs one.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from mira_ls.store import vectors as vstore
from mira_ls.tasks.operations import Operation, Outcome
from mira_ls.vectors.embeddings import Cancel, Embedder, EmbedRun, Estimate, Progress
from mira_ls.vectors.stores import VectorIndex

log = logging.getLogger(__name__)


def entry_text(t: vstore.CodeText) -> str:
    """What is embedded for a definition: where it is, what it is, and its own text."""
    parts = [t.path, f"{t.kind} {t.qualified_name}", t.signature, t.docstring, t.body]
    return "\n".join(p for p in parts if p).strip()


@dataclass
class CodePlan:
    texts: dict[int, tuple[vstore.CodeText, str, str]] = field(default_factory=dict)
    """symbol_id -> (row, text, key) of the definitions whose point is missing or stale."""
    entries: int = 0  # definitions with a text at all
    current: int = 0  # definitions whose point is up to date


def plan(embedder: Embedder, project_id: int) -> CodePlan:
    conn = embedder.store.conn()
    out = CodePlan()
    points = vstore.symbol_points(conn, project_id)
    for t in vstore.code_texts(conn, project_id):
        text = entry_text(t)
        if not text:
            continue
        out.entries += 1
        key = embedder.key(text)
        have = points.get(t.symbol_id)
        if have is not None and have[1] == key:
            out.current += 1
            continue
        out.texts[t.symbol_id] = (t, text, key)
    return out


def estimate(embedder: Embedder, p: CodePlan) -> Estimate:
    return embedder.estimate([text for _, text, _ in p.texts.values()])


@dataclass
class CodeSync:
    plan: CodePlan
    run: EmbedRun
    points: int = 0  # points written (new or replaced)


def sync(
    embedder: Embedder,
    index: VectorIndex,
    project_id: int,
    p: CodePlan | None = None,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> CodeSync:
    """Embed what is missing (through the budget) and point each definition at its vector.
    Whatever was embedded before a stop gets its point; the next run does the rest. The run
    is one operation (command ``embed``) with its events and cost (``mira-ls ops``)."""
    p = p if p is not None else plan(embedder, project_id)
    op = Operation(
        embedder.store,
        uuid.uuid4().hex[:12],
        "embed",
        f"embed {len(p.texts)} definitions",
        project_id,
    )
    op.running(model=embedder.model)
    try:
        done = _sync(embedder, index, project_id, p, progress, cancel)
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


def _sync(
    embedder: Embedder,
    index: VectorIndex,
    project_id: int,
    p: CodePlan,
    progress: Progress | None,
    cancel: Cancel | None,
) -> CodeSync:
    run = embedder.embed(
        [text for _, text, _ in p.texts.values()],
        project_id=project_id,
        progress=progress,
        cancel=cancel,
    )
    stored = embedder.stored([key for _, _, key in p.texts.values()])
    new = [
        vstore.NewPoint(
            "code",
            embedder.point_id(key),
            stored[key][0],
            project_id,
            t.kind,
            t.path,
            sid,
            None,
            key,
        )
        for sid, (t, _, key) in p.texts.items()
        if key in stored
    ]
    with embedder.store.write() as c:
        vstore.replace_points(c, new)
    index.sync()
    return CodeSync(p, run, len(new))
