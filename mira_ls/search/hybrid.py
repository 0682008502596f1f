"""Hybrid search: keyword (BM25) and vector (cosine) rankings fused by reciprocal rank.

Vectors join in only when they can: an embedding endpoint is configured, sqlite-vec is
loaded, and the collection (``code`` for definitions, ``git`` for commits and fixes) has
points in the configured embedding space. Otherwise, or
when the query cannot be embedded (endpoint down, budget), the keyword ranking is the
answer and a note says why, once per session for the editor.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from mira_ls.config import Settings
from mira_ls.llm.errors import LlmError
from mira_ls.search import keyword
from mira_ls.search.model import SearchResult, rrf
from mira_ls.store import Store
from mira_ls.store import search as search_store
from mira_ls.store import semantic_graph as graph_store
from mira_ls.store import vectors as vstore
from mira_ls.store.connection import Connection
from mira_ls.vectors.embeddings import Embedder, semantic_off_reason
from mira_ls.vectors.sqlite_vec import VectorHit, unavailable_reason
from mira_ls.vectors.stores import QdrantUnavailable, open_index

log = logging.getLogger(__name__)


@dataclass
class HybridAnswer:
    results: list[SearchResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    semantic: bool = False  # whether a vector ranking took part


VECTOR_COLLECTIONS = ("code", "git")
_WHAT = {"code": "no code is", "git": "no commits are"}


def _collections(collection: str) -> tuple[str, ...]:
    """The vector collections a search of ``collection`` ranks by meaning."""
    return VECTOR_COLLECTIONS if collection == "all" else (collection,)


def _has_points(store: Store, model: str, dimensions: int, collection: str) -> bool:
    return vstore.has_points(store.conn(), model, dimensions, collection)


def semantic_note(
    store: Store,
    settings: Settings,
    env: Mapping[str, str] | None,
    collections: Sequence[str] = ("code",),
) -> str | None:
    """Why the vector ranking cannot take part in a search of ``collections`` (None: it
    can, for at least one of them)."""
    if not settings.vectors.semantic:
        return None
    reason = semantic_off_reason(settings, env) or unavailable_reason()
    if reason is not None:
        return reason
    model, dims = settings.llm.embedding_model, settings.llm.embedding_dimensions
    if not any(_has_points(store, model, dims, c) for c in collections):
        what = _WHAT[collections[0]] if len(collections) == 1 else "neither code nor commits are"
        return (
            f"Semantic search has nothing to search yet: {what} embedded with "
            f"{model} ({dims} dimensions). "
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
    """Ranked results for ``query``: keyword and, where possible, vector ranks fused (per
    collection: definitions in ``code``, commits in ``git``, whose fix points count for
    their commit)."""
    answer = HybridAnswer()
    conn = store.conn()
    concept = graph_store.concept_query(query)
    if concept is not None:  # "concept:retry policy": no ranking by words or vectors
        if collection in ("code", "all"):
            answer.results = concept_results(
                conn, concept, project_ids, kinds=kinds, path_glob=path_glob, limit=limit
            )
        if not answer.results:
            answer.notes.append(
                f"No analysed definition names the concept {concept!r}"
                " (`mira-ls analyze PATH` finds the concepts of a folder)."
            )
        return answer
    kw = keyword.search(
        conn,
        query,
        collection=collection,
        project_ids=project_ids,
        kinds=kinds,
        path_glob=path_glob,
        limit=limit,
    )
    answer.results = kw
    wanted = [c for c in _collections(collection) if c in VECTOR_COLLECTIONS]
    if not settings.vectors.semantic or not wanted:
        return answer
    note = semantic_note(store, settings, env, wanted)
    if note is not None:
        answer.notes.append(note)
        return answer
    emb = embedder or Embedder(store, settings, env=env)
    wanted = [c for c in wanted if _has_points(store, emb.model, emb.dimensions, c)]
    try:
        qvec = emb.query_vector(query, project_id=project_ids[0] if project_ids else None)
    except LlmError as exc:  # BudgetRefused is one
        answer.notes.append(f"Semantic search is off for this query: {exc}")
        return answer
    hits: dict[str, list[VectorHit]] = {}
    try:
        index = open_index(store, settings, emb.model, emb.dimensions)
        try:
            for c in wanted:
                if c == "code":
                    hits[c] = index.search(
                        qvec, c, project_ids=project_ids, kinds=kinds, path_glob=path_glob,
                        limit=limit,
                    )  # fmt: skip
                else:  # a commit may have two points (itself and its fix): ask for more
                    hits[c] = index.search(qvec, c, project_ids=project_ids, limit=2 * limit)
        finally:
            index.close()
    except QdrantUnavailable as exc:
        answer.notes.append(f"Semantic search is off for this query: {exc}")
        return answer
    answer.semantic = True
    code = [r for r in kw if r.collection == "code"]
    git = [r for r in kw if r.collection == "git"]
    if "code" in hits:
        code = _fuse_code(conn, code, hits["code"])
    if "git" in hits:
        git = _fuse_git(conn, git, hits["git"], limit)
    merged = code[:limit] + git[:limit]
    merged.sort(key=lambda r: -r.score)
    answer.results = merged[:limit]
    return answer


def concept_results(
    conn: Connection,
    concept: str,
    project_ids: Sequence[int] | None,
    *,
    kinds: Sequence[str] | None = None,
    path_glob: str | None = None,
    limit: int = 20,
) -> list[SearchResult]:
    """The definitions whose analysis names ``concept`` (exact, then concepts beginning
    with it), ``via`` 'concept'."""
    rows = []
    for pid in list(project_ids) if project_ids else [None]:
        rows += graph_store.concept_symbols(conn, pid, concept, limit=limit * 4)
    out: list[SearchResult] = []
    for sym, _c in rows:
        if kinds and sym.kind not in kinds:
            continue
        if path_glob and not fnmatch.fnmatchcase(sym.file_path, path_glob):
            continue
        out.append(
            SearchResult(
                "code", sym.project_id, sym.file_path, sym.name_line or sym.start_line,
                sym.name_col, sym.qualified_name, sym.kind, rrf(len(out)), "concept",
                symbol_id=sym.id, end_line=sym.end_line, signature=sym.signature,
            )
        )  # fmt: skip
        if len(out) >= limit:
            break
    return out


def _fused(
    ranked: Sequence[tuple[Sequence[tuple[object, SearchResult]], str]],
) -> list[SearchResult]:
    """Reciprocal rank fusion of (key, result) rankings, each named by its ``via``."""
    fused: dict[object, float] = {}
    found_by: dict[object, set[str]] = {}
    best: dict[object, SearchResult] = {}
    for ranking, via in ranked:
        for rank, (k, r) in enumerate(ranking):
            fused[k] = fused.get(k, 0.0) + rrf(rank)
            found_by.setdefault(k, set()).add(via)
            best.setdefault(k, r)
    out = [
        _with(best[k], fused[k], "both" if len(found_by[k]) == 2 else next(iter(found_by[k])))
        for k in fused
    ]
    out.sort(key=lambda r: -r.score)
    return out


def _fuse_code(
    conn: Connection, kw: list[SearchResult], hits: list[VectorHit]
) -> list[SearchResult]:
    symbols = search_store.symbols_by_id(
        conn, [h.point.symbol_id for h in hits if h.point.symbol_id is not None]
    )
    vec = [
        (sym.id, keyword.symbol_result(sym, 0.0, "vector"))
        for h in hits
        if (sym := symbols.get(h.point.symbol_id or -1)) is not None
    ]
    return _fused([([(r.symbol_id, r) for r in kw], "keyword"), (vec, "vector")])


def _fuse_git(
    conn: Connection, kw: list[SearchResult], hits: list[VectorHit], limit: int
) -> list[SearchResult]:
    """Commits by keyword and by meaning; a fix's point stands for its commit (the better
    ranked of a commit's two points counts)."""
    of_fix = vstore.fix_commits(conn, [h.point.fix_id for h in hits if h.point.fix_id])
    order: list[int] = []
    for h in hits:
        cid = h.point.commit_id if h.point.fix_id is None else of_fix.get(h.point.fix_id)
        if cid is not None and cid not in order:
            order.append(cid)
    commits = search_store.commits_by_id(conn, order[:limit])
    vec = [
        ((c.project_id, c.commit_hash), keyword.commit_result(c, 0.0, "vector"))
        for cid in order[:limit]
        if (c := commits.get(cid)) is not None
    ]
    return _fused([([((r.project_id, r.commit), r) for r in kw], "keyword"), (vec, "vector")])


def _with(r: SearchResult, score: float, via: str) -> SearchResult:
    return replace(r, score=score, via=via)
