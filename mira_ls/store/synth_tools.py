"""Queries over tool synthesis (migrations 006 and 038): the tool calls each operation made
(operation_events of type 'tool_call'), tool_patterns detected from them, synthesized_tools
with their versions (tool_evolution_history), executions, running effectiveness totals and
feedback."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection, inserted_id

# --- the tool calls of operations --------------------------------------------------------


def record_tool_calls(conn: Connection, op_id: str, calls: list[dict[str, Any]], now: int) -> None:
    """Each call an operation's tool loop made, in order, as a 'tool_call' event."""
    if not calls:
        return
    seq = conn.execute(
        "SELECT coalesce(max(seq) + 1, 0) FROM operation_events WHERE operation_id = ?", (op_id,)
    ).fetchone()[0]
    conn.executemany(
        "INSERT INTO operation_events(operation_id, seq, event_type, data, created_at) "
        "VALUES (?, ?, 'tool_call', ?, ?)",
        [(op_id, seq + i, json.dumps(c, ensure_ascii=False), now) for i, c in enumerate(calls)],
    )


def tool_call_sequences(
    conn: Connection, project_id: int, limit: int = 200
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The tool calls of the project's latest ``limit`` operations that made any, each
    operation's in the order they were made (oldest operation first)."""
    ops = conn.execute(
        "SELECT o.id FROM operations o WHERE o.project_id = ? AND EXISTS (SELECT 1 FROM "
        "operation_events e WHERE e.operation_id = o.id AND e.event_type = 'tool_call') "
        "ORDER BY o.created_at DESC, o.rowid DESC LIMIT ?",
        (project_id, limit),
    ).fetchall()
    ids = [r[0] for r in reversed(ops)]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        "SELECT operation_id, data FROM operation_events WHERE event_type = 'tool_call' "
        f"AND operation_id IN ({marks}) ORDER BY operation_id, seq",
        ids,
    ).fetchall()
    by_op: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for op_id, data in rows:
        by_op[op_id].append(json.loads(data or "{}"))
    return [(i, by_op[i]) for i in ids]


# --- tool_patterns -----------------------------------------------------------------------


@dataclass(frozen=True)
class PatternRow:
    id: int
    project_id: int
    name: str
    pattern_type: str
    description: str
    occurrences: int
    examples: list[Any]
    confidence: float
    should_synthesize: bool
    updated_at: int


_PCOLS = (
    "id, project_id, name, pattern_type, description, occurrences, example_locations, "
    "confidence, should_synthesize, updated_at"
)


def _pattern(r: Any) -> PatternRow:
    return PatternRow(
        int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5]), json.loads(r[6]), float(r[7]),
        bool(r[8]), int(r[9]),
    )  # fmt: skip


def upsert_pattern(
    conn: Connection,
    project_id: int,
    name: str,
    *,
    pattern_type: str,
    description: str,
    occurrences: int,
    examples: list[Any],
    confidence: float,
    should_synthesize: bool,
    now: int,
) -> int:
    conn.execute(
        "INSERT INTO tool_patterns(project_id, name, pattern_type, description, occurrences, "
        "example_locations, confidence, should_synthesize, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(project_id, name) DO UPDATE SET "
        "description = excluded.description, occurrences = excluded.occurrences, "
        "example_locations = excluded.example_locations, confidence = excluded.confidence, "
        "should_synthesize = excluded.should_synthesize, updated_at = excluded.updated_at",
        (project_id, name, pattern_type, description, occurrences, json.dumps(examples),
         confidence, int(should_synthesize), now, now),
    )  # fmt: skip
    return int(
        conn.execute(
            "SELECT id FROM tool_patterns WHERE project_id = ? AND name = ?", (project_id, name)
        ).fetchone()[0]
    )


def pattern(conn: Connection, pattern_id: int) -> PatternRow | None:
    r = conn.execute(f"SELECT {_PCOLS} FROM tool_patterns WHERE id = ?", (pattern_id,)).fetchone()
    return _pattern(r) if r else None


def patterns_of(conn: Connection, project_id: int) -> list[PatternRow]:
    rows = conn.execute(
        f"SELECT {_PCOLS} FROM tool_patterns WHERE project_id = ? "
        "ORDER BY confidence DESC, occurrences DESC, id",
        (project_id,),
    ).fetchall()
    return [_pattern(r) for r in rows]


# --- synthesized_tools -------------------------------------------------------------------


@dataclass(frozen=True)
class ToolRow:
    id: int
    project_id: int
    pattern_id: int | None
    name: str
    description: str
    version: int
    kind: str
    source_code: str
    parameters: dict[str, Any]
    status: str
    error: str | None
    approved_version: int | None
    approved_at: int | None
    withdrawn_at: int | None
    created_at: int
    updated_at: int

    @property
    def definition(self) -> dict[str, Any]:
        d: dict[str, Any] = json.loads(self.source_code)
        return d


_TCOLS = (
    "id, project_id, pattern_id, name, description, version, kind, source_code, parameters, "
    "status, error, approved_version, approved_at, withdrawn_at, created_at, updated_at"
)


