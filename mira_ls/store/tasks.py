"""Queries over project_tasks, task_targets, task_sessions and task_context (009, 018)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mira_ls.store.connection import Connection, inserted_id

# The words people use <-> 009's status column.
TO_COLUMN = {"todo": "pending", "doing": "in_progress", "done": "completed", "dropped": "cancelled"}
FROM_COLUMN = {v: k for k, v in TO_COLUMN.items()} | {"blocked": "todo"}


@dataclass(frozen=True)
class Target:
    kind: str  # file | symbol
    name: str
    file_path: str | None
    symbol_id: int | None
    line: int | None

    @property
    def resolved(self) -> bool:
        return self.file_path is not None


@dataclass
class TaskRow:
    id: int
    project_id: int
    parent_id: int | None
    position: int
    title: str
    description: str | None
    rationale: str | None
    status: str  # todo / doing / done / dropped
    source: str
    created_at: int
    updated_at: int
    started_at: int | None
    completed_at: int | None
    targets: list[Target] = field(default_factory=list)


_COLS = (
    "id, project_id, parent_id, position, title, description, rationale, status, source, "
    "created_at, updated_at, started_at, completed_at"
)


def _task(r: Any) -> TaskRow:
    return TaskRow(
        int(r[0]), int(r[1]), r[2], int(r[3]), r[4], r[5], r[6], FROM_COLUMN.get(r[7], r[7]),
        r[8], int(r[9]), int(r[10]), r[11], r[12],
    )  # fmt: skip


def insert_task(
    conn: Connection,
    project_id: int,
    title: str,
    *,
    description: str | None = None,
    parent_id: int | None = None,
    rationale: str | None = None,
    source: str = "user",
    now: int,
) -> int:
    pos = conn.execute(
        "SELECT coalesce(max(position) + 1, 0) FROM project_tasks "
        "WHERE project_id = ? AND parent_id IS ?",
        (project_id, parent_id),
    ).fetchone()[0]
    cur = conn.execute(
        "INSERT INTO project_tasks(project_id, parent_id, position, title, description, "
        "rationale, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (project_id, parent_id, pos, title, description, rationale, source, now, now),
    )
    return inserted_id(cur)


def insert_targets(conn: Connection, task_id: int, targets: list[Target]) -> None:
    conn.executemany(
        "INSERT INTO task_targets(task_id, kind, name, file_path, symbol_id, line) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(task_id, t.kind, t.name, t.file_path, t.symbol_id, t.line) for t in targets],
    )


def targets(conn: Connection, task_ids: list[int]) -> dict[int, list[Target]]:
    out: dict[int, list[Target]] = {}
    if not task_ids:
        return out
    marks = ",".join("?" * len(task_ids))
    for r in conn.execute(
        f"SELECT task_id, kind, name, file_path, symbol_id, line FROM task_targets "
        f"WHERE task_id IN ({marks}) ORDER BY id",
        task_ids,
    ):
        out.setdefault(int(r[0]), []).append(Target(r[1], r[2], r[3], r[4], r[5]))
    return out


def get(conn: Connection, task_id: int) -> TaskRow | None:
    r = conn.execute(f"SELECT {_COLS} FROM project_tasks WHERE id = ?", (task_id,)).fetchone()
    if r is None:
        return None
    t = _task(r)
    t.targets = targets(conn, [t.id]).get(t.id, [])
    return t


def listed(
    conn: Connection, project_id: int, *, statuses: list[str] | None = None
) -> list[TaskRow]:
    """A project's tasks, parents before children, siblings by position."""
    sql = f"SELECT {_COLS} FROM project_tasks WHERE project_id = ?"
    params: list[Any] = [project_id]
    if statuses:
        sql += f" AND status IN ({','.join('?' * len(statuses))})"
        params.extend(TO_COLUMN[s] for s in statuses)
    rows = [_task(r) for r in conn.execute(sql + " ORDER BY position, id", params)]
    by_task = targets(conn, [t.id for t in rows]) if len(rows) <= 500 else {}
    for t in rows:
        t.targets = by_task.get(t.id, [])
    return rows


def children(conn: Connection, task_id: int) -> list[TaskRow]:
    rows = conn.execute(
        f"SELECT {_COLS} FROM project_tasks WHERE parent_id = ? ORDER BY position, id", (task_id,)
    ).fetchall()
    out = [_task(r) for r in rows]
    by_task = targets(conn, [t.id for t in out])
    for t in out:
        t.targets = by_task.get(t.id, [])
    return out


def update(
    conn: Connection,
    task_id: int,
    *,
    now: int,
    title: str | None = None,
    description: str | None = None,
    status: str | None = None,
) -> None:
    if title is not None:
        conn.execute(
            "UPDATE project_tasks SET title = ?, updated_at = ? WHERE id = ?", (title, now, task_id)
        )
    if description is not None:
        conn.execute(
            "UPDATE project_tasks SET description = ?, updated_at = ? WHERE id = ?",
            (description, now, task_id),
        )
    if status is not None:
        col = TO_COLUMN[status]
        conn.execute(
            "UPDATE project_tasks SET status = ?, updated_at = ?, "
            "started_at = CASE WHEN ? = 'in_progress' THEN coalesce(started_at, ?) "
            "ELSE started_at END, "
            "completed_at = CASE WHEN ? IN ('completed', 'cancelled') THEN ? ELSE NULL END "
            "WHERE id = ?",
            (col, now, col, now, col, now, task_id),
        )


