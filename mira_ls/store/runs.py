"""Runs (a full index, a mining) and their phases, recorded complete only when they are.

A phase's ``finished_at`` is written in the same transaction as the phase's last rows, or
right after them when nothing after them depends on the record. A run whose process died
(``kill -9``, a crash) stays 'running'; the next run of that kind, holding the lock or
finding the process gone, marks it 'interrupted' and finishes what it left undone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mira_ls.store.connection import Connection


@dataclass
class Run:
    id: int
    project_id: int
    kind: str
    pid: int | None
    started_at: int
    finished_at: int | None
    status: str
    message: str | None
    done: list[str] = field(default_factory=list)  # phases recorded complete, in order
    started: list[str] = field(default_factory=list)  # phases begun, in order

    @property
    def stopped_in(self) -> str | None:
        """The phase an interrupted run was in (begun, not complete)."""
        open_ = [p for p in self.started if p not in self.done]
        return open_[-1] if open_ else None


_COLS = "id, project_id, kind, pid, started_at, finished_at, status, message"


def _alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _with_phases(conn: Connection, run: Run) -> Run:
    rows = conn.execute(
        "SELECT phase, finished_at FROM run_phases WHERE run_id = ? ORDER BY started_at, rowid",
        (run.id,),
    ).fetchall()
    run.started = [r[0] for r in rows]
    run.done = [r[0] for r in rows if r[1] is not None]
    return run


def last(conn: Connection, project_id: int, kind: str) -> Run | None:
    """The newest run of ``kind`` for the project, with its phases."""
    r = conn.execute(
        f"SELECT {_COLS} FROM runs WHERE project_id = ? AND kind = ? ORDER BY id DESC LIMIT 1",
        (project_id, kind),
    ).fetchone()
    return _with_phases(conn, Run(*r)) if r else None


def begin(
    conn: Connection, project_id: int, kind: str, now: int, *, exclusive: bool = False
) -> tuple[int, Run | None]:
    """Start a run; returns its id and the previous run if it was interrupted.

    Earlier runs still 'running' whose process is gone (or all of them, when the caller
    holds the lock for this kind: ``exclusive``) are marked 'interrupted'."""
    interrupted: Run | None = None
    rows = conn.execute(
        f"SELECT {_COLS} FROM runs WHERE project_id = ? AND kind = ? AND status = 'running'"
        " ORDER BY id",
        (project_id, kind),
    ).fetchall()
    for r in rows:
        run = Run(*r)
        if not exclusive and _alive(run.pid):
            continue
        conn.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", (run.id,))
        run.status = "interrupted"
        interrupted = _with_phases(conn, run)
    cur = conn.execute(
        "INSERT INTO runs(project_id, kind, pid, started_at) VALUES (?,?,?,?)",
        (project_id, kind, os.getpid(), now),
    )
    conn.execute(
        "DELETE FROM runs WHERE project_id = ? AND kind = ? AND id NOT IN"
        " (SELECT id FROM runs WHERE project_id = ? AND kind = ? ORDER BY id DESC LIMIT 20)",
        (project_id, kind, project_id, kind),
    )
    return int(cur.lastrowid or 0), interrupted


def phase_started(conn: Connection, run_id: int, phase: str, now: int) -> None:
    conn.execute(
        "INSERT INTO run_phases(run_id, phase, started_at) VALUES (?,?,?)"
        " ON CONFLICT(run_id, phase) DO NOTHING",
        (run_id, phase, now),
    )


def phase_done(conn: Connection, run_id: int, phase: str, now: int) -> None:
    conn.execute(
        "INSERT INTO run_phases(run_id, phase, started_at, finished_at) VALUES (?,?,?,?)"
        " ON CONFLICT(run_id, phase) DO UPDATE SET finished_at = excluded.finished_at",
        (run_id, phase, now, now),
    )


def finish(
    conn: Connection, run_id: int, status: str, now: int, message: str | None = None
) -> None:
    conn.execute(
        "UPDATE runs SET status = ?, finished_at = ?, message = ? WHERE id = ?",
        (status, now, message, run_id),
    )
