"""The LLM's finding on the worst quality issues in hotspots: why the function is hard to
change and what to split, in one schema-checked answer for the few worst ones, cached per
(symbol, content_hash) in ``semantic_analysis_cache`` (kind ``quality_finding``). The index
deletes a symbol's cache rows when its content changes, so a re-run asks nothing and an
edited function is asked about again. Asked on request (``mira-ls quality --findings``) and
by the background analysis of the top hotspots after mining (understand/background.py:
with a key, within ``analysis.backgroundDailyUsd``, its budget rows named
``analyze-background``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.confined import OutsideWorkspace, resolve_inside
from mira_ls.llm import structured, tokens
from mira_ls.llm.errors import LlmError
from mira_ls.llm.pricing import cost_micro, price_for
from mira_ls.llm.service import LlmService
from mira_ls.store import Store
from mira_ls.store import quality as qs
from mira_ls.tasks.operations import Operation, Outcome
from mira_ls.understand.quality import Measured, QualityRun

NAME = "quality_findings"
COMMAND = "quality"  # the operation's command and the budget rows' operation
KIND = qs.FINDING_KIND
TOP = 3  # the worst hotspot functions asked about per run
SOURCE_MAX_TOKENS = 1500
OUTPUT_TOKENS_PER_FUNCTION = 160
KEYS = ("id", "why_hard", "what_to_split")
_ITEM: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": list(KEYS),
    "properties": {
        "id": {"type": "integer", "description": "the function's id as given"},
        "why_hard": {"type": "string",
                     "description": "one or two sentences: why it is hard to change safely"},
        "what_to_split": {"type": "string",
                          "description": "what to split out, concretely (which branches, "
                                         "loops or steps into which functions)"},
    },
}  # fmt: skip
SCHEMA = structured.list_schema("findings", _ITEM)
SYSTEM = (
    "You review functions that are hard to change: each is over a complexity, nesting, "
    "length or parameter threshold and sits in a file that changes often. For each function "
    "given (its id, metrics, issues and source), say in one or two sentences why it is hard "
    "to change safely, and what to split out of it, naming the branches, loops or steps and "
    "the functions they would become. Answer with JSON only, one entry per id given."
)


@dataclass(frozen=True)
class Finding:
    why_hard: str
    what_to_split: str


def worst_hotspots(run: QualityRun, top: int = TOP) -> list[Measured]:
    """The worst functions with issues in hotspot files, worst first."""
    hot = [m for m in run.with_issues if m.hotspot]
    return hot[:top]


def _hash(m: Measured) -> str:
    return m.issues[0].content_hash or ""


@dataclass
class FindingPlan:
    pending: list[Measured]
    cached: int
    prompt: str = ""
    input_tokens: int = 0
    cost_micro: int = 0
    found: dict[int, Finding] = field(default_factory=dict)  # symbol id -> finding


def _source(root: Path, m: Measured, start_line: int, end_line: int) -> str:
    try:
        text = resolve_inside(root, m.path).read_text("utf-8", errors="replace")
    except (OSError, OutsideWorkspace):
        return ""
    body = "\n".join(text.splitlines()[start_line - 1 : end_line])
    return tokens.truncate(body, SOURCE_MAX_TOKENS)


def plan(svc: LlmService, root: Path, functions: list[Measured]) -> FindingPlan:
    """Which of ``functions`` have no finding at their current text, the prompt asking
    for them and what it costs at most."""
    conn = svc.store.conn()
    out = FindingPlan([], 0)
    parts: list[str] = []
    for m in functions:
        have = finding_of(svc.store, m.symbol_id, _hash(m))
        if have is not None:
            out.cached += 1
            out.found[m.symbol_id] = have
            continue
        out.pending.append(m)
        span = conn.execute(
            "SELECT start_line, end_line FROM code_elements WHERE id = ?", (m.symbol_id,)
        ).fetchone()
        source = _source(root, m, *span) if span else ""
        issues = "\n".join(f"- {i.message}" for i in m.issues)
        parts.append(
            f"## id {m.symbol_id}: {m.symbol} ({m.path}:{m.line})\n"
            f"complexity {m.complexity}, nesting {m.nesting}, {m.length} lines, {m.params} "
            f"parameters, its file changed in {m.churn} commits\n{issues}\n```\n{source}\n```"
        )
    if out.pending:
        out.prompt = "\n\n".join(parts)
        out.input_tokens = tokens.count(SYSTEM) + tokens.count(out.prompt) + 20
        price = price_for(svc.settings.llm.model)
        out.cost_micro = cost_micro(
            price, out.input_tokens, OUTPUT_TOKENS_PER_FUNCTION * len(out.pending)
        )
    return out


def _validator(ids: set[int]) -> structured.Validator:
    def validate(data: Any) -> str | None:
        if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
            return 'the answer must be an object with a list "findings"'
        seen: set[int] = set()
        for i, it in enumerate(data["findings"]):
            if not isinstance(it, dict) or set(it) != set(KEYS):
                return f"entry {i + 1} must have exactly the keys {', '.join(KEYS)}"
            if it["id"] not in ids or it["id"] in seen:
                return f"entry {i + 1}: id {it['id']!r} is not one asked for, or repeated"
            for k in ("why_hard", "what_to_split"):
                if not isinstance(it[k], str) or not it[k].strip():
                    return f"entry {i + 1}: {k} must be non-empty text"
            seen.add(it["id"])
        if seen != ids:
            return f"ids {sorted(ids - seen)} have no entry"
        return None

    return validate


@dataclass
class FindingRun:
    calls: int = 0
    cached_answer: bool = False
    cost_micro: int = 0
    operation_id: str | None = None


def run(
    store: Store,
    svc: LlmService,
    project_id: int,
    p: FindingPlan,
    *,
    operation: str = COMMAND,
    what: str = "",
) -> FindingRun:
    """Ask for the plan's pending functions in one call, as one operation (``mira-ls ops``,
    command ``quality``), and store the findings (all in one transaction, after the answer
    validated); LlmError with a sentence otherwise. ``operation`` names the budget rows
    (the background's own, so its daily allowance counts them); ``what`` ends the
    operation's request text."""
    out = FindingRun()
    if not p.pending:
        return out
    n = len(p.pending)
    op = Operation(
        store, uuid.uuid4().hex[:12], COMMAND,
        f"quality findings for {n} hotspot function{'s' * (n != 1)}{what}", project_id,
    )  # fmt: skip
    out.operation_id = op.id
    op.running(model=svc.settings.llm.model, effort=structured.STRUCTURED_EFFORT)
    req = structured.StructuredRequest(NAME, SCHEMA, SYSTEM, p.prompt, operation, project_id)
    try:
        ans = structured.ask(
            svc, req, _validator({m.symbol_id for m in p.pending}), on_request=op.on_request
        )
    except LlmError as exc:
        op.failed(str(exc), Outcome(svc.settings.llm.model, from_budget=True))
        raise
    outcome = Outcome(
        ans.model, ans.reasoning_effort, ans.input_tokens, ans.output_tokens,
        cached=ans.cached, summary=f"findings for {n} functions", from_budget=True,
    )  # fmt: skip
    out.calls = 0 if ans.cached else ans.attempts
    out.cached_answer, out.cost_micro = ans.cached, ans.cost_micro
    by_id = {m.symbol_id: m for m in p.pending}
    with store.write() as w:
        for it in ans.data["findings"]:
            m = by_id[it["id"]]
            f = Finding(" ".join(it["why_hard"].split()), " ".join(it["what_to_split"].split()))
            qs.store_finding(w, m.symbol_id, _hash(m), f.why_hard, f.what_to_split, ans.model)
            p.found[m.symbol_id] = f
    op.done(outcome)
    return out


def finding_of(store: Store, symbol_id: int, content_hash: str) -> Finding | None:
    got = qs.finding_of(store.conn(), symbol_id, content_hash)
    return Finding(*got) if got else None
