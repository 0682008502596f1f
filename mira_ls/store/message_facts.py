"""Queries over message_fact_extraction and memory_fact_sources (migration 046): which user
messages go to fact extraction, the candidates extracted from each text, and the messages
each fact came from."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection


@dataclass(frozen=True)
class Due:
    """A user message whose analysis says it may hold a durable fact, not yet extracted."""

    entry_id: int
    content: str
    project_id: int | None


def due(conn: Connection, user_id: int, intents: Sequence[str], min_salience: float,
        limit: int) -> list[Due]:  # fmt: skip
    """The user's oldest analysed user messages with one of ``intents`` or a salience of at
    least ``min_salience``, never considered for facts."""
    marks = ",".join("?" * len(intents)) or "''"
    return [
        Due(int(r[0]), r[1], r[2])
        for r in conn.execute(
            "SELECT e.id, e.content, s.project_id FROM memory_entries e"
            " JOIN sessions s ON s.id = e.session_id"
            " JOIN message_analysis a ON a.entry_id = e.id AND a.status = 'done'"
            " LEFT JOIN message_fact_extraction x ON x.entry_id = e.id"
            " WHERE s.user_id = ? AND e.role = 'user' AND x.entry_id IS NULL"
            f" AND (a.intent_label IN ({marks}) OR a.salience >= ?)"
            " ORDER BY e.id LIMIT ?",
            (user_id, *intents, min_salience, limit),
        )
    ]


def done_by_hash(conn: Connection, hashes: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The candidates already extracted from each text hash (the cache)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(hashes), 500):
        chunk = list(hashes[i : i + 500])
        for r in conn.execute(
            "SELECT content_hash, candidates FROM message_fact_extraction WHERE status = 'done'"
            f" AND content_hash IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            out.setdefault(r[0], json.loads(r[1]))
    return out


def mark_done(conn: Connection, entry_id: int, content_hash: str,
              candidates: list[dict[str, Any]], model: str | None, now: int) -> None:  # fmt: skip
    conn.execute(
        "INSERT INTO message_fact_extraction(entry_id, content_hash, status, candidates, model,"
        " extracted_at) VALUES (?, ?, 'done', ?, ?, ?) ON CONFLICT(entry_id) DO NOTHING",
        (entry_id, content_hash, json.dumps(candidates), model, now),
    )


def mark_failed(conn: Connection, entry_ids: Sequence[int], hashes: Sequence[str], error: str,
                now: int) -> None:  # fmt: skip
    """The batch's answer stayed invalid: its messages are marked, nothing else written."""
    conn.executemany(
        "INSERT INTO message_fact_extraction(entry_id, content_hash, status, error,"
        " extracted_at) VALUES (?, ?, 'failed', ?, ?) ON CONFLICT(entry_id) DO NOTHING",
        [(e, h, error[:500], now) for e, h in zip(entry_ids, hashes, strict=True)],
    )


def status_of(conn: Connection, entry_id: int) -> str | None:
    r = conn.execute(
        "SELECT status FROM message_fact_extraction WHERE entry_id = ?", (entry_id,)
    ).fetchone()
    return str(r[0]) if r else None


def add_source(conn: Connection, fact_id: int, entry_id: int, action: str, now: int) -> None:
    conn.execute(
        "INSERT INTO memory_fact_sources(fact_id, entry_id, action, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(fact_id, entry_id) DO NOTHING",
        (fact_id, entry_id, action, now),
    )


def sources(conn: Connection, fact_id: int) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT entry_id FROM memory_fact_sources WHERE fact_id = ? ORDER BY entry_id",
            (fact_id,),
        )
    ]


def only_from(conn: Connection, entry_id: int) -> list[int]:
    """Facts inferred from chat messages whose only source is message ``entry_id`` (a fact
    the user also told mira-ls directly has source 'user' and stays)."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT f.id FROM memory_fact_sources s JOIN memory_facts f ON f.id = s.fact_id"
            " WHERE s.entry_id = ? AND f.source = 'inferred' AND NOT EXISTS ("
            "  SELECT 1 FROM memory_fact_sources o WHERE o.fact_id = f.id AND o.entry_id != ?)",
            (entry_id, entry_id),
        )
    ]
