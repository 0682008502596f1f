"""Queries over users, sessions and memory_entries (conversation history)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection, inserted_id


def local_user_id(conn: Connection, username: str) -> int:
    """The users row of the person running mira-ls (created on first use)."""
    r = conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
    if r is not None:
        return int(r[0])
    conn.execute(
        "INSERT OR IGNORE INTO users(username, display_name) VALUES (?, ?)", (username, username)
    )
    return int(conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0])


def user_id_of(conn: Connection, username: str) -> int | None:
    """The users row of ``username`` without creating it."""
    r = conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
    return int(r[0]) if r else None


@dataclass(frozen=True)
class SessionRow:
    id: str
    user_id: int
    project_id: int | None
    title: str | None
    client_name: str | None
    message_count: int
    created_at: int
    last_active_at: int


_S_COLS = "id, user_id, project_id, title, client_name, message_count, created_at, last_active_at"


def _session(r: Any) -> SessionRow:
    return SessionRow(r[0], int(r[1]), r[2], r[3], r[4], int(r[5]), int(r[6]), int(r[7]))


def create_session(
    conn: Connection,
    session_id: str,
    user_id: int,
    project_id: int | None,
    title: str | None,
    client_name: str | None,
    now: int,
) -> SessionRow:
    conn.execute(
        "INSERT INTO sessions(id, user_id, project_id, title, client_name, created_at, "
        "updated_at, last_active_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (session_id, user_id, project_id, title, client_name, now, now, now),
    )
    s = get_session(conn, session_id)
    assert s is not None
    return s


def get_session(conn: Connection, session_id: str) -> SessionRow | None:
    r = conn.execute(f"SELECT {_S_COLS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return _session(r) if r else None


def latest_session(
    conn: Connection, user_id: int, project_id: int | None, active_since: int
) -> SessionRow | None:
    r = conn.execute(
        f"SELECT {_S_COLS} FROM sessions WHERE user_id = ? AND project_id IS ? "
        "AND last_active_at >= ? ORDER BY last_active_at DESC, rowid DESC LIMIT 1",
        (user_id, project_id, active_since),
    ).fetchone()
    return _session(r) if r else None


@dataclass(frozen=True)
class EntryRow:
    id: int
    session_id: str
    role: str
    content: str
    token_count: int
    model: str | None
    cost_micro: int
    metadata: dict[str, Any]
    created_at: int


def add_entry(
    conn: Connection,
    session_id: str,
    role: str,
    content: str,
    token_count: int,
    now: int,
    *,
    model: str | None = None,
    cost_micro: int = 0,
    metadata: dict[str, Any] | None = None,
    parent_id: int | None = None,
) -> int:
    cur = conn.execute(
        "INSERT INTO memory_entries(session_id, parent_id, role, content, token_count, model, "
        "cost_micro, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session_id,
            parent_id,
            role,
            content,
            token_count,
            model,
            cost_micro,
            json.dumps(metadata) if metadata is not None else None,
            now,
        ),
    )
    conn.execute(
        "UPDATE sessions SET message_count = message_count + 1, updated_at = ?, "
        "last_active_at = ?, title = COALESCE(title, ?) WHERE id = ?",
        (now, now, content[:80] if role == "user" else None, session_id),
    )
    return inserted_id(cur)


def recent_entries(conn: Connection, session_id: str, limit: int) -> list[EntryRow]:
    """The last ``limit`` entries of a session, oldest first."""
    rows = conn.execute(
        "SELECT id, session_id, role, content, token_count, model, cost_micro, metadata, "
        "created_at FROM memory_entries WHERE session_id = ? ORDER BY id DESC LIMIT ?",
        (session_id, limit),
    ).fetchall()
    return [
        EntryRow(
            int(r[0]),
            r[1],
            r[2],
            r[3],
            int(r[4]),
            r[5],
            int(r[6]),
            json.loads(r[7]) if r[7] else {},
            int(r[8]),
        )
        for r in reversed(rows)
    ]
