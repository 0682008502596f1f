"""Ask the model: cache first, then budget-checked streamed calls with a bounded tool loop.

One answer can take several upstream calls (tool rounds); each is reserved and settled on
its own, so the budget holds the real worst case of what is in flight. Only complete
answers made with the requested model and effort, at the full output cap, are cached.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.config import Settings
from mira_ls.llm import prompts, tokens
from mira_ls.llm.budget import Budget, BudgetRefused, Plan, Reservation
from mira_ls.llm.cache import LlmCache, cache_key
from mira_ls.llm.context import ContextBundle, record_injections
from mira_ls.llm.errors import LlmError
from mira_ls.llm.pricing import usd
from mira_ls.llm.provider import (
    ChatCall,
    Completion,
    Endpoint,
    Provider,
    Usage,
    endpoint_from,
    normalize_effort,
)
from mira_ls.llm.redact import install_log_redaction, redact
from mira_ls.llm.tools import SCHEMAS, ExtraTools, ToolBox
from mira_ls.memory.conversation import SUMMARIES_THEN, Conversations
from mira_ls.store import Store

log = logging.getLogger(__name__)

HISTORY_SHARE = 0.25  # of the context budget, for earlier turns of the conversation
FINAL_ROUND_NOTE = "Tool budget used up: answer now with what you have."


@dataclass
class Question:
    """What to ask. ``request`` is the user message body; ``shown`` the transcript text."""

    request: str
    shown: str
    operation: str = "chat"
    context: ContextBundle | None = None
    project_id: int | None = None
    root: Path | None = None
    session_id: str | None = None
    new_session: bool = False
    model: str | None = None
    reasoning_effort: str | None = None
    use_tools: bool = True
    client_name: str | None = None
    with_history: bool = False  # a follow-up: earlier turns of the session go along
    # told each budget_tracking request id as it is made (an operation links its calls)
    on_request: Callable[[str], None] | None = None
    # tools beyond the built-in ones (synthesized tools the user approved), and the
    # operation their runs are recorded against
    extra_tools: ExtraTools | None = None
    operation_id: str | None = None


@dataclass
class Answer:
    text: str
    cached: bool
    cost_micro: int
    saved_micro: int
    model: str
    reasoning_effort: str | None
    cache_key: str
    session_id: str | None
    notes: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cancelled: bool = False
    complete: bool = True
    calls: int = 0
    downgraded: bool = False  # the budget changed the model, effort or cap: not cached
    estimated: bool = False  # some call reported no usage: tokens are our own count
    overrun: bool = False  # a call cost more than its reservation: spending is on hold

    def cost_line(self) -> str:
        if self.cached:
            return f"cached answer (cost $0, saved {usd(self.saved_micro)})"
        cost = f"cost {usd(self.cost_micro)}"
        if self.estimated:
            cost += " (the worst case: the endpoint reported no usage)"
        parts = [cost, f"{self.model}"]
        if self.reasoning_effort:
            parts.append(f"effort {self.reasoning_effort}")
        if self.estimated:
            parts.append(f"~{self.input_tokens} in / ~{self.output_tokens} out tokens (estimated)")
        else:
            parts.append(f"{self.input_tokens} in / {self.output_tokens} out tokens")
        if self.calls > 1:
            parts.append(f"{self.calls} calls")
        if self.cancelled:
            parts.append("cancelled")
        return ", ".join(parts)


@dataclass(frozen=True)
class _Request:
    """What one question sends: the cache key covers the conversation, tools and model."""

    shown: str
    model: str
    effort: str
    session: str
    system: str
    convo: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    key: str


class LlmService:
    """Everything an answer needs, for one database and one settings snapshot."""

    def __init__(
        self, store: Store, settings: Settings, env: Mapping[str, str] | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.endpoint: Endpoint = endpoint_from(settings.llm, self.env)
        self.secrets: tuple[str, ...] = tuple(s for s in (self.endpoint.api_key,) if s)
        install_log_redaction(self.secrets)
        self.provider = Provider(self.endpoint)
        self.cache = LlmCache(store, settings.cache)
        self.budget = Budget(store, settings, provider_name=self._provider_name())
        self.conversations = Conversations(store)
        for problem in self.budget.problems:
            log.warning("%s", problem)

    def _provider_name(self) -> str:
        return "openai" if self.endpoint.is_openai else "openai-compatible"

    def scrub(self, text: str) -> str:
        return redact(text, self.secrets)

    # -- asking -------------------------------------------------------------------------

    def ask(
        self,
        q: Question,
        on_text: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Answer:
        """Answer ``q``; raises LlmError (BudgetRefused included) with a sentence."""
        req = self._request(q)
        hit = self._from_cache(q, req, on_text)
        if hit is not None:
            return hit
        box = (
            ToolBox(
                self.store,
                q.project_id,
                q.root,
                self.secrets,
                semantic=self.settings,
                env=self.env,
                extra=q.extra_tools,
                operation_id=q.operation_id,
            )
            if req.tools is not None and q.project_id is not None and q.root is not None
            else None
        )
        answer = self._answer(q, req, box, on_text, cancelled)
        if box is not None:
            answer.notes.extend(box.notes)
        self._keep(q, req, answer, box)
        return answer

    def _request(self, q: Question) -> _Request:
        """The messages, tools and cache key of a question (history and context scrubbed)."""
        llm = self.settings.llm
        model = q.model or llm.model
        effort = q.reasoning_effort or llm.reasoning_effort
        session = self.conversations.session_for(
            q.project_id, session_id=q.session_id, new=q.new_session, client_name=q.client_name
        )
        history = (
            [
                {"role": m["role"], "content": self.scrub(m["content"])}
                for m in self.conversations.history(
                    session, int(llm.context_tokens * HISTORY_SHARE)
                )
            ]
            if q.with_history
            else []
        )
        user = self.scrub(prompts.with_context(q.context.text if q.context else "", q.request))
        if history and history[-1]["role"] == "user":  # only summaries fitted: one message
            user = f"{history.pop()['content']}\n\n{SUMMARIES_THEN}\n\n{user}"
        convo = [*history, {"role": "user", "content": user}]
        use_tools = q.use_tools and q.project_id is not None and q.root is not None
        tools = SCHEMAS if use_tools and llm.max_tool_rounds > 0 else None
        if tools is not None and q.extra_tools is not None:
            tools = [*SCHEMAS, *q.extra_tools.schemas()]
        system = prompts.SYSTEM
        key = cache_key(convo, tools, system, model, normalize_effort(model, effort) or effort)
        # The question as recorded (sessions.title, memory_entries): scrubbed like the request.
        return _Request(self.scrub(q.shown), model, effort, session, system, convo, tools, key)

    def _from_cache(
        self, q: Question, req: _Request, on_text: Callable[[str], None] | None
    ) -> Answer | None:
        hit = self.cache.get(req.key, req.model)
        if hit is None:
            return None
        if on_text is not None:
            on_text(hit.response)
        rid = self.budget.record_cache_hit(
            model=hit.model,
            reasoning_effort=hit.reasoning_effort,
            saved_micro=hit.cost_micro,
            input_tokens=hit.input_tokens,
            output_tokens=hit.output_tokens,
            operation=q.operation,
            project_id=q.project_id,
        )
        if q.on_request is not None:
            q.on_request(rid)
        self.conversations.record(
            req.session,
            req.shown,
            hit.response,
            model=hit.model,
            cost_micro=0,
            metadata={"cached": True, "operation": q.operation},
        )
        return Answer(
            hit.response,
            True,
            0,
            hit.cost_micro,
            hit.model,
            hit.reasoning_effort,
            req.key,
            req.session,
            tool_calls=hit.tool_calls,
            input_tokens=hit.input_tokens,
            output_tokens=hit.output_tokens,
        )

    def _answer(
        self,
        q: Question,
        req: _Request,
        box: ToolBox | None,
        on_text: Callable[[str], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> Answer:
        """The tool loop: each round reserved, called and settled on its own."""
        llm = self.settings.llm
        messages: list[dict[str, Any]] = [{"role": "system", "content": req.system}, *req.convo]
        answer = Answer("", False, 0, 0, req.model, req.effort, req.key, req.session)
        rounds = llm.max_tool_rounds if box is not None else 0
        for rnd in range(rounds + 1):
            last = rnd == rounds
            prompt_tokens = tokens.count_messages(messages, req.tools)
            if rnd == 0:
                res = self.budget.reserve(
                    model=req.model,
                    reasoning_effort=req.effort,
                    prompt_tokens=prompt_tokens,
                    max_output_tokens=llm.max_output_tokens,
                    operation=q.operation,
                    project_id=q.project_id,
                )
                self._first_round(q, req, res.plan, answer)
            else:
                res = self._reserve_followup(answer, prompt_tokens, q)
            call = ChatCall(
                res.plan.model,
                messages,
                res.plan.reasoning_effort,
                res.plan.max_output_tokens,
                tools=req.tools,
                tool_choice="none" if (req.tools is not None and last) else None,
            )
            completion = self._call(res, call, on_text, cancelled, answer, q.on_request)
            if not self._round_done(completion, box, messages, answer, last, res.plan):
                continue
            break
        return answer

    def _first_round(self, q: Question, req: _Request, plan: Plan, answer: Answer) -> None:
        """What the first reservation decided (model, effort, notes) becomes the answer's."""
        answer.model, answer.reasoning_effort = plan.model, plan.reasoning_effort
        answer.notes.extend(plan.notes)
        answer.downgraded = bool(plan.notes)
        if not self.budget.price(plan.model).known:
            answer.notes.append(
                f"no price is known for {plan.model}: it is charged at gpt-5.1 rates; "
                "set mira.budget.prices for it (0 for a local model)"
            )
        if q.context is not None and q.project_id is not None:
            record_injections(self.store, q.project_id, q.context, req.key, int(time.time()))

    @staticmethod
    def _round_done(
        completion: Completion,
        box: ToolBox | None,
        messages: list[dict[str, Any]],
        answer: Answer,
        last: bool,
        plan: Plan,
    ) -> bool:
        """Fold one call into the answer; False when tool calls were run and a round follows."""
        answer.calls += 1
        if completion.cancelled:
            answer.text += completion.text
            answer.cancelled = True
            answer.complete = False
            return True
        if completion.tool_calls and box is not None and not last:
            messages.append(
                {
                    "role": "assistant",
                    "content": completion.text or None,
                    "tool_calls": [t.as_message_part() for t in completion.tool_calls],
                }
            )
            for t in completion.tool_calls:
                result = box.run(t.name, t.arguments)
                messages.append({"role": "tool", "tool_call_id": t.id, "content": result})
            answer.tool_calls = list(box.calls)
            return False
        answer.text += completion.text
        answer.complete = completion.finish_reason in ("stop", None) and not completion.tool_calls
        if completion.finish_reason == "length":
            answer.notes.append(
                f"the answer hit the output limit ({plan.max_output_tokens} tokens) and is cut off"
            )
        return True

    def _keep(self, q: Question, req: _Request, answer: Answer, box: ToolBox | None) -> None:
        """Cache a complete answer made as asked; record every answer in the conversation."""
        if (
            answer.complete
            and not answer.cancelled
            and not answer.downgraded
            and not answer.estimated
            and answer.text
            and not (box is not None and box.volatile)
        ):
            hashes = list(q.context.content_hashes if q.context else [])
            if box is not None:
                hashes.extend(box.used_hashes)
            self.cache.put(
                req.key,
                model=answer.model,
                reasoning_effort=answer.reasoning_effort,
                response=answer.text,
                tool_calls=answer.tool_calls,
                input_tokens=answer.input_tokens,
                output_tokens=answer.output_tokens,
                cost_micro=answer.cost_micro,
                content_hashes=hashes,
            )
        if answer.text and not answer.cancelled:
            self.conversations.record(
                req.session,
                req.shown,
                answer.text,
                model=answer.model,
                cost_micro=answer.cost_micro,
                metadata={"operation": q.operation, "cached": False},
            )

    def _reserve_followup(self, answer: Answer, prompt_tokens: int, q: Question) -> Reservation:
        """Later tool rounds keep the first round's model and effort; the cap may shrink."""
        try:
            return self.budget.reserve(
                model=answer.model,
                reasoning_effort=answer.reasoning_effort,
                prompt_tokens=prompt_tokens,
                max_output_tokens=self.settings.llm.max_output_tokens,
                operation=q.operation,
                project_id=q.project_id,
                allow_downgrade=False,
                cheaper_model="",
            )
        except BudgetRefused as exc:
            raise BudgetRefused(
                f"{exc} (stopped after {answer.calls} tool "
                f"round{'s' * (answer.calls != 1)}; "
                f"{self.cost_so_far(answer)} spent on this answer)"
            ) from None

    @staticmethod
    def cost_so_far(answer: Answer) -> str:
        return usd(answer.cost_micro)

    def _call(
        self,
        res: Reservation,
        call: ChatCall,
        on_text: Callable[[str], None] | None,
        cancelled: Callable[[], bool] | None,
        answer: Answer,
        on_request: Callable[[str], None] | None = None,
    ) -> Completion:
        """One upstream call, always settled: real usage, worst case, or nothing."""
        if on_request is not None:
            on_request(res.request_id)
        try:
            completion = self.provider.stream(call, on_text, cancelled)
        except LlmError as exc:
            if not exc.maybe_billed:
                self.budget.release(res, self.scrub(str(exc)))
            else:
                settled = self.budget.settle(
                    res, None, status="error", message=self.scrub(str(exc))[:500]
                )
                answer.cost_micro += settled.cost_micro
            raise
        except BaseException as exc:
            settled = self.budget.settle(res, None, status="error", message=f"{type(exc).__name__}")
            answer.cost_micro += settled.cost_micro
            raise
        usage: Usage | None = completion.usage
        status = "cancelled" if completion.cancelled else "settled"
        seen = usage
        if seen is None:
            # No usage from the endpoint: show our own count of what was sent and received,
            # and charge the worst case (hidden reasoning tokens cannot be counted here).
            answer.estimated = True
            seen = Usage(
                tokens.count_messages(call.messages, call.tools),
                tokens.count(completion.text)
                + sum(tokens.count(t.arguments) for t in completion.tool_calls),
            )
        settled = self.budget.settle(res, usage, status=status)
        answer.cost_micro += settled.cost_micro
        answer.input_tokens += seen.input_tokens
        answer.output_tokens += seen.output_tokens
        if settled.overrun is not None:
            answer.overrun = True
            answer.notes.append(settled.overrun)
        return completion
