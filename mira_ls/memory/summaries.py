"""Rolling summaries of a session: after every 10 messages a summary of those 10 (level 1);
after every 100 a summary of the ten level-1 summaries (level 2). When a session's history
no longer fits its token share, the oldest messages go to the model as these summaries
(memory/conversation.py) instead of being cut.

Each block is one strict json_schema answer (structured.ask: through the budget and the
LLM cache, at the cheapest effort, one retry when invalid): a short summary and the key
facts and decisions. A block whose answer stays invalid gets nothing written (the run says
so, and the next run asks again). Messages are redacted before they are sent, and the
summary before it is stored. A run that finds a block to summarise is one operation
(command ``memory_summaries``); summaries are embedded into the user's own database
(rolling_summaries.embedding_id) when an embedder is available.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mira_ls.llm import structured, tokens
from mira_ls.llm.budget import BudgetRefused
from mira_ls.llm.errors import LlmError
from mira_ls.llm.redact import redact
from mira_ls.llm.service import LlmService
from mira_ls.memory import owner
from mira_ls.memory.analysis import CHEAPEST_EFFORT
from mira_ls.memory.conversation import render
from mira_ls.store import Store
from mira_ls.store import memory_summaries as q
from mira_ls.store.memory_summaries import LEVEL1, LEVEL2, Message, SummaryRow
from mira_ls.tasks.operations import Operation, Outcome
from mira_ls.vectors.embeddings import Embedder

log = logging.getLogger(__name__)

PER_LEVEL2 = LEVEL2 // LEVEL1  # level-1 summaries in a level-2 one
MAX_MESSAGE_CHARS = 2000  # of each message shown to the summary
MAX_SUMMARY_CHARS = 1500  # of the summary kept
MAX_FACTS = 10
MAX_FACT_CHARS = 200

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["summary", "key_facts"],
    "properties": {
        "summary": {"type": "string", "description": "what was asked and answered, briefly"},
        "key_facts": {
            "type": "array",
            "items": {"type": "string"},
            "description": "facts, decisions and preferences worth keeping, one each",
        },
    },
}
SYSTEM_MESSAGES = (
    "You summarise part of a programmer's conversation with a coding assistant so it can "
    "be continued later without the messages. Give a summary of at most 80 words (what "
    "was asked, what was answered or decided, in the past tense) and up to 10 key facts and "
    "decisions (names, versions, files, preferences, conclusions), each a short sentence. "
    "JSON only."
)
SYSTEM_SUMMARIES = (
    "You merge consecutive summaries of a programmer's conversation with a coding "
    "assistant into one: a summary of at most 120 words and up to 10 key facts and "
    "decisions that still hold (a later one wins over an earlier one). JSON only."
)


def _check(data: Any) -> str | None:
    if not isinstance(data, dict) or set(data) != {"summary", "key_facts"}:
        return 'the answer must be an object with exactly "summary" and "key_facts"'
    if not isinstance(data["summary"], str) or not data["summary"].strip():
        return '"summary" must be a non-empty text'
    facts = data["key_facts"]
    if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
        return '"key_facts" must be a list of text'
    return None


@dataclass
class SummaryRun:
    level1: int = 0  # level-1 summaries written
    level2: int = 0
    failed: int = 0  # blocks whose answer stayed invalid (nothing written for them)
    calls: int = 0  # upstream calls (retries included; cache hits not)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micro: int = 0
    embedded: int = 0
    cached: int = 0  # blocks answered from the LLM cache
    model: str | None = None
    reasoning_effort: str | None = None
    stopped: str | None = None  # why it stopped early (budget, endpoint, cancel)
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def text(self) -> str:
        out = (
            f"{self.level1} summaries of 10 messages, {self.level2} of 100, "
            f"{self.failed} failed, {self.embedded} embedded; {self.calls} calls, "
            f"{self.cost_micro / 1e6:.4f} USD"
        )
        return out + "".join(f"\n{e}" for e in self.errors)


@dataclass
class Summarizer:
    store: Store
    svc: LlmService
    user_id: int
    embedder: Embedder | None = None
    enabled: bool = True
    clock: Callable[[], float] = time.time

    @classmethod
    def open(cls, store: Store, svc: LlmService, *, enabled: bool | None = None) -> Summarizer:
        on = svc.settings.memory.enabled if enabled is None else enabled
        return cls(store, svc, owner.local_user_id(store), owner.memory_embedder(store, svc), on)

    def run(
        self, cancelled: Callable[[], bool] | None = None, session_id: str | None = None
    ) -> SummaryRun:
        """Every complete block of the user's sessions (or of one) not summarised yet:
        level 1 first, then level 2 from them. One operation per run that has work."""
        out = SummaryRun()
        if not self.enabled:
            return out
        sessions = q.due(self.store.conn(), self.user_id, session_id)
        if not sessions:
            return out
        blocks = sum(d.unsummarised // LEVEL1 for d in sessions)
        op = Operation(
            self.store, uuid.uuid4().hex[:12], "memory_summaries",
            f"summarise {len(sessions)} session{'s' * (len(sessions) != 1)} "
            f"({blocks} blocks of 10 messages)", sessions[0].project_id, clock=self.clock,
        )  # fmt: skip
        op.running(model=self.svc.settings.llm.model, effort=CHEAPEST_EFFORT)
        try:
            for d in sessions:
                if self._session(d.session_id, d.project_id, out, op, cancelled):
                    break
        except BaseException as exc:
            op.failed(f"mira-ls failed while summarising a conversation: {type(exc).__name__}.")
            raise
        self._close(op, out, cancelled)
        return out

    def _session(
        self,
        sid: str,
        project_id: int | None,
        out: SummaryRun,
        op: Operation,
        cancelled: Callable[[], bool] | None,
    ) -> bool:
        """Summarise one session's blocks; True when the run must stop. Blocks whose
        summary was dropped (a message of theirs was forgotten) are summarised again first,
        from what is left of them, then the new blocks; level 1, then level 2."""
        conn, pid = self.store.conn(), project_id

        def level1() -> list[tuple[str, Callable[[], None]]]:
            again = q.holes(conn, sid)
            if not again:
                msgs = q.unsummarised(conn, sid, LEVEL1)
                again = [msgs] if len(msgs) >= LEVEL1 else []
            return [
                (f"messages {m[0].id}-{m[-1].id}", partial(self._level1, sid, pid, m, out, op))
                for m in again
            ]

        def level2() -> list[tuple[str, Callable[[], None]]]:
            again = q.level2_holes(conn, sid)
            if not again:
                parts = q.loose_level1(conn, sid, PER_LEVEL2)
                again = [parts] if len(parts) >= PER_LEVEL2 else []
            return [
                (f"summaries {p[0].id}-{p[-1].id}", partial(self._level2, sid, pid, p, out, op))
                for p in again
            ]

        done: set[str] = set()
        for next_blocks in (level1, level2):
            while blocks := [b for b in next_blocks() if b[0] not in done]:
                for what, block in blocks:
                    if cancelled is not None and cancelled():
                        out.stopped = "Summarising was cancelled; the rest is summarised later."
                        return True
                    done.add(what)  # a block written by a racing run comes back: once
                    try:
                        block()
                    except structured.StructuredInvalid as exc:
                        # the later blocks wait for this one (summaries stay in order)
                        self._invalid(out, exc, what)
                        return False
                    except (BudgetRefused, LlmError) as exc:
                        out.stopped = str(exc)
                        out.errors.append(str(exc))
                        return True
        return False

    def _invalid(self, out: SummaryRun, exc: Exception, what: str) -> None:
        out.failed += 1
        out.errors.append(f"Nothing written for {what}: {exc}")

    def _level1(
        self, sid: str, project_id: int | None, msgs: list[Message], out: SummaryRun, op: Operation
    ) -> None:
        lines = [
            f"{m.role.capitalize()}:\n{redact(self.svc.scrub(m.content))[:MAX_MESSAGE_CHARS]}"
            for m in msgs
        ]
        user = "The messages, oldest first:\n\n" + "\n\n".join(lines)
        ans = self._ask("summary_of_messages", SYSTEM_MESSAGES, user, project_id, out, op)
        self._write(sid, LEVEL1, msgs[0].id, msgs[-1].id, ans, project_id, out, op, len(msgs))
        out.level1 += 1

    def _level2(
        self,
        sid: str,
        project_id: int | None,
        parts: list[SummaryRow],
        out: SummaryRun,
        op: Operation,
    ) -> None:
        user = "The summaries, oldest first:\n\n" + "\n\n".join(
            f"Summary {i}:\n{render(p)}" for i, p in enumerate(parts, 1)
        )
        first, last = parts[0].first_entry_id, parts[-1].last_entry_id
        if first is None or last is None:  # a message of the block was forgotten
            first = first or min(p.first_entry_id or p.last_entry_id or 0 for p in parts)
            last = last or max(p.last_entry_id or p.first_entry_id or 0 for p in parts)
        ans = self._ask("summary_of_summaries", SYSTEM_SUMMARIES, user, project_id, out, op)
        count = sum(p.message_count for p in parts)
        self._write(sid, LEVEL2, first, last, ans, project_id, out, op, count)
        out.level2 += 1

    def _ask(
        self,
        name: str,
        system: str,
        user: str,
        project_id: int | None,
        out: SummaryRun,
        op: Operation,
    ) -> structured.StructuredAnswer:
        req = structured.StructuredRequest(
            name, SCHEMA, system, user, "memory_summaries", project_id,
            reasoning_effort=CHEAPEST_EFFORT,
        )  # fmt: skip
        try:
            ans = structured.ask(self.svc, req, _check, None, op.on_request)
        except structured.StructuredInvalid:
            out.calls += structured.ATTEMPTS  # the answer and its retry, both invalid
            raise
        out.cost_micro += ans.cost_micro
        out.model, out.reasoning_effort = ans.model, ans.reasoning_effort
        out.cached += int(ans.cached)
        if not ans.cached:
            out.calls += ans.attempts
            out.input_tokens += ans.input_tokens
            out.output_tokens += ans.output_tokens
        return ans

    def _write(
        self,
        sid: str,
        level: int,
        first: int,
        last: int,
        ans: structured.StructuredAnswer,
        project_id: int | None,
        out: SummaryRun,
        op: Operation,
        count: int,
    ) -> None:
        text = redact(self.svc.scrub(" ".join(ans.data["summary"].split())))[:MAX_SUMMARY_CHARS]
        facts = [
            redact(self.svc.scrub(" ".join(f.split())))[:MAX_FACT_CHARS]
            for f in ans.data["key_facts"]
            if f.strip()
        ][:MAX_FACTS]
        probe = SummaryRow(0, sid, level, first, last, count, text, facts, 0, None, None, 0)
        with self.store.write() as w:
            new_id = q.insert(w, sid, level, first, last, text, facts,
                              tokens.count(render(probe)), ans.model,
                              0 if ans.cached else ans.cost_micro, int(self.clock()),
                              count)  # fmt: skip
        if new_id is not None:
            self._embed(new_id, render(probe), project_id, out, op)

    def _embed(
        self, summary_id: int, text: str, project_id: int | None, out: SummaryRun, op: Operation
    ) -> None:
        if self.embedder is None:
            return
        emb = self.embedder
        run = emb.embed([text], project_id=project_id, operation="embed_memory",
                        on_request=op.on_request)  # fmt: skip
        out.cost_micro += run.cost_micro
        if run.stopped:
            log.info("memory: summary not embedded: %s", run.stopped)
        hit = emb.stored([emb.key(text)]).get(emb.key(text))
        if hit is not None:
            with self.store.write() as w:
                q.set_vector(w, summary_id, hit[0])
            out.embedded += 1

    def _close(self, op: Operation, out: SummaryRun, cancelled: Callable[[], bool] | None) -> None:
        outcome = Outcome(
            out.model or self.svc.settings.llm.model, out.reasoning_effort or CHEAPEST_EFFORT,
            out.input_tokens, out.output_tokens, cached=out.calls == 0 and out.cached > 0,
            summary=out.text().split("\n")[0], from_budget=True,
        )  # fmt: skip
        if out.stopped and cancelled is not None and cancelled():
            op.cancelled(outcome)
        elif out.stopped:
            op.failed(out.stopped, outcome)
        elif out.failed and not (out.level1 or out.level2):
            op.failed(out.errors[0], outcome)
        else:
            op.done(outcome)


def job(ctx: Any, store: Store, svc: LlmService) -> SummaryRun:
    """The runner's job (lane "llm", key SUMMARY_KEY): every complete block summarised."""
    run = Summarizer.open(store, svc).run(ctx.cancelled)
    if run.level1 or run.level2 or run.failed:
        log.info("memory summaries: %s", run.as_json())
    return run


SUMMARY_KEY = ("memory", "summaries")
