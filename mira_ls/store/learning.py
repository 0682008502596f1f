"""Queries over operation_feedback, fix_outcomes, pattern_outcomes (migration 022) and the
reasoning_patterns, reasoning_steps and pattern_usage tables (migration 008)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mira_ls.store.artifacts import ARTIFACT_COLS, ArtifactRow
from mira_ls.store.connection import Connection, inserted_id

# --- feedback ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackRow:
    operation_id: str
    helpful: bool
    note: str | None
    artifacts: list[dict[str, Any]]
    at: int


def set_feedback(
    conn: Connection,
    op_id: str,
    helpful: bool,
    note: str | None,
    artifacts: list[dict[str, Any]],
    now: int,
) -> None:
    """The user's word on an operation; given again, it replaces the earlier one."""
    conn.execute(
        "INSERT INTO operation_feedback(operation_id, helpful, note, artifacts, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(operation_id) DO UPDATE SET "
        "helpful = excluded.helpful, note = excluded.note, artifacts = excluded.artifacts, "
        "updated_at = excluded.updated_at",
        (op_id, int(helpful), note, json.dumps(artifacts), now, now),
    )


def feedback_of(conn: Connection, op_ids: list[str]) -> dict[str, FeedbackRow]:
    if not op_ids:
        return {}
    marks = ",".join("?" * len(op_ids))
    rows = conn.execute(
        "SELECT operation_id, helpful, note, artifacts, updated_at FROM operation_feedback "
        f"WHERE operation_id IN ({marks})",
        op_ids,
    ).fetchall()
    return {r[0]: FeedbackRow(r[0], bool(r[1]), r[2], json.loads(r[3]), int(r[4])) for r in rows}


# --- what became of applied fixes ----------------------------------------------------------


@dataclass(frozen=True)
class FixRow:
    """An applied fix (one artifact) made for a build error."""

    artifact_id: int
    operation_id: str
    category: str
    file_path: str | None
    diff: str | None
    # the build error it was made for: its signature
    error_hash: str = ""
    tool: str = ""
    code: str | None = None
    message: str = ""
    error_path: str | None = None
    error_line: int | None = None


_FIX_COLS = (
    "a.id, a.operation_id, e.category, a.file_path, a.diff, e.error_hash, e.tool, e.code, "
    "e.message, e.file_path, e.line"
)


def _fix(r: Any) -> FixRow:
    return FixRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])


def stayed(conn: Connection, project_id: int, run_id: int, gone: list[int]) -> list[FixRow]:
    """The applied fixes, not judged yet, whose error (one of ``gone``) this complete run no
    longer reported, the run having started after the fix was applied."""
    if not gone:
        return []
    marks = ",".join("?" * len(gone))
    rows = conn.execute(
        f"SELECT {_FIX_COLS} FROM artifact_errors ae JOIN artifacts a ON a.id = ae.artifact_id "
        "JOIN build_errors e ON e.id = ae.error_id JOIN build_runs r ON r.id = ? "
        "WHERE a.project_id = ? AND a.status = 'applied' AND a.operation_id IS NOT NULL "
        "AND ae.returned_at IS NULL AND a.applied_at <= r.started_at "
        f"AND ae.error_id IN ({marks}) "
        "AND NOT EXISTS (SELECT 1 FROM fix_outcomes f WHERE f.artifact_id = a.id) "
        "GROUP BY a.id ORDER BY a.id",
        (run_id, project_id, *gone),
    ).fetchall()
    return [_fix(r) for r in rows]


def fixes_by_id(conn: Connection, artifact_ids: list[int]) -> list[FixRow]:
    """The fixes among these artifacts that were made for a build error."""
    if not artifact_ids:
        return []
    marks = ",".join("?" * len(artifact_ids))
    rows = conn.execute(
        f"SELECT {_FIX_COLS} FROM artifacts a JOIN artifact_errors ae ON ae.artifact_id = a.id "
        f"JOIN build_errors e ON e.id = ae.error_id WHERE a.id IN ({marks}) "
        "AND a.operation_id IS NOT NULL GROUP BY a.id ORDER BY a.id",
        artifact_ids,
    ).fetchall()
    return [_fix(r) for r in rows]


