"""What each symbol is for, asked of the LLM in batches and cached by content hash.

One structured (schema-checked) answer covers several symbols: purpose (one line),
concepts, domain and side effects. Results are stored per (symbol, content_hash) in
``semantic_analysis_cache``, mirrored in ``semantic_nodes`` and ``concept_index``; the index
deletes a function's cache rows when its content changes, so a re-run over an unchanged
workspace asks nothing and an edit re-asks the edited function. A module's or class's
content changes with every edit of a member, but the model is shown only its first
``SOURCE_MAX_TOKENS`` tokens: its analysis is keyed on the SHA-256 of what it was shown
(``input_hash``) and kept by the index, and the plan carries it over to the new content
when that is unchanged, so the file summary is asked again only when an edit is in what
it is made from. A batch's rows are written in one transaction after its answer
validated, so a failed answer leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.confined import OutsideWorkspace, resolve_inside
from mira_ls.llm import structured, tokens
from mira_ls.llm.pricing import cost_micro, price_for
from mira_ls.llm.service import LlmService
from mira_ls.store import Store, semantic_graph
from mira_ls.store import understanding as q
from mira_ls.store.understanding import Pending

NAME = "symbol_analysis"
KIND = "semantic"
BATCH = 8
SOURCE_MAX_TOKENS = 600  # per symbol; longer bodies are cut
OUTPUT_TOKENS_PER_SYMBOL = 90  # what one symbol's answer takes, for the estimate

KEYS = ("id", "purpose", "concepts", "domain", "side_effects")
_ITEM: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": list(KEYS),
    "properties": {
        "id": {"type": "integer", "description": "the symbol's id as given"},
        "purpose": {"type": "string", "description": "one line: what it is for"},
        "concepts": {"type": "array", "items": {"type": "string"},
                     "description": "domain concepts it deals with, e.g. 'retry policy'"},
        "domain": {"type": "string", "description": "the functional area, e.g. 'auth'"},
        "side_effects": {"type": "array", "items": {"type": "string"},
                         "description": "I/O, mutation of shared state, network; [] if pure"},
    },
}  # fmt: skip
SCHEMA = structured.list_schema("symbols", _ITEM)
SYSTEM = (
    "You analyse source code. For each symbol given (its id, kind, name and source), say in "
    "one line what it is for, the domain concepts it deals with (2-5 short noun phrases, "
    "lowercase), its functional domain (one or two words) and its side effects. Answer "
    "with JSON only, one entry per id given."
)


def _validator(ids: set[int]) -> structured.Validator:
    def validate(data: Any) -> str | None:
        if not isinstance(data, dict) or not isinstance(data.get("symbols"), list):
            return 'the answer must be an object with a list "symbols"'
        seen: set[int] = set()
        for i, it in enumerate(data["symbols"]):
            if not isinstance(it, dict) or set(it) != set(KEYS):
                return f"entry {i + 1} must have exactly the keys {', '.join(KEYS)}"
            if it["id"] not in ids or it["id"] in seen:
                return f"entry {i + 1}: id {it['id']!r} is not one asked for, or repeated"
            if not isinstance(it["purpose"], str) or not it["purpose"].strip():
                return f"entry {i + 1}: purpose must be non-empty text"
            if not isinstance(it["domain"], str):
                return f"entry {i + 1}: domain must be text"
            for k in ("concepts", "side_effects"):
                if not isinstance(it[k], list) or not all(isinstance(x, str) for x in it[k]):
                    return f"entry {i + 1}: {k} must be a list of text"
            seen.add(it["id"])
        if seen != ids:
            return f"ids {sorted(ids - seen)} have no entry"
        return None

    return validate


def _source(root: Path, p: Pending, cache: dict[str, list[str]]) -> str:
    lines = cache.get(p.file_path)
    if lines is None:
        try:
            text = resolve_inside(root, p.file_path).read_text("utf-8", errors="replace")
        except (OSError, OutsideWorkspace):
            text = ""
        lines = cache[p.file_path] = text.splitlines()
    body = "\n".join(lines[p.start_line - 1 : p.end_line])
    return tokens.truncate(body, SOURCE_MAX_TOKENS)


def input_hash(p: Pending, source: str) -> str:
    """SHA-256 of what the model is shown of a definition (the instructions, its kind,
    name, file and source as sent), not of where it sits: its id and line are left out."""
    h = hashlib.sha256()
    for part in (SYSTEM, p.kind, p.qualified_name, p.file_path, source):
        h.update(part.encode("utf-8", errors="replace"))
        h.update(b"\0")
    return h.hexdigest()


def _prompt(batch: list[Pending], sources: dict[int, str]) -> str:
    parts = []
    for p in batch:
        parts.append(
            f"## id {p.id}: {p.kind} {p.qualified_name} ({p.file_path}:{p.start_line})\n"
            f"```\n{sources[p.id]}\n```"
        )
    return "\n\n".join(parts)


@dataclass
class Plan:
    pending: list[Pending]
    analysed: int  # symbols already analysed at their current content (carried ones too)
    prompts: list[tuple[list[Pending], str]] = field(default_factory=list)
    carried: int = 0  # modules and classes whose analysis holds: what they show is unchanged
    input_hashes: dict[int, str] = field(default_factory=dict)  # of the pending containers
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micro: int = 0


def plan(svc: LlmService, root: Path, project_id: int, prefix: str = "") -> Plan:
    """What an analysis would ask and what it would cost at most (worst case output).

    A module or class analysed at other content whose prompt part is unchanged is carried
    over to its current content here (written, without a call) rather than asked."""
    conn = svc.store.conn()
    candidates, done = q.pending_analysis(conn, project_id, prefix, KIND)
    cache: dict[str, list[str]] = {}
    sources: dict[int, str] = {}
    hashes: dict[int, str] = {}
    pending: list[Pending] = []
    carried: list[tuple[int, str]] = []
    for p in candidates:
        sources[p.id] = _source(root, p, cache)
        if p.kind in q.INPUT_KEYED_KINDS:
            hashes[p.id] = input_hash(p, sources[p.id])
            if p.input_hash == hashes[p.id]:
                carried.append((p.id, p.content_hash))
                continue
        pending.append(p)
    if carried:
        with svc.store.write() as w:
            q.carry_analyses(w, KIND, carried)
    out = Plan(pending, done + len(carried), carried=len(carried))
    out.input_hashes = {p.id: hashes[p.id] for p in pending if p.id in hashes}
    for i in range(0, len(pending), BATCH):
        batch = pending[i : i + BATCH]
        text = _prompt(batch, sources)
        out.prompts.append((batch, text))
        out.input_tokens += tokens.count(SYSTEM) + tokens.count(text) + 20
        out.output_tokens += OUTPUT_TOKENS_PER_SYMBOL * len(batch)
    price = price_for(svc.settings.llm.model)
    out.cost_micro = cost_micro(price, out.input_tokens, out.output_tokens)
    return out


@dataclass
class Analysed:
    symbols: int = 0
    calls: int = 0
    cached_answers: int = 0
    cost_micro: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    model: str | None = None


Progress = Callable[[int, int, str], None]  # (symbols done, to do, what)


def run(
    store: Store,
    svc: LlmService,
    project_id: int,
    p: Plan,
    cancelled: Callable[[], bool] | None = None,
    *,
    into: Analysed | None = None,
    on_request: Callable[[str], None] | None = None,
    progress: Progress | None = None,
    operation: str = "analyze",
) -> Analysed:
    """Ask for each batch of the plan and store the answers; LlmError (with a sentence)
    stops the run, keeping the batches stored before it (counted in ``into`` when given,
    so a caller knows what was done before the error)."""
    out = into if into is not None else Analysed()
    total = len(p.pending)
    for batch, text in p.prompts:
        if cancelled is not None and cancelled():
            break
        if progress is not None:
            progress(out.symbols, total, f"{out.symbols} of {total} definitions analysed")
        req = structured.StructuredRequest(NAME, SCHEMA, SYSTEM, text, operation, project_id)
        ans = structured.ask(svc, req, _validator({b.id for b in batch}), cancelled, on_request)
        out.calls += 0 if ans.cached else ans.attempts
        out.cached_answers += int(ans.cached)
        out.cost_micro += ans.cost_micro
        out.input_tokens += ans.input_tokens
        out.output_tokens += ans.output_tokens
        out.model = ans.model
        by_id = {b.id: b for b in batch}
        with store.write() as w:
            for it in ans.data["symbols"]:
                sym = by_id[it["id"]]
                q.store_analysis(
                    w, project_id, sym.id, sym.content_hash, KIND, it, ans.model,
                    p.input_hashes.get(sym.id),
                )  # fmt: skip
            # the semantic graph's uses_concept edges of these symbols, with the answer
            semantic_graph.replace_concepts(w, project_id, list(by_id))
        out.symbols += len(batch)
    return out


def as_json(p: Plan, a: Analysed | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "to_analyse": len(p.pending),
        "already_analysed": p.analysed,
        "calls_planned": len(p.prompts),
        "estimated_input_tokens": p.input_tokens,
        "estimated_usd": p.cost_micro / 1_000_000,
    }
    if a is not None:
        data.update(
            {"analysed": a.symbols, "calls": a.calls, "cached_answers": a.cached_answers,
             "input_tokens": a.input_tokens, "output_tokens": a.output_tokens,
             "cost_usd": a.cost_micro / 1_000_000}
        )  # fmt: skip
    return data


def dumps(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True)
