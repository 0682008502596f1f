"""Queries over operations, operation_events and operation_requests (migrations 004, 018)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mira_ls.store.connection import Connection

# 004's status column is coarser than the events: streaming is 'running', done 'completed'.
STATUS_COLUMN = {
    "pending": "pending",
    "running": "running",
    "streaming": "running",
    "done": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}
SHOWN_STATUS = {"completed": "done"}
EVENT_TYPE = {
    "pending": "status",
    "running": "started",
    "streaming": "status",
    "done": "completed",
    "failed": "error",
    "cancelled": "cancelled",
}


@dataclass(frozen=True)
class EventRow:
    seq: int
    event_type: str
    data: dict[str, Any]
    created_at: int


@dataclass
class OperationRow:
    id: str
    kind: str
    command: str | None
    status: str
    project_id: int | None
    task_id: int | None
    session_id: str | None
    request: str | None
    model: str | None
    reasoning_effort: str | None
    input_tokens: int
    output_tokens: int
    cost_micro: int
    from_cache: bool
    error: str | None
    answer_path: str | None
    created_at: int
    completed_at: int | None
    events: list[EventRow] = field(default_factory=list)

    @property
    def shown_status(self) -> str:
        return SHOWN_STATUS.get(self.status, self.status)


_COLS = (
    "id, kind, command, status, project_id, task_id, session_id, request, model, "
    "reasoning_effort, input_tokens, output_tokens, cost_micro, from_cache, error, "
    "answer_path, created_at, completed_at"
)


def _row(r: Any) -> OperationRow:
    return OperationRow(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], int(r[10]), int(r[11]),
        int(r[12]), bool(r[13]), r[14], r[15], int(r[16]), r[17],
    )  # fmt: skip


def insert(
    conn: Connection,
    op_id: str,
    *,
    kind: str,
    command: str,
    request: str | None,
    project_id: int | None,
    task_id: int | None,
    now: int,
) -> None:
    conn.execute(
        "INSERT INTO operations(id, kind, command, request, project_id, task_id, status, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        (op_id, kind, command, request, project_id, task_id, now, now),
    )


def add_event(conn: Connection, op_id: str, status: str, data: dict[str, Any], now: int) -> int:
    """Append a status transition (its seq is the next one) and move the status column."""
    seq = conn.execute(
        "SELECT coalesce(max(seq) + 1, 0) FROM operation_events WHERE operation_id = ?", (op_id,)
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO operation_events(operation_id, seq, event_type, data, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (op_id, seq, EVENT_TYPE[status], json.dumps({"status": status, **data}), now),
    )
    col = STATUS_COLUMN[status]
    conn.execute(
        "UPDATE operations SET status = ?, updated_at = ?, "
        "started_at = CASE WHEN ? = 'running' THEN coalesce(started_at, ?) ELSE started_at END, "
        "completed_at = CASE WHEN ? IN ('completed', 'failed', 'cancelled') THEN ? "
        "ELSE completed_at END WHERE id = ?",
        (col, now, col, now, col, now, op_id),
    )
    return int(seq)


def add_note(conn: Connection, op_id: str, data: dict[str, Any], now: int) -> int:
    """Append an event about an operation that has ended (its fix did not fix the error),
    leaving its status as it was."""
    seq = conn.execute(
        "SELECT coalesce(max(seq) + 1, 0) FROM operation_events WHERE operation_id = ?", (op_id,)
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO operation_events(operation_id, seq, event_type, data, created_at) "
        "VALUES (?, ?, 'error', ?, ?)",
        (op_id, seq, json.dumps(data), now),
    )
    return int(seq)


def set_session(conn: Connection, op_id: str, session_id: str | None) -> None:
    conn.execute(
        "UPDATE operations SET session_id = (SELECT id FROM sessions WHERE id = ?) WHERE id = ?",
        (session_id, op_id),
    )


def finish(
    conn: Connection,
    op_id: str,
    *,
    model: str | None,
    reasoning_effort: str | None,
    input_tokens: int,
    output_tokens: int,
    cost_micro: int,
    from_cache: bool,
    error: str | None,
    answer_path: str | None,
    summary: str | None,
) -> None:
    conn.execute(
        "UPDATE operations SET model = ?, reasoning_effort = ?, input_tokens = ?, "
        "output_tokens = ?, cost_micro = ?, from_cache = ?, error = ?, answer_path = ?, "
        "result_summary = ? WHERE id = ?",
        (
            model,
            reasoning_effort,
            input_tokens,
            output_tokens,
            cost_micro,
            int(from_cache),
            error,
            answer_path,
            summary,
            op_id,
        ),
    )


def link_requests(conn: Connection, op_id: str, request_ids: list[str]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO operation_requests(operation_id, request_id) VALUES (?, ?)",
        [(op_id, r) for r in request_ids],
    )


def budget_cost(conn: Connection, op_id: str) -> int:
    """What the budget recorded for an operation's calls (micro-dollars)."""
    return int(
        conn.execute(
            "SELECT coalesce(sum(b.cost_micro), 0) FROM operation_requests r "
            "JOIN budget_tracking b ON b.request_id = r.request_id WHERE r.operation_id = ?",
            (op_id,),
        ).fetchone()[0]
    )


def get(conn: Connection, op_id: str) -> OperationRow | None:
    r = conn.execute(f"SELECT {_COLS} FROM operations WHERE id = ?", (op_id,)).fetchone()
    if r is None:
        return None
    op = _row(r)
    op.events = events(conn, op_id)
    return op


def by_answer_file(conn: Connection, id_prefix: str, path: str) -> OperationRow | None:
    """The operation whose answer file is ``path``; ``id_prefix``: the start of its id
    that the file's name carries (a primary-key range, not a scan of answer paths)."""
    if not id_prefix:
        return None
    for r in conn.execute(
        f"SELECT {_COLS} FROM operations WHERE id >= ? AND id < ? ORDER BY created_at DESC",
        (id_prefix, id_prefix + "\U0010ffff"),
    ).fetchall():
        if r[15] == path:
            return _row(r)
    return None


def events(conn: Connection, op_id: str) -> list[EventRow]:
    rows = conn.execute(
        "SELECT seq, event_type, data, created_at FROM operation_events "
        "WHERE operation_id = ? ORDER BY seq",
        (op_id,),
    ).fetchall()
    return [EventRow(int(r[0]), r[1], json.loads(r[2] or "{}"), int(r[3])) for r in rows]


def listed(
    conn: Connection,
    *,
    project_id: int | None = None,
    task_id: int | None = None,
    limit: int = 50,
) -> list[OperationRow]:
    """Newest first, with their events."""
    where, params = [], []
    if project_id is not None:
        where.append("project_id = ?")
        params.append(project_id)
    if task_id is not None:
        where.append("task_id = ?")
        params.append(task_id)
    sql = f"SELECT {_COLS} FROM operations"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
    rows = conn.execute(sql, (*params, limit)).fetchall()
    ops = [_row(r) for r in rows]
    for op in ops:
        op.events = events(conn, op.id)
    return ops
