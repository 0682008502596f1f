"""The user's documents: added, re-added only when their bytes changed, listed, removed and
searched.

``add`` reads a file anywhere the user points (never a secret-looking one, by its own name
or by the name of what a symlink leads to), parses and chunks it (documents.parse and
.chunk), embeds the chunks through memory's embedder when an endpoint is configured (the
budget applies; vectors stay in the user's database, never vector_points or a shared
Qdrant), then writes the document, its chunks and their keyword rows in one transaction:
bad input writes nothing. The same SHA-256 as stored is "unchanged" (nothing is rechunked);
a changed file replaces its chunks under the same document id.

``search`` ranks chunks by FTS5 bm25 and, when the chunks have vectors, cosine similarity,
as ``DocumentHit(document, section, text, score, ...)`` with ``score`` in 0..1 (what recall
weighs as similarity).
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mira_ls.documents.chunk import Chunk, chunk_sections
from mira_ls.documents.parse import DocumentError, Parsed, parse
from mira_ls.llm.budget import BudgetRefused
from mira_ls.llm.errors import LlmError
from mira_ls.llm.redact import is_secret_path
from mira_ls.memory import owner
from mira_ls.memory.vector_scan import UnitMatrix
from mira_ls.search import terms
from mira_ls.store import Store
from mira_ls.store import documents as q
from mira_ls.store import projects as project_store
from mira_ls.store.documents import ChunkHit, DocumentRow, NewChunk
from mira_ls.store.memory_facts import drop_unused_embeddings
from mira_ls.vectors.embeddings import Embedder, from_blob, semantic_off_reason, text_hash

if TYPE_CHECKING:
    from mira_ls.llm.service import LlmService

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
VECTOR_MIN = 0.25  # cosine below which a chunk is not a vector match
KEYWORD_CANDIDATES = 50
MATRIX_CACHE = 2  # embedding spaces whose chunk matrix stays in memory between searches

# (database, user, model, dimensions) -> (stamp, chunk ids, unit vectors): a search reads
# the stamp (ids and hashes, no vectors) and reloads the vectors only when it changed.
_MATRICES: dict[tuple[str, int, str, int], tuple[tuple[Any, ...], list[int], UnitMatrix]] = {}
_MATRIX_LOCK = threading.Lock()

__all__ = ["Added", "DocumentError", "DocumentHit", "Documents"]


@dataclass(frozen=True)
class DocumentHit:
    """A chunk found for a query: the document (its title, else file name), the heading
    path, the text and a 0..1 score; ``via`` keyword, vector or both."""

    document: str
    section: str | None
    text: str
    score: float
    via: str
    path: str
    document_id: int
    chunk_id: int
    page: int | None
    project_id: int | None  # the workspace the file lies in (None: outside any)
    updated_at: int = 0  # when the document was added or last changed (recall's recency)

    def as_json(self) -> dict[str, Any]:
        return {"document": self.document, "section": self.section, "text": self.text,
                "score": round(self.score, 6), "via": self.via, "path": self.path,
                "document_id": self.document_id, "chunk_id": self.chunk_id,
                "page": self.page}  # fmt: skip


@dataclass
class Added:
    """What one ``add`` did. ``action``: added, replaced or unchanged."""

    action: str
    document: DocumentRow
    format: str
    embedded: int = 0
    cost_micro: int = 0
    note: str | None = None  # keyword only, and why (said once)

    @property
    def message(self) -> str:
        d = self.document
        name = d.title or Path(d.source_path).name
        if self.action == "unchanged":
            tail = f"; embedded {self.embedded} chunks that had no vector" if self.embedded else ""
            return (f"{name} is unchanged since it was added (same SHA-256): nothing was "
                    f"rechunked{tail}.")  # fmt: skip
        verb = "Added" if self.action == "added" else "Re-added (changed)"
        vec = f", {d.embedded} embedded" if d.embedded else ", keyword-indexed only"
        return (f"{verb} #{d.id} {name}: {d.chunk_count} chunk{'s' * (d.chunk_count != 1)}, "
                f"{d.token_count} tokens{vec}.")  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return dict(document_json(self.document), action=self.action, format=self.format,
                    message=self.message, note=self.note,
                    cost_usd=self.cost_micro / 1_000_000)  # fmt: skip


def document_json(d: DocumentRow) -> dict[str, Any]:
    return {"id": d.id, "path": d.source_path, "title": d.title,
            "format": d.metadata.get("format"), "mime_type": d.mime_type,
            "chunks": d.chunk_count, "tokens": d.token_count, "pages": d.page_count,
            "embedded": d.embedded, "status": d.status, "sha256": d.content_hash,
            "size_bytes": d.size_bytes, "added_at": d.created_at,
            "updated_at": d.updated_at}  # fmt: skip


def embed_text(section: str | None, content: str) -> str:
    """What a chunk's vector is made from: its heading path, then its text."""
    return f"{section}\n\n{content}" if section else content


