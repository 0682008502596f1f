"""Facts from chat messages: after message analysis, the user's messages likely to hold a
durable fact (intent preference or correction, or a salience of at least
``memory.factMinSalience``) go through the same extraction and add / update / delete / keep
decision as ``mira.remember`` (memory/facts.py), batched (several messages per call), at
the cheapest effort, schema-checked, through the budget.

Each message is considered once: marked in message_fact_extraction with the hash of its
text, and a text extracted once has its candidates copied, never asked again. An answer
invalid twice (extraction or decision) marks the batch's messages failed and writes nothing
else. A fact keeps the messages it came from (memory_fact_sources); forgetting a message
forgets the facts it alone was the source of. A run with work is one operation,
``memory_facts`` (``mira-ls ops``).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mira_ls.llm import structured
from mira_ls.llm.budget import BudgetRefused
from mira_ls.llm.errors import LlmError
from mira_ls.llm.redact import redact
from mira_ls.llm.service import LlmService
from mira_ls.memory import owner
from mira_ls.memory.facts import (
    _CANDIDATE,
    EXTRACT_SYSTEM,
    MAX_TEXT,
    Candidate,
    Memory,
    Remembered,
    _check_candidates,
    parse_candidates,
)
from mira_ls.store import Store
from mira_ls.store import memory_facts as fq
from mira_ls.store import message_facts as q
from mira_ls.store.connection import Connection
from mira_ls.store.message_facts import Due
from mira_ls.tasks.operations import Operation, Outcome
from mira_ls.vectors.embeddings import Embedder

log = logging.getLogger(__name__)

BATCH = 10  # messages per extraction call
INTENTS = ("preference", "correction")  # analysis intents that go to extraction
CHEAPEST_EFFORT = "none"
OPERATION = "memory_facts"
PER_RUN = 200  # messages per run after an analysis (older ones wait for the next run)

_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "facts"],
    "properties": {
        "id": {"type": "integer"},
        "facts": {"type": "array", "items": _CANDIDATE},
    },
}
SCHEMA = structured.list_schema("messages", _ITEM)
SYSTEM = (
    EXTRACT_SYSTEM.replace("From the statement", "From each chat message")
    + " One entry per message id, with an empty facts list when it holds nothing durable."
)
_SALT = hashlib.sha256(f"{SYSTEM}\0{structured.schema_hash(SCHEMA)}".encode()).hexdigest()


def text_hash(model: str, text: str) -> str:
    """The cache key of one message's extraction: the model, the effort, the prompt and
    schema, and the exact (redacted) text."""
    return hashlib.sha256(
        f"{model}\0{CHEAPEST_EFFORT}\0{_SALT}\0{text}".encode("utf-8", "surrogatepass")
    ).hexdigest()


def _check(ids: list[int]) -> structured.Validator:
    want = set(ids)

    def check(data: Any) -> str | None:
        if not isinstance(data, dict) or set(data) != {"messages"}:
            return 'the answer must be an object with one key, "messages"'
        if not isinstance(data["messages"], list):
            return '"messages" must be a list'
        seen: set[int] = set()
        for i, m in enumerate(data["messages"]):
            if not isinstance(m, dict) or set(m) != {"id", "facts"}:
                return f"entry {i} must have exactly id and facts"
            if not isinstance(m["id"], int) or m["id"] not in want or m["id"] in seen:
                return f"ids must be each of {sorted(want)} once"
            seen.add(m["id"])
            problem = _check_candidates({"facts": m["facts"]})
            if problem is not None:
                return f"message {m['id']}: {problem}"
        return None if seen == want else f"give one entry for each of the {len(want)} messages"

    return check


@dataclass
class FactsRun:
    extracted: int = 0  # messages whose text was asked about
    reused: int = 0  # messages whose text was extracted before (no call)
    failed: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    kept: int = 0
    calls: int = 0  # upstream calls (retries included; cache hits not)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micro: int = 0
    model: str | None = None
    reasoning_effort: str | None = None
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def take(self, r: Remembered) -> None:
        self.calls += r.calls
        self.cost_micro += r.cost_micro
        self.input_tokens += r.input_tokens
        self.output_tokens += r.output_tokens
        if r.model:
            self.model, self.reasoning_effort = r.model, r.reasoning_effort


@dataclass
class MessageFacts:
    store: Store
    svc: LlmService
    user_id: int
    embedder: Embedder | None = None
    enabled: bool = True
    min_salience: float = 0.7
    batch: int = BATCH
    clock: Callable[[], float] = time.time

    @classmethod
    def open(cls, store: Store, svc: LlmService, *, enabled: bool | None = None) -> MessageFacts:
        mem = svc.settings.memory
        on = mem.enabled if enabled is None else enabled
        return cls(store, svc, owner.local_user_id(store), owner.memory_embedder(store, svc), on,
                   mem.fact_min_salience)  # fmt: skip

    def why_not(self) -> str | None:
        if not self.enabled:
            return "memory is off"
        e = self.svc.endpoint
        if not e.api_key and e.is_openai:
            return "no API key is configured"
        return None

    def run(self, cancelled: Callable[[], bool] | None = None, limit: int = 1000) -> FactsRun:
        out = FactsRun()
        skip = self.why_not()
        if skip is not None:
            out.stopped = None if skip == "memory is off" else f"Facts were not extracted: {skip}."
            return out
        op: Operation | None = None
        done = 0
        changed = False
        try:
            while done < limit:
                if cancelled is not None and cancelled():
                    out.stopped = "Fact extraction was cancelled; the rest is done later."
                    break
                due = q.due(self.store.conn(), self.user_id, INTENTS, self.min_salience,
                            min(self.batch, limit - done))  # fmt: skip
                if not due:
                    break
                if op is None:
                    op = self._open(due[0].project_id)
                done += len(due)
                groups: dict[int | None, list[Due]] = {}
                for d in due:
                    groups.setdefault(d.project_id, []).append(d)
                try:
                    for pid, group in groups.items():
                        changed |= self._batch(pid, group, out, op)
                except (BudgetRefused, LlmError) as exc:
                    out.stopped = str(exc)
                    out.errors.append(str(exc))
                    break
        except BaseException as exc:
            if op is not None:
                op.failed(f"mira-ls failed while extracting facts: {type(exc).__name__}.")
            raise
        if op is not None:
            self._close(op, out, cancelled)
        if changed:
            Memory(self.store, self.svc, self.user_id, None, None, True, self.clock).refold()
        return out

    def _open(self, project_id: int | None) -> Operation:
        op = Operation(self.store, uuid.uuid4().hex[:12], OPERATION,
                       "facts from chat messages", project_id, clock=self.clock)  # fmt: skip
        op.running(model=self.svc.settings.llm.model, effort=CHEAPEST_EFFORT)
        return op

    def _close(self, op: Operation, out: FactsRun, cancelled: Callable[[], bool] | None) -> None:
        summary = (
            f"{out.extracted} extracted, {out.reused} reused, {out.failed} failed; "
            f"{out.added} added, {out.updated} updated, {out.deleted} no longer true, "
            f"{out.kept} confirmed; {out.calls} calls"
        )
        outcome = Outcome(
            out.model or self.svc.settings.llm.model, out.reasoning_effort or CHEAPEST_EFFORT,
            out.input_tokens, out.output_tokens, cached=False, summary=summary,
            from_budget=True,
        )  # fmt: skip
        if out.stopped and cancelled is not None and cancelled():
            op.cancelled(outcome)
        elif out.stopped:
            op.failed(out.stopped, outcome)
        elif out.failed and not (out.extracted or out.reused):
            op.failed(out.errors[0] if out.errors else f"{out.failed} messages failed.", outcome)
        else:
            op.done(outcome)

    def _memory(self, project_id: int | None, op: Operation) -> Memory:
        return Memory(self.store, self.svc, self.user_id, project_id, self.embedder, True,
                      self.clock, OPERATION, CHEAPEST_EFFORT, op.on_request)  # fmt: skip

    def _batch(self, project_id: int | None, due: list[Due], out: FactsRun, op: Operation) -> bool:
        """One project's messages: extracted (one call for the texts not seen before),
        decided and written; True when a fact changed."""
        now = int(self.clock())
        mem = self._memory(project_id, op)
        model = self.svc.settings.llm.model
        texts = {d.entry_id: redact(self.svc.scrub(d.content.strip()))[:MAX_TEXT] for d in due}
        hashes = {d.entry_id: text_hash(model, texts[d.entry_id]) for d in due}
        known = q.done_by_hash(self.store.conn(), list(set(hashes.values())))
        ask: dict[str, int] = {}  # one question per distinct text
        for d in due:
            h = hashes[d.entry_id]
            if h not in known and h not in ask and texts[d.entry_id]:
                ask[h] = d.entry_id
        ids = [d.entry_id for d in due]
        found: dict[str, list[dict[str, Any]]] = dict(known)
        r = Remembered()
        try:
            if ask:
                lines = [f"Message id {eid}:\n{texts[eid]}" for eid in ask.values()]
                data = mem._ask("memory_message_facts", SCHEMA, SYSTEM, "\n\n".join(lines),
                                _check(list(ask.values())), r)  # fmt: skip
                by_id = {m["id"]: m["facts"] for m in data["messages"]}
                for h, eid in ask.items():
                    found[h] = [c.__dict__ for c in parse_candidates(by_id[eid])]
            cands: dict[int, list[Candidate]] = {
                eid: [Candidate(**c) for c in found.get(hashes[eid], [])] for eid in ids
            }
            changed = self._decide_and_write(mem, due, cands, hashes, found, r, now)
        except structured.StructuredInvalid as exc:
            with self.store.write() as w:  # the messages not written in an earlier round
                q.mark_failed(w, ids, [hashes[i] for i in ids], str(exc), now)
            conn = self.store.conn()
            failed = {i for i in ids if q.status_of(conn, i) == "failed"}
            out.failed += len(failed)
            out.errors.append(str(exc))
            self._count(out, r, [i for i in ids if i not in failed], hashes, ask)
            return bool(r.changes)
        except LlmError:  # budget or endpoint: the rounds written count, the rest wait
            conn = self.store.conn()
            self._count(out, r, [i for i in ids if q.status_of(conn, i) == "done"], hashes, ask)
            raise
        self._count(out, r, ids, hashes, ask)
        return changed

    @staticmethod
    def _count(out: FactsRun, r: Remembered, ids: list[int], hashes: dict[int, str],
               ask: dict[str, int]) -> None:  # fmt: skip
        out.take(r)
        for eid in ids:
            if ask.get(hashes[eid]) == eid:
                out.extracted += 1
            else:
                out.reused += 1
        for ch in r.changes:
            if ch.action == "add":
                out.added += 1
            elif ch.action == "update":
                out.updated += 1
            elif ch.action == "delete":
                out.deleted += 1
            else:
                out.kept += 1

    def _decide_and_write(self, mem: Memory, due: list[Due], cands: dict[int, list[Candidate]],
                          hashes: dict[int, str], found: dict[str, list[dict[str, Any]]],
                          r: Remembered, now: int) -> bool:  # fmt: skip
        """Decide in rounds where no two messages say something about the same key (a later
        message is decided against what the earlier one wrote); each round is one decision
        call for the facts not plainly restated, written with its messages marked done in
        one transaction. A StructuredInvalid before the first round writes nothing."""
        rounds: list[list[Due]] = []
        last: dict[tuple[str, str], int] = {}
        for d in due:
            keys = [(c.scope, c.key) for c in cands[d.entry_id]]
            k = max((last[x] + 1 for x in keys if x in last), default=0)
            for x in keys:
                last[x] = k
            while len(rounds) <= k:
                rounds.append([])
            rounds[k].append(d)
        changed = False
        for group in rounds:
            flat: list[Candidate] = []
            entries: list[int] = []
            for d in group:
                flat += cands[d.entry_id]
                entries += [d.entry_id] * len(cands[d.entry_id])
            decisions = self._decisions(mem, flat, r) if flat else []

            def mark(w: Connection, group: list[Due] = group) -> None:
                for d in group:
                    h = hashes[d.entry_id]
                    q.mark_done(w, d.entry_id, h, found.get(h, []), r.model, now)

            before = len(r.changes)
            mem._apply(flat, decisions, "inferred", None, r, entries=entries, also=mark)
            changed |= len(r.changes) > before
        if changed:
            mem._drop_query_vectors([f"{c.key.replace('_', ' ')}: {c.value}"
                                     for cs in cands.values() for c in cs])  # fmt: skip
        return changed

    def _decisions(
        self, mem: Memory, cands: list[Candidate], r: Remembered
    ) -> list[dict[str, Any]]:
        """A candidate the same as the fact with its key (value equal but for case) is kept
        without asking; the others go to the model's decision (memory/facts.py)."""
        conn = self.store.conn()
        out: list[dict[str, Any]] = []
        rest: list[int] = []
        for i, c in enumerate(cands):
            same = fq.by_key(conn, self.user_id, mem._scope_project(c), c.key)
            if (
                same is not None
                and not same.deprecated
                and same.value.casefold() == c.value.casefold()
            ):
                out.append({"candidate": i, "action": "keep", "fact_id": same.id})
            else:
                rest.append(i)
        if rest:
            sub = [cands[i] for i in rest]
            for d in mem._decide(sub, [mem._related(c) for c in sub], r):
                out.append({**d, "candidate": rest[d["candidate"]]})
        return sorted(out, key=lambda d: d["candidate"])


def run_after_analysis(store: Store, svc: LlmService, cancelled: Callable[[], bool] | None = None,
                       *, enabled: bool | None = None) -> FactsRun:  # fmt: skip
    """The fact extraction that follows each message-analysis run (a failure to extract is
    a sentence in the run, never an exception out of the analysis job)."""
    run = MessageFacts.open(store, svc, enabled=enabled).run(cancelled, PER_RUN)
    if run.extracted or run.reused or run.failed or run.stopped:
        log.info("memory facts from messages: %s", run.as_json())
    return run
