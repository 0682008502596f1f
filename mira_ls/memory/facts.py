"""Durable facts about the user and the project, the way mem0 keeps them.

A statement is redacted, then the model extracts candidate facts (key, value, category,
scope, confidence). Each candidate is matched against the existing facts with the same key
or a similar vector, and the model decides add / update / delete / keep. A fact stated
twice stays one row with a higher confidence; a contradicted one is updated with its old
value kept in memory_fact_history (when it was true). Both answers are schema-checked
(structured.ask: one retry, then a sentence); nothing is written before both are valid.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mira_ls.llm import structured
from mira_ls.llm.errors import LlmError
from mira_ls.llm.redact import redact
from mira_ls.llm.service import LlmService
from mira_ls.memory import owner
from mira_ls.memory.profile import Profiles, pattern_json, profile_json
from mira_ls.store import Store
from mira_ls.store import memory_facts as q
from mira_ls.store import message_facts as mq
from mira_ls.store.connection import Connection
from mira_ls.store.memory_facts import FactRow
from mira_ls.vectors.embeddings import Embedder, from_blob

log = logging.getLogger(__name__)

CATEGORIES = ("preference", "stack", "tooling", "project", "communication", "personal", "other")
SIMILAR_LIMIT = 5
SIMILAR_MIN = 0.5  # cosine below which an existing fact is not shown to the decision
FORGET_MIN = 0.75  # cosine from which words said to forget name a fact
CONFIRM_STEP = 0.1  # confidence added when a fact is stated again
MAX_TEXT = 4000

_CANDIDATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["key", "value", "category", "scope", "confidence"],
    "properties": {
        "key": {"type": "string", "description": "short snake_case name, e.g. package_manager"},
        "value": {"type": "string"},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "scope": {"type": "string", "enum": ["user", "project"]},
        "confidence": {"type": "number"},
    },
}
EXTRACT_SCHEMA = structured.list_schema("facts", _CANDIDATE)
EXTRACT_SYSTEM = (
    "You keep a programmer's long-term memory. From the statement, list durable facts about "
    "the user or their project (tools, stack, preferences, conventions, deployment), each as "
    "a short snake_case key and a plain value. scope is project when the fact belongs to "
    "this project only, else user. Skip small talk and anything temporary. No secrets. "
    "Answer with JSON only; an empty list when there is nothing durable."
)
ACTIONS = ("add", "update", "delete", "keep")
_DECISION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["candidate", "action", "fact_id"],
    "properties": {
        "candidate": {"type": "integer", "description": "index of the new fact, from 0"},
        "action": {"type": "string", "enum": list(ACTIONS)},
        "fact_id": {
            "type": ["integer", "null"],
            "description": "the existing fact updated, deleted or kept; null for add",
        },
    },
}
DECIDE_SCHEMA = structured.list_schema("decisions", _DECISION)
DECIDE_SYSTEM = (
    "You maintain a memory of facts. For each new fact decide, against the existing facts "
    "listed with it: add (nothing existing says this), update (an existing fact on the same "
    "thing is now different: give its fact_id), delete (the new fact says an existing one is "
    "no longer true and replaces it with nothing: give its fact_id), keep (an existing fact "
    "already says this: give its fact_id). One decision per new fact. JSON only."
)


class MemoryError_(Exception):
    """Memory cannot do what was asked: ``str(exc)`` is the sentence for the user."""


@dataclass(frozen=True)
class Candidate:
    key: str
    value: str
    category: str
    scope: str
    confidence: float


@dataclass
class Change:
    action: str  # add, update, delete, keep
    fact: FactRow
    previous: str | None = None  # the value before an update


@dataclass
class Remembered:
    changes: list[Change] = field(default_factory=list)
    cost_micro: int = 0
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    model: str | None = None
    reasoning_effort: str | None = None

    @property
    def message(self) -> str:
        if not self.changes:
            return "Nothing durable to remember in that."
        return "; ".join(_change_line(c) for c in self.changes) + "."


def _change_line(c: Change) -> str:
    f = c.fact
    if c.action == "add":
        return f"remembered #{f.id} {f.key}: {f.value}"
    if c.action == "update":
        return f"updated #{f.id} {f.key}: {c.previous} -> {f.value}"
    if c.action == "delete":
        return f"no longer true #{f.id} {f.key}: {f.value}"
    return f"already known #{f.id} {f.key}: {f.value} (confidence {f.confidence:.2f})"


def _check_candidates(data: Any) -> str | None:
    if not isinstance(data, dict) or set(data) != {"facts"} or not isinstance(data["facts"], list):
        return 'the answer must be an object with one key, "facts", a list'
    for i, f in enumerate(data["facts"]):
        if not isinstance(f, dict) or set(f) != set(_CANDIDATE["required"]):  # type: ignore[call-overload]
            return f"fact {i} must have exactly the keys key, value, category, scope, confidence"
        if not all(isinstance(f[k], str) and f[k].strip() for k in ("key", "value")):
            return f"fact {i}: key and value must be non-empty text"
        if f["category"] not in CATEGORIES or f["scope"] not in ("user", "project"):
            return f"fact {i}: category or scope is not one of the allowed values"
        if not isinstance(f["confidence"], int | float) or not 0 <= f["confidence"] <= 1:
            return f"fact {i}: confidence must be a number from 0 to 1"
    return None


def _decision_check(n: int, allowed: dict[int, set[int]]) -> structured.Validator:
    def check(data: Any) -> str | None:
        if not isinstance(data, dict) or set(data) != {"decisions"}:
            return 'the answer must be an object with one key, "decisions"'
        seen: set[int] = set()
        for d in data["decisions"] if isinstance(data["decisions"], list) else [None]:
            if not isinstance(d, dict) or set(d) != {"candidate", "action", "fact_id"}:
                return "each decision must have exactly candidate, action, fact_id"
            c, a, fid = d["candidate"], d["action"], d["fact_id"]
            if not isinstance(c, int) or not 0 <= c < n or c in seen:
                return f"candidate must be each index from 0 to {n - 1} once"
            seen.add(c)
            if a not in ACTIONS:
                return f"action must be one of {', '.join(ACTIONS)}"
            if a != "add" and fid not in allowed[c]:
                return f"decision {c}: fact_id must be one of the facts listed with it"
        return None if len(seen) == n else f"give one decision for each of the {n} new facts"

    return check


def parse_candidates(facts: list[dict[str, Any]]) -> list[Candidate]:
    """Checked extraction items as candidates: keys normalized, values redacted, one per
    (scope, key) (the last one said)."""
    cands: dict[tuple[str, str], Candidate] = {}
    for f in facts:
        key = normalize_key(f["key"])
        if key:
            value = redact(" ".join(f["value"].split()))[:500]
            c = Candidate(key, value, f["category"], f["scope"], float(f["confidence"]))
            cands[(c.scope, key)] = c
    return list(cands.values())


def normalize_key(key: str) -> str:
    return "_".join("".join(ch if ch.isalnum() else " " for ch in key.lower()).split())[:80]


def fact_text(key: str, value: str) -> str:
    return f"{key.replace('_', ' ')}: {value}"


@dataclass
class Memory:
    """Facts of one user, seen from one project (None: outside any workspace)."""

    store: Store
    svc: LlmService
    user_id: int
    project_id: int | None
    embedder: Embedder | None = None
    enabled: bool = True
    clock: Callable[[], float] = time.time
    operation: str = "memory"  # budget_tracking.operation of its calls
    effort: str | None = None  # None: structured.STRUCTURED_EFFORT
    on_request: Callable[[str], None] | None = None  # told each budget request id

    @classmethod
    def open(
        cls, store: Store, svc: LlmService, project_id: int | None, *, enabled: bool | None = None
    ) -> Memory:
        """``enabled``: the current memory.enabled (the service may be older than it)."""
        on = svc.settings.memory.enabled if enabled is None else enabled
        user = owner.local_user_id(store)
        return cls(store, svc, user, project_id, owner.memory_embedder(store, svc), on)

    # -- reading -------------------------------------------------------------------------

    def facts(self, *, deprecated: bool = False) -> list[FactRow]:
        return q.visible(self.store.conn(), self.user_id, self.project_id, deprecated=deprecated)

    def similar(self, text: str, limit: int = SIMILAR_LIMIT) -> list[tuple[FactRow, float]]:
        """Current facts nearest to ``text`` by cosine (empty without embeddings)."""
        if self.embedder is None:
            return []
        qv = self.embedder.query_vector(text, project_id=self.project_id)
        conn = self.store.conn()
        rows = q.vectors(conn, self.user_id, self.project_id, self.embedder.model,
                         self.embedder.dimensions)  # fmt: skip
        if not rows:
            return []
        mat = np.stack([from_blob(b) for _, b in rows])
        sims = mat @ qv / (np.linalg.norm(mat, axis=1) * (np.linalg.norm(qv) or 1.0) + 1e-9)
        order = np.argsort(-sims)[:limit]
        out = [(q.get(conn, rows[i][0]), float(sims[i])) for i in order]
        return [(f, s) for f, s in out if f is not None]

    # -- remembering ---------------------------------------------------------------------

    def remember(
        self, text: str, *, source: str = "user", source_entry_id: int | None = None
    ) -> Remembered:
        """Extract facts from ``text`` and fold them in; MemoryError_/LlmError: a sentence."""
        if not self.enabled:
            raise MemoryError_("Memory is off (mira.memory.enabled); nothing was remembered.")
        clean = redact(self.svc.scrub(text.strip()))[:MAX_TEXT]
        if not clean:
            raise MemoryError_("Say what to remember, e.g. `I use Poetry for this project`.")
        out = Remembered()
        cands = self._extract(clean, out)
        if not cands:
            return out
        related = [self._related(c) for c in cands]
        decisions = self._decide(cands, related, out)
        self._apply(cands, decisions, source, source_entry_id, out)
        self._drop_query_vectors([fact_text(c.key, c.value) for c in cands])
        self.refold()
        return out

    def _drop_query_vectors(self, texts: list[str]) -> None:
        """Vectors made only to compare candidates (a kept restatement) are not kept."""
        if self.embedder is None:
            return
        stored = self.embedder.stored([self.embedder.key(t) for t in texts])
        with self.store.write() as w:
            q.drop_unused_embeddings(w, [eid for eid, _ in stored.values()])

    def _ask(self, name: str, schema: dict[str, Any], system: str, user: str,
             check: structured.Validator, out: Remembered) -> Any:  # fmt: skip
        req = structured.StructuredRequest(
            name, schema, system, user, self.operation, self.project_id,
            reasoning_effort=self.effort,
        )  # fmt: skip
        ans = structured.ask(self.svc, req, check, None, self.on_request)
        out.cost_micro += ans.cost_micro
        out.calls += 0 if ans.cached else ans.attempts
        if not ans.cached:
            out.input_tokens += ans.input_tokens
            out.output_tokens += ans.output_tokens
        out.model, out.reasoning_effort = ans.model, ans.reasoning_effort
        return ans.data

    def _extract(self, text: str, out: Remembered) -> list[Candidate]:
        data = self._ask("memory_facts", EXTRACT_SCHEMA, EXTRACT_SYSTEM,
                         f"Statement:\n{text}", _check_candidates, out)  # fmt: skip
        return parse_candidates(data["facts"])

    def _scope_project(self, c: Candidate) -> int | None:
        return self.project_id if c.scope == "project" else None

    def _related(self, c: Candidate) -> list[FactRow]:
        conn = self.store.conn()
        found: dict[int, FactRow] = {}
        for pid in {self._scope_project(c), None}:
            same = q.by_key(conn, self.user_id, pid, c.key)
            if same is not None:
                found[same.id] = same
        try:
            near = self.similar(fact_text(c.key, c.value))
        except LlmError as exc:  # no vector: key matches still decide
            log.info("memory: no vector for a candidate fact: %s", exc)
            near = []
        for f, s in near:
            if s >= SIMILAR_MIN:
                found.setdefault(f.id, f)
        return list(found.values())

    def _decide(
        self, cands: list[Candidate], related: list[list[FactRow]], out: Remembered
    ) -> list[dict[str, Any]]:
        if not any(related):
            return [{"candidate": i, "action": "add", "fact_id": None} for i in range(len(cands))]
        lines = []
        for i, (c, rel) in enumerate(zip(cands, related, strict=True)):
            lines.append(f"New fact {i}: {c.key} = {c.value} ({c.scope})")
            lines += [f"  existing fact_id {f.id}: {f.key} = {f.value}" for f in rel]
            if not rel:
                lines.append("  (no existing fact on this)")
        allowed = {i: {f.id for f in rel} for i, rel in enumerate(related)}
        data = self._ask("memory_decisions", DECIDE_SCHEMA, DECIDE_SYSTEM, "\n".join(lines),
                         _decision_check(len(cands), allowed), out)  # fmt: skip
        return sorted(data["decisions"], key=lambda d: d["candidate"])

    def _apply(self, cands: list[Candidate], decisions: list[dict[str, Any]], source: str,
               entry: int | None, out: Remembered, *, entries: list[int] | None = None,
               also: Callable[[Connection], None] | None = None) -> None:  # fmt: skip
        """Write the decisions in one transaction. ``entries``: the chat message each
        candidate came from (recorded as a source of the fact it changed); ``also`` writes
        in the same transaction (the messages marked done)."""
        now = int(self.clock())
        touched: list[int] = []
        with self.store.write() as w:
            for d in decisions:
                i = d["candidate"]
                e = entries[i] if entries is not None else entry
                ch = self._apply_one(w, cands[i], d, source, e, now)
                if ch is not None:
                    out.changes.append(ch)
                    touched.append(ch.fact.id)
                    if e is not None:
                        mq.add_source(w, ch.fact.id, e, ch.action, now)
                    if source == "user" and ch.fact.source != "user":
                        q.set_source(w, ch.fact.id, "user")  # told directly: it stays
            if also is not None:
                also(w)
        self._embed(touched)
        conn = self.store.conn()
        for ch in out.changes:
            ch.fact = q.get(conn, ch.fact.id) or ch.fact

    def _apply_one(self, w: Connection, c: Candidate, d: dict[str, Any], source: str,
                   entry: int | None, now: int) -> Change | None:  # fmt: skip
        action = d["action"]
        old = q.get(w, d["fact_id"]) if d["fact_id"] is not None else None
        if action == "add":  # the same key in the same scope is one row: an update
            old = q.by_key(w, self.user_id, self._scope_project(c), c.key)
            action = "add" if old is None else ("keep" if old.value == c.value else "update")
        if old is None:
            fid = q.insert(w, self.user_id, self._scope_project(c), c.key, c.value, c.category,
                           c.confidence, source, entry, now)  # fmt: skip
            return Change("add", q.get(w, fid))  # type: ignore[arg-type]
        if action == "keep" and not old.deprecated:
            q.confirm(w, old.id, min(1.0, max(old.confidence, c.confidence) + CONFIRM_STEP), now)
            return Change("keep", old)
        if action == "delete":
            q.deprecate(w, old, now)
            return Change("delete", old)
        q.set_value(w, old, c.value, c.category, c.confidence, now, source_entry_id=entry)
        return Change("update", old, previous=old.value)

    def _embed(self, fact_ids: list[int]) -> None:
        """Each changed fact's vector; a failure leaves the fact findable by key only."""
        if self.embedder is None or not fact_ids:
            return
        conn = self.store.conn()
        facts = [f for f in (q.get(conn, i) for i in fact_ids) if f is not None]
        texts = {f.id: fact_text(f.key, f.value) for f in facts}
        run = self.embedder.embed(list(texts.values()), project_id=self.project_id,
                                  operation="memory_embed")  # fmt: skip
        if run.stopped:
            log.info("memory: facts not embedded: %s", run.stopped)
        stored = self.embedder.stored([self.embedder.key(t) for t in texts.values()])
        with self.store.write() as w:
            for fid, t in texts.items():
                hit = stored.get(self.embedder.key(t))
                if hit is not None:
                    q.set_vector(w, fid, hit[0])

    # -- forgetting ----------------------------------------------------------------------

    def forget(self, what: str | int) -> list[FactRow]:
        """Remove the fact with that id, or the facts the text names (by key or value, else
        the nearest by meaning); their history and vectors go with them."""
        conn = self.store.conn()
        if isinstance(what, int) or (isinstance(what, str) and what.strip().lstrip("#").isdigit()):
            fid = int(str(what).strip().lstrip("#"))
            f = q.get(conn, fid)
            if f is None or f.user_id != self.user_id:
                raise MemoryError_(f"There is no remembered fact #{fid}; `mira-ls memory list`.")
            gone = [f]
        else:
            gone = self._named(str(what).strip())
        with self.store.write() as w:
            q.delete(w, [f.id for f in gone])
        self.refold()
        return gone

    def _named(self, text: str) -> list[FactRow]:
        if not text:
            raise MemoryError_("Say which fact to forget: its id or words from it.")
        conn = self.store.conn()
        found = q.matching(conn, self.user_id, self.project_id, text)
        if not found:
            found = q.matching(conn, self.user_id, self.project_id, normalize_key(text))
        if not found:
            found = [f for f, s in self._near_once(text) if s >= FORGET_MIN]
        if not found:
            raise MemoryError_(f"Nothing remembered matches {text!r}; `mira-ls memory list`.")
        return found

    def _near_once(self, text: str) -> list[tuple[FactRow, float]]:
        """The nearest fact to words said to forget; their own vector is not kept."""
        if self.embedder is None:
            return []
        try:
            near = self.similar(text, 1)
        except LlmError:
            return []
        hit = self.embedder.stored([self.embedder.key(text)]).get(self.embedder.key(text))
        if hit is not None:
            with self.store.write() as w:
                q.drop_unused_embeddings(w, [hit[0]])
        return near

    # -- showing -------------------------------------------------------------------------

    def profile(self) -> dict[str, Any]:
        """The user profile folded again from the facts and the messages (memory/profile.py,
        written to user_profile and learned_patterns), with the facts by category."""
        row, pats = Profiles(self.store, self.user_id, self.clock, self.enabled).fold()
        by_cat: dict[str, list[dict[str, Any]]] = {}
        for f in self.facts():
            by_cat.setdefault(f.category or "other", []).append(fact_json(f))
        return {**profile_json(row), "patterns": [pattern_json(p) for p in pats],
                "facts": by_cat}  # fmt: skip

    def refold(self) -> None:
        """The profile follows the facts (a failure to fold is logged, not raised: the
        facts themselves are written); memory off: nothing is folded."""
        if not self.enabled:
            return
        try:
            Profiles(self.store, self.user_id, self.clock).fold()
        except Exception:  # pragma: no cover - defensive
            log.exception("memory: the profile could not be folded again")

    def markdown(self) -> str:
        facts = self.facts(deprecated=True)
        if not facts:
            return "# What mira-ls remembers\n\nNothing yet. `mira.remember` adds a fact.\n"
        lines = ["# What mira-ls remembers", ""]
        conn = self.store.conn()
        for scope, pid in (("Project", self.project_id), ("You", None)):
            rows = [f for f in facts if f.project_id == pid and not f.deprecated]
            if rows and (scope == "You" or pid is not None):
                lines += [f"## {scope}", ""] + [_md_line(f, q.history(conn, f.id)) for f in rows]
                lines.append("")
        old = [f for f in facts if f.deprecated]
        if old:
            lines += ["## No longer true", ""] + [f"- #{f.id} {f.key}: {f.value}" for f in old]
            lines.append("")
        lines.append(
            'Forget one with `mira.forget {"id": N}` or `mira-ls memory forget N`; a '
            'message with `mira.forget {"message": N}` (and the facts from it alone).'
        )
        return "\n".join(lines) + "\n"


def _md_line(f: FactRow, hist: list[q.HistoryRow]) -> str:
    line = f"- #{f.id} **{f.key}**: {f.value} ({f.category or 'other'}, {f.confidence:.2f})"
    if f.source == "inferred" and f.source_entry_id is not None:
        line += f", from your message #{f.source_entry_id}"
    if hist:
        was = ", ".join(f"{h.value} until {_day(h.valid_to)}" for h in hist)
        line += f" — was {was}"
    return line


def _day(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def fact_json(f: FactRow) -> dict[str, Any]:
    return {"id": f.id, "key": f.key, "value": f.value, "category": f.category,
            "scope": "user" if f.project_id is None else "project",
            "confidence": round(f.confidence, 3), "source": f.source,
            "source_message": f.source_entry_id,
            "deprecated": f.deprecated, "updated_at": f.updated_at}  # fmt: skip