@dataclass
class Documents:
    store: Store
    user_id: int
    embedder: Embedder | None = None
    enabled: bool = True
    off_reason: str | None = None  # why there are no vectors (no endpoint or key)
    clock: Callable[[], float] = time.time
    notes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, store: Store, svc: LlmService | None, *, enabled: bool | None = None
             ) -> Documents:  # fmt: skip
        """``svc`` None: keyword only (no endpoint to embed with)."""
        if enabled is None:
            enabled = svc.settings.memory.enabled if svc is not None else True
        on = enabled
        if on:
            user = owner.local_user_id(store)
        else:  # memory off writes nothing, not even the user's row
            user = q.user_id_of(store.conn(), owner.username()) or 0
        if svc is None:
            return cls(store, user, None, on, "No embedding endpoint: keyword search only.")
        reason = semantic_off_reason(svc.settings, svc.env)
        return cls(store, user, owner.memory_embedder(store, svc), on, reason)

    # -- adding --------------------------------------------------------------------------

    def add(self, path: str | Path) -> Added:
        """Add (or re-add) the document at ``path``; DocumentError: a sentence, nothing
        written."""
        if not self.enabled:
            raise DocumentError("Memory is off (mira.memory.enabled); no document was added.")
        source, data = read_document(Path(path))
        digest = hashlib.sha256(data).hexdigest()
        conn = self.store.conn()
        existing = q.by_source(conn, self.user_id, str(source))
        if existing is not None and existing.content_hash == digest and existing.chunk_count:
            return self._unchanged(existing)
        doc = parse(source, data)
        chunks = chunk_sections(doc.sections)
        if not chunks:
            raise DocumentError(f"{source.name} has no text; nothing was added.")
        vectors, cost, note = self._embed(chunks)
        project = project_store.for_path(conn, source)
        status = "embedded" if vectors and len(vectors) == len(chunks) else "chunked"
        rows = [_new_chunk(c, vectors.get(c.index), self.embedder) for c in chunks]
        try:
            with self.store.write() as w:
                # another add of the same file may have finished meanwhile
                existing = q.by_source(w, self.user_id, str(source))
                if existing is not None and existing.content_hash == digest:
                    return Added("unchanged", existing, doc.format, 0, cost, note)
                doc_id = q.save(
                    w, existing, user_id=self.user_id,
                    project_id=project.id if project else None, source_path=str(source),
                    title=doc.title or source.name, mime_type=doc.mime_type,
                    size_bytes=len(data), content_hash=digest, page_count=doc.pages,
                    metadata=_metadata(doc, self.embedder if vectors else None),
                    status=status, chunks=rows, now=int(self.clock()),
                )  # fmt: skip
        except BaseException:
            with self.store.write() as w:  # the vectors made for it are not kept either
                drop_unused_embeddings(w, list(set(vectors.values())))
            raise
        saved = q.get(self.store.conn(), doc_id)
        assert saved is not None
        action = "added" if existing is None else "replaced"
        return Added(action, saved, doc.format, len(vectors), cost, note)

    def _unchanged(self, d: DocumentRow) -> Added:
        """Nothing is rechunked; chunks added without a vector get one when they can."""
        out = Added("unchanged", d, str(d.metadata.get("format") or ""))
        if self.embedder is None or d.embedded >= d.chunk_count:
            return out
        todo = q.chunks_without_vector(self.store.conn(), d.id)
        texts = {cid: embed_text(sec, content) for cid, sec, content in todo}
        found, out.cost_micro, out.note = self._vectors(texts)
        if found:
            status = "embedded" if len(found) == len(todo) else d.status
            with self.store.write() as w:
                q.set_vectors(w, d.id, found, self.embedder.model, status)
            out.embedded = len(found)
            out.document = q.get(self.store.conn(), d.id) or d
        return out

    def _embed(self, chunks: list[Chunk]) -> tuple[dict[int, int], int, str | None]:
        """chunk index -> embedding id for the chunks embedded, the cost, and the note
        when some or all are keyword only."""
        texts = {c.index: embed_text(c.section, c.text) for c in chunks}
        return self._vectors(texts)

    def _vectors(self, texts: dict[int, str]) -> tuple[dict[int, int], int, str | None]:
        if self.embedder is None:
            return {}, 0, self.off_reason or "Semantic search is off: keyword search only."
        emb = self.embedder
        run = emb.embed(list(texts.values()), operation="embed_documents")
        if run.stopped:
            log.info("documents: chunks not embedded: %s", run.stopped)
        keys = {k: emb.key(t) for k, t in texts.items()}
        stored = emb.stored(list(set(keys.values())))
        found = {k: stored[h][0] for k, h in keys.items() if h in stored}
        note = None
        if len(found) < len(texts):
            why = run.stopped or "the endpoint gave none"
            note = (f"{len(texts) - len(found)} of {len(texts)} chunks have no vector "
                    f"({why}); they are found by keyword.")  # fmt: skip
        return found, run.cost_micro, note

    # -- listing and removing ------------------------------------------------------------

    def listed(self) -> list[DocumentRow]:
        return q.listed(self.store.conn(), self.user_id)

    def find(self, what: str | int) -> DocumentRow:
        """The document with that id, else read from that path (relative to the cwd)."""
        conn = self.store.conn()
        text = str(what).strip()
        if isinstance(what, int) or text.lstrip("#").isdigit():
            d = q.get(conn, int(text.lstrip("#")))
            if d is not None and d.user_id in (self.user_id, None):
                return d
            if isinstance(what, int) or text.startswith("#") or not Path(text).exists():
                raise DocumentError(f"There is no document #{text.lstrip('#')}; "
                                    "`mira-ls docs list` shows them.")  # fmt: skip
        if not text:
            raise DocumentError("Say which document: its id or its path.")
        for candidate in _path_forms(Path(text)):
            d = q.by_source(conn, self.user_id, candidate)
            if d is not None:
                return d
        raise DocumentError(f"No document was added from {text}; `mira-ls docs list` shows them.")

    def remove(self, what: str | int) -> tuple[DocumentRow, int]:
        """Remove a document with its chunks, keyword rows and vectors; (it, chunks gone)."""
        d = self.find(what)
        with self.store.write() as w:
            n = q.delete(w, d.id)
        return d, n

    # -- searching -----------------------------------------------------------------------

    def search(self, query: str, limit: int = 5) -> list[DocumentHit]:
        """Chunks for ``query``: bm25 and, when chunks are embedded, cosine; best first.
        ``self.notes`` says why vectors took no part, when they could not."""
        self.notes = []
        if not self.enabled or not query.strip():
            return []
        conn = self.store.conn()
        kw: dict[int, float] = {}
        words = terms.query_terms(query)
        if words:
            for cid, bm25 in q.match(conn, terms.match_any(words), self.user_id,
                                     max(limit, KEYWORD_CANDIDATES)):  # fmt: skip
                s = max(0.0, -bm25)
                kw[cid] = s / (1.0 + s)
        vec = self._vector_scores(query, max(limit, KEYWORD_CANDIDATES))
        scores: dict[int, tuple[float, str]] = {}
        for cid in set(kw) | set(vec):
            a, b = kw.get(cid), vec.get(cid)
            if a is not None and b is not None:
                scores[cid] = (1.0 - (1.0 - a) * (1.0 - b), "both")
            elif a is not None:
                scores[cid] = (a, "keyword")
            else:
                scores[cid] = (b or 0.0, "vector")
        best = sorted(scores, key=lambda c: (-scores[c][0], c))[:limit]
        rows = q.chunks(conn, best)
        return [_hit(rows[c], *scores[c]) for c in best if c in rows]

    def _vector_scores(self, query: str, limit: int) -> dict[int, float]:
        if self.embedder is None:
            return {}
        emb = self.embedder
        ids, mat = self._matrix(emb)
        if not ids:
            return {}
        try:
            qv = emb.query_vector(query)
        except (LlmError, BudgetRefused) as exc:
            self.notes.append(f"Documents were searched by keyword only: {exc}")
            return {}
        rows, sims = mat.top(qv / (float(np.linalg.norm(qv)) or 1.0), limit)
        return {ids[i]: c for i, c in zip(rows.tolist(), sims.tolist(), strict=True)
                if c >= VECTOR_MIN}  # fmt: skip

    def _matrix(self, emb: Embedder) -> tuple[list[int], UnitMatrix]:
        """(chunk ids, their unit vectors as rows), kept between searches while the
        embedded chunks are the same (store.documents.vector_stamp)."""
        conn = self.store.conn()
        stamp = q.vector_stamp(conn, self.user_id, emb.model)
        ck = (str(self.store.path), self.user_id, emb.model, emb.dimensions)
        with _MATRIX_LOCK:
            hit = _MATRICES.get(ck)
        if hit is not None and hit[0] == stamp:
            return hit[1], hit[2]
        keys = q.vector_keys(conn, self.user_id, emb.model, emb.dimensions)
        blobs = q.embedding_vectors(conn, [k[1] for k in keys])
        ids = [k[0] for k in keys if k[1] in blobs]
        if ids:
            rows = np.stack([from_blob(blobs[k[1]]) for k in keys if k[1] in blobs])
            mat = UnitMatrix.of(rows / (np.linalg.norm(rows, axis=1, keepdims=True) + 1e-9))
        else:
            mat = UnitMatrix.of(np.zeros((0, emb.dimensions), dtype="<f4"))
        with _MATRIX_LOCK:
            _MATRICES.pop(ck, None)
            _MATRICES[ck] = (stamp, ids, mat)
            while len(_MATRICES) > MATRIX_CACHE:
                _MATRICES.pop(next(iter(_MATRICES)))
        return ids, mat


