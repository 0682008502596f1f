"""Queries over artifacts and file_modifications (migration 004)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection, inserted_id


@dataclass(frozen=True)
class ArtifactRow:
    id: int
    operation_id: str | None
    project_id: int | None
    kind: str
    file_path: str | None
    content: str
    content_hash: str
    original_content: str | None
    original_hash: str | None
    diff: str | None
    lines_added: int
    lines_removed: int
    status: str
    applied_at: int | None
    title: str | None = None  # what it is; for a code block not placed, why

    @property
    def placed(self) -> bool:
        """Whether it can be applied (a code block that could not be placed has no diff)."""
        return self.diff is not None


_COLS = (
    "id, operation_id, project_id, kind, file_path, content, content_hash, original_content, "
    "original_hash, diff, lines_added, lines_removed, status, applied_at, title"
)

ARTIFACT_COLS = ", ".join(f"a.{c}" for c in _COLS.split(", "))  # the same, of ``artifacts a``


def _row(r: Any) -> ArtifactRow:
    return ArtifactRow(*r)


def insert(
    conn: Connection,
    *,
    operation_id: str | None,
    project_id: int,
    kind: str,
    title: str,
    file_path: str,
    language: str | None,
    content: str,
    content_hash: str,
    original_content: str | None,
    original_hash: str | None,
    diff: str | None,
    lines_added: int,
    lines_removed: int,
    now: int,
) -> int:
    cur = conn.execute(
        "INSERT INTO artifacts(operation_id, project_id, kind, title, file_path, language, "
        "content, content_hash, original_content, original_hash, diff, lines_added, "
        "lines_removed, created_at, updated_at) "
        "VALUES ((SELECT id FROM operations WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?)",
        (
            operation_id, project_id, kind, title, file_path, language, content, content_hash,
            original_content, original_hash, diff, lines_added, lines_removed, now, now,
        ),
    )  # fmt: skip
    return inserted_id(cur)


def of_operation(conn: Connection, operation_id: str) -> list[ArtifactRow]:
    rows = conn.execute(
        f"SELECT {_COLS} FROM artifacts WHERE operation_id = ? ORDER BY id", (operation_id,)
    ).fetchall()
    return [_row(r) for r in rows]


def applied_to(conn: Connection, project_id: int, file_path: str) -> list[ArtifactRow]:
    """The applied artifacts of a file, newest first."""
    rows = conn.execute(
        f"SELECT {_COLS} FROM artifacts WHERE project_id = ? AND file_path = ? "
        "AND status = 'applied' ORDER BY applied_at DESC, id DESC",
        (project_id, file_path),
    ).fetchall()
    return [_row(r) for r in rows]


def set_status(conn: Connection, artifact_id: int, status: str, now: int) -> None:
    conn.execute(
        "UPDATE artifacts SET status = ?, updated_at = ?, "
        "applied_at = CASE WHEN ? = 'applied' THEN ? ELSE applied_at END WHERE id = ?",
        (status, now, status, now, artifact_id),
    )


def insert_modification(
    conn: Connection,
    *,
    project_id: int,
    artifact_id: int | None,
    operation_id: str | None,
    file_path: str,
    source: str,
    old_hash: str | None,
    new_hash: str | None,
    diff: str | None,
    lines_added: int,
    lines_removed: int,
    now: int,
) -> int:
    cur = conn.execute(
        "INSERT INTO file_modifications(project_id, artifact_id, operation_id, file_path, "
        "modification_type, source, old_hash, new_hash, diff, lines_added, lines_removed, "
        "created_at) VALUES (?, ?, (SELECT id FROM operations WHERE id = ?), ?, 'modify', ?, ?, "
        "?, ?, ?, ?, ?)",
        (
            project_id, artifact_id, operation_id, file_path, source, old_hash, new_hash, diff,
            lines_added, lines_removed, now,
        ),
    )  # fmt: skip
    return inserted_id(cur)


@dataclass(frozen=True)
class ModificationRow:
    id: int
    artifact_id: int | None
    operation_id: str | None
    file_path: str
    source: str
    old_hash: str | None
    new_hash: str | None
    lines_added: int
    lines_removed: int


def modifications(conn: Connection, project_id: int, file_path: str) -> list[ModificationRow]:
    rows = conn.execute(
        "SELECT id, artifact_id, operation_id, file_path, source, old_hash, new_hash, "
        "lines_added, lines_removed FROM file_modifications WHERE project_id = ? "
        "AND file_path = ? ORDER BY created_at, id",
        (project_id, file_path),
    ).fetchall()
    return [ModificationRow(*r) for r in rows]


def link_error(conn: Connection, artifact_id: int, error_id: int) -> None:
    """The build error a proposed fix was made for (migration 023)."""
    conn.execute(
        "INSERT OR IGNORE INTO artifact_errors(artifact_id, error_id) "
        "VALUES (?, (SELECT id FROM build_errors WHERE id = ?))",
        (artifact_id, error_id),
    )


@dataclass(frozen=True)
class ReturnedRow:
    """An applied fix whose error a later build run reported again."""

    artifact_id: int
    operation_id: str | None
    error_id: int
    file_path: str | None
    message: str


def mark_returned(conn: Connection, project_id: int, run_id: int, now: int) -> list[ReturnedRow]:
    """The applied fixes whose error this run reported again, the run having started after
    the fix was applied: recorded as returned, once per fix and error."""
    rows = conn.execute(
        "SELECT ae.artifact_id, a.operation_id, ae.error_id, a.file_path, e.message "
        "FROM artifact_errors ae JOIN artifacts a ON a.id = ae.artifact_id "
        "JOIN build_errors e ON e.id = ae.error_id JOIN build_runs r ON r.id = ? "
        "WHERE a.project_id = ? AND a.status = 'applied' AND ae.returned_at IS NULL "
        "AND a.applied_at <= r.started_at AND EXISTS (SELECT 1 FROM build_error_occurrences o "
        "WHERE o.run_id = r.id AND o.error_id = ae.error_id) ORDER BY ae.artifact_id",
        (run_id, project_id),
    ).fetchall()
    hits = [ReturnedRow(int(r[0]), r[1], int(r[2]), r[3], r[4]) for r in rows]
    conn.executemany(
        "UPDATE artifact_errors SET returned_at = ?, returned_run_id = ? "
        "WHERE artifact_id = ? AND error_id = ?",
        [(now, run_id, h.artifact_id, h.error_id) for h in hits],
    )
    return hits
