"""What is learned from, and how.

Outcomes of an operation: its applied fix *stayed* (the first complete build run after it was
applied no longer reports its error) is a success; the fix *reverted* (the file saved back to
its original) or its error *returned* in a later run is a failure; the user's feedback
(``mira.feedback`` / ``mira-ls feedback``) is a success when helpful, a failure when not; an
applied artifact whose change is still in its file a day after it was applied was *kept* (a
success), one whose change is gone *not kept* (a failure), checked at the server's start and
after each index run (day_check). The latest outcome of an operation is what counts (a fix
that stayed and is then reverted is a failure).

A reasoning pattern is one approach (the kind of change, see approach.py) that fixed errors
of one category in a project. Each outcome of a ``fix_error`` operation counts for the pattern
of its own fix's approach (created on the first outcome) and for every pattern its context
showed (pattern_usage); the pattern's use_count is its judged outcomes, success_count the
good ones. Name, description, template and steps are the user's to edit
(``mira-ls patterns edit``); a retired pattern is never shown again.

With ``learning.enabled`` off nothing here runs: feedback is still stored (it is the user's
word on an answer), but no outcome is recorded and no pattern is made, changed or shown."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.learning import approach as ap
from mira_ls.learning import matching
from mira_ls.llm.redact import redact, redact_repeated
from mira_ls.store import Store, StoreError
from mira_ls.store import artifacts as art_store
from mira_ls.store import learning as q
from mira_ls.store import operations as op_store
from mira_ls.store.connection import Connection

log = logging.getLogger(__name__)

TOOL_STEPS = 8  # tool calls kept as a pattern's steps (the first of the fix that worked)
VERIFY = "the next complete build run no longer reports the error, and the change is kept"


class FeedbackError(Exception):
    """``str(exc)`` is the sentence the user is shown."""


def _arguments(raw: Any) -> dict[str, Any]:
    """A recorded call's arguments (JSON text, redacted and cut when kept) as an object."""
    if isinstance(raw, dict):
        return raw
    try:
        got = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {"raw": str(raw)[:200]}
    return got if isinstance(got, dict) else {}


def _own_pattern(
    conn: Connection,
    project_id: int | None,
    fixes: list[q.FixRow],
    now: int,
    success: bool,
    op_id: str,
) -> int | None:
    """The pattern of an operation's own fix (made now when it is the first of its kind).
    On a success, the fix's problem joins the pattern's signature and the tool calls the
    operation made (if any) become its tool steps."""
    if not fixes:
        return None
    category = fixes[0].category
    diffs = [f.diff for f in fixes if f.diff]
    key = ap.classify(diffs)
    found = q.pattern_for(conn, project_id, category, key)
    # stored redacted: what the context shows of it needs no scrubbing at every assembly
    template = redact(ap.excerpt(diffs)) if success and diffs else None
    if found is not None:
        if template and not found.solution_template:
            q.set_template(conn, found.id, template)
        pid = found.id
    else:
        label = ap.LABELS[key]
        pid = q.insert_pattern(
            conn,
            project_id,
            name=f"{category} errors: {key}",
            description=f"For a {category} error, the fix {label}.",
            category=category,
            approach=key,
            template=template,
            steps=[
                ("gather", "read the error (its tool, code and message) and the code at its "
                 "line", None),
                ("act", label, f"the kind of change seen in fixes of {category} errors"),
                ("verify", VERIFY, None),
            ],
            now=now,
        )  # fmt: skip
    if success:
        for f in fixes:
            problem = matching.problem_of(
                conn, project_id, category=f.category, error_hash=f.error_hash, tool=f.tool,
                code=f.code, message=f.message, path=f.error_path, line=f.error_line,
            )  # fmt: skip
            q.add_signature(conn, pid, problem.signature(), now)
        calls = [
            (str(c["name"]), _arguments(c.get("arguments")))
            for c in q.tool_calls_of(conn, op_id)
            if c.get("name") and not c.get("error")
        ][:TOOL_STEPS]
        if calls:
            q.set_tool_steps(conn, pid, calls, now)
    return pid


def _judge(
    conn: Connection, op_id: str, project_id: int | None, success: bool, reason: str, now: int
) -> list[int]:
    """Count one outcome of ``op_id`` for its own fix's pattern and the patterns it used."""
    fixes = q.fixes_of_operation(conn, op_id)
    ids = q.used_by(conn, op_id)
    own = _own_pattern(conn, project_id, fixes, now, success, op_id)
    if own is not None and own not in ids:
        ids.append(own)
    for pid in ids:
        q.set_outcome(conn, op_id, pid, success, reason, now)
    return ids


def _project_of(conn: Connection, op_id: str) -> int | None:
    op = op_store.get(conn, op_id)
    return op.project_id if op else None