def _hit(r: ChunkHit, score: float, via: str) -> DocumentHit:
    return DocumentHit(
        r.title or Path(r.source_path).name, r.section, r.content, score, via, r.source_path,
        r.document_id, r.chunk_id, r.page, r.project_id, r.updated_at,
    )  # fmt: skip


def _metadata(doc: Parsed, embedder: Embedder | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"format": doc.format, "sections": len({s.name for s in doc.sections})}
    if embedder is not None:
        meta["embedding_model"] = embedder.model
        meta["embedding_dimensions"] = embedder.dimensions
    return meta


def _new_chunk(c: Chunk, embedding_id: int | None, emb: Embedder | None) -> NewChunk:
    return NewChunk(
        c.index, c.text, c.tokens, text_hash(c.text), c.section, c.page, c.start, c.end,
        embedding_id, emb.model if emb is not None and embedding_id is not None else None,
        terms.expand(c.text),
    )  # fmt: skip


def _path_forms(path: Path) -> list[str]:
    """The ways a stored source path may be written for ``path``: resolved, absolute."""
    absolute = Path(os.path.abspath(path.expanduser()))
    forms = [str(absolute.resolve()), str(absolute)]
    return list(dict.fromkeys(forms))


def _secret(path: Path) -> bool:
    posix = path.as_posix().lstrip("/")
    return is_secret_path(path.name) or is_secret_path(posix)


