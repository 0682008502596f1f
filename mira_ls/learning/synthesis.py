"""Tool synthesis: work the model keeps repeating becomes a tool the user may approve.

Every answer's tool calls are kept as 'tool_call' events of its operation. A run of 3 or 4
consecutive successful calls of the built-in tools is reduced to its *shape*: which tools,
in which order, and where each argument came from (an argument of the first call is a
parameter; a later argument equal to an earlier one is bound to it; one equal to the first
name a listing tool answered is bound to that; any other is a constant when every
occurrence used the same value, else a parameter). A shape seen in ``tools.minOccurrences``
different operations of a project is a ``tool_pattern`` with a confidence (how many of the
operations making those calls in that order used this shape, times n/(n+1) for n
occurrences); one at or above ``MIN_CONFIDENCE`` is proposed as a synthesized tool: a
read-only composition of the built-in tools. Users may also propose a command tool (an argv
template run in the workspace). Nothing proposed is given to the model until the user
approves it; each change of a definition is a new version in tool_evolution_history and
needs approval again.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from mira_ls.llm.tools import LISTING, NAMES, SCHEMAS
from mira_ls.store import Store, StoreError
from mira_ls.store import synth_tools as q
from mira_ls.store.synth_tools import ToolRow

log = logging.getLogger(__name__)

MIN_STEPS, MAX_STEPS = 3, 4
MIN_CONFIDENCE = 0.5
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{2,59}$")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
STATUS_SHOWN = {
    "draft": "proposed",
    "validated": "proposed",
    "active": "approved",
    "disabled": "rejected",
    "failed": "withdrawn",
}
_PROPS = {s["function"]["name"]: s["function"]["parameters"]["properties"] for s in SCHEMAS}


class ToolError(Exception):
    """A sentence for the user: no such tool, a bad definition, a wrong state."""


# --- detection ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    name: str
    args: dict[str, Any]
    found: tuple[str, ...]
    ok: bool


def _parsed(event: dict[str, Any]) -> _Call:
    raw = event.get("arguments")
    try:
        args = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        args = None
    ok = not event.get("error") and isinstance(args, dict)
    return _Call(
        str(event.get("name") or ""),
        args if isinstance(args, dict) else {},
        tuple(event.get("found") or ()),
        ok,
    )


def _vkey(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


def _shape(window: list[_Call]) -> list[dict[str, Any]]:
    """Each step's tool and where each of its arguments comes from (see the module doc)."""
    sources: dict[str, dict[str, Any]] = {}
    steps = []
    for i, c in enumerate(window):
        binds: dict[str, dict[str, Any]] = {}
        for k in sorted(c.args):
            v = c.args[k]
            b: dict[str, Any] | None = None
            if i == 0:
                b = {"param": k}
            elif _vkey(v) in sources:
                b = sources[_vkey(v)]
            elif isinstance(v, str):
                for j in range(i - 1, -1, -1):
                    if window[j].name in LISTING and window[j].found[:1] == (v,):
                        b = {"from_step": j, "take": "first"}
                        break
            if b is None:
                b = {"free": k}
            binds[k] = b
            sources.setdefault(_vkey(v), b)
        steps.append({"tool": c.name, "arguments": binds})
    return steps


@dataclass
class _Seen:
    names: tuple[str, ...]
    shape: list[dict[str, Any]]
    ops: list[str]
    windows: list[list[_Call]]


def _windows(calls: list[_Call], n: int) -> list[list[_Call]]:
    out = []
    for i in range(len(calls) - n + 1):
        w = calls[i : i + n]
        if all(c.ok and c.name in NAMES for c in w) and len({c.name for c in w}) > 1:
            out.append(w)
    return out


