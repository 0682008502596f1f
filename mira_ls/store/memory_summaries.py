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
    holes: int = 0  # blocks to summarise again (a message of theirs was forgotten)


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
    out = {
        r[0]: Due(r[0], r[1], int(r[2]), int(r[3]))
        for r in rows
        if int(r[2]) >= LEVEL1 or int(r[3]) >= LEVEL2 // LEVEL1
    }
    for sid, pid in summarised_sessions(conn, user_id, session_id):
        n = len(holes(conn, sid)) + len(level2_holes(conn, sid))
        if n:
            d = out.get(sid)
            out[sid] = Due(sid, pid, d.unsummarised if d else 0, d.loose if d else 0, n)
    order = {r[0]: i for i, r in enumerate(rows)}
    return sorted(out.values(), key=lambda d: (order.get(d.session_id, len(order)), d.session_id))


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
    message_count: int | None = None,
) -> int | None:
    """The new summary's id; None when the block was summarised already (a racing run).
    ``message_count``: the messages it stands for (fewer than ``window_size`` when a block
    is summarised again after one of its messages was forgotten)."""
    cur = conn.execute(
        "INSERT INTO rolling_summaries(session_id, window_size, first_entry_id, last_entry_id,"
        " message_count, content, key_facts, token_count, model, cost_micro, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(session_id, window_size, first_entry_id) DO NOTHING",
        (session_id, window_size, first_entry_id, last_entry_id, message_count or window_size,
         content, json.dumps(key_facts), token_count, model, cost_micro, now),
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


# -- forgetting a message ------------------------------------------------------------------


def covering(conn: Connection, session_id: str, entry_id: int) -> list[tuple[int, int | None]]:
    """(id, embedding id) of the session's summaries (either level) made from message
    ``entry_id``."""
    return [
        (int(r[0]), r[1])
        for r in conn.execute(
            "SELECT id, embedding_id FROM rolling_summaries WHERE session_id = ?"
            " AND first_entry_id <= ? AND last_entry_id >= ?",
            (session_id, entry_id, entry_id),
        )
    ]


def delete(conn: Connection, summary_ids: list[int]) -> None:
    conn.executemany("DELETE FROM rolling_summaries WHERE id = ?", [(i,) for i in summary_ids])


def _ranges(conn: Connection, session_id: str, level: int) -> list[tuple[int, int]]:
    """The (first, last) entry ids of the session's summaries of ``level``, in order; a
    first message forgotten before summaries were rebuilt counts from the previous one."""
    out: list[tuple[int, int]] = []
    for first, last in conn.execute(
        "SELECT first_entry_id, last_entry_id FROM rolling_summaries WHERE session_id = ?"
        " AND window_size = ? AND last_entry_id IS NOT NULL ORDER BY last_entry_id, id",
        (session_id, level),
    ):
        lo = first if first is not None else (out[-1][1] + 1 if out else 0)
        out.append((int(lo), int(last)))
    return out


def _gaps(ids: list[int], ranges: list[tuple[int, int]]) -> list[list[int]]:
    """The ``ids`` at most the last range's end and inside no range, grouped by the gap
    between two ranges they fall in."""
    if not ranges:
        return []
    end = ranges[-1][1]
    groups: dict[int, list[int]] = {}
    r = 0
    for i in sorted(ids):
        if i > end:
            break
        while r < len(ranges) and ranges[r][1] < i:
            r += 1
        if r < len(ranges) and ranges[r][0] <= i:
            continue  # inside a summary
        groups.setdefault(r, []).append(i)
    return [groups[k] for k in sorted(groups)]


def holes(conn: Connection, session_id: str) -> list[list[Message]]:
    """Blocks of messages whose level-1 summary was dropped (a message of it was forgotten):
    the remaining messages between two level-1 summaries, each block oldest first."""
    ranges = _ranges(conn, session_id, LEVEL1)
    if not ranges:
        return []
    ids = [
        int(r[0])
        for r in conn.execute(
            f"SELECT id FROM memory_entries WHERE session_id = ? AND role IN {_ROLES} AND id <= ?",
            (session_id, ranges[-1][1]),
        )
    ]
    gaps = _gaps(ids, ranges)
    if not gaps:
        return []
    want = [i for g in gaps for i in g]
    msgs: dict[int, Message] = {}
    for k in range(0, len(want), 500):
        part = want[k : k + 500]
        for r in conn.execute(
            "SELECT id, role, content, token_count FROM memory_entries"
            f" WHERE id IN ({','.join('?' * len(part))})",
            part,
        ):
            msgs[int(r[0])] = Message(int(r[0]), r[1], r[2], int(r[3]))
    return [[msgs[i] for i in g if i in msgs] for g in gaps]


def level2_holes(conn: Connection, session_id: str) -> list[list[SummaryRow]]:
    """Level-1 summaries whose level-2 summary was dropped, grouped as it was."""
    parts = {
        s.first_entry_id or s.last_entry_id or 0: s for s in summaries(conn, session_id, LEVEL1)
    }
    gaps = _gaps(list(parts), _ranges(conn, session_id, LEVEL2))
    return [[parts[i] for i in g] for g in gaps]


def summarised_sessions(conn: Connection, user_id: int, session_id: str | None) -> list[Any]:
    """(session id, project id) of the user's sessions with a summary (or the one given)."""
    where = " AND s.id = ?" if session_id is not None else ""
    params: tuple[Any, ...] = (user_id, session_id) if session_id is not None else (user_id,)
    return conn.execute(
        "SELECT s.id, s.project_id FROM sessions s WHERE s.user_id = ?"
        f"{where} AND EXISTS (SELECT 1 FROM rolling_summaries r WHERE r.session_id = s.id)"
        " ORDER BY s.created_at, s.id",
        params,
    ).fetchall()
