"""Answers that are data: one JSON document matching a schema (CONVENTIONS, "LLM answers that
are data").

The call sends ``response_format: json_schema`` (strict), at the cheapest effort that does
the job, through the same budget and cache as a chat. The answer is validated against the
schema by the caller's ``validate``; an invalid one is retried once with the problem named,
then the request fails with a sentence (``StructuredInvalid``) and the caller writes
nothing. The cache key covers the model, the effort and the schema's hash, so a changed
prompt or schema never serves a stale answer; only valid answers are cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mira_ls.llm import tokens
from mira_ls.llm.cache import cache_key
from mira_ls.llm.errors import LlmError
from mira_ls.llm.provider import ChatCall, normalize_effort
from mira_ls.llm.service import Answer, LlmService

log = logging.getLogger(__name__)

STRUCTURED_EFFORT = "low"
ATTEMPTS = 2  # the first answer and one retry


class StructuredInvalid(LlmError):
    """The model's answer did not match the schema, twice."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_response", message, maybe_billed=True)


# validate(data) -> the problem in a few words, or None when the data matches the schema
Validator = Callable[[Any], str | None]


@dataclass(frozen=True)
class StructuredRequest:
    name: str  # the schema's name (json_schema.name)
    schema: dict[str, Any]
    system: str
    user: str
    operation: str  # budget_tracking.operation
    project_id: int | None = None
    model: str | None = None
    reasoning_effort: str | None = None


@dataclass
class StructuredAnswer:
    data: Any
    model: str
    reasoning_effort: str | None
    cached: bool
    cost_micro: int
    input_tokens: int
    output_tokens: int
    attempts: int
    request_ids: list[str] = field(default_factory=list)


def list_schema(key: str, item: dict[str, Any]) -> dict[str, Any]:
    """The schema of an answer that is an object with one key holding a list of ``item``
    (strict json_schema needs an object at the top, never a bare array)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [key],
        "properties": {key: {"type": "array", "items": item}},
    }


def schema_hash(schema: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()


def _parse(text: str, validate: Validator) -> tuple[Any, str | None]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"it is not valid JSON ({exc.msg} at character {exc.pos})"
    return data, validate(data)


def ask(
    svc: LlmService,
    req: StructuredRequest,
    validate: Validator,
    cancelled: Callable[[], bool] | None = None,
    on_request: Callable[[str], None] | None = None,
) -> StructuredAnswer:
    """The validated data, or LlmError (BudgetRefused, StructuredInvalid...) with a sentence.
    ``on_request`` is told each budget_tracking request id as it is made."""
    llm = svc.settings.llm
    model = req.model or llm.model
    effort = req.reasoning_effort or STRUCTURED_EFFORT
    system = svc.scrub(req.system)
    user = svc.scrub(req.user)
    convo: list[dict[str, Any]] = [{"role": "user", "content": user}]
    key = cache_key(
        convo,
        None,
        f"{system}\n[schema {req.name} {schema_hash(req.schema)}]",
        model,
        normalize_effort(model, effort) or effort,
    )
    out = StructuredAnswer(None, model, effort, False, 0, 0, 0, 0)

    def made(request_id: str) -> None:
        out.request_ids.append(request_id)
        if on_request is not None:
            on_request(request_id)

    hit = svc.cache.get(key, model)
    if hit is not None:
        data, stale = _parse(hit.response, validate)
        if stale is None:
            made(
                svc.budget.record_cache_hit(
                    model=hit.model,
                    reasoning_effort=hit.reasoning_effort,
                    saved_micro=hit.cost_micro,
                    input_tokens=hit.input_tokens,
                    output_tokens=hit.output_tokens,
                    operation=req.operation,
                    project_id=req.project_id,
                )
            )
            out.data, out.cached = data, True
            out.model, out.reasoning_effort = hit.model, hit.reasoning_effort
            return out
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": req.name, "strict": True, "schema": req.schema},
    }
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}, *convo]
    answer = Answer("", False, 0, 0, model, effort, key, None)
    problem: str | None = None
    for attempt in range(1, ATTEMPTS + 1):
        res = svc.budget.reserve(
            model=model,
            reasoning_effort=effort,
            prompt_tokens=tokens.count_messages(messages, None),
            max_output_tokens=llm.max_output_tokens,
            operation=req.operation,
            project_id=req.project_id,
        )
        out.model, out.reasoning_effort = res.plan.model, res.plan.reasoning_effort
        call = ChatCall(
            res.plan.model,
            messages,
            res.plan.reasoning_effort,
            res.plan.max_output_tokens,
            response_format=response_format,
        )
        try:
            completion = svc._call(res, call, None, cancelled, answer, made)
        finally:
            out.cost_micro = answer.cost_micro
            out.input_tokens, out.output_tokens = answer.input_tokens, answer.output_tokens
            out.attempts = attempt
        if completion.cancelled:
            raise LlmError("cancelled", "Cancelled before the model finished its answer.")
        data, problem = _parse(completion.text, validate)
        if problem is None:
            if not answer.estimated and not res.plan.notes:
                svc.cache.put(
                    key,
                    model=res.plan.model,
                    reasoning_effort=res.plan.reasoning_effort,
                    response=completion.text,
                    tool_calls=[],
                    input_tokens=answer.input_tokens,
                    output_tokens=answer.output_tokens,
                    cost_micro=answer.cost_micro,
                )
            out.data = data
            return out
        log.info("structured answer %s invalid (attempt %d): %s", req.name, attempt, problem)
        messages = [
            *messages,
            {"role": "assistant", "content": completion.text[:4000]},
            {
                "role": "user",
                "content": f"That answer cannot be used: {problem}. Answer again with only "
                f"one JSON document matching the {req.name} schema.",
            },
        ]
    raise StructuredInvalid(
        f"The model's answer did not match the expected format twice (last time {problem}); "
        "nothing was saved. Try again, or try another model with mira.llm.model."
    )