def feedback(
    store: Store, op_id: str, helpful: bool, note: str | None, *, learn: bool = True
) -> dict[str, Any]:
    """Store the user's word on an operation (and what it produced); with ``learn``, count
    it for the patterns of the operation. FeedbackError for an unknown operation."""
    op_id = op_id.strip()
    note = (note or "").strip() or None
    conn = store.conn()
    op = op_store.get(conn, op_id)
    if op is None:
        raise FeedbackError(
            f"There is no operation {op_id!r}; `mira-ls ops` lists the operations and their ids."
        )
    with store.write() as w:
        now = int(time.time())
        produced = [
            {"id": a.id, "kind": a.kind, "file": a.file_path, "status": a.status}
            for a in art_store.of_operation(w, op_id)
        ]
        q.set_feedback(w, op_id, helpful, note, produced, now)
        patterns = (
            _judge(w, op_id, op.project_id, helpful, "helpful" if helpful else "unhelpful", now)
            if learn and op.command == "fix_error"
            else []
        )
    from mira_ls.learning import synthesis

    tool_runs = synthesis.feedback_for_operation(store, op_id, helpful, note)
    return {
        "operation": op_id,
        "helpful": helpful,
        "note": note,
        "artifacts": produced,
        "patterns": patterns,
        "tool_runs": tool_runs,
        "message": f"Recorded: operation {op_id} was {'helpful' if helpful else 'not helpful'}.",
    }


def after_build(
    store: Store,
    project_id: int,
    run_id: int,
    gone: list[int],
    returned: list[art_store.ReturnedRow],
) -> None:
    """A complete build run ended: the applied fixes whose error it no longer reports stayed
    (a success, once per fix); those whose error came back (``returned``) are a failure.
    Never raises: a database error is logged."""
    try:
        with store.write() as conn:
            now = int(time.time())
            done: set[str] = set()
            for back in returned:
                q.set_fix_outcome(conn, back.artifact_id, "returned", run_id, now)
                if back.operation_id and back.operation_id not in done:
                    done.add(back.operation_id)
                    _judge(conn, back.operation_id, project_id, False, "returned", now)
            for fix in q.stayed(conn, project_id, run_id, gone):
                q.set_fix_outcome(conn, fix.artifact_id, "stayed", run_id, now)
                if fix.operation_id not in done:
                    done.add(fix.operation_id)
                    _judge(conn, fix.operation_id, project_id, True, "stayed", now)
    except StoreError as exc:
        log.warning("could not learn from build run %s: %s", run_id, exc)


def reverted(store: Store, project_id: int, artifact_ids: list[int]) -> None:
    """Applied fixes were undone (the file saved back to its original): each a failure."""
    if not artifact_ids:
        return
    try:
        with store.write() as conn:
            now = int(time.time())
            done: set[str] = set()
            for fix in q.fixes_by_id(conn, artifact_ids):
                q.set_fix_outcome(conn, fix.artifact_id, "reverted", None, now)
                if fix.operation_id not in done:
                    done.add(fix.operation_id)
                    _judge(conn, fix.operation_id, project_id, False, "reverted", now)
    except StoreError as exc:
        log.warning("could not learn from the reverted fixes %s: %s", artifact_ids, exc)


DAY = 86400  # an applied artifact whose change is still in its file this long after was kept


def day_check(
    store: Store, project_id: int, root: Path, *, now: int | None = None
) -> dict[str, list[int]]:
    """The applied artifacts of a project applied a day ago or more whose end is not judged
    yet: each one whose change is still in its file (tasks.artifacts.still_in, the file read
    under ``root``) was *kept*, a success of its operation; one whose change is gone was
    *not kept*, a failure (the file saved back to its original was recorded as reverted at
    the save). Each counts for the operation's patterns as the other outcomes do. Run at a
    natural moment (the server's start, after an index run); ``now`` is the clock (tests).
    Never raises: a database error is logged, {"kept": [], "not_kept": []} returned."""
    from mira_ls import confined
    from mira_ls.tasks import artifacts as tasks_art

    now = int(time.time()) if now is None else now
    out: dict[str, list[int]] = {"kept": [], "not_kept": []}
    try:
        due = q.day_old_applied(store.conn(), project_id, now - DAY)
        if not due:
            return out
        verdict: list[tuple[art_store.ArtifactRow, bool]] = []
        for a in due:
            try:
                path = confined.resolve_inside(root, a.file_path or "")
                text: str | None = path.read_text(encoding="utf-8", errors="surrogateescape")
            except (OSError, ValueError):
                text = None  # gone, unreadable or outside the workspace: the change is not there
            verdict.append((a, tasks_art.still_in(a, text)))
        with store.write() as conn:
            judged: dict[str, bool] = {}
            for a, kept in verdict:
                q.set_day_outcome(conn, a.id, kept, now)
                out["kept" if kept else "not_kept"].append(a.id)
                if a.operation_id:  # one artifact not kept makes the operation's change not kept
                    judged[a.operation_id] = judged.get(a.operation_id, True) and kept
            for op_id, kept in judged.items():
                _judge(conn, op_id, project_id, kept, "kept" if kept else "not_kept", now)
    except StoreError as exc:
        log.warning("could not check the applied artifacts of project %s: %s", project_id, exc)
        return {"kept": [], "not_kept": []}
    return out


