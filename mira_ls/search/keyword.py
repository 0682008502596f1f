"""Keyword search over the FTS5 index: exact identifiers first, then every word, then any.

Needs no endpoint and no key, so it is what search is on a fresh machine and what it falls
back to whenever semantic search cannot run.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from mira_ls.search import terms
from mira_ls.search.model import SearchResult, rrf
from mira_ls.store import search as search_store
from mira_ls.store.connection import Connection

log = logging.getLogger(__name__)


def code_hits(
    conn: Connection,
    query: str,
    *,
    project_ids: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    path_glob: str | None = None,
    limit: int = 20,
) -> list[search_store.SymbolHit]:
    """Symbols for ``query``, best first: a symbol named exactly as the query, then those
    matching all its words (BM25), then those matching some (only to fill ``limit``)."""
    words = terms.query_terms(query)
    if not words or limit < 1:
        return []
    out: list[search_store.SymbolHit] = []
    seen: set[int] = set()

    def add(hits: list[search_store.SymbolHit]) -> None:
        for h in hits:
            if h.id not in seen and len(out) < limit:
                seen.add(h.id)
                out.append(h)

    filters = functools.partial(
        search_store.match_symbols, project_ids=project_ids, kinds=kinds, path_glob=path_glob
    )
    ident = terms.exact_identifier(query)
    # The identifier itself, else the words written as one ("parse http header" names
    # parse_http_header and, any case, parseHTTPHeader): definitions so named come first.
    names = [ident] if ident is not None else []
    if len(words) > 1 and (ident is None or ("." not in ident and "::" not in ident)):
        names += ["_".join(words), "".join(words)]
    for name in names:
        add(
            search_store.symbols_named(
                conn, name, project_ids=project_ids, kinds=kinds, path_glob=path_glob, limit=limit
            )
        )
    add(filters(conn, terms.match_all(words), limit=limit))
    if len(out) < limit and len(words) > 1:
        add(filters(conn, terms.match_any(words), limit=limit))
    return out


def commit_hits(
    conn: Connection,
    query: str,
    *,
    project_ids: Sequence[int] | None = None,
    limit: int = 20,
) -> list[search_store.CommitHit]:
    """Commits for ``query``: all words first (BM25), then any word to fill ``limit``."""
    words = terms.query_terms(query)
    if not words or limit < 1:
        return []
    out: list[search_store.CommitHit] = []
    seen: set[int] = set()
    for match in [terms.match_all(words)] + ([terms.match_any(words)] if len(words) > 1 else []):
        if len(out) >= limit:
            break
        for h in search_store.match_commits(conn, match, project_ids=project_ids, limit=limit):
            if h.id not in seen and len(out) < limit:
                seen.add(h.id)
                out.append(h)
    return out


def symbol_result(h: search_store.SymbolHit, score: float, via: str) -> SearchResult:
    return SearchResult(
        collection="code",
        project_id=h.project_id,
        path=h.path,
        line=h.line,
        col=h.col,
        symbol=h.qualified_name,
        kind=h.kind,
        score=score,
        via=via,
        symbol_id=h.id,
        end_line=h.end_line,
        signature=h.signature,
    )


def commit_result(h: search_store.CommitHit, score: float, via: str) -> SearchResult:
    return SearchResult(
        collection="git",
        project_id=h.project_id,
        path=h.files[0] if h.files else None,
        line=None,
        col=0,
        symbol=h.subject,
        kind="commit",
        score=score,
        via=via,
        commit=h.commit_hash,
        files=h.files,
    )


def search(
    conn: Connection,
    query: str,
    *,
    collection: str = "code",
    project_ids: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    path_glob: str | None = None,
    limit: int = 20,
) -> list[SearchResult]:
    """Keyword results of one collection ('code', 'git') or both ('all', fused by rank)."""
    ranked: list[list[SearchResult]] = []
    if collection in ("code", "all"):
        hits = code_hits(
            conn, query, project_ids=project_ids, kinds=kinds, path_glob=path_glob, limit=limit
        )
        ranked.append([symbol_result(h, rrf(i), "keyword") for i, h in enumerate(hits)])
    if collection in ("git", "all"):
        commits = commit_hits(conn, query, project_ids=project_ids, limit=limit)
        ranked.append([commit_result(h, rrf(i), "keyword") for i, h in enumerate(commits)])
    merged = [r for lst in ranked for r in lst]
    merged.sort(key=lambda r: -r.score)  # stable: code before git at equal rank
    return merged[:limit]


def index_commits(conn: Connection, project_id: int) -> int:
    """Add the project's newly mined commits to the keyword index (call inside the write
    transaction that finishes a mining run); returns how many were added."""
    upto = search_store.commits_upto(conn, project_id)
    if upto > search_store.max_commit_id(conn, project_id):
        upto = 0  # history was mined again from scratch: ids may have been reused
    rows = search_store.commits_after(conn, project_id, upto)
    if not rows:
        return 0
    search_store.insert_commit_rows(
        conn,
        project_id,
        [
            (cid, terms.expand(subj), terms.expand(msg), terms.expand(files))
            for cid, subj, msg, files in rows
        ],
        rows[-1][0],
    )
    return len(rows)
