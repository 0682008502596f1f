"""build_file_snapshots (file contents by hash) and build_run_files (which content a file had
at a run), the two sides of the diff that resolved an error."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mira_ls.store.connection import Connection


def has_snapshot(conn: Connection, project_id: int, content_hash: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM build_file_snapshots WHERE project_id = ? AND content_hash = ?",
            (project_id, content_hash),
        ).fetchone()
        is not None
    )


def save(
    conn: Connection,
    project_id: int,
    run_id: int,
    files: Iterable[tuple[str, str, bytes | None]],
    at: int,
) -> None:
    """Record (path, content_hash, content) for a run; content None when already stored."""
    rows = list(files)
    conn.executemany(
        "INSERT OR IGNORE INTO build_file_snapshots(project_id, file_path, content_hash, "
        "content, captured_at) VALUES (?, ?, ?, ?, ?)",
        [(project_id, p, h, c, at) for p, h, c in rows if c is not None],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO build_run_files(run_id, file_path, content_hash) VALUES (?, ?, ?)",
        [(run_id, p, h) for p, h, _ in rows],
    )


def content_at(conn: Connection, project_id: int, run_id: int, file_path: str) -> bytes | None:
    """The file's content as it was when the run ran, if it was kept."""
    r = conn.execute(
        "SELECT s.content FROM build_run_files f JOIN build_file_snapshots s "
        "ON s.project_id = ? AND s.content_hash = f.content_hash "
        "WHERE f.run_id = ? AND f.file_path = ?",
        (project_id, run_id, file_path),
    ).fetchone()
    return bytes(r[0]) if r else None


def hash_at(conn: Connection, run_id: int, file_path: str) -> str | None:
    r = conn.execute(
        "SELECT content_hash FROM build_run_files WHERE run_id = ? AND file_path = ?",
        (run_id, file_path),
    ).fetchone()
    return r[0] if r else None


def prune(conn: Connection, project_id: int | None = None) -> tuple[int, int]:
    """Forget file contents no open error can still need (CONVENTIONS: `db prune` drops
    snapshots of resolved errors). A snapshot is needed while an error last seen in its run
    is open: that is the 'before' side of the diff its resolution will record.
    Returns (run-file rows deleted, snapshots deleted)."""
    scope = "" if project_id is None else " AND r.project_id = ?"
    args: tuple[Any, ...] = () if project_id is None else (project_id,)
    cur = conn.execute(
        "DELETE FROM build_run_files WHERE run_id IN ("
        " SELECT r.id FROM build_runs r WHERE r.status != 'running'"
        + scope
        + " AND NOT EXISTS (SELECT 1 FROM build_errors e WHERE e.last_run_id = r.id"
        "  AND e.status = 'open')"
        " AND r.id NOT IN (SELECT max(id) FROM build_runs GROUP BY project_id, name))",
        args,
    )
    files = int(cur.rowcount)
    scope2 = "" if project_id is None else " AND s.project_id = ?"
    cur = conn.execute(
        "DELETE FROM build_file_snapshots WHERE id IN ("
        " SELECT s.id FROM build_file_snapshots s WHERE NOT EXISTS ("
        "  SELECT 1 FROM build_run_files f JOIN build_runs r ON r.id = f.run_id"
        "  WHERE f.content_hash = s.content_hash AND r.project_id = s.project_id)" + scope2 + ")",
        args,
    )
    return files, int(cur.rowcount)