def read_document(path: Path) -> tuple[Path, bytes]:
    """(resolved path, bytes) of a document the user named; DocumentError: why not."""
    given = Path(os.path.abspath(path.expanduser()))
    try:
        real = given.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        raise DocumentError(f"There is no file {path}; nothing was added.") from None
    except OSError as exc:
        raise DocumentError(f"{path} cannot be read ({exc.strerror}); nothing was added.") from None
    if _secret(given) or _secret(real):
        raise DocumentError(
            f"{path} looks like a file that holds secrets"
            + (f" (it leads to {real})" if real != given else "")
            + "; mira-ls never reads those. Nothing was added."
        )
    try:
        st = os.stat(real)
    except OSError as exc:
        raise DocumentError(f"{path} cannot be read ({exc.strerror}); nothing was added.") from None
    if stat.S_ISDIR(st.st_mode):
        raise DocumentError(f"{path} is a directory; add the files in it one by one.")
    if not stat.S_ISREG(st.st_mode):
        raise DocumentError(f"{path} is not a regular file; nothing was added.")
    if st.st_size > MAX_DOCUMENT_BYTES:
        raise DocumentError(
            f"{path} is {st.st_size / 1e6:.0f} MB, more than the "
            f"{MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB a document may have; nothing was added."
        )
    try:
        data = real.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path} cannot be read ({exc.strerror}); nothing was added.") from None
    return real, data
