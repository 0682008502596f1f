"""The ``code`` collection: one vector per definition (functions, methods, classes, and
each module's code between its definitions), from the keyword index's text of it.

Embedding a workspace asks only for texts with no stored vector, so re-running it on an
unchanged workspace makes no call, and an edited function costs one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from mira_ls.store import vectors as vstore
from mira_ls.vectors.collection import Pending, as_operation, embed_points
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
    pending = [
        Pending(text, key, t.kind, t.path, symbol_id=sid) for sid, (t, text, key) in p.texts.items()
    ]

    def work() -> CodeSync:
        run, points = embed_points(
            embedder, index, project_id, "code", pending, progress=progress, cancel=cancel
        )
        return CodeSync(p, run, points)

    return as_operation(
        embedder, project_id, f"embed {len(p.texts)} definitions", work, cancel=cancel
    )