def _finish(seen: _Seen) -> list[dict[str, Any]]:
    """Free arguments become constants (one value everywhere) or parameters."""
    used = {b["param"] for s in seen.shape for b in s["arguments"].values() if "param" in b}
    steps = json.loads(json.dumps(seen.shape))
    for i, step in enumerate(steps):
        for k, b in step["arguments"].items():
            if "free" not in b:
                continue
            values = {_vkey(w[i].args.get(k)) for w in seen.windows}
            if len(values) == 1:
                step["arguments"][k] = {"value": seen.windows[0][i].args.get(k)}
            else:
                name = k if k not in used else f"{k}_{i + 1}"
                used.add(name)
                step["arguments"][k] = {"param": name}
    return steps


def detect(sequences: list[tuple[str, list[dict[str, Any]]]], min_occurrences: int) -> list[_Seen]:
    """The shapes repeated in at least ``min_occurrences`` operations, longest first; a shorter
    one inside a longer one found as often is left out."""
    parsed = [(op, [_parsed(e) for e in events]) for op, events in sequences]
    found: list[_Seen] = []
    for n in range(MAX_STEPS, MIN_STEPS - 1, -1):
        by_shape: dict[str, _Seen] = {}
        for op, calls in parsed:
            for w in _windows(calls, n):
                shape = _shape(w)
                key = _vkey(shape)
                seen = by_shape.setdefault(key, _Seen(tuple(c.name for c in w), shape, [], []))
                if op not in seen.ops:
                    seen.ops.append(op)
                    seen.windows.append(w)
        for seen in by_shape.values():
            if len(seen.ops) < min_occurrences:
                continue
            if any(_inside(seen, longer) for longer in found):
                continue
            found.append(seen)
    return found


def _inside(short: _Seen, long: _Seen) -> bool:
    n, m = len(short.names), len(long.names)
    return len(short.ops) <= len(long.ops) and any(
        long.names[i : i + n] == short.names for i in range(m - n + 1)
    )


def _ops_with_names(
    sequences: list[tuple[str, list[dict[str, Any]]]], names: tuple[str, ...]
) -> int:
    n = len(names)
    count = 0
    for _, events in sequences:
        seq = [str(e.get("name")) for e in events]
        if any(tuple(seq[i : i + n]) == names for i in range(len(seq) - n + 1)):
            count += 1
    return count


def _binding_text(b: dict[str, Any]) -> str:
    if "param" in b:
        return str(b["param"])
    if "from_step" in b:
        return f"the first result of step {b['from_step'] + 1}"
    return json.dumps(b.get("value"))


def describe_steps(steps: list[dict[str, Any]]) -> str:
    parts = []
    for s in steps:
        args = ", ".join(f"{k} = {_binding_text(b)}" for k, b in s["arguments"].items())
        parts.append(f"{s['tool']}({args})")
    return " -> ".join(parts)


