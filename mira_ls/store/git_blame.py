"""blame_files and blame_annotations: git blame results cached per blob id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mira_ls.store.connection import Connection

KEEP_BLOBS = 3  # blamed versions kept per file (switching branches back and forth is cheap)


@dataclass(frozen=True)
class BlameRange:
    line_start: int
    line_end: int
    commit_hash: str
    author_name: str
    author_email: str
    authored_at: int
    summary: str | None


def has_blame(conn: Connection, project_id: int, path: str, blob_id: str) -> bool:
    r = conn.execute(
        "SELECT 1 FROM blame_files WHERE project_id = ? AND file_path = ? AND blob_id = ?",
        (project_id, path, blob_id),
    ).fetchone()
    return r is not None


def is_current(conn: Connection, project_id: int, path: str, blob_id: str) -> bool:
    cur = current(conn, project_id, path)
    return cur is not None and cur.blob_id == blob_id


def store_blame(
    conn: Connection,
    project_id: int,
    path: str,
    blob_id: str,
    status: str,
    line_count: int,
    error: str | None,
    ranges: Sequence[BlameRange],
    now: int,
) -> None:
    """Record one blamed blob (replacing an earlier result for it) and prune old blobs."""
    conn.execute(
        "DELETE FROM blame_annotations WHERE project_id = ? AND file_path = ? AND blob_id = ?",
        (project_id, path, blob_id),
    )
    conn.execute(
        "INSERT OR REPLACE INTO blame_files(project_id, file_path, blob_id, status, line_count, "
        "error, computed_at, seq) VALUES (?,?,?,?,?,?,?,?)",
        (project_id, path, blob_id, status, line_count, error, now, _next_seq(conn, project_id)),
    )
    conn.executemany(
        "INSERT INTO blame_annotations(project_id, file_path, blob_id, line_start, line_end, "
        "commit_hash, author_name, author_email, authored_at, summary, computed_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            (
                project_id,
                path,
                blob_id,
                r.line_start,
                r.line_end,
                r.commit_hash,
                r.author_name,
                r.author_email,
                r.authored_at,
                r.summary,
                now,
            )
            for r in ranges
        ),
    )
    old = [
        r[0]
        for r in conn.execute(
            "SELECT blob_id FROM blame_files WHERE project_id = ? AND file_path = ? "
            "ORDER BY seq DESC LIMIT -1 OFFSET ?",
            (project_id, path, KEEP_BLOBS),
        )
    ]
    for b in old:
        conn.execute(
            "DELETE FROM blame_files WHERE project_id = ? AND file_path = ? AND blob_id = ?",
            (project_id, path, b),
        )
        conn.execute(
            "DELETE FROM blame_annotations WHERE project_id = ? AND file_path = ? AND blob_id = ?",
            (project_id, path, b),
        )


def _next_seq(conn: Connection, project_id: int) -> int:
    r = conn.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM blame_files WHERE project_id = ?", (project_id,)
    ).fetchone()
    return int(r[0])


def touch(conn: Connection, project_id: int, path: str, blob_id: str) -> None:
    """Mark a cached blob as the file's current version again (e.g. after a branch switch)."""
    conn.execute(
        "UPDATE blame_files SET seq = ? WHERE project_id = ? AND file_path = ? AND blob_id = ?",
        (_next_seq(conn, project_id), project_id, path, blob_id),
    )


@dataclass(frozen=True)
class BlameFile:
    blob_id: str
    status: str
    line_count: int
    error: str | None
    computed_at: int


def current(conn: Connection, project_id: int, path: str) -> BlameFile | None:
    """The most recently blamed (or re-opened) version of a file."""
    r = conn.execute(
        "SELECT blob_id, status, line_count, error, computed_at FROM blame_files "
        "WHERE project_id = ? AND file_path = ? ORDER BY seq DESC LIMIT 1",
        (project_id, path),
    ).fetchone()
    return BlameFile(r[0], r[1], int(r[2]), r[3], int(r[4])) if r else None


def ranges(
    conn: Connection, project_id: int, path: str, blob_id: str, start: int = 1, end: int = 1 << 31
) -> list[BlameRange]:
    """Blame ranges of a blob overlapping lines start..end (1-based inclusive).

    Ranges tile the file without overlap, so the first one is the last starting at or
    before ``start``: two index seeks instead of a scan from the top of a long file.
    """
    return [
        BlameRange(*r)
        for r in conn.execute(
            "SELECT line_start, line_end, commit_hash, author_name, author_email, authored_at, "
            "summary FROM blame_annotations WHERE project_id = :p AND file_path = :f "
            "AND blob_id = :b AND line_start <= :end AND line_start >= coalesce(("
            "  SELECT max(line_start) FROM blame_annotations WHERE project_id = :p "
            "  AND file_path = :f AND blob_id = :b AND line_start <= :start), :start) "
            "AND line_end >= :start ORDER BY line_start",
            {"p": project_id, "f": path, "b": blob_id, "start": start, "end": end},
        )
    ]


def forget_paths(conn: Connection, project_id: int, paths: Iterable[str]) -> None:
    for p in paths:
        conn.execute(
            "DELETE FROM blame_annotations WHERE project_id = ? AND file_path = ?", (project_id, p)
        )
        conn.execute(
            "DELETE FROM blame_files WHERE project_id = ? AND file_path = ?", (project_id, p)
        )


def blamed_versions(conn: Connection, project_id: int) -> list[tuple[str, str, bool]]:
    """(file_path, blob_id, is_current) of every cached blame of a project."""
    rows = conn.execute(
        "SELECT file_path, blob_id, seq = max(seq) OVER (PARTITION BY file_path) "
        "FROM blame_files WHERE project_id = ?",
        (project_id,),
    ).fetchall()
    return [(r[0], r[1], bool(r[2])) for r in rows]


def forget_versions(conn: Connection, project_id: int, versions: Iterable[tuple[str, str]]) -> int:
    """Drop cached blame of (file_path, blob_id) pairs; returns annotation rows deleted."""
    deleted = 0
    for path, blob in versions:
        cur = conn.execute(
            "DELETE FROM blame_annotations WHERE project_id = ? AND file_path = ? AND blob_id = ?",
            (project_id, path, blob),
        )
        deleted += int(cur.rowcount)
        conn.execute(
            "DELETE FROM blame_files WHERE project_id = ? AND file_path = ? AND blob_id = ?",
            (project_id, path, blob),
        )
    return deleted
