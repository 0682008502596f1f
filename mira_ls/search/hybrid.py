"""Hybrid search: keyword (BM25) and vector (cosine) rankings fused by reciprocal rank.

Vectors join in only when they can: an embedding endpoint is configured, sqlite-vec is
loaded, and the collection has points in the configured embedding space. Otherwise, or
when the query cannot be embedded (endpoint down, budget), the keyword ranking is the
answer and a note says why, once per session for the editor.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from mira_ls.config import Settings
from mira_ls.llm.errors import LlmError
from mira_ls.search import keyword
from mira_ls.search.model import SearchResult, rrf
from mira_ls.store import Store
from mira_ls.store import search as search_store
from mira_ls.vectors.embeddings import Embedder, semantic_off_reason
from mira_ls.vectors.sqlite_vec import unavailable_reason
from mira_ls.vectors.stores import QdrantUnavailable, open_index

log = logging.getLogger(__name__)


@dataclass
class HybridAnswer:
    results: list[SearchResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    semantic: bool = False  # whether a vector ranking took part


def _has_points(store: Store, model: str, dimensions: int, collection: str) -> bool:
    r = (
        store.conn()
        .execute(
            "SELECT 1 FROM vector_points p JOIN embeddings e ON e.id = p.embedding_id"
            " WHERE p.collection = ? AND e.model = ? AND e.dimensions = ? LIMIT 1",
            (collection, model, dimensions),
        )
        .fetchone()
    )
    return r is not None


def semantic_note(store: Store, settings: Settings, env: Mapping[str, str] | None) -> str | None:
    """Why the vector ranking cannot take part (None: it can)."""
    if not settings.vectors.semantic:
        return None
    reason = semantic_off_reason(settings, env) or unavailable_reason()
    if reason is not None:
        return reason
    if not _has_points(
        store, settings.llm.embedding_model, settings.llm.embedding_dimensions, "code"
    ):
        return (
            "Semantic search has nothing to search yet: no code is embedded with "
            f"{settings.llm.embedding_model} ({settings.llm.embedding_dimensions} dimensions). "
            "Run `mira-ls embed PATH` (it says the cost first). Keyword search works meanwhile."
        )
    return None


def search(
    store: Store,
    settings: Settings,
    query: str,
    *,
    collection: str = "code",
    project_ids: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    path_glob: str | None = None,
    limit: int = 20,
    env: Mapping[str, str] | None = None,
    embedder: Embedder | None = None,
) -> HybridAnswer:
    """Ranked results for ``query``: keyword and, where possible, vector ranks fused."""
    answer = HybridAnswer()
    conn = store.conn()
    kw = keyword.search(
        conn,
        query,
        collection=collection,
        project_ids=project_ids,
        kinds=kinds,
        path_glob=path_glob,
        limit=limit,
    )
    note = semantic_note(store, settings, env) if collection in ("code", "all") else None
    if note is not None or not settings.vectors.semantic or collection not in ("code", "all"):
        if note:
            answer.notes.append(note)
        answer.results = kw
        return answer
    emb = embedder or Embedder(store, settings, env=env)
    try:
        qvec = emb.query_vector(query, project_id=project_ids[0] if project_ids else None)
    except LlmError as exc:  # BudgetRefused is one
        answer.notes.append(f"Semantic search is off for this query: {exc}")
        answer.results = kw
        return answer
    try:
        index = open_index(store, settings, emb.model, emb.dimensions)
        try:
            hits = index.search(
                qvec, "code", project_ids=project_ids, kinds=kinds, path_glob=path_glob, limit=limit
            )
        finally:
            index.close()
    except QdrantUnavailable as exc:
        answer.notes.append(f"Semantic search is off for this query: {exc}")
        answer.results = kw
        return answer
    symbols = search_store.symbols_by_id(
        conn, [h.point.symbol_id for h in hits if h.point.symbol_id is not None]
    )
    answer.semantic = True
    fused: dict[tuple[str, int | str], float] = {}
    found_by: dict[tuple[str, int | str], set[str]] = {}
    best: dict[tuple[str, int | str], SearchResult] = {}

    def key(r: SearchResult) -> tuple[str, int | str]:
        return ("code", r.symbol_id) if r.symbol_id is not None else ("git", r.commit or "")

    for rank, r in enumerate([r for r in kw if r.collection == "code"]):
        k = key(r)
        fused[k] = fused.get(k, 0.0) + rrf(rank)
        found_by.setdefault(k, set()).add("keyword")
        best[k] = r
    rank = 0
    for h in hits:
        sym = symbols.get(h.point.symbol_id or -1)
        if sym is None:
            continue
        k = ("code", sym.id)
        fused[k] = fused.get(k, 0.0) + rrf(rank)
        found_by.setdefault(k, set()).add("vector")
        best.setdefault(k, keyword.symbol_result(sym, 0.0, "vector"))
        rank += 1
    code = [
        _with(best[k], fused[k], "both" if len(found_by[k]) == 2 else next(iter(found_by[k])))
        for k in fused
    ]
    code.sort(key=lambda r: -r.score)
    git = [r for r in kw if r.collection == "git"]
    merged = code[:limit] + git
    merged.sort(key=lambda r: -r.score)
    answer.results = merged[:limit]
    return answer


def _with(r: SearchResult, score: float, via: str) -> SearchResult:
    return replace(r, score=score, via=via)
