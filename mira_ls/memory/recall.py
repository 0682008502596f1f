"""Recall: what mira-ls remembers that bears on a new question.

Candidates come from four sources, each found by meaning when it has a vector in the
configured embedding space (cosine with the question's vector), by keyword otherwise (the
share of the question's words it contains): the user's current facts (``key: value``), past
chat messages, rolling summaries, and document chunks (Documents.search, whose 0..1 score
is the similarity). Each candidate gets four numbers in 0..1:

- similarity: the cosine (clamped at 0), or the keyword share, or the document score;
- recency: ``0.5 ** (age / HALF_LIFE_DAYS)`` with a half-life of 30 days, from the fact's
  last change, the message's or summary's time, the document's last change;
- salience: a message's analysis (message_analysis.salience; not analysed: MID_SALIENCE),
  a fact's confidence, and MID_SALIENCE (0.5) for summaries and documents, which have none;
- same project: 1 when it belongs to the project the question is asked in, else 0 (a
  user-wide fact, a message asked outside any workspace, a document outside it: 0).

score = 0.25 recency + 0.45 similarity + 0.15 salience + 0.15 same project. The best go,
one line each, into a "What I remember" section of at most the section's token share
(RECALL_SHARE of the context budget) and MAX_MEMORIES lines; the answer's footer names
them (``fact #12``, ``message #40``, ``summary #3``, ``document #2 "Guide" > Install``) so
a wrong one is forgotten with ``mira-ls memory forget 12`` (``--message``, ``--summary``)
or ``mira-ls docs remove 2``. The question's vector goes through the budget (stored, so
asking again is free); with no endpoint, or when it is refused, recall is keyword only and
says so. Memory off: nothing is recalled. Memory never goes into the MCP bundles: only
mira-ls's own chat and explain add the section (features/chat.py).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mira_ls.documents.library import Documents
from mira_ls.llm import tokens
from mira_ls.llm.budget import BudgetRefused
from mira_ls.llm.context import Section
from mira_ls.llm.errors import LlmError
from mira_ls.memory import owner
from mira_ls.memory.facts import fact_text
from mira_ls.memory.profile import KIND as PROFILE_KIND
from mira_ls.memory.profile import Profiles
from mira_ls.memory.vector_scan import UnitMatrix
from mira_ls.search import terms
from mira_ls.store import Store
from mira_ls.store import documents as dq
from mira_ls.store import memory_recall as q
from mira_ls.vectors.embeddings import Embedder, from_blob

if TYPE_CHECKING:
    from mira_ls.llm.service import LlmService

log = logging.getLogger(__name__)

W_RECENCY = 0.25
W_SIMILARITY = 0.45
W_SALIENCE = 0.15
W_PROJECT = 0.15
HALF_LIFE_DAYS = 30.0
MID_SALIENCE = 0.5
VECTOR_MIN = 0.25  # cosine below which an item is not similar at all
KEYWORD_MIN = 0.2  # share of the question's words below which an item does not match
PER_SOURCE = 20  # candidates taken from each source before scoring
MAX_MEMORIES = 8
RECALL_SHARE = 0.15  # of the context budget, for the "What I remember" section
LINE_CHARS = 400  # of a message, summary or chunk shown
TITLE = "What I remember"
KIND = "memory"
PRIORITY = 5  # beside the guidelines: after the code in question, before git history
HEAD = "From earlier conversations, remembered facts and your documents (may be out of date):"
MATRIX_CACHE = 8
DAY = 86400.0

# (database, user, project, source, model, dimensions) -> (keys, ids, unit vectors)
_MATRICES: dict[tuple[Any, ...], tuple[list[tuple[int, int]], list[int], UnitMatrix]] = {}
# (database, user, project, source, model, dimensions) -> (stamp, keys)
_KEYS: dict[tuple[Any, ...], tuple[tuple[Any, ...], list[tuple[int, int]]]] = {}
_LOCK = threading.Lock()


@dataclass
class _WordIndex:
    """The words of the user's messages (as ``_keyword`` reads them) -> the messages that
    have them, kept between questions while memory_entries only grows."""

    stamp: tuple[int, int, float]
    words: dict[str, list[int]] = field(default_factory=dict)
    sessions: dict[int, str] = field(default_factory=dict)

    def add(self, rows: list[tuple[int, str, str]]) -> None:
        for eid, sid, text in rows:
            self.sessions[eid] = sid
            for w in _words(text):
                self.words.setdefault(w, []).append(eid)


# (database, user) -> the word index of the user's messages
_WORD_INDEXES: dict[tuple[str, int], _WordIndex] = {}


def score(recency: float, similarity: float, salience: float, same_project: float) -> float:
    return (W_RECENCY * recency + W_SIMILARITY * similarity + W_SALIENCE * salience
            + W_PROJECT * same_project)  # fmt: skip


def recency(at: int | float, now: float) -> float:
    """1 now, 0.5 after HALF_LIFE_DAYS, 0.25 after twice that (a future time counts as now)."""
    age = max(0.0, now - float(at)) / DAY
    return math.pow(0.5, age / HALF_LIFE_DAYS)


@dataclass(frozen=True)
class Memory:
    """One remembered thing, scored for a question."""

    kind: str  # fact, message, summary, document
    id: int  # fact id, memory_entries id, rolling_summaries id, document id
    text: str  # what the model is shown
    label: str  # the footer's name for it: fact #12, document #2 "Guide" > Install
    similarity: float
    recency: float
    salience: float
    same_project: float
    at: int
    via: str  # vector, keyword or both
    chunk_id: int | None = None

    @property
    def score(self) -> float:
        return score(self.recency, self.similarity, self.salience, self.same_project)

    @property
    def ref(self) -> str:
        return f"{self.kind} #{self.id}"

    def line(self) -> str:
        return f"- [{self.label}, {time.strftime('%Y-%m-%d', time.gmtime(self.at))}] {self.text}"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "label": self.label,
                "score": round(self.score, 6), "similarity": round(self.similarity, 6),
                "recency": round(self.recency, 6), "salience": round(self.salience, 6),
                "same_project": self.same_project, "via": self.via, "at": self.at,
                "chunk_id": self.chunk_id}  # fmt: skip


@dataclass
class Recalled:
    """What recall chose for a question: the memories (best first) and their section."""

    memories: list[Memory] = field(default_factory=list)
    section: Section | None = None
    notes: list[str] = field(default_factory=list)
    profile: Section | None = None  # "About you" (memory/profile.py), within the same share

    @property
    def sections(self) -> list[Section]:
        return [s for s in (self.profile, self.section) if s is not None]

    def used_profile(self, sections: Sequence[Section]) -> bool:
        return any(s.kind == PROFILE_KIND for s in sections)

    def used(self, sections: Sequence[Section]) -> list[Memory]:
        """The memories still in the context after it was fitted (a cut section loses its
        last lines)."""
        body = "\n".join(s.body for s in sections if s.kind == KIND)
        return [m for m in self.memories if f"[{m.label}, " in body]


def footer(used: Sequence[Memory], profile: bool = False) -> str:
    """'Remembered: fact #12, document #2 "Guide" > Install' and how to forget a wrong one;
    empty when nothing was used. ``profile``: the "About you" section went too."""
    if not used and not profile:
        return ""
    if not used:
        return "Remembered: your profile (see or correct it: `mira-ls memory profile`)"
    how: list[str] = []
    kinds: dict[str, int] = {}
    for m in used:
        kinds.setdefault(m.kind, m.id)
    if "fact" in kinds:
        how.append(f"`mira-ls memory forget {kinds['fact']}`")
    if "message" in kinds:
        how.append(f"`mira-ls memory forget --message {kinds['message']}`")
    if "summary" in kinds:
        how.append(f"`mira-ls memory forget --summary {kinds['summary']}`")
    if "document" in kinds:
        how.append(f"`mira-ls docs remove {kinds['document']}`")
    if profile:
        how.append("`mira-ls memory profile`")
    names = [m.label for m in used] + (["your profile"] if profile else [])
    return f"Remembered: {', '.join(names)} (a wrong one: {', '.join(how)})"


def _clip(text: str, n: int = LINE_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1].rstrip() + "…"


_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> set[str]:
    """The words of ``text``, lowercased, identifiers split at underscores and camel case."""
    return set(_WORD.findall(_CAMEL.sub(r"\1 \2", text).lower()))


def _keyword(words: Sequence[str], text: str) -> float:
    """The share of the question's words found in ``text`` (its words, lowercased, with
    identifiers split at underscores and camel case, as the question's were)."""
    if not words:
        return 0.0
    have = _words(text)
    return sum(1 for w in words if w in have) / len(words)


