"""Every command that does work (asks the model, builds, embeds) is an operation: its status
transitions are events (pending, running, streaming, done, failed, cancelled), and it keeps
the model, effort, tokens, cost (the sum of its budget_tracking rows, or what an embedding
run reports it spent) and whether the cache answered.

A failed operation keeps the sentence the user was shown. Recording never makes a command
fail: a database error while recording is logged and the command goes on."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mira_ls.store import Store, StoreError
from mira_ls.store import operations as q
from mira_ls.store import tasks as task_store

log = logging.getLogger(__name__)

# The command (what the user ran) -> 004's operations.kind vocabulary.
KIND_OF = {
    "chat": "chat",
    "explain": "explain",
    "fix_error": "fix_error",
    "review": "analyze",
    "decompose": "generate",
    "build": "other",
    "embed": "other",
    "memory_analysis": "analyze",
    "memory_summaries": "analyze",
    "analysis": "analyze",
}
STATUSES = ("pending", "running", "streaming", "done", "failed", "cancelled")


@dataclass
class Outcome:
    """What an operation ended with (a chat Answer, a decomposition...)."""

    model: str | None = None
    reasoning_effort: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micro: int = 0
    cached: bool = False
    session_id: str | None = None
    request_ids: list[str] = field(default_factory=list)
    answer_path: str | None = None
    summary: str | None = None
    # the cost is the sum of the operation's budget_tracking rows (a run of several calls)
    from_budget: bool = False


class Operation:
    """One operation's row and events; thread-safe, each transition one short write."""

    def __init__(
        self,
        store: Store,
        op_id: str,
        command: str,
        request: str | None,
        project_id: int | None,
        task_id: int | None = None,
        *,
        clock: Any = time.time,
    ) -> None:
        self.store = store
        self.id = op_id
        self.command = command
        self.clock = clock
        self.status = "pending"
        self._lock = threading.Lock()
        self.task_id = task_id
        self.request_ids: list[str] = []
        self._ok = self._write(
            lambda conn: self._insert(conn, request, project_id, task_id), "record"
        )

    def _insert(
        self, conn: Any, request: str | None, project_id: int | None, task_id: int | None
    ) -> None:
        if task_id is None and project_id is not None:
            self.task_id = task_store.active_task(conn, project_id)
        q.insert(
            conn,
            self.id,
            kind=KIND_OF.get(self.command, "other"),
            command=self.command,
            request=request,
            project_id=project_id,
            task_id=self.task_id,
            now=int(self.clock()),
        )
        q.add_event(conn, self.id, "pending", {}, int(self.clock()))

    def _write(self, fn: Any, what: str) -> bool:
        try:
            with self.store.write() as conn:
                fn(conn)
            return True
        except StoreError as exc:
            log.warning("could not %s operation %s: %s", what, self.id, exc)
            return False

    def _move(self, status: str, data: dict[str, Any] | None = None) -> None:
        with self._lock:
            if self.status in ("done", "failed", "cancelled") or self.status == status:
                return
            self.status = status
        if self._ok:
            self._write(
                lambda conn: q.add_event(conn, self.id, status, data or {}, int(self.clock())),
                status,
            )

    def on_request(self, request_id: str) -> None:
        """A budget_tracking row was made for this operation (Question.on_request)."""
        with self._lock:
            self.request_ids.append(request_id)

    def running(self, **data: Any) -> None:
        self._move("running", data)

    def streaming(self) -> None:
        """The first chunk arrived (later chunks are not events: mira/chatChunk carries them)."""
        if self.status == "running":
            self._move("streaming")

    def _end(self, status: str, outcome: Outcome, error: str | None) -> None:
        def write(conn: Any) -> None:
            q.link_requests(conn, self.id, [*self.request_ids, *outcome.request_ids])
            q.set_session(conn, self.id, outcome.session_id)
            linked = self.request_ids or outcome.request_ids
            if outcome.from_budget or (status == "failed" and (linked or not outcome.cost_micro)):
                # what the calls that were made cost, as the budget says
                outcome.cost_micro = q.budget_cost(conn, self.id)
            q.finish(
                conn,
                self.id,
                model=outcome.model,
                reasoning_effort=outcome.reasoning_effort,
                input_tokens=outcome.input_tokens,
                output_tokens=outcome.output_tokens,
                cost_micro=outcome.cost_micro,
                from_cache=outcome.cached,
                error=error,
                answer_path=outcome.answer_path,
                summary=outcome.summary,
            )
            data: dict[str, Any] = {"cost_micro": outcome.cost_micro, "cached": outcome.cached}
            if error:
                data["error"] = error
            q.add_event(conn, self.id, status, data, int(self.clock()))

        with self._lock:
            if self.status in ("done", "failed", "cancelled"):
                return
            self.status = status
        if self._ok:
            self._write(write, status)

    def done(self, outcome: Outcome) -> None:
        self._end("done", outcome, None)

    def cancelled(self, outcome: Outcome) -> None:
        self._end("cancelled", outcome, None)

    def failed(self, sentence: str, outcome: Outcome | None = None) -> None:
        self._end("failed", outcome or Outcome(), sentence)


