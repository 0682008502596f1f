"""build_runs: one row per command run, from 'running' to how it ended."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection, inserted_id

_COLS = (
    "id, project_id, name, tool, command, cwd, started_at, ended_at, exit_code, status, "
    "error_count, warning_count, commit_hash, tree_dirty, output_bytes, truncated, message"
)
FINAL_STATES = ("succeeded", "failed", "timeout", "cancelled", "error")


@dataclass(frozen=True)
class RunRow:
    id: int
    project_id: int
    name: str
    tool: str
    command: list[str]
    cwd: str
    started_at: int
    ended_at: int | None
    exit_code: int | None
    status: str
    error_count: int
    warning_count: int
    commit_hash: str | None
    tree_dirty: bool | None
    output_bytes: int
    truncated: bool
    message: str | None

    @property
    def complete(self) -> bool:
        """Ran to the end and its output was read whole: absent errors are really gone."""
        return self.status in ("succeeded", "failed") and not self.truncated


def _row(r: Any) -> RunRow:
    return RunRow(
        int(r[0]),
        int(r[1]),
        r[2],
        r[3],
        json.loads(r[4]),
        r[5],
        int(r[6]),
        r[7],
        r[8],
        r[9],
        int(r[10]),
        int(r[11]),
        r[12],
        None if r[13] is None else bool(r[13]),
        int(r[14]),
        bool(r[15]),
        r[16],
    )


def start_run(
    conn: Connection,
    project_id: int,
    name: str,
    tool: str,
    argv: list[str],
    cwd: str,
    started_at: int,
    commit_hash: str | None,
    tree_dirty: bool | None,
) -> int:
    cur = conn.execute(
        "INSERT INTO build_runs(project_id, name, tool, command, cwd, started_at, status, "
        "commit_hash, tree_dirty) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
        (
            project_id,
            name,
            tool,
            json.dumps(argv),
            cwd,
            started_at,
            commit_hash,
            None if tree_dirty is None else int(tree_dirty),
        ),
    )
    return inserted_id(cur)


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    status: str,
    ended_at: int,
    exit_code: int | None,
    error_count: int,
    warning_count: int,
    output_bytes: int,
    truncated: bool,
    message: str | None,
) -> None:
    conn.execute(
        "UPDATE build_runs SET status = ?, ended_at = ?, exit_code = ?, error_count = ?, "
        "warning_count = ?, output_bytes = ?, truncated = ?, message = ? WHERE id = ?",
        (
            status,
            ended_at,
            exit_code,
            error_count,
            warning_count,
            output_bytes,
            int(truncated),
            message,
            run_id,
        ),
    )


def get_run(conn: Connection, run_id: int) -> RunRow | None:
    r = conn.execute(f"SELECT {_COLS} FROM build_runs WHERE id = ?", (run_id,)).fetchone()
    return _row(r) if r else None


def latest_complete_runs(
    conn: Connection, project_id: int, names: list[str] | None = None
) -> list[RunRow]:
    """Per command name, its newest run that ran to the end (what diagnostics show)."""
    rows = conn.execute(
        f"SELECT {_COLS} FROM build_runs WHERE id IN ("
        " SELECT max(id) FROM build_runs WHERE project_id = ? AND status IN "
        " ('succeeded', 'failed') GROUP BY name) ORDER BY id",
        (project_id,),
    ).fetchall()
    runs = [_row(r) for r in rows]
    if names is not None:
        runs = [r for r in runs if r.name in names]
    return runs


def recent_runs(conn: Connection, project_id: int, limit: int = 20) -> list[RunRow]:
    rows = conn.execute(
        f"SELECT {_COLS} FROM build_runs WHERE project_id = ? ORDER BY id DESC LIMIT ?",
        (project_id, limit),
    ).fetchall()
    return [_row(r) for r in rows]


def mark_abandoned(conn: Connection, project_id: int, now: int, older_than: int) -> int:
    """Runs still 'running' long after any timeout: their server died; they ended in error."""
    cur = conn.execute(
        "UPDATE build_runs SET status = 'error', ended_at = ?, message = "
        "'mira-ls stopped before this run finished.' WHERE project_id = ? AND status = 'running' "
        "AND started_at < ?",
        (now, project_id, older_than),
    )
    return int(cur.rowcount)
