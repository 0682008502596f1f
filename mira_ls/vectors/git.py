"""The ``git`` collection: one vector per commit (its message and the files it changed) and
one per historical fix (its message and the definitions it touched), and the vectors that
blend meaning into the ranking of past fixes for an error.

Like the ``code`` collection, a sync asks only for texts with no stored vector: commits do
not change, so a re-run on the same history makes no call; a fix whose touched
definitions were filled in later costs one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from mira_ls.build.resolutions import fix_query
from mira_ls.config import Settings
from mira_ls.git.fixes import FixVectors
from mira_ls.llm import tokens
from mira_ls.llm.errors import LlmError
from mira_ls.store import Store
from mira_ls.store import build_errors as error_store
from mira_ls.store import vectors as vstore
from mira_ls.vectors.collection import Pending, as_operation, embed_points
from mira_ls.vectors.embeddings import (
    Cancel,
    Embedder,
    EmbedRun,
    Estimate,
    Progress,
    semantic_off_reason,
)
from mira_ls.vectors.sqlite_vec import unavailable_reason
from mira_ls.vectors.stores import QdrantUnavailable, VectorIndex, open_index, uses_qdrant

log = logging.getLogger(__name__)

COMMIT_FILES = 20  # paths named in a commit's text (the rest counted)
COMMIT_TOKENS = 1000  # a commit's whole text; a long body is cut first
FIX_SYMBOLS = 30  # definitions named in a fix's text
FIX_TOKENS = 1000
NEIGHBOURS = 20  # fixes the vector store proposes for an error, beside the term index's
ERRORS = 2000  # build errors (newest first) whose text is embedded for the hover


def _capped(head: str, tail: str, cap: int) -> str:
    """``head`` then ``tail`` within ``cap`` tokens, cutting ``head`` (the tail is short)."""
    text = f"{head}\n{tail}" if tail else head
    if len(text) <= cap or tokens.count(text) <= cap:  # fewer characters than tokens: never
        return text
    room = cap - tokens.count(tail) - 1 if tail else cap
    cut = tokens.truncate(head, max(room, 0)).rstrip()
    return f"{cut}\n{tail}" if tail else cut


def commit_text(c: vstore.CommitText) -> str:
    """A commit's message (subject first) and up to COMMIT_FILES of its paths."""
    files = list(c.files[:COMMIT_FILES])
    more = len(c.files) - len(files)
    tail = ("files: " + ", ".join(files) + (f" (+{more} more)" if more else "")) if files else ""
    return _capped(c.message.strip(), tail, COMMIT_TOKENS)


def fix_text(f: vstore.FixText) -> str:
    """A fix's message and the definitions it touched (path: name), up to FIX_SYMBOLS."""
    syms = [f"{p}: {n}" for p, n in f.symbols[:FIX_SYMBOLS]]
    more = len(f.symbols) - len(syms)
    tail = (
        ("definitions: " + ", ".join(syms) + (f" (+{more} more)" if more else "")) if syms else ""
    )
    return _capped(f"fix: {f.message.strip()}", tail, FIX_TOKENS)


@dataclass
class GitPlan:
    texts: dict[tuple[str, int], Pending] = field(default_factory=dict)
    """('commit', commit id) or ('fix', fix id) -> the entry whose point is missing or stale."""
    commits: int = 0
    fixes: int = 0
    current: int = 0  # entries whose point is up to date
    errors: list[str] = field(default_factory=list)
    """Build-error texts to have vectors for (no points: the hover's blended past fixes
    look them up and never call the endpoint)."""

    @property
    def entries(self) -> int:
        return self.commits + self.fixes


def plan(embedder: Embedder, project_id: int) -> GitPlan:
    conn = embedder.store.conn()
    out = GitPlan()
    points = vstore.git_points(conn, project_id)

    def want(entry: tuple[str, int], pending: Pending) -> None:
        have = points.get(entry)
        if have is not None and have[1] == pending.key:
            out.current += 1
        else:
            out.texts[entry] = pending

    for c in vstore.commit_texts(conn, project_id):
        text = commit_text(c)
        if not text:
            continue
        out.commits += 1
        key = embedder.key(text)
        path = c.files[0] if c.files else None
        want(("commit", c.commit_id), Pending(text, key, "commit", path, commit_id=c.commit_id))
    for f in vstore.fix_texts(conn, project_id):
        text = fix_text(f)
        out.fixes += 1
        key = embedder.key(text)
        path = f.symbols[0][0] if f.symbols else (f.files[0] if f.files else None)
        want(("fix", f.fix_id), Pending(text, key, "fix", path, fix_id=f.fix_id))
    if out.fixes:
        out.errors = error_texts(embedder.store, project_id)
    return out


def error_texts(store: Store, project_id: int) -> list[str]:
    """The texts the project's build errors (newest ERRORS) rank past fixes by."""
    errs = error_store.list_errors(store.conn(), project_id, None)
    errs.sort(key=lambda e: -e.last_seen_at)
    return list(dict.fromkeys(q for e in errs[:ERRORS] if (q := fix_query(e))))


