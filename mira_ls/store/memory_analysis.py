"""Queries over message_analysis and message_embeddings (migrations 001 and 025)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection

# 001's intent vocabulary; the issue's labels map onto it (the exact one is intent_label).
LEGACY_INTENT = {
    "question": "question", "request": "request", "correction": "correction",
    "preference": "statement", "feedback": "feedback", "other": "other",
}  # fmt: skip


@dataclass(frozen=True)
class Pending:
    """A user or assistant message with no analysis yet."""

    entry_id: int
    session_id: str
    role: str
    content: str
    project_id: int | None


@dataclass(frozen=True)
class AnalysisRow:
    entry_id: int
    salience: float
    intent: str | None
    topics: list[str]
    mood: str | None
    status: str
    content_hash: str | None
    analyzed_by: str | None


def pending(conn: Connection, user_id: int, limit: int) -> list[Pending]:
    """The user's oldest unanalysed user/assistant messages."""
    return [
        Pending(int(r[0]), r[1], r[2], r[3], r[4])
        for r in conn.execute(
            "SELECT e.id, e.session_id, e.role, e.content, s.project_id FROM memory_entries e"
            " JOIN sessions s ON s.id = e.session_id"
            " LEFT JOIN message_analysis a ON a.entry_id = e.id"
            " WHERE s.user_id = ? AND e.role IN ('user', 'assistant') AND a.id IS NULL"
            " ORDER BY e.id LIMIT ?",
            (user_id, limit),
        )
    ]


def pending_count(conn: Connection, user_id: int) -> int:
    r = conn.execute(
        "SELECT count(*) FROM memory_entries e JOIN sessions s ON s.id = e.session_id"
        " LEFT JOIN message_analysis a ON a.entry_id = e.id"
        " WHERE s.user_id = ? AND e.role IN ('user', 'assistant') AND a.id IS NULL",
        (user_id,),
    ).fetchone()
    return int(r[0])


def done_by_hash(conn: Connection, hashes: Sequence[str]) -> dict[str, AnalysisRow]:
    """A valid analysis of each text hash already analysed (the cache)."""
    out: dict[str, AnalysisRow] = {}
    for i in range(0, len(hashes), 500):
        chunk = list(hashes[i : i + 500])
        for r in conn.execute(
            "SELECT entry_id, salience, intent_label, topics, mood, status, content_hash,"
            " analyzed_by FROM message_analysis WHERE status = 'done'"
            f" AND content_hash IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            out.setdefault(r[6], _row(r))
    return out


def _row(r: Any) -> AnalysisRow:
    return AnalysisRow(int(r[0]), float(r[1]), r[2], json.loads(r[3]), r[4], r[5], r[6], r[7])


def get(conn: Connection, entry_id: int) -> AnalysisRow | None:
    r = conn.execute(
        "SELECT entry_id, salience, intent_label, topics, mood, status, content_hash,"
        " analyzed_by FROM message_analysis WHERE entry_id = ?",
        (entry_id,),
    ).fetchone()
    return _row(r) if r else None


def insert(
    conn: Connection,
    entry_id: int,
    content_hash: str,
    salience: float,
    intent: str,
    topics: list[str],
    mood: str | None,
    analyzed_by: str,
    now: int,
) -> None:
    conn.execute(
        "INSERT INTO message_analysis(entry_id, salience, intent, intent_label, mood, topics,"
        " analyzed_by, analyzed_at, content_hash, status) VALUES (?,?,?,?,?,?,?,?,?, 'done')"
        " ON CONFLICT(entry_id) DO NOTHING",
        (entry_id, salience, LEGACY_INTENT.get(intent, "other"), intent, mood,
         json.dumps(topics), analyzed_by, now, content_hash),
    )  # fmt: skip


def mark_failed(
    conn: Connection, entry_ids: Sequence[int], hashes: Sequence[str], error: str, now: int
) -> None:
    """The batch's answer stayed invalid: its messages are marked, nothing else written."""
    conn.executemany(
        "INSERT INTO message_analysis(entry_id, content_hash, status, error, analyzed_at)"
        " VALUES (?, ?, 'failed', ?, ?) ON CONFLICT(entry_id) DO NOTHING",
        [(e, h, error[:500], now) for e, h in zip(entry_ids, hashes, strict=True)],
    )


def set_message_vector(
    conn: Connection,
    entry_id: int,
    embedding_id: int,
    model: str,
    dimensions: int,
    point_id: str,
    content_hash: str,
) -> None:
    conn.execute(
        "INSERT INTO message_embeddings(entry_id, model, dimension, backend, collection,"
        " point_id, content_hash, embedding_id) VALUES (?, ?, ?, 'sqlite-vec', 'conversation',"
        " ?, ?, ?) ON CONFLICT(entry_id, model, collection) DO UPDATE SET"
        " embedding_id = excluded.embedding_id, content_hash = excluded.content_hash,"
        " point_id = excluded.point_id",
        (entry_id, model, dimensions, point_id, content_hash, embedding_id),
    )


def status_counts(conn: Connection) -> dict[str, int]:
    return {
        str(r[0]): int(r[1])
        for r in conn.execute("SELECT status, count(*) FROM message_analysis GROUP BY status")
    }
