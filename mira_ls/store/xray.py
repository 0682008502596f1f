"""xray_cache: one X-Ray per file, valid while HEAD is the commit it was computed at."""

from __future__ import annotations

from mira_ls.store.connection import Connection


def get(conn: Connection, project_id: int, path: str, head: str) -> str | None:
    """The stored X-Ray JSON of ``path`` computed at ``head``, else None."""
    row = conn.execute(
        "SELECT result FROM xray_cache WHERE project_id = ? AND file_path = ? AND head = ?",
        (project_id, path, head),
    ).fetchone()
    return None if row is None else str(row[0])


def put(
    conn: Connection,
    project_id: int,
    path: str,
    head: str,
    commits: int,
    result: str,
    seconds: float,
) -> None:
    conn.execute(
        "INSERT INTO xray_cache(project_id, file_path, head, commits, result, seconds) "
        "VALUES (?,?,?,?,?,?) ON CONFLICT(project_id, file_path) DO UPDATE SET "
        "head = excluded.head, commits = excluded.commits, result = excluded.result, "
        "seconds = excluded.seconds, computed_at = unixepoch()",
        (project_id, path, head, commits, result, seconds),
    )


def all_current(conn: Connection, project_id: int, head: str) -> list[tuple[str, str]]:
    """(path, JSON) of every X-Ray computed at ``head``."""
    return [
        (str(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT file_path, result FROM xray_cache WHERE project_id = ? AND head = ? "
            "ORDER BY file_path",
            (project_id, head),
        )
    ]


def latest(conn: Connection, project_id: int, path: str) -> tuple[str, str] | None:
    """(head, JSON) of the last X-Ray computed for ``path`` (the hover shows it until the
    background job has one for the new HEAD)."""
    row = conn.execute(
        "SELECT head, result FROM xray_cache WHERE project_id = ? AND file_path = ?",
        (project_id, path),
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))