def pattern_json(conn: Connection, p: q.PatternRow, *, with_steps: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "category": p.category,
        "approach": p.approach,
        "successes": p.success_count,
        "failures": p.failures,
        "success_rate": round(p.success_count / p.use_count, 3) if p.use_count else None,
        "uses": p.uses,
        "template": p.solution_template,
        "last_success_at": p.last_success_at,
        "last_used_at": p.last_used_at,
        "retired": p.retired_at is not None,
        "project_id": p.project_id,
    }
    if with_steps:
        out["steps"] = q.steps(conn, p.id)
    return out


def listed(store: Store, project_id: int | None) -> list[dict[str, Any]]:
    conn = store.conn()
    return [pattern_json(conn, p) for p in q.listed(conn, project_id)]


def line_of(p: dict[str, Any]) -> str:
    rate = f"{p['success_rate']:.0%}" if p["success_rate"] is not None else "-"
    line = (
        f"{p['id']}  {p['name']}: {p['successes']} worked, {p['failures']} failed ({rate}), "
        f"shown {p['uses']} times{'  [retired]' if p['retired'] else ''}\n    {p['description']}"
    )
    for s in p.get("steps", []):
        line += f"\n    {s['step']}. {s['type']}: {s['description']}"
        if "tool" in s:
            line += " " + json.dumps(s["arguments"], ensure_ascii=False)
    return line


@dataclass
class Worked:
    """The 'What worked before' text and the patterns in it: (id, match score, note)."""

    body: str = ""
    uses: list[tuple[int, float, str | None]] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [u[0] for u in self.uses]


def _as_is(text: str) -> str:
    return text


def _call_text(name: str, args: str) -> str:
    args = args if len(args) <= 120 else args[:117] + "..."
    return f"`{name} {args}`" if args not in ("{}", "") else f"`{name}`"


def what_worked(
    store: Store,
    project_id: int | None,
    problem: matching.Problem | str,
    limit: int = 3,
    *,
    space: tuple[str, int] | None = None,
) -> Worked:
    """The 'What worked before' text, redacted (a section of it is ``redacted=True``), for
    a build error (``problem``: its signature, or just its category): the live patterns
    with successes that match it best (matching.best),
    the best one's example, and the tool calls that led to the best one's latest success
    with tool calls (the model's first turn is seeded with them). Worked() when none."""
    if isinstance(problem, str):
        problem = matching.Problem(problem)
    conn = store.conn()
    found = matching.best(conn, project_id, problem, limit=limit, space=space)
    if not found:
        return Worked()
    from mira_ls.dates import minute

    category = problem.category
    lines = [
        f"Earlier {category} errors in this project were fixed like this (the error gone in "
        "the next build, the change kept); a hint, not a rule:"
    ]
    tools = {m.pattern.id: m.tool_steps for m in found if m.tool_steps}
    seeded: int | None = None
    for i, m in enumerate(found):
        p = m.pattern
        # the texts are redacted when stored (older rows: here, once per text): the body
        # is clean, and the context only replaces the configured secrets in it
        clean = _as_is if p.redacted else redact_repeated
        when = f", last {minute(p.last_success_at)}" if p.last_success_at else ""
        lines.append(
            f"- {clean(p.description)} Worked {p.success_count} of {p.use_count} times{when}."
        )
        if p.solution_template and i == 0:  # one example: the best pattern's
            lines.append("  Example:\n  ```diff\n" + "\n".join(
                f"  {x}" for x in clean(p.solution_template).splitlines()[:12]
            ) + "\n  ```")  # fmt: skip
        if seeded is None and tools.get(p.id):
            seeded = p.id
    if seeded is not None:  # the tool loop starts from the steps that worked
        steps = tools[seeded]
        lines.append(
            "Tool calls that led to that fix last time (a starting point for your first "
            "calls; the arguments were that error's, adapt them to this one):"
        )
        lines += [f"{n}. {_call_text(name, a)}" for n, (name, a) in enumerate(steps, 1)]
    note = None
    uses = []
    for m in found:
        if m.pattern.id == seeded:
            note = f"{q.SEEDED}: " + ", ".join(name for name, _ in tools[seeded])
        uses.append((m.pattern.id, m.score, note if m.pattern.id == seeded else None))
    return Worked("\n".join(lines), uses)


def record_use(
    store: Store, uses: list[tuple[int, float, str | None]], op_id: str, project_id: int | None
) -> None:
    """The patterns went into the context of ``op_id``: (pattern, match score, note)."""
    if not uses:
        return
    try:
        with store.write() as conn:
            q.record_use(conn, uses, op_id, project_id, int(time.time()))
    except StoreError as exc:
        log.warning("could not record the use of patterns %s: %s", [u[0] for u in uses], exc)