def fixes_of_operation(conn: Connection, op_id: str) -> list[FixRow]:
    rows = conn.execute(
        f"SELECT {_FIX_COLS} FROM artifacts a JOIN artifact_errors ae ON ae.artifact_id = a.id "
        "JOIN build_errors e ON e.id = ae.error_id WHERE a.operation_id = ? "
        "AND a.diff IS NOT NULL GROUP BY a.id ORDER BY a.id",
        (op_id,),
    ).fetchall()
    return [_fix(r) for r in rows]


def set_fix_outcome(
    conn: Connection, artifact_id: int, outcome: str, run_id: int | None, now: int
) -> None:
    conn.execute(
        "INSERT INTO fix_outcomes(artifact_id, outcome, run_id, decided_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(artifact_id) DO UPDATE SET outcome = excluded.outcome, "
        "run_id = excluded.run_id, decided_at = excluded.decided_at",
        (artifact_id, outcome, run_id, now),
    )


def day_old_applied(conn: Connection, project_id: int, cutoff: int) -> list[ArtifactRow]:
    """The artifacts of a project applied at ``cutoff`` or before and still applied whose
    end is not judged yet (no outcome, or only 'stayed': not kept, reverted or returned);
    oldest first."""
    rows = conn.execute(
        f"SELECT {ARTIFACT_COLS} FROM artifacts a WHERE a.project_id = ? AND a.status = 'applied' "
        "AND a.applied_at <= ? AND a.diff IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
        "fix_outcomes f WHERE f.artifact_id = a.id AND f.outcome <> 'stayed') "
        "ORDER BY a.applied_at, a.id",
        (project_id, cutoff),
    ).fetchall()
    return [ArtifactRow(*r) for r in rows]


def set_day_outcome(conn: Connection, artifact_id: int, kept: bool, now: int) -> None:
    """'kept' / 'not_kept' a day after the artifact was applied (migration 047); the build
    run that saw it stay, if any, stays recorded."""
    conn.execute(
        "INSERT INTO fix_outcomes(artifact_id, outcome, run_id, decided_at) VALUES (?, ?, NULL, ?) "
        "ON CONFLICT(artifact_id) DO UPDATE SET outcome = excluded.outcome, "
        "decided_at = excluded.decided_at",
        (artifact_id, "kept" if kept else "not_kept", now),
    )