def _tool(r: Any) -> ToolRow:
    return ToolRow(
        int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5]), r[6], r[7], json.loads(r[8]), r[9],
        r[10], r[11], r[12], r[13], int(r[14]), int(r[15]),
    )  # fmt: skip


def insert_tool(
    conn: Connection,
    project_id: int,
    *,
    pattern_id: int | None,
    name: str,
    description: str,
    kind: str,
    source_code: str,
    source_hash: str,
    parameters: dict[str, Any],
    now: int,
) -> int:
    """A new proposal (status 'draft', version 1)."""
    cur = conn.execute(
        "INSERT INTO synthesized_tools(project_id, pattern_id, name, description, version, "
        "language, kind, source_code, source_hash, parameters, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, 'draft', ?, ?)",
        (project_id, pattern_id, name, description, "json" if kind == "composition" else "argv",
         kind, source_code, source_hash, json.dumps(parameters), now, now),
    )  # fmt: skip
    return inserted_id(cur)


def tool(conn: Connection, tool_id: int) -> ToolRow | None:
    r = conn.execute(f"SELECT {_TCOLS} FROM synthesized_tools WHERE id = ?", (tool_id,)).fetchone()
    return _tool(r) if r else None


def tool_named(conn: Connection, project_id: int, name: str) -> ToolRow | None:
    r = conn.execute(
        f"SELECT {_TCOLS} FROM synthesized_tools WHERE project_id = ? AND name = ?",
        (project_id, name),
    ).fetchone()
    return _tool(r) if r else None


def tool_of_pattern(conn: Connection, pattern_id: int) -> ToolRow | None:
    r = conn.execute(
        f"SELECT {_TCOLS} FROM synthesized_tools WHERE pattern_id = ? ORDER BY id LIMIT 1",
        (pattern_id,),
    ).fetchone()
    return _tool(r) if r else None


def tools_of(conn: Connection, project_id: int | None) -> list[ToolRow]:
    if project_id is None:
        rows = conn.execute(f"SELECT {_TCOLS} FROM synthesized_tools ORDER BY id").fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_TCOLS} FROM synthesized_tools WHERE project_id = ? ORDER BY id",
            (project_id,),
        ).fetchall()
    return [_tool(r) for r in rows]


def offered(conn: Connection, project_id: int) -> list[ToolRow]:
    """The tools the model may be given: approved, at the version that was approved."""
    rows = conn.execute(
        f"SELECT {_TCOLS} FROM synthesized_tools WHERE project_id = ? AND status = 'active' "
        "AND approved_version = version ORDER BY name",
        (project_id,),
    ).fetchall()
    return [_tool(r) for r in rows]


def approve(conn: Connection, tool_id: int, now: int) -> None:
    conn.execute(
        "UPDATE synthesized_tools SET status = 'active', approved_version = version, "
        "approved_at = ?, withdrawn_at = NULL, error = NULL, updated_at = ? WHERE id = ?",
        (now, now, tool_id),
    )


def reject(conn: Connection, tool_id: int, reason: str | None, now: int) -> None:
    conn.execute(
        "UPDATE synthesized_tools SET status = 'disabled', approved_version = NULL, "
        "error = ?, updated_at = ? WHERE id = ?",
        (reason, now, tool_id),
    )


def withdraw(conn: Connection, tool_id: int, reason: str, now: int) -> bool:
    """Take an approved tool away from the model; False when it was not active."""
    cur = conn.execute(
        "UPDATE synthesized_tools SET status = 'failed', error = ?, withdrawn_at = ?, "
        "updated_at = ? WHERE id = ? AND status = 'active'",
        (reason, now, now, tool_id),
    )
    return cur.rowcount > 0


def new_version(
    conn: Connection,
    tool_id: int,
    *,
    description: str,
    source_code: str,
    source_hash: str,
    parameters: dict[str, Any],
    change: str,
    motivation: str | None,
    diff: str | None,
    now: int,
) -> int:
    """A changed definition: the next version, recorded in tool_evolution_history; it goes
    back to being a proposal until approved again."""
    old = conn.execute("SELECT version FROM synthesized_tools WHERE id = ?", (tool_id,)).fetchone()
    version = int(old[0]) + 1
    conn.execute(
        "UPDATE synthesized_tools SET version = ?, description = ?, source_code = ?, "
        "source_hash = ?, parameters = ?, status = CASE WHEN status = 'disabled' THEN "
        "'disabled' ELSE 'draft' END, error = NULL, updated_at = ? WHERE id = ?",
        (version, description, source_code, source_hash, json.dumps(parameters), now, tool_id),
    )
    add_history(conn, tool_id, version - 1, version, change, motivation, diff, now)
    return version


def add_history(
    conn: Connection,
    tool_id: int,
    from_version: int,
    to_version: int,
    change: str,
    motivation: str | None,
    diff: str | None,
    now: int,
) -> None:
    conn.execute(
        "INSERT INTO tool_evolution_history(tool_id, from_version, to_version, "
        "change_description, motivation, source_diff, evolved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (tool_id, from_version, to_version, change, motivation, diff, now),
    )