# -- sessions and snapshots ---------------------------------------------------------------


@dataclass(frozen=True)
class TaskSession:
    id: int
    task_id: int
    started_at: int
    ended_at: int | None
    notes: str | None
    files_modified: list[str]
    commits: list[dict[str, Any]]


def _tsession(r: Any) -> TaskSession:
    return TaskSession(
        int(r[0]), int(r[1]), int(r[2]), r[3], r[4], json.loads(r[5]), json.loads(r[6])
    )


_TS_COLS = "id, task_id, started_at, ended_at, progress_notes, files_modified, commits"


def open_session(
    conn: Connection,
    task_id: int,
    now: int,
    *,
    files_modified: list[str] | None = None,
    commits: list[dict[str, Any]] | None = None,
) -> int:
    """A new task_sessions row; ``files_modified``/``commits``: what changed since the pause."""
    cur = conn.execute(
        "INSERT INTO task_sessions(task_id, started_at, files_modified, commits) "
        "VALUES (?, ?, ?, ?)",
        (task_id, now, json.dumps(files_modified or []), json.dumps(commits or [])),
    )
    return inserted_id(cur)


def current_session(conn: Connection, task_id: int) -> TaskSession | None:
    r = conn.execute(
        f"SELECT {_TS_COLS} FROM task_sessions WHERE task_id = ? AND ended_at IS NULL "
        "ORDER BY started_at DESC, id DESC LIMIT 1",
        (task_id,),
    ).fetchone()
    return _tsession(r) if r else None


def set_session_changes(
    conn: Connection, session_id: int, files_modified: list[str], commits: list[dict[str, Any]]
) -> None:
    conn.execute(
        "UPDATE task_sessions SET files_modified = ?, commits = ? WHERE id = ?",
        (json.dumps(files_modified), json.dumps(commits), session_id),
    )


def end_session(conn: Connection, session_id: int, now: int, notes: str | None) -> None:
    conn.execute(
        "UPDATE task_sessions SET ended_at = max(?, started_at), progress_notes = ? WHERE id = ?",
        (now, notes, session_id),
    )


def active_task(conn: Connection, project_id: int) -> int | None:
    """The project's task with an open session (the newest one when several are)."""
    r = conn.execute(
        "SELECT s.task_id FROM task_sessions s JOIN project_tasks t ON t.id = s.task_id "
        "WHERE t.project_id = ? AND s.ended_at IS NULL AND t.status = 'in_progress' "
        "ORDER BY s.started_at DESC, s.id DESC LIMIT 1",
        (project_id,),
    ).fetchone()
    return int(r[0]) if r else None


def add_context(
    conn: Connection, task_id: int, context_type: str, data: dict[str, Any], now: int
) -> int:
    cur = conn.execute(
        "INSERT INTO task_context(task_id, context_type, data, created_at) VALUES (?, ?, ?, ?)",
        (task_id, context_type, json.dumps(data), now),
    )
    return inserted_id(cur)


def last_context(
    conn: Connection, task_id: int, context_type: str = "snapshot"
) -> tuple[int, dict[str, Any]] | None:
    """The newest snapshot of a task: (created_at, data)."""
    r = conn.execute(
        "SELECT created_at, data FROM task_context WHERE task_id = ? AND context_type = ? "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        (task_id, context_type),
    ).fetchone()
    return (int(r[0]), json.loads(r[1])) if r else None


def asked_symbols(conn: Connection, task_id: int, since: int, limit: int = 12) -> list[str]:
    """The symbols the task's questions were about since ``since``, newest first."""
    rows = conn.execute(
        "SELECT json_extract(e.data, '$.symbol') AS sym, max(e.created_at) AS at "
        "FROM operations o JOIN operation_events e ON e.operation_id = o.id "
        "WHERE o.task_id = ? AND o.created_at >= ? AND e.event_type = 'started' "
        "AND sym IS NOT NULL GROUP BY sym ORDER BY at DESC LIMIT ?",
        (task_id, since, limit),
    ).fetchall()
    return [str(r[0]) for r in rows]


def edited_symbols(conn: Connection, project_id: int, since: int, limit: int = 12) -> list[str]:
    """The definitions whose text changed (saves re-index them) since ``since``, newest first:
    edited ones, and new ones in files that were indexed before (not a first index)."""
    rows = conn.execute(
        "SELECT c.qualified_name FROM code_elements c WHERE c.project_id = ? "
        "AND c.updated_at >= ? AND c.kind != 'module' AND (c.updated_at > c.created_at "
        "OR EXISTS (SELECT 1 FROM code_elements o WHERE o.file_id = c.file_id "
        "AND o.created_at < ?)) ORDER BY c.updated_at DESC, c.qualified_name LIMIT ?",
        (project_id, since, since, limit),
    ).fetchall()
    return [str(r[0]) for r in rows]


def last_chat_session(conn: Connection, task_id: int) -> str | None:
    r = conn.execute(
        "SELECT session_id FROM operations WHERE task_id = ? AND session_id IS NOT NULL "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (task_id,),
    ).fetchone()
    return str(r[0]) if r else None


def operation_counts(conn: Connection, task_id: int) -> tuple[int, int]:
    """(operations, their cost in micro-dollars) of a task."""
    r = conn.execute(
        "SELECT count(*), coalesce(sum(cost_micro), 0) FROM operations WHERE task_id = ?",
        (task_id,),
    ).fetchone()
    return int(r[0]), int(r[1])