@dataclass
class Recall:
    store: Store
    user_id: int | None  # None: memory never wrote anything (nothing to recall)
    project_id: int | None
    embedder: Embedder | None = None
    enabled: bool = True
    off_reason: str | None = None
    clock: Callable[[], float] = time.time
    _session: str | None = None
    _skip: tuple[set[int], set[int]] = field(default_factory=lambda: (set(), set()))
    _keys: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    _stamps: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    _counted: tuple[int, int] | None = None

    @classmethod
    def open(cls, store: Store, svc: LlmService, project_id: int | None, *,
             enabled: bool | None = None) -> Recall:  # fmt: skip
        on = svc.settings.memory.enabled if enabled is None else enabled
        user = dq.user_id_of(store.conn(), owner.username())  # reading writes nothing
        emb = owner.memory_embedder(store, svc) if on else None
        reason = None if emb is not None else "no embedding endpoint"
        return cls(store, user, project_id, emb, on, reason)

    # -- the question's vector -----------------------------------------------------------

    def _query_vector(self, question: str, notes: list[str]) -> np.ndarray | None:
        """The question's unit vector; None (keyword only) without an endpoint, when
        nothing remembered has a vector to compare it with, or when it was refused."""
        emb = self.embedder
        if emb is None or self.user_id is None:
            return None
        if (
            not any(self._keys[s] for s in ("fact", "message", "summary"))
            and not (self._stamps.get("document", (0,))[0])
        ):
            return None
        try:
            qv = emb.query_vector(question, project_id=self.project_id)
        except (BudgetRefused, LlmError) as exc:
            notes.append(f"Memories were recalled by keyword only: {exc}")
            return None
        return qv / (float(np.linalg.norm(qv)) or 1.0)

    # -- candidates ----------------------------------------------------------------------

    def candidates(
        self, question: str, session_id: str | None = None, shown: str | None = None
    ) -> tuple[list[Memory], list[str]]:
        """Every candidate memory for ``question``, best first, and notes (keyword only).
        The messages and summaries of ``session_id`` (the conversation the question joins)
        are left out: they are its history, sent as such. So are earlier askings of the
        very same question (``shown``, as recorded) and their answers: the LLM cache
        answers a repeated question, and recalling its last answer would change the
        context, and so the cache key, every time."""
        notes: list[str] = []
        if not self.enabled or self.user_id is None or not question.strip():
            return [], notes
        conn = self.store.conn()
        self._session = session_id
        self._skip = q.session_items(conn, session_id) if session_id else (set(), set())
        if shown:
            self._skip[0].update(q.exchanges_of(conn, self.user_id, shown))
        words = terms.query_terms(question)
        self._load_keys()
        qv = self._query_vector(question, notes)
        now = self.clock()
        found = self._facts(words, qv, now) + self._messages(words, qv, now)
        found += self._summaries(words, qv, now) + self._documents(question, qv, now)
        order = {"fact": 0, "document": 1, "summary": 2, "message": 3}
        found.sort(key=lambda m: (-m.score, order[m.kind], -m.at, m.id))
        return found, notes

    def _load_keys(self) -> None:
        """Each source's (item id, embedding id) keys in the embedder's space, read again
        only when the source's stamp changed (store.memory_recall.stamps)."""
        self._keys = {"fact": [], "message": [], "summary": []}
        self._stamps = {}
        self._counted = None
        space = self._space()
        if space is None or self.user_id is None:
            return
        conn = self.store.conn()
        self._stamps = q.stamps(conn, self.user_id, self.project_id, *space)
        readers = {"fact": lambda: q.fact_keys(conn, self.user_id, self.project_id, *space),
                   "message": lambda: q.message_keys(conn, self.user_id, *space),
                   "summary": lambda: q.summary_keys(conn, self.user_id, *space)}  # fmt: skip
        for source, read in readers.items():
            ck = (str(self.store.path), self.user_id, self.project_id, source, *space)
            with _LOCK:
                hit = _KEYS.get(ck)
            if hit is not None and hit[0] == self._stamps[source]:
                self._keys[source] = hit[1]
                continue
            keys = read() if self._stamps[source][0] else []
            with _LOCK:
                _KEYS.pop(ck, None)
                _KEYS[ck] = (self._stamps[source], keys)
                while len(_KEYS) > MATRIX_CACHE:
                    _KEYS.pop(next(iter(_KEYS)))
            self._keys[source] = keys

    def _counts(self) -> tuple[int, int]:
        """(messages, summaries) of the user, read once per question."""
        if self._counted is None:
            assert self.user_id is not None
            self._counted = q.counts(self.store.conn(), self.user_id)
        return self._counted

    def _space(self) -> tuple[str, int] | None:
        return (self.embedder.model, self.embedder.dimensions) if self.embedder else None

    def _nearest(self, source: str, keys: list[tuple[int, int]], qv: np.ndarray,
                 skip: set[int] | None = None) -> dict[int, float]:  # fmt: skip
        """item id -> cosine of the PER_SOURCE nearest items (not in ``skip``) at least
        VECTOR_MIN."""
        skip = skip or set()
        if not keys:
            return {}
        assert self.embedder is not None
        ck = (str(self.store.path), self.user_id, self.project_id, source, self.embedder.model,
              self.embedder.dimensions)  # fmt: skip
        with _LOCK:
            hit = _MATRICES.get(ck)
        if hit is not None and hit[0] == keys:
            ids, mat = hit[1], hit[2]
        else:
            ids, mat = self._load_matrix(keys, len(qv))
            with _LOCK:
                _MATRICES.pop(ck, None)
                _MATRICES[ck] = (keys, ids, mat)
                while len(_MATRICES) > MATRIX_CACHE:
                    _MATRICES.pop(next(iter(_MATRICES)))
        if not ids or mat.mat.shape[1] != len(qv):
            return {}
        rows, sims = mat.top(qv, PER_SOURCE + len(skip))
        kept = [(ids[i], float(c)) for i, c in zip(rows.tolist(), sims.tolist(), strict=True)
                if c >= VECTOR_MIN and ids[i] not in skip]  # fmt: skip
        return dict(kept[:PER_SOURCE])

    def _load_matrix(self, keys: list[tuple[int, int]], dims: int
                     ) -> tuple[list[int], UnitMatrix]:  # fmt: skip
        """(item ids, their unit vectors as rows)."""
        blobs = dq.embedding_vectors(self.store.conn(), [e for _, e in keys])
        pairs = [(i, blobs[e]) for i, e in keys if e in blobs]
        ids = [i for i, _ in pairs]
        if not pairs:
            return ids, UnitMatrix.of(np.zeros((0, dims), dtype="<f4"))
        mat = np.stack([from_blob(b) for _, b in pairs])
        mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-9
        return ids, UnitMatrix.of(mat)

    def _same(self, project_id: int | None) -> float:
        return 1.0 if project_id is not None and project_id == self.project_id else 0.0

    def _facts(self, words: list[str], qv: np.ndarray | None, now: float) -> list[Memory]:
        conn = self.store.conn()
        assert self.user_id is not None
        sims: dict[int, tuple[float, str]] = {}
        space = self._space()
        if qv is not None and space is not None:
            keys = self._keys["fact"]
            sims = {i: (s, "vector") for i, s in self._nearest("fact", keys, qv).items()}
            visible = q.visible_fact_count(conn, self.user_id, self.project_id)
            plain = (q.facts_without_vector(conn, self.user_id, self.project_id, *space)
                     if visible > len(keys) else [])  # fmt: skip
        else:  # by keyword only: the facts with any of the words (LIKE, then whole words)
            plain = q.facts_matching(conn, self.user_id, self.project_id, words)
        facts = {f.id: f for f in plain}
        for f in plain:  # keyword for the facts without a vector
            s = _keyword(words, fact_text(f.key, f.value))
            if s >= KEYWORD_MIN:
                sims[f.id] = (s, "keyword")
        facts.update(q.facts(conn, [i for i in sims if i not in facts]))
        out = []
        for fid, (s, via) in sims.items():
            row = facts.get(fid)
            if row is None:
                continue
            out.append(Memory("fact", row.id, fact_text(row.key, row.value), f"fact #{row.id}",
                              max(0.0, min(1.0, s)), recency(row.updated_at, now),
                              max(0.0, min(1.0, row.confidence)), self._same(row.project_id),
                              row.updated_at, via))  # fmt: skip
        return out

    def _messages(self, words: list[str], qv: np.ndarray | None, now: float) -> list[Memory]:
        conn = self.store.conn()
        assert self.user_id is not None
        space = self._space()
        sims: dict[int, tuple[float, str]] = {}
        if qv is not None and space is not None:
            keys = self._keys["message"]
            near = self._nearest("message", keys, qv, self._skip[0])
            sims = {i: (s, "vector") for i, s in near.items()}
            if len(keys) >= self._counts()[0]:
                words = []  # every message has a vector: none to find by keyword
        if words:
            embedded = {i for i, _ in self._keys["message"]} if qv is not None else set()
            for i, share in self._word_hits(words, embedded):
                sims.setdefault(i, (share, "keyword"))
        rows = q.messages(conn, list(sims))
        out = []
        for i, (s, via) in sims.items():
            r = rows.get(i)
            if r is None:
                continue
            who = "you said" if r.role == "user" else "I answered"
            sal = MID_SALIENCE if r.salience is None else r.salience
            out.append(Memory("message", r.id, f"({who}) {_clip(r.content)}", f"message #{r.id}",
                              max(0.0, min(1.0, s)), recency(r.created_at, now),
                              max(0.0, min(1.0, sal)), self._same(r.project_id), r.created_at,
                              via))  # fmt: skip
        return out

    def _word_hits(self, words: list[str], embedded: set[int]) -> list[tuple[int, float]]:
        """(message id, share of ``words`` it has) of the PER_SOURCE best messages by
        keyword (at least KEYWORD_MIN; the newest first among equals), outside the session
        asked in and the items left out, without a vector (``embedded``: those with one)."""
        index = self._word_index()
        hits: dict[int, int] = {}
        for w in words:
            for i in index.words.get(w, ()):
                hits[i] = hits.get(i, 0) + 1
        skip, sess = self._skip[0], self._session
        n = len(words)
        best = sorted(
            (i for i, c in hits.items() if c / n >= KEYWORD_MIN and i not in skip
             and i not in embedded and (sess is None or index.sessions.get(i) != sess)),
            key=lambda i: (-hits[i], -i),
        )  # fmt: skip
        return [(i, hits[i] / n) for i in best[:PER_SOURCE]]

    def _word_index(self) -> _WordIndex:
        """The word index of the user's messages: read again from the new rows only while
        memory_entries only grew, from all of them when a message was removed."""
        assert self.user_id is not None
        conn = self.store.conn()
        stamp = q.entries_stamp(conn)
        ck = (str(self.store.path), self.user_id)
        with _LOCK:
            index = _WORD_INDEXES.get(ck)
        if index is not None and index.stamp == stamp:
            return index
        if index is not None and stamp[1] >= index.stamp[1]:
            n, total = q.entries_after(conn, index.stamp[1])
            grew = (index.stamp[0] + n, index.stamp[2] + total) == (stamp[0], stamp[2])
        else:
            grew = False
        if index is not None and grew:
            new = _WordIndex(stamp, index.words, index.sessions)
            new.words = {w: list(ids) for w, ids in index.words.items()}  # readers keep theirs
            new.sessions = dict(index.sessions)
            new.add(q.message_texts(conn, self.user_id, index.stamp[1]))
        else:
            new = _WordIndex(stamp)
            new.add(q.message_texts(conn, self.user_id))
        with _LOCK:
            _WORD_INDEXES.pop(ck, None)
            _WORD_INDEXES[ck] = new
            while len(_WORD_INDEXES) > MATRIX_CACHE:
                _WORD_INDEXES.pop(next(iter(_WORD_INDEXES)))
        return new

    def _summaries(self, words: list[str], qv: np.ndarray | None, now: float) -> list[Memory]:
        conn = self.store.conn()
        assert self.user_id is not None
        space = self._space()
        sims: dict[int, tuple[float, str]] = {}
        if qv is not None and space is not None:
            keys = self._keys["summary"]
            near = self._nearest("summary", keys, qv, self._skip[1])
            sims = {i: (s, "vector") for i, s in near.items()}
            if len(keys) >= self._counts()[1]:
                words = []  # every summary has a vector: none to find by keyword
        without = space if qv is not None else None
        rows = {r.id: r for r in q.summaries_matching(conn, self.user_id, words,
                                                      PER_SOURCE * 5,
                                                      without_vector_in=without,
                                                      not_session=self._session)}  # fmt: skip
        kw = {i: _keyword(words, f"{r.content} {r.key_facts}") for i, r in rows.items()}
        best = sorted((i for i in kw if kw[i] >= KEYWORD_MIN), key=lambda i: (-kw[i], -i))
        for i in best[:PER_SOURCE]:
            sims.setdefault(i, (kw[i], "keyword"))
        rows.update(q.summaries(conn, [i for i in sims if i not in rows]))
        out = []
        for i, (s, via) in sims.items():
            r = rows.get(i)
            if r is None:
                continue
            try:
                facts = [str(f) for f in json.loads(r.key_facts)]
            except (ValueError, TypeError):
                facts = []
            text = r.content + (" Key facts: " + "; ".join(facts) if facts else "")
            out.append(Memory("summary", r.id, f"(summary of {r.message_count} messages) "
                              f"{_clip(text)}", f"summary #{r.id}", max(0.0, min(1.0, s)),
                              recency(r.created_at, now), MID_SALIENCE,
                              self._same(r.project_id), r.created_at, via))  # fmt: skip
        return out

    def _documents(self, question: str, qv: np.ndarray | None, now: float) -> list[Memory]:
        assert self.user_id is not None
        # The question's vector is already stored when there is one (asking again is free);
        # without one the documents are searched by keyword only, not asked about again.
        docs = Documents(self.store, self.user_id, self.embedder if qv is not None else None,
                         True)  # fmt: skip
        out = []
        seen: set[int] = set()
        for h in docs.search(question, PER_SOURCE):
            if h.score < KEYWORD_MIN and h.via == "keyword":
                continue
            section = h.section or ""
            if section == h.document or section.startswith(f"{h.document} > "):
                section = section[len(h.document) :].removeprefix(" > ")  # the title again
            where = f'"{h.document}"' + (f" > {section}" if section else "")
            label = f"document #{h.document_id} {where}"
            if h.chunk_id in seen:
                continue
            seen.add(h.chunk_id)
            out.append(Memory("document", h.document_id, _clip(h.text), label,
                              max(0.0, min(1.0, h.score)), recency(h.updated_at, now),
                              MID_SALIENCE, self._same(h.project_id), h.updated_at, h.via,
                              h.chunk_id))  # fmt: skip
        return out

    # -- the section ---------------------------------------------------------------------

    def recall(self, question: str, share_tokens: int, session_id: str | None = None,
               shown: str | None = None) -> Recalled:  # fmt: skip
        """The best memories for ``question`` as a section of at most ``share_tokens``
        (the messages and summaries of ``session_id`` and earlier askings of ``shown``
        left out, see ``candidates``)."""
        found, notes = self.candidates(question, session_id, shown)
        out = Recalled(notes=notes)
        if self.enabled and self.user_id is not None:
            about = Profiles(self.store, self.user_id).section()
            cost = tokens.count(about.render()) + 2 if about is not None else 0
            if about is not None and cost <= share_tokens // 2:  # the memories keep the rest
                out.profile = about
                share_tokens -= cost
        lines: list[str] = []
        used = tokens.count(Section(KIND, TITLE, HEAD, PRIORITY).render()) + 2
        for m in found:
            if len(out.memories) >= MAX_MEMORIES:
                break
            if any(o.kind == m.kind and o.id == m.id and o.chunk_id == m.chunk_id
                   for o in out.memories):  # fmt: skip
                continue
            line = m.line()
            cost = tokens.count(line) + 1
            if used + cost > share_tokens:
                continue  # a shorter one further down may still fit
            used += cost
            lines.append(line)
            out.memories.append(m)
        while lines:  # the sum of the lines' counts is close; the whole is what counts
            section = Section(KIND, TITLE, "\n".join([HEAD, *lines]), PRIORITY)
            if tokens.count(section.render()) + 2 <= share_tokens:
                out.section = section
                break
            lines.pop()
            out.memories.pop()
        return out


def forget_message(store: Store, entry_id: int, *, fold: bool = True
                   ) -> q.ForgottenMessage | None:  # fmt: skip
    """Remove the local user's message ``entry_id`` with its analysis and vector, and the
    summaries made from it (the next summary run summarises what is left of the block
    again), and the facts inferred from it alone (``ForgottenMessage.facts``); the learned
    patterns lose it as evidence (``fold``: memory is on)."""
    user = dq.user_id_of(store.conn(), owner.username())
    if user is None:
        return None
    with store.write() as w:
        gone = q.forget_message(w, user, entry_id)
    if gone is not None and fold:
        Profiles(store, user).fold()
    return gone


def forget_summary(store: Store, summary_id: int) -> q.SummaryHit | None:
    """Remove the local user's summary ``summary_id`` with its vector."""
    user = dq.user_id_of(store.conn(), owner.username())
    if user is None:
        return None
    with store.write() as w:
        return q.forget_summary(w, user, summary_id)
