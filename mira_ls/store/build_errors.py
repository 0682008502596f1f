"""build_errors (one row per error_hash) and build_error_occurrences (where, in which run)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection

_ERR_COLS = (
    "id, project_id, error_hash, tool, code, category, severity, message, normalized_message, "
    "file_path, line, col, end_line, end_col, occurrence_count, first_seen_at, last_seen_at, "
    "first_run_id, last_run_id, status, resolved_at"
)
_OCC_COLS = (
    "o.run_id, o.error_id, o.file_path, o.line, o.col, o.end_line, o.end_col, "
    "o.message, o.related, o.hint"
)
_CHUNK = 500


@dataclass(frozen=True)
class ErrorRecord:
    """An error as one run reports it, ready to be merged into its row."""

    error_hash: str
    tool: str
    code: str
    category: str
    severity: str
    message: str
    normalized_message: str
    file_path: str | None
    line: int | None
    col: int | None
    end_line: int | None
    end_col: int | None


@dataclass(frozen=True)
class OccurrenceRecord:
    error_hash: str
    file_path: str | None
    line: int | None
    col: int | None
    end_line: int | None
    end_col: int | None
    message: str
    related: list[tuple[str, int]]
    hint: str | None


@dataclass(frozen=True)
class ErrorRow:
    id: int
    project_id: int
    error_hash: str
    tool: str
    code: str
    category: str
    severity: str
    message: str
    normalized_message: str
    file_path: str | None
    line: int | None
    col: int | None
    end_line: int | None
    end_col: int | None
    occurrence_count: int
    first_seen_at: int
    last_seen_at: int
    first_run_id: int | None
    last_run_id: int | None
    status: str
    resolved_at: int | None


@dataclass(frozen=True)
class OccurrenceRow:
    run_id: int
    error_id: int
    file_path: str | None
    line: int | None
    col: int | None
    end_line: int | None
    end_col: int | None
    message: str
    related: list[tuple[str, int]]
    hint: str | None


def _err(r: Any) -> ErrorRow:
    return ErrorRow(
        id=r[0],
        project_id=r[1],
        error_hash=r[2],
        tool=r[3],
        code=r[4] or "",
        category=r[5],
        severity=r[6],
        message=r[7],
        normalized_message=r[8],
        file_path=r[9],
        line=r[10],
        col=r[11],
        end_line=r[12],
        end_col=r[13],
        occurrence_count=r[14],
        first_seen_at=r[15],
        last_seen_at=r[16],
        first_run_id=r[17],
        last_run_id=r[18],
        status=r[19],
        resolved_at=r[20],
    )


def _occ(r: Any) -> OccurrenceRow:
    related = [(str(p), int(n)) for p, n in json.loads(r[8] or "[]")]
    return OccurrenceRow(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], related, r[9])


def record_errors(
    conn: Connection,
    project_id: int,
    run_id: int,
    at: int,
    errors: list[ErrorRecord],
    occurrences: list[OccurrenceRecord],
) -> dict[str, int]:
    """Merge one run's errors into their rows (count +1 per run, reopened if resolved) and
    store every occurrence; return error_hash -> id."""
    conn.executemany(
        "INSERT INTO build_errors(project_id, error_hash, tool, code, category, severity, "
        "message, normalized_message, file_path, line, col, end_line, end_col, "
        "occurrence_count, first_seen_at, last_seen_at, first_run_id, last_run_id, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, 'open') "
        "ON CONFLICT(project_id, error_hash) DO UPDATE SET "
        " occurrence_count = occurrence_count + 1, last_seen_at = excluded.last_seen_at, "
        " last_run_id = excluded.last_run_id, severity = excluded.severity, "
        " message = excluded.message, file_path = excluded.file_path, line = excluded.line, "
        " col = excluded.col, end_line = excluded.end_line, end_col = excluded.end_col, "
        " status = 'open', resolved_at = NULL",
        [
            (
                project_id,
                e.error_hash,
                e.tool,
                e.code,
                e.category,
                e.severity,
                e.message,
                e.normalized_message,
                e.file_path,
                e.line,
                e.col,
                e.end_line,
                e.end_col,
                at,
                at,
                run_id,
                run_id,
            )
            for e in errors
        ],
    )
    ids = {
        h: int(i)
        for i, h in conn.execute(
            "SELECT id, error_hash FROM build_errors WHERE last_run_id = ?", (run_id,)
        )
    }
    conn.executemany(
        "INSERT INTO build_error_occurrences(run_id, error_id, file_path, line, col, end_line, "
        "end_col, message, related, hint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                ids[o.error_hash],
                o.file_path,
                o.line,
                o.col,
                o.end_line,
                o.end_col,
                o.message,
                json.dumps(o.related),
                o.hint,
            )
            for o in occurrences
        ],
    )
    return ids


def open_errors_of_command(
    conn: Connection, project_id: int, name: str, before_run_id: int
) -> list[ErrorRow]:
    """Errors still open whose last sighting was an earlier run of the command ``name``."""
    rows = conn.execute(
        f"SELECT {', '.join('e.' + c.strip() for c in _ERR_COLS.split(','))} "
        "FROM build_errors e JOIN build_runs r ON r.id = e.last_run_id "
        "WHERE e.project_id = ? AND e.status = 'open' AND r.name = ? AND e.last_run_id < ?",
        (project_id, name, before_run_id),
    ).fetchall()
    return [_err(r) for r in rows]


def mark_resolved(conn: Connection, error_ids: Iterable[int], at: int) -> None:
    conn.executemany(
        "UPDATE build_errors SET status = 'resolved', resolved_at = ? WHERE id = ?",
        [(at, i) for i in error_ids],
    )


def get_error(conn: Connection, error_id: int) -> ErrorRow | None:
    r = conn.execute(f"SELECT {_ERR_COLS} FROM build_errors WHERE id = ?", (error_id,)).fetchone()
    return _err(r) if r else None


def by_hash(conn: Connection, project_id: int, error_hash: str) -> ErrorRow | None:
    r = conn.execute(
        f"SELECT {_ERR_COLS} FROM build_errors WHERE project_id = ? AND error_hash = ?",
        (project_id, error_hash),
    ).fetchone()
    return _err(r) if r else None


def by_hash_prefix(conn: Connection, project_id: int, prefix: str) -> list[ErrorRow]:
    rows = conn.execute(
        f"SELECT {_ERR_COLS} FROM build_errors WHERE project_id = ? AND error_hash >= ? "
        "AND error_hash < ? ORDER BY error_hash LIMIT 5",
        (project_id, prefix, prefix + "g"),
    ).fetchall()
    return [_err(r) for r in rows]


def list_errors(conn: Connection, project_id: int, status: str | None = "open") -> list[ErrorRow]:
    sql = f"SELECT {_ERR_COLS} FROM build_errors WHERE project_id = ?"
    args: list[Any] = [project_id]
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    sql += " ORDER BY file_path, line, id"
    return [_err(r) for r in conn.execute(sql, args).fetchall()]


def occurrences(
    conn: Connection,
    run_ids: list[int],
    file_path: str | None = None,
    lines: tuple[int, int] | None = None,
) -> list[tuple[OccurrenceRow, ErrorRow]]:
    """Occurrences of the given runs (optionally in one file, on lines first..last), each
    with its error row."""
    out: list[tuple[OccurrenceRow, ErrorRow]] = []
    err_cols = ", ".join("e." + c.strip() for c in _ERR_COLS.split(","))
    for i in range(0, len(run_ids), _CHUNK):
        chunk = run_ids[i : i + _CHUNK]
        marks = ",".join("?" * len(chunk))
        sql = (
            f"SELECT {_OCC_COLS}, {err_cols} FROM build_error_occurrences o "
            f"JOIN build_errors e ON e.id = o.error_id WHERE o.run_id IN ({marks})"
        )
        args: list[Any] = list(chunk)
        if file_path is not None:
            sql += " AND o.file_path = ?"
            args.append(file_path)
        if lines is not None:
            sql += " AND o.line BETWEEN ? AND ?"
            args.extend(lines)
        sql += " ORDER BY o.file_path, o.line, o.col, o.id"
        for r in conn.execute(sql, args).fetchall():
            out.append((_occ(r[:10]), _err(r[10:])))
    return out


def occurrence_of(conn: Connection, run_id: int, error_id: int) -> OccurrenceRow | None:
    """Where an error was in a given run (its first place there)."""
    r = conn.execute(
        f"SELECT {_OCC_COLS} FROM build_error_occurrences o WHERE o.run_id = ? AND "
        "o.error_id = ? ORDER BY o.id LIMIT 1",
        (run_id, error_id),
    ).fetchone()
    return _occ(r) if r else None


def count_first_seen(conn: Connection, run_id: int) -> int:
    """Errors a run saw for the first time."""
    return int(
        conn.execute(
            "SELECT count(*) FROM build_errors WHERE first_run_id = ?", (run_id,)
        ).fetchone()[0]
    )
