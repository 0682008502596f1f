"""error_resolutions: what changed between the run that had an error and the run that no
longer had it; looked up by the same error, the same code or the same category."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection, inserted_id

_COLS = (
    "res.id, res.project_id, res.error_id, res.before_run_id, res.after_run_id, res.diff, "
    "res.files, res.commit_hash, res.historical_fix_id, res.summary, res.resolved_at, "
    "e.error_hash, e.tool, e.code, e.category, e.message, e.file_path, hf.subject"
)
_FROM = (
    "FROM error_resolutions res JOIN build_errors e ON e.id = res.error_id "
    "LEFT JOIN historical_fixes hf ON hf.id = res.historical_fix_id"
)


@dataclass(frozen=True)
class ResolutionRow:
    id: int
    project_id: int
    error_id: int
    before_run_id: int | None
    after_run_id: int | None
    diff: str | None
    files: list[str]
    commit_hash: str | None
    historical_fix_id: int | None
    summary: str | None
    resolved_at: int
    # the error it resolved
    error_hash: str
    tool: str
    code: str
    category: str
    error_message: str
    error_file: str | None
    fix_subject: str | None  # the linked historical fix's subject


def _row(r: Any) -> ResolutionRow:
    return ResolutionRow(
        int(r[0]),
        int(r[1]),
        int(r[2]),
        r[3],
        r[4],
        r[5],
        list(json.loads(r[6] or "[]")),
        r[7],
        r[8],
        r[9],
        int(r[10]),
        r[11],
        r[12],
        r[13] or "",
        r[14],
        r[15],
        r[16],
        r[17],
    )


def add(
    conn: Connection,
    project_id: int,
    error_id: int,
    before_run_id: int | None,
    after_run_id: int | None,
    diff: str | None,
    files: list[str],
    commit_hash: str | None,
    historical_fix_id: int | None,
    summary: str | None,
    at: int,
) -> int:
    cur = conn.execute(
        "INSERT INTO error_resolutions(project_id, error_id, before_run_id, after_run_id, diff, "
        "files, commit_hash, historical_fix_id, summary, resolved_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            project_id,
            error_id,
            before_run_id,
            after_run_id,
            diff,
            json.dumps(files),
            commit_hash,
            historical_fix_id,
            summary,
            at,
        ),
    )
    return inserted_id(cur)


def get(conn: Connection, resolution_id: int) -> ResolutionRow | None:
    r = conn.execute(f"SELECT {_COLS} {_FROM} WHERE res.id = ?", (resolution_id,)).fetchone()
    return _row(r) if r else None


def for_error(conn: Connection, error_id: int, limit: int = 10) -> list[ResolutionRow]:
    rows = conn.execute(
        f"SELECT {_COLS} {_FROM} WHERE res.error_id = ? ORDER BY res.resolved_at DESC, res.id "
        "DESC LIMIT ?",
        (error_id, limit),
    ).fetchall()
    return [_row(r) for r in rows]


def same_code(
    conn: Connection, project_id: int, tool: str, code: str, exclude_error_id: int, limit: int = 10
) -> list[ResolutionRow]:
    """Resolutions of other errors with this tool's code (e.g. another F401)."""
    rows = conn.execute(
        f"SELECT {_COLS} {_FROM} WHERE res.project_id = ? AND e.tool = ? AND e.code = ? "
        "AND res.error_id != ? ORDER BY res.resolved_at DESC, res.id DESC LIMIT ?",
        (project_id, tool, code, exclude_error_id, limit),
    ).fetchall()
    return [_row(r) for r in rows]


def same_category(
    conn: Connection,
    project_id: int,
    category: str,
    tool: str,
    code: str,
    exclude_error_id: int,
    limit: int = 10,
) -> list[ResolutionRow]:
    """Resolutions of errors of the same category but another code (any tool)."""
    rows = conn.execute(
        f"SELECT {_COLS} {_FROM} WHERE res.project_id = ? AND e.category = ? "
        "AND NOT (e.tool = ? AND coalesce(e.code, '') = ?) AND res.error_id != ? "
        "ORDER BY res.resolved_at DESC, res.id DESC LIMIT ?",
        (project_id, category, tool, code, exclude_error_id, limit),
    ).fetchall()
    return [_row(r) for r in rows]


def historical_fix_id(conn: Connection, project_id: int, commit_hash: str) -> int | None:
    """The historical_fixes row of a commit (mined by git intelligence), if any."""
    r = conn.execute(
        "SELECT id FROM historical_fixes WHERE project_id = ? AND commit_hash = ?",
        (project_id, commit_hash),
    ).fetchone()
    return int(r[0]) if r else None


def link_historical_fixes(conn: Connection, project_id: int) -> int:
    """Link resolutions to fix commits mined after the resolution was recorded."""
    cur = conn.execute(
        "UPDATE error_resolutions SET historical_fix_id = (SELECT hf.id FROM historical_fixes hf "
        " WHERE hf.project_id = error_resolutions.project_id "
        " AND hf.commit_hash = error_resolutions.commit_hash) "
        "WHERE project_id = ? AND historical_fix_id IS NULL AND EXISTS (SELECT 1 FROM "
        " historical_fixes hf WHERE hf.project_id = error_resolutions.project_id "
        " AND hf.commit_hash = error_resolutions.commit_hash)",
        (project_id,),
    )
    return int(cur.rowcount)


def count_for_error(conn: Connection, error_id: int) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM error_resolutions WHERE error_id = ?", (error_id,)
        ).fetchone()[0]
    )