def history(conn: Connection, tool_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT from_version, to_version, change_description, motivation, source_diff, "
        "evolved_at FROM tool_evolution_history WHERE tool_id = ? ORDER BY to_version",
        (tool_id,),
    ).fetchall()
    return [
        {"from_version": r[0], "to_version": r[1], "change": r[2], "motivation": r[3],
         "diff": r[4], "at": r[5]}
        for r in rows
    ]  # fmt: skip


# --- executions, effectiveness, feedback -------------------------------------------------


def record_execution(
    conn: Connection,
    tool_id: int,
    version: int,
    *,
    operation_id: str | None,
    arguments: dict[str, Any],
    success: bool,
    output: str | None,
    error: str | None,
    duration_ms: int,
    now: int,
) -> int:
    """One run, and the tool's running totals."""
    cur = conn.execute(
        "INSERT INTO tool_executions(tool_id, tool_version, operation_id, arguments, success, "
        "output, error, duration_ms, executed_at) VALUES (?, ?, "
        "(SELECT id FROM operations WHERE id = ?), ?, ?, ?, ?, ?, ?)",
        (tool_id, version, operation_id, json.dumps(arguments), int(success), output, error,
         max(0, duration_ms), now),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO tool_effectiveness(tool_id, total_executions, successful_executions, "
        "failed_executions, total_duration_ms, last_executed_at, updated_at) "
        "VALUES (?, 1, ?, ?, ?, ?, ?) ON CONFLICT(tool_id) DO UPDATE SET "
        "total_executions = total_executions + 1, "
        "successful_executions = successful_executions + excluded.successful_executions, "
        "failed_executions = failed_executions + excluded.failed_executions, "
        "total_duration_ms = total_duration_ms + excluded.total_duration_ms, "
        "last_executed_at = excluded.last_executed_at, updated_at = excluded.updated_at",
        (tool_id, int(success), int(not success), max(0, duration_ms), now, now),
    )
    return inserted_id(cur)


def recent_results(
    conn: Connection, tool_id: int, version: int, since: int, limit: int
) -> list[bool]:
    """Success of the latest ``limit`` runs of one version since ``since``, newest first."""
    rows = conn.execute(
        "SELECT success FROM tool_executions WHERE tool_id = ? AND tool_version = ? "
        "AND executed_at >= ? ORDER BY executed_at DESC, id DESC LIMIT ?",
        (tool_id, version, since, limit),
    ).fetchall()
    return [bool(r[0]) for r in rows]


@dataclass(frozen=True)
class Effectiveness:
    executions: int
    successes: int
    failures: int
    total_ms: int
    success_rate: float | None
    last_at: int | None


def effectiveness(conn: Connection, tool_id: int) -> Effectiveness:
    r = conn.execute(
        "SELECT total_executions, successful_executions, failed_executions, total_duration_ms, "
        "success_rate, last_executed_at FROM tool_effectiveness WHERE tool_id = ?",
        (tool_id,),
    ).fetchone()
    if r is None:
        return Effectiveness(0, 0, 0, 0, None, None)
    return Effectiveness(int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4], r[5])


def executions(conn: Connection, tool_id: int, limit: int = 10) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, tool_version, operation_id, arguments, success, error, duration_ms, "
        "executed_at FROM tool_executions WHERE tool_id = ? ORDER BY id DESC LIMIT ?",
        (tool_id, limit),
    ).fetchall()
    return [
        {"id": r[0], "version": r[1], "operation": r[2], "arguments": json.loads(r[3]),
         "success": bool(r[4]), "error": r[5], "duration_ms": r[6], "at": r[7]}
        for r in rows
    ]  # fmt: skip


def executions_of_operation(conn: Connection, op_id: str) -> list[tuple[int, int]]:
    """(tool id, execution id) of each run an operation made."""
    rows = conn.execute(
        "SELECT tool_id, id FROM tool_executions WHERE operation_id = ? ORDER BY id", (op_id,)
    ).fetchall()
    return [(int(r[0]), int(r[1])) for r in rows]


def set_feedback(
    conn: Connection,
    tool_id: int,
    execution_id: int | None,
    rating: int,
    issue_type: str | None,
    comment: str | None,
    now: int,
) -> None:
    """Feedback on one execution replaces earlier feedback on it."""
    if execution_id is not None:
        conn.execute(
            "DELETE FROM tool_feedback WHERE tool_id = ? AND execution_id = ?",
            (tool_id, execution_id),
        )
    conn.execute(
        "INSERT INTO tool_feedback(tool_id, execution_id, rating, issue_type, comment, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (tool_id, execution_id, rating, issue_type, comment, now),
    )


def feedback_counts(conn: Connection, tool_id: int) -> tuple[int, int]:
    """(good, bad): ratings 4-5 and 1-2."""
    r = conn.execute(
        "SELECT coalesce(sum(rating >= 4), 0), coalesce(sum(rating <= 2), 0) FROM tool_feedback "
        "WHERE tool_id = ?",
        (tool_id,),
    ).fetchone()
    return int(r[0]), int(r[1])
