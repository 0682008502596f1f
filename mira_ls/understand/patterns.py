"""Design patterns: candidates found structurally from the index, validated by the LLM.

Detection reads only the store (names, kinds, class bases from the signatures, who
constructs what from the resolved calls) and costs nothing:

- singleton: a class with an accessor named like ``instance``/``get_instance``/``shared``,
  or a ``_instance`` attribute with ``__new__``;
- factory: a class named ``*Factory``, or a ``create_*``/``make_*``/``new_*``/``build_*``
  function or method, that constructs project classes (two or more unless named a factory);
- builder: a class named ``*Builder``, or one with a ``build`` method and two or more
  ``with_*``/``set_*``/``add_*`` methods;
- observer: a class with a subscribe-like and a notify-like method;
- strategy: a base class with two or more subclasses overriding one of its methods;
- adapter: a class named ``*Adapter`` (its bases are the target);
- decorator: a class named ``*Decorator``, or a subclass whose constructor takes an
  instance of its base; a function defining a ``wrapper``/``inner``/``wrapped`` function;
- repository: a class named ``*Repository``/``*Repo``/``*Dao``, or with three or more of
  get/add/find/list/save/delete/remove/update.

Validation asks the LLM, several candidates per schema-checked call at the cheapest
effort, with the members' source: is it the pattern, how sure, one line on how it is used.
The verdict is cached in ``pattern_validation_cache`` under the anchor symbol with a key
over the members' content hashes, the model, the effort and the schema, so an unchanged
candidate is never asked again and an edit of any member asks again (the index also drops
the anchor's rows when it changes).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.config import Settings
from mira_ls.confined import OutsideWorkspace, resolve_inside
from mira_ls.llm import structured, tokens
from mira_ls.llm.pricing import cost_micro, price_for
from mira_ls.llm.service import LlmService
from mira_ls.store import Store
from mira_ls.store import design_patterns as q
from mira_ls.store.design_patterns import Candidate, Definition, Verdict

NAME = "design_patterns"
BATCH = 6
MEMBER_TOKENS = 350  # source per member shown; longer bodies are cut
MEMBERS_SHOWN = 4
OUTPUT_TOKENS_PER_CANDIDATE = 70
MIN_VALID_CONFIDENCE = 0.5

CATEGORY = {
    "singleton": "creational", "factory": "creational", "builder": "creational",
    "observer": "behavioral", "strategy": "behavioral", "adapter": "structural",
    "decorator": "structural", "repository": "architectural",
}  # fmt: skip

_ITEM: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "is_pattern", "confidence", "description"],
    "properties": {
        "id": {"type": "integer", "description": "the candidate's id as given"},
        "is_pattern": {"type": "boolean", "description": "whether the code follows the pattern"},
        "confidence": {"type": "number", "description": "0 to 1"},
        "description": {"type": "string",
                        "description": "one line: how the pattern is used here, or why not"},
    },
}  # fmt: skip
SCHEMA = structured.list_schema("candidates", _ITEM)
SYSTEM = (
    "You review design pattern candidates found by name and structure in a code base. For "
    "each candidate (its id, the pattern, the evidence and the source of the symbols taking "
    "part) say whether the code really follows that pattern, how sure you are (0 to 1) and "
    "in one line how it is used (or why it is not the pattern). Answer with JSON only, one "
    "entry per id given."
)

_SINGLETON_ACCESSORS = {"instance", "getinstance", "shared", "sharedinstance", "defaultinstance"}
_SINGLETON_FIELDS = {"_instance", "__instance", "_singleton", "instance"}
_FACTORY_NAME = re.compile(r"^(create|make|new|build)(_|[A-Z])", re.ASCII)
_SUBSCRIBE = {"subscribe", "attach", "addlistener", "addobserver", "register", "listen",
              "addhandler", "addsubscriber", "on"}  # fmt: skip
_NOTIFY = {"notify", "emit", "publish", "fire", "dispatch", "trigger", "notifyall",
           "broadcast", "notifyobservers", "notifylisteners"}  # fmt: skip
_FLUENT = re.compile(r"^(with|set|add)(_|[A-Z])", re.ASCII)
_REPO_METHODS = {"get", "add", "find", "list", "all", "save", "delete", "remove", "update",
                 "getbyid", "findbyid", "findall", "getall", "create"}  # fmt: skip
_WRAPPERS = {"wrapper", "inner", "wrapped", "decorated", "_wrapper", "_inner"}


def _flat(name: str) -> str:
    return name.replace("_", "").lower()


def _bases(d: Definition) -> list[str]:
    """The short names of a class's bases, from its signature ('class A(b.Base, M)')."""
    m = re.search(r"\((.*)\)", d.signature, re.S)
    if m is None:
        m2 = re.search(r"\b(?:extends|implements)\s+(.+?)(?:\{|$)", d.signature, re.S)
        if m2 is None:
            return []
        text = m2.group(1).replace("implements", ",")
    else:
        text = m.group(1)
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part or "=" in part or part.startswith("*"):
            continue
        part = re.sub(r"\[.*\]|<.*>", "", part).strip()
        short = re.split(r"[.:]", part)[-1].strip()
        if short and short.isidentifier() and short not in ("object", "ABC", "Protocol"):
            out.append(short)
    return out


