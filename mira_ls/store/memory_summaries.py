"""Queries over rolling_summaries (migrations 001, 025 and 033).

A level-1 summary (window_size 10) covers ten consecutive user/assistant messages of a
session, from first_entry_id to last_entry_id; a level-2 summary (window_size 100) covers ten
consecutive level-1 summaries, its entry ids those of its first and last. Blocks are made in
order, so what is not summarised yet is what comes after the last summary of each level.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection, inserted_id

LEVEL1 = 10  # messages per level-1 summary
LEVEL2 = 100  # messages per level-2 summary (ten level-1 summaries)
_ROLES = "('user', 'assistant')"


@dataclass(frozen=True)
class Message:
    id: int
    role: str
    content: str
    token_count: int


@dataclass(frozen=True)
class SummaryRow:
    id: int
    session_id: str
    window_size: int
    first_entry_id: int | None
    last_entry_id: int | None
    message_count: int
    content: str
    key_facts: list[str]
    token_count: int
    model: str | None
    embedding_id: int | None
    created_at: int


_COLS = (
    "id, session_id, window_size, first_entry_id, last_entry_id, message_count, content,"
    " key_facts, token_count, model, embedding_id, created_at"
)


def _row(r: Any) -> SummaryRow:
    return SummaryRow(
        int(r[0]), r[1], int(r[2]), r[3], r[4], int(r[5]), r[6], json.loads(r[7]), int(r[8]),
        r[9], r[10], int(r[11]),
    )  # fmt: skip


def summaries(conn: Connection, session_id: str, window_size: int) -> list[SummaryRow]:
    """A session's summaries of one level, oldest first."""
    return [
        _row(r)
        for r in conn.execute(
            f"SELECT {_COLS} FROM rolling_summaries WHERE session_id = ? AND window_size = ?"
            " ORDER BY first_entry_id, id",
            (session_id, window_size),
        )
    ]


def _covered(level: int) -> str:
    """The last entry id covered by a session's summaries of ``level`` (0 when none)."""
    return (
        "ifnull((SELECT max(r.last_entry_id) FROM rolling_summaries r"
        f" WHERE r.session_id = s.id AND r.window_size = {level}), 0)"
    )


@dataclass(frozen=True)
class Due:
    """A session with a complete block not summarised yet (of either level)."""

    session_id: str
    project_id: int | None
    unsummarised: int  # messages after the last level-1 summary
    loose: int  # level-1 summaries after the last level-2 summary


def due(conn: Connection, user_id: int, session_id: str | None = None) -> list[Due]:
    """The user's sessions (or the one given) with at least one complete block to summarise."""
    where = "s.user_id = ?" + (" AND s.id = ?" if session_id is not None else "")
    params: tuple[Any, ...] = (user_id, session_id) if session_id is not None else (user_id,)
    rows = conn.execute(
        "SELECT s.id, s.project_id,"
        " (SELECT count(*) FROM memory_entries e WHERE e.session_id = s.id"
        f"  AND e.role IN {_ROLES} AND e.id > {_covered(LEVEL1)}),"
        " (SELECT count(*) FROM rolling_summaries r WHERE r.session_id = s.id"
        f"  AND r.window_size = {LEVEL1} AND r.first_entry_id > {_covered(LEVEL2)})"
        f" FROM sessions s WHERE {where} AND s.message_count >= {LEVEL1}"
        " ORDER BY s.created_at, s.id",
        params,
    ).fetchall()
    return [
        Due(r[0], r[1], int(r[2]), int(r[3]))
        for r in rows
        if int(r[2]) >= LEVEL1 or int(r[3]) >= LEVEL2 // LEVEL1
    ]


def unsummarised(conn: Connection, session_id: str, limit: int) -> list[Message]:
    """The session's user/assistant messages after its last level-1 summary, oldest first."""
    return [
        Message(int(r[0]), r[1], r[2], int(r[3]))
        for r in conn.execute(
            "SELECT e.id, e.role, e.content, e.token_count FROM memory_entries e"
            " JOIN sessions s ON s.id = e.session_id"
            f" WHERE e.session_id = ? AND e.role IN {_ROLES} AND e.id > {_covered(LEVEL1)}"
            " ORDER BY e.id LIMIT ?",
            (session_id, limit),
        )
    ]


def loose_level1(conn: Connection, session_id: str, limit: int) -> list[SummaryRow]:
    """The session's level-1 summaries after its last level-2 summary, oldest first."""
    return [
        _row(r)
        for r in conn.execute(
            f"SELECT {', '.join('r1.' + c.strip() for c in _COLS.split(','))}"
            " FROM rolling_summaries r1 JOIN sessions s ON s.id = r1.session_id"
            f" WHERE r1.session_id = ? AND r1.window_size = {LEVEL1}"
            f" AND r1.first_entry_id > {_covered(LEVEL2)} ORDER BY r1.first_entry_id LIMIT ?",
            (session_id, limit),
        )
    ]


def insert(
    conn: Connection,
    session_id: str,
    window_size: int,
    first_entry_id: int,
    last_entry_id: int,
    content: str,
    key_facts: list[str],
    token_count: int,
    model: str | None,
    cost_micro: int,
    now: int,
) -> int | None:
    """The new summary's id; None when the block was summarised already (a racing run)."""
    cur = conn.execute(
        "INSERT INTO rolling_summaries(session_id, window_size, first_entry_id, last_entry_id,"
        " message_count, content, key_facts, token_count, model, cost_micro, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(session_id, window_size, first_entry_id) DO NOTHING",
        (session_id, window_size, first_entry_id, last_entry_id, window_size, content,
         json.dumps(key_facts), token_count, model, cost_micro, now),
    )  # fmt: skip
    return inserted_id(cur) if cur.rowcount else None


def set_vector(conn: Connection, summary_id: int, embedding_id: int) -> None:
    conn.execute(
        "UPDATE rolling_summaries SET embedding_id = ? WHERE id = ?", (embedding_id, summary_id)
    )


def recent_messages(conn: Connection, session_id: str, limit: int) -> list[Message]:
    """The session's last ``limit`` user/assistant messages, oldest first."""
    rows = conn.execute(
        "SELECT id, role, content, token_count FROM memory_entries"
        f" WHERE session_id = ? AND role IN {_ROLES} ORDER BY id DESC LIMIT ?",
        (session_id, limit),
    ).fetchall()
    return [Message(int(r[0]), r[1], r[2], int(r[3])) for r in reversed(rows)]


def message_count(conn: Connection, session_id: str) -> int:
    r = conn.execute(
        f"SELECT count(*) FROM memory_entries WHERE session_id = ? AND role IN {_ROLES}",
        (session_id,),
    ).fetchone()
    return int(r[0])