def embed_build_errors(
    store: Store,
    settings: Settings,
    project_id: int,
    *,
    env: Mapping[str, str] | None = None,
    embedder: Embedder | None = None,
    cancel: Cancel | None = None,
) -> EmbedRun | None:
    """After a build: embed the texts of its errors that have no vector yet, so the hover's
    and code actions' past fixes blend meaning in for them at once (they only ever read a
    stored vector). Through the budget like every embedding; a refusal or an endpoint
    error stops it (run.stopped says why) and the next build tries again.

    None, without a call, when nothing would use the vectors: semantic search off or
    impossible here (no endpoint, no sqlite-vec), the project's fixes not embedded in the
    configured space (``mira-ls embed`` does that, and embeds the errors with them), or
    every error's text already stored."""
    if not settings.vectors.semantic:
        return None
    model, dims = settings.llm.embedding_model, int(settings.llm.embedding_dimensions)
    if not vstore.has_points(store.conn(), model, dims, "git", project_id=project_id, kind="fix"):
        return None
    if unavailable_reason() is not None or semantic_off_reason(settings, env) is not None:
        return None
    emb = embedder or Embedder(store, settings, env=env)
    texts = error_texts(store, project_id)
    if not emb.missing(texts):
        return None
    run = emb.embed(texts, project_id=project_id, cancel=cancel)
    if run.stopped:
        log.info("build errors not embedded: %s", run.stopped)
    return run


def estimate(embedder: Embedder, p: GitPlan) -> Estimate:
    return embedder.estimate([x.text for x in p.texts.values()] + p.errors)


@dataclass
class GitSync:
    plan: GitPlan
    run: EmbedRun
    points: int = 0


def sync(
    embedder: Embedder,
    index: VectorIndex,
    project_id: int,
    p: GitPlan | None = None,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> GitSync:
    """Embed the commits and fixes without a vector (and the build errors' texts), point
    each entry at its vector; one operation, resumable like the code collection's."""
    p = p if p is not None else plan(embedder, project_id)

    def work() -> GitSync:
        run, points = embed_points(
            embedder,
            index,
            project_id,
            "git",
            list(p.texts.values()),
            extra_texts=p.errors,
            progress=progress,
            cancel=cancel,
        )
        return GitSync(p, run, points)

    return as_operation(
        embedder, project_id, f"embed {len(p.texts)} commits and fixes", work, cancel=cancel
    )


# -- blending into past fixes -----------------------------------------------------------


def fix_vectors(
    store: Store,
    settings: Settings,
    project_id: int,
    error_text: str,
    *,
    may_embed: bool,
    env: Mapping[str, str] | None = None,
    embedder: Embedder | None = None,
) -> tuple[FixVectors | None, str | None]:
    """The error's vector and its nearest fixes, for ``rank_fixes(..., vectors=)``, and a
    sentence when vectors could have taken part but did not.

    (None, None) when the project's fixes have no vectors in the configured space (the
    ranking is then exactly the word score's). ``may_embed`` False (the hover, code
    actions): only a vector already stored is used and the endpoint is never called, and
    with Qdrant no neighbours are asked for (the word candidates are re-scored alone)."""
    if not settings.vectors.semantic or not error_text.strip():
        return None, None
    model, dims = settings.llm.embedding_model, int(settings.llm.embedding_dimensions)
    if not vstore.has_points(store.conn(), model, dims, "git", project_id=project_id, kind="fix"):
        return None, None
    emb = embedder or Embedder(store, settings, env=env)
    off = "Past fixes are ranked by their words only: "
    reason = unavailable_reason()
    if reason is not None:
        return None, off + reason
    if may_embed:
        reason = semantic_off_reason(settings, env)
        if reason is not None:
            return None, off + reason
        try:
            query = emb.query_vector(error_text, project_id=project_id)
        except LlmError as exc:  # BudgetRefused is one
            return None, off + str(exc)
    else:
        digest = emb.key(error_text)
        hit = emb.stored([digest]).get(digest)
        if hit is None:
            return None, None
        query = hit[1]
    if not may_embed and uses_qdrant(settings):
        # The request path never waits on Qdrant (opening local mode takes ~0.5 s, a
        # server may be down): the fixes the words find, re-scored by their stored vectors.
        return FixVectors(query, emb.model, emb.dimensions, ()), None
    try:
        index = open_index(store, settings, emb.model, emb.dimensions)
        try:
            hits = index.search(
                query, "git", project_ids=[project_id], kinds=["fix"], limit=NEIGHBOURS
            )
        finally:
            index.close()
    except QdrantUnavailable as exc:
        return None, off + str(exc)
    near = tuple(h.point.fix_id for h in hits if h.point.fix_id is not None)
    return FixVectors(query, emb.model, emb.dimensions, near), None