def _methods(d: Definition) -> list[str]:
    return [n for k, n in d.children if k in ("method", "constructor", "function")]


def _fields(d: Definition) -> list[str]:
    return [n for k, n in d.children if k in ("field", "variable", "constant", "property")]


def detect(store: Store, project_id: int) -> list[Candidate]:
    """The structural candidates of a project (see the module's docstring), by pattern
    and position."""
    conn = store.conn()
    defs = q.definitions(conn, project_id)
    classes = [d for d in defs.values() if d.kind in q.CLASS_KINDS]
    by_short: dict[str, list[Definition]] = defaultdict(list)
    for c in classes:
        by_short[c.name].append(c)
    kids: dict[int, list[Definition]] = defaultdict(list)
    for d in defs.values():
        if d.parent_id is not None:
            kids[d.parent_id].append(d)
    built: dict[int, set[int]] = defaultdict(set)
    for caller, cls in q.constructions(conn, project_id):
        if cls in defs:
            built[caller].add(cls)
    out: list[Candidate] = []

    def add(pattern: str, members: list[tuple[int, str]], **evidence: Any) -> None:
        uniq: list[tuple[int, str]] = []
        for s, r in members:
            if all(s != u for u, _ in uniq):
                uniq.append((s, r))
        out.append(Candidate(pattern, CATEGORY[pattern], uniq[0][0], uniq, evidence))

    def base_of(c: Definition, short: str) -> Definition | None:
        found = [b for b in by_short.get(short, []) if b.id != c.id]
        same_file = [b for b in found if b.file_path == c.file_path]
        return (same_file or found)[0] if len(same_file or found) == 1 else None

    subclasses: dict[int, list[Definition]] = defaultdict(list)
    for c in classes:
        methods = _methods(c)
        fields = set(_fields(c))
        # singleton
        acc = sorted({m for m in methods if _flat(m) in _SINGLETON_ACCESSORS})
        if acc or (fields & _SINGLETON_FIELDS and "__new__" in methods):
            add("singleton", [(c.id, "singleton")], accessors=acc,
                fields=sorted(fields & _SINGLETON_FIELDS))  # fmt: skip
        # builder
        fluent = sorted({m for m in methods if _FLUENT.match(m)})
        if c.name.endswith("Builder") or ("build" in methods and len(fluent) >= 2):
            products = sorted({p for d in kids[c.id] for p in built.get(d.id, ())} - {c.id})
            add("builder", [(c.id, "builder"), *((p, "product") for p in products[:4])],
                fluent_methods=fluent[:8], build="build" in methods)  # fmt: skip
        # observer
        sub = sorted(m for m in methods if _flat(m) in _SUBSCRIBE)
        notify = sorted(m for m in methods if _flat(m) in _NOTIFY)
        if sub and notify:
            add("observer", [(c.id, "subject")], subscribe=sub, notify=notify)
        # adapter
        if c.name.endswith("Adapter"):
            targets = [b for b in (base_of(c, s) for s in _bases(c)) if b is not None]
            add("adapter", [(c.id, "adapter"), *((t.id, "target") for t in targets[:3])],
                bases=_bases(c))  # fmt: skip
        # repository
        repo_like = sorted(
            {m for m in methods if not m.startswith("__") and _flat(m) in _REPO_METHODS}
        )
        if re.search(r"(Repository|Repo|Dao|DAO)$", c.name) or len(repo_like) >= 3:
            add("repository", [(c.id, "repository")], methods=repo_like)
        # decorator (class): named so, or takes an instance of its base in its constructor
        init = next(
            (d for d in kids[c.id] if d.name in ("__init__", "constructor")
             or d.kind == "constructor"), None,
        )  # fmt: skip
        bases = [b for b in (base_of(c, s) for s in _bases(c)) if b is not None]
        wraps = [
            b for b in bases if init is not None and re.search(rf"\b{re.escape(b.name)}\b",
                                                             init.signature.split(")", 1)[0])
        ]  # fmt: skip
        if c.name.endswith("Decorator") or wraps:
            add("decorator", [(c.id, "decorator"), *((b.id, "component") for b in wraps[:2])],
                wraps=[b.name for b in wraps])  # fmt: skip
        for b in bases:
            subclasses[b.id].append(c)
    # factory: a factory class, or a creator function/method constructing project classes
    for d in defs.values():
        products = sorted(built.get(d.id, set()) - {d.parent_id or 0})
        owner = defs.get(d.parent_id) if d.parent_id else None
        named = d.kind in q.CLASS_KINDS and d.name.endswith("Factory")
        if named:
            made = sorted({p for m in kids[d.id] for p in built.get(m.id, ())})
            add("factory", [(d.id, "factory"), *((p, "product") for p in made[:4])],
                products=[defs[p].name for p in made[:8]])  # fmt: skip
            continue
        if d.kind in q.CLASS_KINDS or not products:
            continue
        in_factory = owner is not None and owner.name.endswith("Factory")
        if in_factory:
            continue  # the class is the candidate
        if _FACTORY_NAME.match(d.name) and len(products) >= 2:
            add("factory", [(d.id, "factory"), *((p, "product") for p in products[:4])],
                products=[defs[p].name for p in products[:8]])  # fmt: skip
    # strategy: a base whose subclasses (2+) override one of its methods
    for base_id, subs in subclasses.items():
        base = defs[base_id]
        base_methods = {m for m in _methods(base) if not m.startswith("__")}
        overriding: dict[str, list[Definition]] = defaultdict(list)
        for s in subs:
            for m in set(_methods(s)) & base_methods:
                overriding[m].append(s)
        best = sorted(overriding.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        if best and len(best[0][1]) >= 2:
            method, impls = best[0]
            add("strategy", [(base.id, "strategy"), *((s.id, "concrete") for s in impls[:5])],
                method=method, implementations=len(impls))  # fmt: skip
    # decorator (function): defines a wrapper and returns it
    for d in defs.values():
        if d.kind == "function" and d.parent_id is not None:
            parent = defs.get(d.parent_id)
            if parent is not None and parent.kind == "function" and d.name in _WRAPPERS:
                add("decorator", [(parent.id, "decorator")], wrapper=d.name)
    uniq: dict[tuple[str, int], Candidate] = {}
    for cand in out:
        uniq.setdefault((cand.pattern, cand.anchor), cand)
    found = list(uniq.values())
    for cand in found:
        cand.key = _key(cand, defs)
    found.sort(key=lambda c: (c.pattern, defs[c.anchor].file_path, defs[c.anchor].start_line))
    return found


def _key(c: Candidate, defs: dict[int, Definition]) -> str:
    """What a verdict depends on: the members (and their content), the pattern, and the
    model, effort and schema (filled in by ``plan``: the settings are not known here)."""
    parts = [c.pattern, *(f"{s}:{r}:{defs[s].content_hash}" for s, r in c.members)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _cache_key(c: Candidate, model: str) -> str:
    h = structured.schema_hash(SCHEMA)
    text = f"{c.key}\n{model}\n{structured.STRUCTURED_EFFORT}\n{h}\n{SYSTEM}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class PatternPlan:
    found: list[Candidate]
    pending: list[Candidate]  # no verdict at their current key
    prompts: list[tuple[list[Candidate], str]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micro: int = 0


def _source(root: Path, d: Definition, cache: dict[str, list[str]]) -> str:
    lines = cache.get(d.file_path)
    if lines is None:
        try:
            text = resolve_inside(root, d.file_path).read_text("utf-8", errors="replace")
        except (OSError, OutsideWorkspace):
            text = ""
        lines = cache[d.file_path] = text.splitlines()
    return tokens.truncate("\n".join(lines[d.start_line - 1 : d.end_line]), MEMBER_TOKENS)


def _prompt(
    root: Path, batch: list[Candidate], defs: dict[int, Definition], cache: dict[str, list[str]]
) -> str:
    parts = []
    for i, c in enumerate(batch, 1):
        ev = json.dumps(c.evidence, sort_keys=True)
        body = [f"## candidate {i}: {c.pattern}\nevidence: {ev}"]
        for sid, role in c.members[:MEMBERS_SHOWN]:
            d = defs[sid]
            body.append(
                f"### {role}: {d.kind} {d.qualified_name} ({d.file_path}:{d.start_line})\n"
                f"```\n{_source(root, d, cache)}\n```"
            )
        parts.append("\n".join(body))
    return "\n\n".join(parts)


def plan(
    store: Store, settings: Settings, root: Path, project_id: int, *, estimate: bool = False
) -> PatternPlan:
    """Detect (and store) the candidates with the verdicts cached for the configured model
    applied; with ``estimate``, what validating the rest would ask and cost at most."""
    found = detect(store, project_id)
    conn = store.conn()
    model = settings.llm.model
    pending: list[Candidate] = []
    for c in found:
        v = q.verdict(conn, c.anchor, c.pattern, _cache_key(c, model))
        if v is not None:
            _apply(c, v)
        else:
            pending.append(c)
    with store.write() as w:
        q.replace_patterns(w, project_id, found)
    out = PatternPlan(found, pending)
    if not estimate:
        return out
    defs = q.definitions(conn, project_id)
    cache: dict[str, list[str]] = {}
    for i in range(0, len(pending), BATCH):
        batch = pending[i : i + BATCH]
        text = _prompt(root, batch, defs, cache)
        out.prompts.append((batch, text))
        out.input_tokens += tokens.count(SYSTEM) + tokens.count(text) + 20
        out.output_tokens += OUTPUT_TOKENS_PER_CANDIDATE * len(batch)
    out.cost_micro = cost_micro(price_for(model), out.input_tokens, out.output_tokens)
    return out


def _apply(c: Candidate, v: Verdict) -> None:
    valid = v.is_valid and v.confidence >= MIN_VALID_CONFIDENCE
    c.status = "validated" if valid else "rejected"
    c.description, c.confidence = v.description, v.confidence


def _validator(ids: set[int]) -> structured.Validator:
    def validate(data: Any) -> str | None:
        if not isinstance(data, dict) or not isinstance(data.get("candidates"), list):
            return 'the answer must be an object with a list "candidates"'
        seen: set[int] = set()
        for i, it in enumerate(data["candidates"]):
            if not isinstance(it, dict) or set(it) != set(_ITEM["required"]):
                return f"entry {i + 1} must have exactly the keys {', '.join(_ITEM['required'])}"
            if it["id"] not in ids or it["id"] in seen:
                return f"entry {i + 1}: id {it['id']!r} is not one asked for, or repeated"
            if not isinstance(it["is_pattern"], bool):
                return f"entry {i + 1}: is_pattern must be true or false"
            conf = it["confidence"]
            if isinstance(conf, bool) or not isinstance(conf, int | float) or not 0 <= conf <= 1:
                return f"entry {i + 1}: confidence must be a number from 0 to 1"
            if not isinstance(it["description"], str) or not it["description"].strip():
                return f"entry {i + 1}: description must be non-empty text"
            seen.add(it["id"])
        if seen != ids:
            return f"ids {sorted(ids - seen)} have no entry"
        return None

    return validate


@dataclass
class Validated:
    candidates: int = 0
    calls: int = 0
    cached_answers: int = 0
    cost_micro: int = 0
    validated: int = 0
    rejected: int = 0


def validate(
    store: Store,
    svc: LlmService,
    project_id: int,
    p: PatternPlan,
    cancelled: Callable[[], bool] | None = None,
    into: Validated | None = None,
) -> Validated:
    """Ask for each batch of the plan; each batch's verdicts are stored as its answer
    validates (LlmError stops the run, keeping the batches before it)."""
    out = into if into is not None else Validated()
    model = svc.settings.llm.model
    try:
        for batch, text in p.prompts:
            if cancelled is not None and cancelled():
                break
            req = structured.StructuredRequest(NAME, SCHEMA, SYSTEM, text, "patterns", project_id)
            ids = set(range(1, len(batch) + 1))
            ans = structured.ask(svc, req, _validator(ids))
            out.calls += 0 if ans.cached else ans.attempts
            out.cached_answers += int(ans.cached)
            out.cost_micro += ans.cost_micro
            with store.write() as w:
                for it in ans.data["candidates"]:
                    c = batch[it["id"] - 1]
                    v = Verdict(bool(it["is_pattern"]), float(it["confidence"]),
                                " ".join(it["description"].split())[:300])  # fmt: skip
                    result = {"description": v.description, "members_key": c.key}
                    q.store_verdict(w, _keyed(c, model), v, ans.model, result)
                    _apply(c, v)
                    out.candidates += 1
                    out.validated += int(c.status == "validated")
                    out.rejected += int(c.status == "rejected")
    finally:
        with store.write() as w:  # the statuses found so far, whatever stopped the run
            q.replace_patterns(w, project_id, p.found)
    return out


def _keyed(c: Candidate, model: str) -> Candidate:
    """The candidate as the cache stores it: keyed with the model, effort and schema."""
    return Candidate(c.pattern, c.category, c.anchor, c.members, c.evidence, _cache_key(c, model))


def as_json(p: PatternPlan, v: Validated | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "found": len(p.found),
        "to_validate": len(p.pending),
        "calls_planned": len(p.prompts),
        "estimated_usd": p.cost_micro / 1_000_000,
        "patterns": [
            {"pattern": c.pattern, "category": c.category, "status": c.status,
             "confidence": round(c.confidence, 3), "description": c.description,
             "evidence": c.evidence, "members": [{"id": s, "role": r} for s, r in c.members]}
            for c in p.found
        ],
    }  # fmt: skip
    if v is not None:
        data["validation"] = {"validated": v.validated, "rejected": v.rejected,
                              "calls": v.calls, "cached_answers": v.cached_answers,
                              "cost_usd": v.cost_micro / 1_000_000}  # fmt: skip
    return data