def fix_outcomes_of(conn: Connection, op_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per operation: [{artifact_id, file, outcome, run_id, at}]."""
    if not op_ids:
        return {}
    marks = ",".join("?" * len(op_ids))
    rows = conn.execute(
        "SELECT a.operation_id, a.id, a.file_path, f.outcome, f.run_id, f.decided_at "
        "FROM fix_outcomes f JOIN artifacts a ON a.id = f.artifact_id "
        f"WHERE a.operation_id IN ({marks}) ORDER BY a.id",
        op_ids,
    ).fetchall()
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(
            {"artifact_id": r[1], "file": r[2], "outcome": r[3], "run_id": r[4], "at": r[5]}
        )
    return out


# --- reasoning patterns ----------------------------------------------------------------------

# A failure that leaves a pattern with this many failures and fewer than one success in
# RETIRE_BELOW_ONE_IN outcomes retires it.
RETIRE_FAILURES = 3
RETIRE_BELOW_ONE_IN = 3


@dataclass(frozen=True)
class PatternRow:
    id: int
    project_id: int | None
    name: str
    description: str
    category: str | None
    approach: str | None
    solution_template: str | None
    use_count: int
    success_count: int
    uses: int  # rows of pattern_usage: times it was put in a context
    created_at: int
    updated_at: int
    last_used_at: int | None
    last_success_at: int | None
    retired_at: int | None
    redacted: bool = False  # name, description and template were redacted when stored

    @property
    def failures(self) -> int:
        return self.use_count - self.success_count


_PAT_COLS = (
    "p.id, p.project_id, p.name, p.description, p.trigger_key, p.approach, "
    "p.solution_template, p.use_count, p.success_count, "
    "(SELECT count(*) FROM pattern_usage u WHERE u.pattern_id = p.id), p.created_at, "
    "p.updated_at, p.last_used_at, p.last_success_at, p.retired_at, p.redacted"
)


def _pat(r: Any) -> PatternRow:
    return PatternRow(
        int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], int(r[7]), int(r[8]), int(r[9]),
        int(r[10]), int(r[11]), r[12], r[13], r[14], bool(r[15]),
    )  # fmt: skip


def pattern_for(
    conn: Connection, project_id: int | None, category: str, approach: str
) -> PatternRow | None:
    r = conn.execute(
        f"SELECT {_PAT_COLS} FROM reasoning_patterns p WHERE p.project_id IS ? "
        "AND p.trigger_type = 'build_error' AND p.trigger_key = ? AND p.approach = ? "
        "ORDER BY p.id LIMIT 1",
        (project_id, category, approach),
    ).fetchone()
    return _pat(r) if r else None


def pattern(conn: Connection, pattern_id: int) -> PatternRow | None:
    r = conn.execute(
        f"SELECT {_PAT_COLS} FROM reasoning_patterns p WHERE p.id = ?", (pattern_id,)
    ).fetchone()
    return _pat(r) if r else None


def insert_pattern(
    conn: Connection,
    project_id: int | None,
    *,
    name: str,
    description: str,
    category: str,
    approach: str,
    template: str | None,
    steps: list[tuple[str, str, str | None]],
    now: int,
) -> int:
    """A new pattern with its steps [(step_type, description, rationale)]; its texts are
    stored as given, which must be redacted already (``redacted`` is set)."""
    cur = conn.execute(
        "INSERT INTO reasoning_patterns(project_id, name, description, trigger_type, "
        "trigger_key, approach, solution_template, applicable_contexts, created_at, "
        "updated_at, redacted) VALUES (?, ?, ?, 'build_error', ?, ?, ?, ?, ?, ?, 1)",
        (project_id, name, description, category, approach, template,
         json.dumps([category]), now, now),
    )  # fmt: skip
    pid = inserted_id(cur)
    conn.executemany(
        "INSERT INTO reasoning_steps(pattern_id, step_number, step_type, description, "
        "rationale, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(pid, i, t, d, why, now) for i, (t, d, why) in enumerate(steps, 1)],
    )
    return pid


def steps(conn: Connection, pattern_id: int) -> list[dict[str, Any]]:
    """The steps in order; a tool-call step also has ``tool`` and ``arguments``."""
    rows = conn.execute(
        "SELECT step_number, step_type, description, rationale, tool_name, tool_arguments "
        "FROM reasoning_steps WHERE pattern_id = ? ORDER BY step_number",
        (pattern_id,),
    ).fetchall()
    out = []
    for r in rows:
        step: dict[str, Any] = {"step": r[0], "type": r[1], "description": r[2],
                                "rationale": r[3]}  # fmt: skip
        if r[4]:
            step["tool"] = r[4]
            step["arguments"] = json.loads(r[5]) if r[5] else {}
        out.append(step)
    return out


def set_tool_steps(
    conn: Connection, pattern_id: int, calls: list[tuple[str, dict[str, Any]]], now: int
) -> None:
    """Replace the pattern's tool-call steps with ``calls`` [(tool, arguments)], placed
    after its first gather step (the other steps keep their order and text)."""
    kept = conn.execute(
        "SELECT step_type, description, rationale, created_at FROM reasoning_steps "
        "WHERE pattern_id = ? AND tool_name IS NULL ORDER BY step_number",
        (pattern_id,),
    ).fetchall()
    at = next((i + 1 for i, r in enumerate(kept) if r[0] == "gather"), 0)
    tools = [
        ("gather", f"call {name}", "a tool call of the fix that worked", now, name,
         json.dumps(args, ensure_ascii=False, sort_keys=True))
        for name, args in calls
    ]  # fmt: skip
    rows = [(*r, None, None) for r in kept[:at]] + tools + [(*r, None, None) for r in kept[at:]]
    conn.execute("DELETE FROM reasoning_steps WHERE pattern_id = ?", (pattern_id,))
    conn.executemany(
        "INSERT INTO reasoning_steps(pattern_id, step_number, step_type, description, "
        "rationale, created_at, tool_name, tool_arguments) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(pattern_id, i, *r) for i, r in enumerate(rows, 1)],
    )


def tool_calls_of(conn: Connection, op_id: str) -> list[dict[str, Any]]:
    """The tool calls an operation's tool loop made, in order ('tool_call' events)."""
    return [
        json.loads(r[0] or "{}")
        for r in conn.execute(
            "SELECT data FROM operation_events WHERE operation_id = ? "
            "AND event_type = 'tool_call' ORDER BY seq",
            (op_id,),
        )
    ]


# --- signatures (044) ----------------------------------------------------------------------

SIGNATURE_KINDS = ("error_hash", "code", "language", "concept", "text")


def add_signature(
    conn: Connection, pattern_id: int, items: list[tuple[str, str]], now: int
) -> None:
    """One more problem the pattern solved: each (kind, value) of its signature."""
    conn.executemany(
        "INSERT INTO pattern_signatures(pattern_id, kind, value, seen, last_at) "
        "VALUES (?, ?, ?, 1, ?) ON CONFLICT(pattern_id, kind, value) DO UPDATE SET "
        "seen = seen + 1, last_at = excluded.last_at",
        [(pattern_id, k, v, now) for k, v in dict.fromkeys(items) if v],
    )


def signatures_of(
    conn: Connection,
    pattern_ids: list[int],
    wanted: list[tuple[str, str]] | None = None,
) -> dict[int, dict[str, set[str]]]:
    """Per pattern: kind -> the values its fixes had. ``wanted``: only these (kind, value)
    pairs, and every concept (a Jaccard needs them all)."""
    if not pattern_ids:
        return {}
    marks = ",".join("?" * len(pattern_ids))
    only, args = "", []
    if wanted is not None:
        only = (
            " AND (kind = 'concept'" + "".join(" OR (kind = ? AND value = ?)" for _ in wanted) + ")"
        )
        args = [x for kv in wanted for x in kv]
    out: dict[int, dict[str, set[str]]] = {}
    for pid, kind, value in conn.execute(
        "SELECT pattern_id, kind, value FROM pattern_signatures "
        f"WHERE pattern_id IN ({marks}){only}",
        (*pattern_ids, *args),
    ):
        out.setdefault(pid, {}).setdefault(kind, set()).add(value)
    return out


def text_vectors(
    conn: Connection, model: str, dimensions: int, pattern_ids: list[int]
) -> dict[int, list[bytes]]:
    """Per pattern, the stored vectors (in this embedding space) of the error texts its
    fixes solved."""
    if not pattern_ids:
        return {}
    marks = ",".join("?" * len(pattern_ids))
    out: dict[int, list[bytes]] = {}
    for pid, vec in conn.execute(
        "SELECT s.pattern_id, e.vector FROM pattern_signatures s JOIN embeddings e "
        "ON e.text_hash = s.value AND e.model = ? AND e.dimensions = ? "
        f"WHERE s.kind = 'text' AND s.pattern_id IN ({marks})",
        (model, dimensions, *pattern_ids),
    ):
        out.setdefault(int(pid), []).append(bytes(vec))
    return out


def concepts_at(conn: Connection, project_id: int, path: str, line: int) -> list[str]:
    """The concepts (concept_index) of the definitions whose span holds the line."""
    return [
        r[0]
        for r in conn.execute(
            # through the file's row: the file's elements (code_elements' UNIQUE on file_id
            # first), not a scan of every element of the project
            "SELECT DISTINCT ci.concept FROM repository_files f JOIN code_elements e "
            "ON e.file_id = f.id JOIN concept_index ci ON ci.symbol_id = e.id "
            "WHERE f.project_id = ? AND f.file_path = ? "
            "AND e.start_line <= ? AND e.end_line >= ? ORDER BY 1 LIMIT 20",
            (project_id, path, line, line),
        )
    ]


def error_hash_of(conn: Connection, error_id: int) -> str | None:
    r = conn.execute("SELECT error_hash FROM build_errors WHERE id = ?", (error_id,)).fetchone()
    return r[0] if r else None


def set_outcome(
    conn: Connection, op_id: str, pattern_id: int, success: bool, reason: str, now: int
) -> None:
    """The latest judgment of ``op_id`` for a pattern; the pattern's counts follow, and so
    does the success of the operation's use of it (pattern_usage)."""
    conn.execute(
        "INSERT INTO pattern_outcomes(operation_id, pattern_id, success, reason, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(operation_id, pattern_id) DO UPDATE SET "
        "success = excluded.success, reason = excluded.reason, updated_at = excluded.updated_at",
        (op_id, pattern_id, int(success), reason, now),
    )
    conn.execute(
        "UPDATE reasoning_patterns SET "
        "use_count = (SELECT count(*) FROM pattern_outcomes o WHERE o.pattern_id = ?), "
        "success_count = (SELECT count(*) FROM pattern_outcomes o WHERE o.pattern_id = ? "
        "AND o.success = 1), updated_at = ?, "
        "last_success_at = CASE WHEN ? THEN ? ELSE last_success_at END WHERE id = ?",
        (pattern_id, pattern_id, now, int(success), now, pattern_id),
    )
    if not success:  # a pattern that keeps failing is retired (restore shows it again)
        conn.execute(
            "UPDATE reasoning_patterns SET retired_at = ? WHERE id = ? AND retired_at IS NULL "
            f"AND use_count - success_count >= {RETIRE_FAILURES} "
            f"AND success_count * {RETIRE_BELOW_ONE_IN} < use_count",
            (now, pattern_id),
        )
    # the reason, and what the use was seeded with ("helpful; seeded: get_symbol, callers")
    conn.execute(
        "UPDATE pattern_usage SET success = ?, outcome_notes = ? || CASE WHEN "
        f"instr(outcome_notes, '{SEEDED}') > 0 THEN '; ' || "
        f"substr(outcome_notes, instr(outcome_notes, '{SEEDED}')) ELSE '' END "
        "WHERE pattern_id = ? AND operation_id = ?",
        (int(success), reason, pattern_id, op_id),
    )


def set_template(conn: Connection, pattern_id: int, template: str) -> None:
    """``template`` redacted already."""
    conn.execute(
        "UPDATE reasoning_patterns SET solution_template = ? WHERE id = ?", (template, pattern_id)
    )


def used_by(conn: Connection, op_id: str) -> list[int]:
    """The patterns an operation's context showed."""
    rows = conn.execute(
        "SELECT DISTINCT pattern_id FROM pattern_usage WHERE operation_id = ? ORDER BY 1",
        (op_id,),
    ).fetchall()
    return [int(r[0]) for r in rows]


SEEDED = "seeded"  # outcome_notes of a use whose tool steps were given to the model


def record_use(
    conn: Connection,
    uses: list[tuple[int, float, str | None]],
    op_id: str,
    project_id: int | None,
    now: int,
) -> None:
    """Each (pattern, match score, note) went into the context of ``op_id``; the note
    ("seeded: tool, tool") says the model's first turn was given its tool steps."""
    conn.executemany(
        "INSERT INTO pattern_usage(pattern_id, operation_id, project_id, match_score, "
        "outcome_notes, used_at) VALUES (?, (SELECT id FROM operations WHERE id = ?), "
        "(SELECT id FROM projects WHERE id = ?), ?, ?, ?)",
        [(p, op_id, project_id, min(1.0, max(0.0, m)), n, now) for p, m, n in uses],
    )
    pattern_ids = [p for p, _, _ in uses]
    conn.executemany(
        "UPDATE reasoning_patterns SET last_used_at = ? WHERE id = ?",
        [(now, p) for p in pattern_ids],
    )


# What a candidate for matching needs: the row without its pattern_usage count (``uses`` 0).
_CAND_COLS = _PAT_COLS.replace(
    "(SELECT count(*) FROM pattern_usage u WHERE u.pattern_id = p.id)", "0"
)
_LIVE = "p.trigger_type = 'build_error' AND p.retired_at IS NULL AND p.success_count > 0"
# idx_reasoning_patterns_live is in this order: the first rows are the best, no sort
_BEST = "p.success_rate DESC, p.success_count DESC, p.last_success_at DESC, p.id"


@dataclass(frozen=True)
class Candidate:
    """A pattern that may fit a build error (its counts) and what of its signature the error
    shares (its tool steps: ``tool_steps_of``, read for the ones shown only)."""

    id: int
    category: str | None
    use_count: int
    success_count: int
    last_success_at: int | None
    same_error: bool
    same_code: bool
    same_language: bool
    concepts_shared: int
    concepts: int  # concepts its fixes had
    raw: tuple[Any, ...]  # the row (``_CAND_COLS``): ``row`` makes the PatternRow

    def row(self) -> PatternRow:
        return _pat(self.raw)


def tool_steps_of(conn: Connection, pattern_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Per pattern (of these, the few a context shows): its tool steps in order, [(tool,
    arguments as JSON text)]; a pattern with none is left out."""
    if not pattern_ids:
        return {}
    out: dict[int, list[tuple[str, str]]] = {}
    for pid, name, args in conn.execute(
        "SELECT pattern_id, tool_name, tool_arguments FROM reasoning_steps WHERE pattern_id "
        f"IN ({','.join('?' * len(pattern_ids))}) AND tool_name IS NOT NULL "
        "ORDER BY pattern_id, step_number",
        pattern_ids,
    ):
        out.setdefault(int(pid), []).append((str(name), args or "{}"))
    return out


def candidates(
    conn: Connection,
    project_id: int | None,
    category: str,
    error_hash: str | None,
    code: str | None,
    language: str | None,
    concepts: tuple[str, ...],
    *,
    of_category: int,
    per_signature: int,
) -> list[Candidate]:
    """The live patterns with a success that may fit a build error: the best
    ``of_category`` of its category (success rate, successes, the latest success), and the
    ``per_signature`` whose fixes most recently solved this very error (its hash), and
    those for an error with this tool and code, whatever their category; each with the
    parts of its signature the error shares. One statement: each part is read in index
    order (no sort), and the signature facts one range read of each candidate's rows."""
    # the limits are written into the text: a bound LIMIT makes SQLite plan these
    # subqueries about twice as slow
    parts = [
        f"SELECT p.id FROM reasoning_patterns p WHERE {_LIVE} AND p.project_id = ? "
        f"AND p.trigger_key = ? ORDER BY {_BEST} LIMIT {int(of_category)}"
    ]
    args: list[Any] = [project_id, category]
    for kind, value in (("error_hash", error_hash), ("code", code)):
        if value:
            parts.append(
                "SELECT s.pattern_id FROM pattern_signatures s JOIN reasoning_patterns p "
                f"ON p.id = s.pattern_id WHERE s.kind = '{kind}' AND s.value = ? AND {_LIVE} "
                f"AND p.project_id = ? ORDER BY s.last_at DESC LIMIT {int(per_signature)}"
            )
            args += [value, project_id]

    # what of its signature the error shares, in one pass over the pattern's signature rows
    # (one probe, not one per part): a sum of flags (error 1, code 2, language 4; the
    # primary key makes each at most one row), 8 per concept, 2**20 per concept shared
    shared = f"8 + 1048576 * (s.value IN ({','.join('?' * len(concepts))}))" if concepts else "8"
    union = " UNION ".join(f"SELECT * FROM ({x})" for x in parts)
    rows = conn.execute(
        f"WITH ids(id) AS ({union}) SELECT {_CAND_COLS}, "
        "(SELECT total(CASE s.kind WHEN 'error_hash' THEN s.value = ? "
        "WHEN 'code' THEN 2 * (s.value = ?) WHEN 'language' THEN 4 * (s.value = ?) "
        f"WHEN 'concept' THEN {shared} ELSE 0 END) "
        "FROM pattern_signatures s WHERE s.pattern_id = p.id) "
        "FROM ids JOIN reasoning_patterns p ON p.id = ids.id",
        (*args, error_hash or "", code or "", language or "", *concepts),
    ).fetchall()
    n = _CAND_COLS.count(",") + 1
    out = []
    for r in rows:
        m = int(r[n])
        out.append(Candidate(
            int(r[0]), r[4], int(r[7]), int(r[8]), r[13], bool(m & 1), bool(m & 2),
            bool(m & 4), m >> 20, (m >> 3) & 0x1FFFF, tuple(r[:n]),
        ))  # fmt: skip
    return out


def listed(conn: Connection, project_id: int | None) -> list[PatternRow]:
    where = "" if project_id is None else "WHERE p.project_id IS ? OR p.project_id IS NULL "
    rows = conn.execute(
        f"SELECT {_PAT_COLS} FROM reasoning_patterns p {where}"
        "ORDER BY p.trigger_key, p.success_count DESC, p.id",
        () if project_id is None else (project_id,),
    ).fetchall()
    return [_pat(r) for r in rows]


def edit(
    conn: Connection,
    pattern_id: int,
    *,
    name: str | None,
    description: str | None,
    template: str | None,
    retired: bool | None,
    now: int,
    redacted: bool = False,
) -> None:
    """``redacted``: name, description and template as they will be are all redacted
    (the caller passed every one of them through redaction)."""
    conn.execute(
        "UPDATE reasoning_patterns SET redacted = CASE WHEN ? THEN 1 ELSE redacted END, "
        "name = coalesce(?, name), "
        "description = coalesce(?, description), "
        "solution_template = coalesce(?, solution_template), "
        "retired_at = CASE WHEN ? IS NULL THEN retired_at WHEN ? THEN coalesce(retired_at, ?) "
        "ELSE NULL END, updated_at = ? WHERE id = ?",
        (redacted, name, description, template, retired, retired, now, now, pattern_id),
    )


def delete(conn: Connection, pattern_id: int) -> bool:
    return conn.execute("DELETE FROM reasoning_patterns WHERE id = ?", (pattern_id,)).rowcount > 0