def as_json(
    op: q.OperationRow,
    feedback: Any = None,
    fixes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The `mira-ls ops --json` / mira.operations shape of one operation; ``feedback`` the
    user's word on it (a store.learning.FeedbackRow), ``fixes`` what became of its applied
    fixes (stayed, reverted, returned)."""
    return {
        "id": op.id,
        "kind": op.command or op.kind,
        "status": op.shown_status,
        "model": op.model,
        "effort": op.reasoning_effort,
        "input_tokens": op.input_tokens,
        "output_tokens": op.output_tokens,
        "cost_usd": op.cost_micro / 1_000_000,
        "cached": op.from_cache,
        "task_id": op.task_id,
        "session": op.session_id,
        "request": op.request,
        "error": op.error,
        "answer_path": op.answer_path,
        "created_at": op.created_at,
        "events": [
            {"seq": e.seq, "status": e.data.get("status", e.event_type), "at": e.created_at}
            | {k: v for k, v in e.data.items() if k != "status"}
            for e in op.events
        ],
        "feedback": None
        if feedback is None
        else {
            "helpful": feedback.helpful,
            "note": feedback.note,
            "at": feedback.at,
            "artifacts": feedback.artifacts,
        },
        "fix_outcomes": fixes or [],
    }


def listed(
    store: Store, *, project_id: int | None, task_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Operations newest first (of a project, or of a task), as JSON."""
    from mira_ls.store import learning

    conn = store.conn()
    rows = q.listed(conn, project_id=project_id, task_id=task_id, limit=limit)
    ids = [r.id for r in rows]
    marks = learning.feedback_of(conn, ids)
    fixes = learning.fix_outcomes_of(conn, ids)
    return [as_json(r, marks.get(r.id), fixes.get(r.id)) for r in rows]


def line_of(op: dict[str, Any]) -> str:
    """One operation as a person reads it."""
    from mira_ls.dates import minute
    from mira_ls.llm.pricing import usd

    cost = "cached" if op["cached"] else usd(round(op["cost_usd"] * 1_000_000))
    what = (op["request"] or "").replace("\n", " ")[:60]
    task = f" task {op['task_id']}" if op["task_id"] else ""
    line = (
        f"{op['id']}  {minute(op['created_at'])}  {op['kind']:<9} {op['status']:<9} "
        f"{op['model'] or '-'} {cost}{task}  {what}"
    )
    if op["error"]:
        line += f"\n    {op['error']}"
    fb = op.get("feedback")
    if fb:
        line += f"\n    feedback: {'helpful' if fb['helpful'] else 'not helpful'}"
        line += f" ({fb['note']})" if fb["note"] else ""
    for f in op.get("fix_outcomes", []):
        if f["outcome"] == "returned":  # said below, with the message
            continue
        line += f"\n    fix of {f['file']}: {f['outcome']}"
        line += f" (build run {f['run_id']})" if f["run_id"] else ""
    for e in op["events"]:
        if e["status"] == "not_fixed":
            line += (
                f"\n    did not fix it: '{e['message']}' came back in build run {e['run_id']} "
                f"after the fix of {e['file']} was applied"
            )
    return line