def _parameters(steps: list[dict[str, Any]]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for s in steps:
        for k, b in s["arguments"].items():
            if "param" in b and b["param"] not in props:
                spec = _PROPS.get(s["tool"], {}).get(k, {"type": "string"})
                props[b["param"]] = {
                    "type": spec.get("type", "string"),
                    "description": f"{k} of {s['tool']}",
                }
    return {
        "type": "object",
        "properties": props,
        "required": sorted(props),
        "additionalProperties": False,
    }


def _canonical(definition: dict[str, Any]) -> tuple[str, str]:
    text = json.dumps(definition, sort_keys=True, indent=1)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def _free_name(conn: Any, project_id: int, base: str) -> str:
    base = base[:56]
    name, n = base, 1
    while q.tool_named(conn, project_id, name) is not None:
        n += 1
        name = f"{base}_{n}"
    return name


@dataclass(frozen=True)
class Proposal:
    tool_id: int
    name: str
    occurrences: int
    steps: str

    def note(self) -> str:
        return (
            f"the model made the same {self.steps.count(' -> ') + 1} tool calls "
            f"({self.steps}) in {self.occurrences} answers: Mira proposes them as one tool, "
            f"{self.name} (id {self.tool_id}), used only once you approve it "
            f"(`mira-ls tools show {self.tool_id}`, `mira-ls tools approve {self.tool_id}`)"
        )


def learn(store: Store, project_id: int, min_occurrences: int) -> list[Proposal]:
    """Detect the project's repeated tool-call shapes, keep them as tool_patterns, and
    propose a tool for each confident one that has none yet."""
    now = int(time.time())
    sequences = q.tool_call_sequences(store.conn(), project_id)
    found = detect(sequences, min_occurrences)  # read and worked out before the write lock
    if not found:
        return []
    with store.write() as conn:
        proposals = []
        for seen in found:
            steps = _finish(seen)
            occ = len(seen.ops)
            consistency = occ / max(occ, _ops_with_names(sequences, seen.names))
            confidence = round(consistency * occ / (occ + 1), 3)
            described = describe_steps(steps)
            h = hashlib.sha256(_vkey(steps).encode()).hexdigest()[:6]
            pid = q.upsert_pattern(
                conn,
                project_id,
                f"{' > '.join(seen.names)} ({h})",
                pattern_type="search" if seen.names[0] in LISTING else "analysis",
                description=described,
                occurrences=occ,
                examples=seen.ops[-5:],
                confidence=confidence,
                should_synthesize=confidence >= MIN_CONFIDENCE,
                now=now,
            )
            if confidence < MIN_CONFIDENCE or q.tool_of_pattern(conn, pid) is not None:
                continue
            definition = {"kind": "composition", "steps": steps}
            source, digest = _canonical(definition)
            name = _free_name(conn, project_id, "combo_" + "_".join(seen.names))
            tid = q.insert_tool(
                conn,
                project_id,
                pattern_id=pid,
                name=name,
                description=f"Runs {described}, in one call (read-only).",
                kind="composition",
                source_code=source,
                source_hash=digest,
                parameters=_parameters(steps),
                now=now,
            )
            q.add_history(
                conn, tid, 0, 1, "proposed",
                f"the same calls in {occ} operations (confidence {confidence:.2f})", None, now,
            )  # fmt: skip
            proposals.append(Proposal(tid, name, occ, described))
    return proposals


def observe(
    store: Store,
    op_id: str,
    project_id: int | None,
    calls: list[dict[str, Any]],
    *,
    synthesis: bool,
    min_occurrences: int,
) -> list[str]:
    """An answer's tool calls are kept against its operation; with synthesis on, what they
    make repeated is learned. Notes for the answer (a new proposal); never raises on a
    database problem (the answer matters more)."""
    if not calls:
        return []
    fields = ("name", "arguments", "error", "found")
    kept: list[dict[str, Any]] = [{k: c[k] for k in fields if k in c} for c in calls]
    try:
        with store.write() as conn:
            q.record_tool_calls(conn, op_id, kept, int(time.time()))
        if not synthesis or project_id is None:
            return []
        return [p.note() for p in learn(store, project_id, min_occurrences)]
    except StoreError as exc:
        log.warning("could not keep the tool calls of operation %s: %s", op_id, exc)
        return []


# --- command tools -------------------------------------------------------------------------


def _check_name(conn: Any, project_id: int, name: str) -> None:
    if not NAME_RE.match(name):
        raise ToolError(
            f"A tool name is 3-60 lowercase letters, digits and underscores, starting with a "
            f"letter; got {name!r}."
        )
    if name in NAMES:
        raise ToolError(f"{name} is one of mira-ls's own tools; choose another name.")
    if q.tool_named(conn, project_id, name) is not None:
        raise ToolError(f"This project already has a tool named {name}.")


def command_definition(
    argv: list[str], paths: list[str], timeout_s: float | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The definition and parameter schema of a command template, checked."""
    if not argv or not all(isinstance(a, str) and a for a in argv):
        raise ToolError("A command tool needs a program and its arguments (an argv list).")
    if PLACEHOLDER.search(argv[0]):
        raise ToolError("The program of a command tool cannot be a parameter.")
    if any("\x00" in a for a in argv):
        raise ToolError("An argument of a command tool cannot hold a NUL character.")
    params = sorted({m for a in argv[1:] for m in PLACEHOLDER.findall(a)})
    unknown = sorted(set(paths) - set(params))
    if unknown:
        raise ToolError(f"--path names no placeholder of the command: {', '.join(unknown)}.")
    if timeout_s is not None and not 0.1 <= timeout_s <= 3600:
        raise ToolError("A timeout is between 0.1 and 3600 seconds.")
    definition: dict[str, Any] = {"kind": "command", "argv": argv, "paths": sorted(paths)}
    if timeout_s is not None:
        definition["timeout_s"] = timeout_s
    schema = {
        "type": "object",
        "properties": {
            p: {
                "type": "string",
                "description": "a workspace-relative path" if p in paths else f"the {p}",
            }
            for p in params
        },
        "required": params,
        "additionalProperties": False,
    }
    return definition, schema


def propose_command(
    store: Store,
    project_id: int,
    name: str,
    description: str,
    argv: list[str],
    paths: list[str],
    timeout_s: float | None,
) -> ToolRow:
    """A command template the user wrote, as a proposal (approve it to use it)."""
    definition, schema = command_definition(argv, paths, timeout_s)
    source, digest = _canonical(definition)
    now = int(time.time())
    with store.write() as conn:
        _check_name(conn, project_id, name)
        tid = q.insert_tool(
            conn, project_id, pattern_id=None, name=name,
            description=description or f"Runs {' '.join(argv)} in the workspace.",
            kind="command", source_code=source, source_hash=digest, parameters=schema, now=now,
        )  # fmt: skip
        q.add_history(conn, tid, 0, 1, "proposed", "written by the user", None, now)
    found = q.tool(store.conn(), tid)
    assert found is not None
    return found


def edit(
    store: Store,
    tool_id: int,
    *,
    description: str | None = None,
    argv: list[str] | None = None,
    paths: list[str] | None = None,
    timeout_s: float | None = None,
    motivation: str | None = None,
) -> ToolRow:
    """A changed definition is the next version (tool_evolution_history, with the diff); an
    approved tool becomes a proposal again until approved at its new version."""
    row = get(store, tool_id)
    definition = row.definition
    schema = row.parameters
    changes = []
    if row.kind == "command" and (argv is not None or paths is not None or timeout_s is not None):
        new_argv = argv if argv is not None else list(definition["argv"])
        new_paths = paths if paths is not None else list(definition.get("paths", []))
        timeout = timeout_s if timeout_s is not None else definition.get("timeout_s")
        definition, schema = command_definition(new_argv, new_paths, timeout)
        changes.append("command")
    elif argv is not None or paths is not None or timeout_s is not None:
        raise ToolError(f"{row.name} is a composition of tools: only its description changes.")
    if description is not None and description != row.description:
        changes.append("description")
    source, digest = _canonical(definition)
    if source == row.source_code and "description" not in changes:
        raise ToolError(f"That is {row.name}'s definition already; nothing changed.")
    diff = "".join(
        difflib.unified_diff(
            row.source_code.splitlines(keepends=True),
            source.splitlines(keepends=True),
            f"v{row.version}",
            f"v{row.version + 1}",
        )
    )
    with store.write() as conn:
        q.new_version(
            conn, tool_id,
            description=description if description is not None else row.description,
            source_code=source, source_hash=digest, parameters=schema,
            change="changed " + " and ".join(changes), motivation=motivation,
            diff=diff or None, now=int(time.time()),
        )  # fmt: skip
    return get(store, tool_id)


# --- the user's decisions ----------------------------------------------------------------


def get(store: Store, tool_id: int) -> ToolRow:
    row = q.tool(store.conn(), tool_id)
    if row is None:
        raise ToolError(f"There is no tool {tool_id}; `mira-ls tools list` lists them.")
    return row


def approve(store: Store, tool_id: int) -> dict[str, Any]:
    row = get(store, tool_id)
    if row.status == "active" and row.approved_version == row.version:
        return {"tool": as_json(store, row), "message": f"{row.name} is approved already."}
    was = STATUS_SHOWN.get(row.status, row.status)
    with store.write() as conn:
        q.approve(conn, tool_id, int(time.time()))
    row = get(store, tool_id)
    return {
        "tool": as_json(store, row),
        "message": f"Approved {row.name} (version {row.version}, was {was}): the model may "
        "use it in this project's answers from now on.",
    }


def reject(store: Store, tool_id: int, reason: str | None = None) -> dict[str, Any]:
    row = get(store, tool_id)
    with store.write() as conn:
        q.reject(conn, tool_id, reason, int(time.time()))
    row = get(store, tool_id)
    return {
        "tool": as_json(store, row),
        "message": f"Rejected {row.name}: it is not offered to the model and not proposed again.",
    }


def as_json(store: Store, row: ToolRow, *, full: bool = False) -> dict[str, Any]:
    conn = store.conn()
    eff = q.effectiveness(conn, row.id)
    good, bad = q.feedback_counts(conn, row.id)
    pat = q.pattern(conn, row.pattern_id) if row.pattern_id is not None else None
    out: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "status": STATUS_SHOWN.get(row.status, row.status),
        "offered": row.status == "active" and row.approved_version == row.version,
        "version": row.version,
        "approved_version": row.approved_version,
        "description": row.description,
        "parameters": row.parameters,
        "definition": row.definition,
        "pattern": None
        if pat is None
        else {"id": pat.id, "occurrences": pat.occurrences, "confidence": pat.confidence},
        "executions": eff.executions,
        "successes": eff.successes,
        "failures": eff.failures,
        "success_rate": eff.success_rate,
        "avg_ms": round(eff.total_ms / eff.executions) if eff.executions else None,
        "last_run_at": eff.last_at,
        "feedback": {"good": good, "bad": bad},
        "note": row.error,
        "created_at": row.created_at,
        "approved_at": row.approved_at,
        "withdrawn_at": row.withdrawn_at,
    }
    if full:
        out["history"] = q.history(conn, row.id)
        out["recent"] = q.executions(conn, row.id)
    return out


def listed(store: Store, project_id: int | None) -> list[dict[str, Any]]:
    return [as_json(store, r) for r in q.tools_of(store.conn(), project_id)]


def line_of(t: dict[str, Any]) -> str:
    rate = "" if t["success_rate"] is None else f", {t['success_rate']:.0%} ok"
    runs = f"{t['executions']} runs{rate}" if t["executions"] else "never run"
    return f"{t['id']:>4}  {t['name']}  [{t['status']}, {t['kind']}, v{t['version']}, {runs}]"


def text_of(t: dict[str, Any]) -> str:
    lines = [line_of(t), f"      {t['description']}"]
    d = t["definition"]
    if d.get("kind") == "command":
        lines.append(f"      argv: {json.dumps(d['argv'])}")
        if d.get("timeout_s"):
            lines.append(f"      timeout: {d['timeout_s']:g} s")
    else:
        lines.append(f"      steps: {describe_steps(d.get('steps', []))}")
    if t["pattern"]:
        p = t["pattern"]
        lines.append(f"      seen in {p['occurrences']} answers (confidence {p['confidence']:.2f})")
    if t["note"]:
        lines.append(f"      note: {t['note']}")
    for h in t.get("history", []):
        lines.append(f"      v{h['to_version']}: {h['change']}"
                     + (f" ({h['motivation']})" if h["motivation"] else ""))  # fmt: skip
    return "\n".join(lines)


def feedback_for_operation(store: Store, op_id: str, helpful: bool, note: str | None) -> int:
    """Feedback on an answer is feedback on the synthesized tools its operation ran (rating 5
    when helpful, 1 when not); the number of runs it applied to."""
    now = int(time.time())
    with store.write() as conn:
        runs = q.executions_of_operation(conn, op_id)
        for tool_id, execution_id in runs:
            q.set_feedback(
                conn, tool_id, execution_id, 5 if helpful else 1,
                None if helpful else "wrong_result", note, now,
            )  # fmt: skip
    return len(runs)
