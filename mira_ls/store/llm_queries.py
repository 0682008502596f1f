"""Read queries the LLM context and tools need over git, build and guideline tables.

What the git store modules already answer (co-change partners, top experts, fixes of a
file) is used from there; these are the shapes only the LLM layer asks for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mira_ls.store import git_expertise
from mira_ls.store.connection import Connection


@dataclass(frozen=True)
class Expert:
    author: str
    email: str
    score: float
    commits: int
    lines_added: int
    last_at: int
    share: float
    scope: str


def experts(conn: Connection, project_id: int, path: str, now: int, limit: int = 5) -> list[Expert]:
    """File-level experts; the nearest directory's when the file has none."""
    candidates = [("file", path)]
    parts = path.split("/")[:-1]
    while True:
        candidates.append(("directory", "/".join(parts)))
        if not parts:
            break
        parts = parts[:-1]
    for scope, p in candidates:
        rows = git_expertise.top(conn, project_id, scope, p, now, limit)
        if rows:
            return [Expert(r[0], r[1], r[6], r[2], r[3], r[5], r[7], scope) for r in rows]
    return []


@dataclass(frozen=True)
class Change:
    commit_hash: str
    author: str
    at: int
    subject: str
    added: int | None
    deleted: int | None


def file_history(conn: Connection, project_id: int, path: str, limit: int = 10) -> list[Change]:
    rows = conn.execute(
        "SELECT c.commit_hash, c.author_name, c.authored_at, c.subject, f.added, f.deleted "
        "FROM git_commit_files f JOIN git_commits c ON c.id = f.commit_id "
        "WHERE f.project_id = ? AND f.canonical_path = ? "
        "ORDER BY c.authored_at DESC, c.id DESC LIMIT ?",
        (project_id, path, limit),
    ).fetchall()
    return [Change(r[0], r[1], int(r[2]), r[3], r[4], r[5]) for r in rows]


@dataclass(frozen=True)
class BuildError:
    id: int
    tool: str
    code: str | None
    category: str
    severity: str
    message: str
    file_path: str | None
    line: int | None
    col: int | None
    occurrences: int
    status: str
    last_seen_at: int
    error_hash: str | None = None  # what reasoning patterns match it by (no second read)


_ERR_COLS = (
    "id, tool, code, category, severity, message, file_path, line, col, "
    "occurrence_count, status, last_seen_at, error_hash"
)


def _err(r: Any) -> BuildError:
    return BuildError(
        int(r[0]),
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        r[7],
        r[8],
        int(r[9]),
        r[10],
        int(r[11]),
        r[12],
    )


def open_build_errors(
    conn: Connection, project_id: int, path: str | None = None, limit: int = 20
) -> list[BuildError]:
    if path is None:
        rows = conn.execute(
            f"SELECT {_ERR_COLS} FROM build_errors WHERE project_id = ? AND status = 'open' "
            "ORDER BY last_seen_at DESC, id LIMIT ?",
            (project_id, limit),
        ).fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_ERR_COLS} FROM build_errors WHERE project_id = ? AND status = 'open' "
            "AND file_path = ? ORDER BY line, id LIMIT ?",
            (project_id, path, limit),
        ).fetchall()
    return [_err(r) for r in rows]


def build_error_at(
    conn: Connection, project_id: int, path: str, line: int, message: str | None
) -> BuildError | None:
    """The open error a diagnostic shows: same file and line, the message when it matches."""
    rows = conn.execute(
        f"SELECT {_ERR_COLS} FROM build_errors WHERE project_id = ? AND file_path = ? "
        "AND line = ? ORDER BY status = 'open' DESC, last_seen_at DESC",
        (project_id, path, line),
    ).fetchall()
    errs = [_err(r) for r in rows]
    for e in errs:
        if message and (e.message == message or e.message in message or message in e.message):
            return e
    return errs[0] if errs else None


@dataclass(frozen=True)
class Resolution:
    id: int
    error_id: int
    summary: str | None
    diff: str | None
    files: list[str]
    commit_hash: str | None
    resolved_at: int


def resolutions_for(conn: Connection, error_id: int, limit: int = 3) -> list[Resolution]:
    """Resolutions of this very error, then of errors with the same tool and code."""
    rows = conn.execute(
        "SELECT r.id, r.error_id, r.summary, r.diff, r.files, r.commit_hash, r.resolved_at "
        "FROM error_resolutions r JOIN build_errors e ON e.id = r.error_id "
        "JOIN build_errors me ON me.id = ? "
        "WHERE r.error_id = me.id OR (e.project_id = me.project_id AND e.tool = me.tool "
        "AND e.code IS me.code AND me.code IS NOT NULL) "
        "ORDER BY (r.error_id = me.id) DESC, r.resolved_at DESC LIMIT ?",
        (error_id, limit),
    ).fetchall()
    out = []
    for r in rows:
        try:
            files = [str(f) for f in json.loads(r[4] or "[]")]
        except json.JSONDecodeError:
            files = []
        out.append(Resolution(int(r[0]), int(r[1]), r[2], r[3], files, r[5], int(r[6])))
    return out


def record_injection(
    conn: Connection,
    project_id: int,
    error_id: int,
    resolution_id: int | None,
    request_key: str,
    token_count: int,
    now: int,
) -> None:
    conn.execute(
        "INSERT INTO build_context_injections(project_id, error_id, resolution_id, "
        "request_key, injected_at, token_count) VALUES (?, ?, ?, ?, ?, ?)",
        (project_id, error_id, resolution_id, request_key, now, token_count),
    )


@dataclass(frozen=True)
class Guideline:
    file_path: str
    content: str
    content_hash: str
    token_count: int


def guidelines(
    conn: Connection, project_id: int, paths: Sequence[str] | None = None
) -> dict[str, Guideline]:
    """The stored guideline files of a project (only ``paths``, when given)."""
    sql = (
        "SELECT file_path, content, content_hash, token_count FROM project_guidelines "
        "WHERE project_id = ?"
    )
    if paths is not None:
        if not paths:
            return {}
        sql += f" AND file_path IN ({', '.join('?' * len(paths))})"
    return {
        r[0]: Guideline(r[0], r[1], r[2], int(r[3]))
        for r in conn.execute(sql, (project_id, *(paths or ())))
    }


def guideline_paths(conn: Connection, project_id: int) -> set[str]:
    rows = conn.execute(
        "SELECT file_path FROM project_guidelines WHERE project_id = ?", (project_id,)
    )
    return {r[0] for r in rows}


def upsert_guideline(conn: Connection, project_id: int, g: Guideline, now: int) -> None:
    conn.execute(
        "INSERT INTO project_guidelines(project_id, file_path, content, content_hash, "
        "token_count, loaded_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(project_id, file_path) DO UPDATE SET content = excluded.content, "
        "content_hash = excluded.content_hash, token_count = excluded.token_count, "
        "loaded_at = excluded.loaded_at",
        (project_id, g.file_path, g.content, g.content_hash, g.token_count, now),
    )


def delete_guideline(conn: Connection, project_id: int, file_path: str) -> None:
    conn.execute(
        "DELETE FROM project_guidelines WHERE project_id = ? AND file_path = ?",
        (project_id, file_path),
    )
