"""Message analysis: salience, intent, topics and mood of every chat message, in the
background (a job on the runner's "llm" lane), batched, at the cheapest reasoning effort.

A batch is one strict json_schema answer (structured.ask: through the budget and the LLM
cache, one retry when invalid). Each message is keyed by the SHA-256 of its text: a text
analysed once is never asked about again (its analysis is copied). A batch whose answer
stays invalid marks its messages failed and writes nothing else. Analysed messages are
embedded into the ``conversation`` collection, kept in message_embeddings (the user's own
database, never a shared vector server).
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
from mira_ls.memory.profile import Profiles
from mira_ls.store import Store
from mira_ls.store import memory_analysis as q
from mira_ls.store.memory_analysis import Pending
from mira_ls.tasks.operations import Operation, Outcome
from mira_ls.vectors.embeddings import Embedder

log = logging.getLogger(__name__)

INTENTS = ("question", "request", "correction", "preference", "feedback", "other")
BATCH = 20  # messages per call
MAX_MESSAGE_CHARS = 1500  # of each message shown to the analysis
MAX_TOPICS = 5
CHEAPEST_EFFORT = "none"  # GPT-5.1; normalize_effort maps it to minimal for GPT-5

_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "salience", "intent", "topics", "mood"],
    "properties": {
        "id": {"type": "integer"},
        "salience": {"type": "number", "description": "0 (small talk) to 1 (must remember)"},
        "intent": {"type": "string", "enum": list(INTENTS)},
        "topics": {"type": "array", "items": {"type": "string"}},
        "mood": {"type": "string", "description": "one word: neutral, frustrated, pleased..."},
    },
}
SCHEMA = structured.list_schema("messages", _ITEM)
SYSTEM = (
    "You annotate a programmer's chat messages for a long-term memory. For each message "
    "give: salience from 0 to 1 (how worth remembering it is: decisions, preferences, "
    "corrections and facts score high, small talk low), intent, up to 5 short lowercase "
    "topics, and the writer's mood in one word. One entry per message id. JSON only."
)


def message_hash(role: str, text: str) -> str:
    return hashlib.sha256(f"{role}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()


def _check(ids: list[int]) -> structured.Validator:
    want = set(ids)

    def check(data: Any) -> str | None:
        if not isinstance(data, dict) or set(data) != {"messages"}:
            return 'the answer must be an object with one key, "messages"'
        items = data["messages"]
        if not isinstance(items, list):
            return '"messages" must be a list'
        seen: set[int] = set()
        for i, m in enumerate(items):
            if not isinstance(m, dict) or set(m) != set(_ITEM["required"]):  # type: ignore[call-overload]
                return f"entry {i} must have exactly id, salience, intent, topics, mood"
            if not isinstance(m["id"], int) or m["id"] not in want or m["id"] in seen:
                return f"ids must be each of {sorted(want)} once"
            seen.add(m["id"])
            s = m["salience"]
            if isinstance(s, bool) or not isinstance(s, int | float) or not 0 <= s <= 1:
                return f"entry {i}: salience must be a number from 0 to 1"
            if m["intent"] not in INTENTS:
                return f"entry {i}: intent must be one of {', '.join(INTENTS)}"
            if not isinstance(m["topics"], list) or not all(
                isinstance(t, str) for t in m["topics"]
            ):
                return f"entry {i}: topics must be a list of text"
            if not isinstance(m["mood"], str):
                return f"entry {i}: mood must be text"
        return None if seen == want else f"give one entry for each of the {len(want)} messages"

    return check


@dataclass
class AnalysisRun:
    analysed: int = 0  # messages given an analysis by the model
    reused: int = 0  # messages whose text was analysed before (no call)
    failed: int = 0
    calls: int = 0  # upstream calls (retries included; cache hits not)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micro: int = 0
    embedded: int = 0
    cached: int = 0  # batches answered from the LLM cache
    model: str | None = None  # the model that answered (after any downgrade)
    reasoning_effort: str | None = None
    stopped: str | None = None  # why it stopped early (budget, endpoint)
    errors: list[str] = field(default_factory=list)
    facts: dict[str, Any] | None = None  # the fact extraction that followed (message_facts)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Analyzer:
    store: Store
    svc: LlmService
    user_id: int
    embedder: Embedder | None = None
    enabled: bool = True
    batch: int = BATCH
    clock: Callable[[], float] = time.time

    @classmethod
    def open(cls, store: Store, svc: LlmService, *, enabled: bool | None = None) -> Analyzer:
        on = svc.settings.memory.enabled if enabled is None else enabled
        return cls(store, svc, owner.local_user_id(store), owner.memory_embedder(store, svc), on)

    def run(self, cancelled: Callable[[], bool] | None = None, limit: int = 10_000) -> AnalysisRun:
        """Analyse every pending message of the user, a batch at a time. A run that finds
        messages to analyse is one operation (command ``memory_analysis``, ``mira-ls ops``)
        whose cost is its budget_tracking rows (the analysis calls and the embeddings)."""
        out = AnalysisRun()
        if not self.enabled:
            return out
        done = 0
        op: Operation | None = None
        try:
            while done < limit:
                if cancelled is not None and cancelled():
                    out.stopped = "Message analysis was cancelled; the rest is analysed later."
                    break
                todo = q.pending(self.store.conn(), self.user_id, min(self.batch, limit - done))
                if not todo:
                    break
                if op is None:
                    op = self._open(todo[0].project_id, limit)
                done += len(todo)
                try:
                    self._batch(todo, out, op)
                except structured.StructuredInvalid:
                    continue  # marked failed; the next batch goes on
                except (BudgetRefused, LlmError) as exc:
                    out.stopped = str(exc)
                    out.errors.append(str(exc))
                    break
        except BaseException as exc:
            if op is not None:
                op.failed(f"mira-ls failed while analysing messages: {type(exc).__name__}.")
            raise
        if op is not None:
            self._close(op, out, cancelled)
        if out.analysed or out.reused:  # new intents and topics: the patterns follow
            Profiles(self.store, self.user_id, self.clock).fold()
        return out

    def _open(self, project_id: int | None, limit: int) -> Operation:
        n = min(limit, q.pending_count(self.store.conn(), self.user_id))
        op = Operation(
            self.store, uuid.uuid4().hex[:12], "memory_analysis",
            f"analyse {n} chat message{'s' * (n != 1)}", project_id, clock=self.clock,
        )  # fmt: skip
        op.running(model=self.svc.settings.llm.model, effort=CHEAPEST_EFFORT)
        return op

    def _close(self, op: Operation, out: AnalysisRun, cancelled: Callable[[], bool] | None) -> None:
        summary = (
            f"{out.analysed} analysed, {out.reused} reused, {out.failed} failed, "
            f"{out.embedded} embedded; {out.calls} calls"
        )
        outcome = Outcome(
            out.model or self.svc.settings.llm.model, out.reasoning_effort or CHEAPEST_EFFORT,
            out.input_tokens, out.output_tokens, cached=out.calls == 0 and out.cached > 0,
            summary=summary, from_budget=True,
        )  # fmt: skip
        if out.stopped and cancelled is not None and cancelled():
            op.cancelled(outcome)
        elif out.stopped:
            op.failed(out.stopped, outcome)
        elif out.failed and not (out.analysed or out.reused):
            op.failed(out.errors[0] if out.errors else f"{out.failed} messages failed.", outcome)
        else:
            op.done(outcome)

    def _batch(self, todo: list[Pending], out: AnalysisRun, op: Operation) -> None:
        now = int(self.clock())
        texts = {p.entry_id: redact(self.svc.scrub(p.content)) for p in todo}
        hashes = {p.entry_id: message_hash(p.role, texts[p.entry_id]) for p in todo}
        known = q.done_by_hash(self.store.conn(), list(set(hashes.values())))
        ask: list[Pending] = []
        first: dict[str, int] = {}  # one question per distinct text in the batch
        for p in todo:
            h = hashes[p.entry_id]
            if h not in known and h not in first:
                first[h] = p.entry_id
                ask.append(p)
        data: dict[int, dict[str, Any]] = {}
        model = ""
        if ask:
            try:
                ans = self._ask(ask, texts, out, op)
            except structured.StructuredInvalid as exc:
                with self.store.write() as w:
                    q.mark_failed(w, [p.entry_id for p in todo],
                                  [hashes[p.entry_id] for p in todo], str(exc), now)  # fmt: skip
                out.failed += len(todo)
                out.errors.append(str(exc))
                raise
            data = {m["id"]: m for m in ans.data["messages"]}
            model = ans.model
        with self.store.write() as w:
            for p in todo:
                h = hashes[p.entry_id]
                if h in known:
                    k = known[h]
                    q.insert(w, p.entry_id, h, k.salience, k.intent or "other", k.topics,
                             k.mood, k.analyzed_by or "cache", now)  # fmt: skip
                    out.reused += 1
                    continue
                m = data[first[h]]
                topics = [" ".join(t.lower().split())[:40] for t in m["topics"] if t.strip()]
                mood = m["mood"].strip()[:30] or None
                q.insert(w, p.entry_id, h, float(m["salience"]), m["intent"],
                         topics[:MAX_TOPICS], mood, model, now)  # fmt: skip
                if first[h] == p.entry_id:
                    out.analysed += 1
                else:
                    out.reused += 1
        self._embed(todo, texts, out, op)

    def _ask(
        self, ask: list[Pending], texts: dict[int, str], out: AnalysisRun, op: Operation
    ) -> structured.StructuredAnswer:
        lines = [
            f"Message id {p.entry_id} ({p.role}):\n{texts[p.entry_id][:MAX_MESSAGE_CHARS]}"
            for p in ask
        ]
        req = structured.StructuredRequest(
            "message_analysis", SCHEMA, SYSTEM, "\n\n".join(lines), "memory_analysis",
            ask[0].project_id, reasoning_effort=CHEAPEST_EFFORT,
        )  # fmt: skip
        ans = structured.ask(self.svc, req, _check([p.entry_id for p in ask]), None, op.on_request)
        out.cost_micro += ans.cost_micro
        out.model, out.reasoning_effort = ans.model, ans.reasoning_effort
        out.cached += int(ans.cached)
        if not ans.cached:
            out.calls += ans.attempts
            out.input_tokens += ans.input_tokens
            out.output_tokens += ans.output_tokens
        return ans

    def _embed(
        self, todo: list[Pending], texts: dict[int, str], out: AnalysisRun, op: Operation
    ) -> None:
        """Each analysed message into the conversation collection (its text embedded once)."""
        if self.embedder is None:
            return
        emb = self.embedder
        wanted = {p.entry_id: texts[p.entry_id] for p in todo if texts[p.entry_id].strip()}
        run = emb.embed(list(wanted.values()), project_id=todo[0].project_id,
                        operation="embed_memory", on_request=op.on_request)  # fmt: skip
        out.cost_micro += run.cost_micro
        if run.stopped:
            log.info("memory: messages not embedded: %s", run.stopped)
        keys = {eid: emb.key(t) for eid, t in wanted.items()}
        stored = emb.stored(list(set(keys.values())))
        with self.store.write() as w:
            for eid, key in keys.items():
                hit = stored.get(key)
                if hit is not None:
                    q.set_message_vector(w, eid, hit[0], emb.model, emb.dimensions,
                                         emb.point_id(key), key)  # fmt: skip
                    out.embedded += 1


def job(ctx: Any, store: Store, svc: LlmService) -> AnalysisRun:
    """The runner's job (lane "llm", key ANALYSIS_KEY): every pending message analysed, then
    the facts in the user's messages that may hold one (memory/message_facts.py)."""
    from mira_ls.memory.message_facts import run_after_analysis

    run = Analyzer.open(store, svc).run(ctx.cancelled)
    if run.model is not None or not run.stopped:
        run.facts = run_after_analysis(store, svc, ctx.cancelled).as_json()
    if run.analysed or run.reused or run.failed:
        log.info("memory analysis: %s", run.as_json())
    return run


ANALYSIS_KEY = ("memory", "analysis")
