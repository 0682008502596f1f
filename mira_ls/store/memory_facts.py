"""Queries over memory_facts, their history and their vectors (migrations 001 and 017)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection, inserted_id


@dataclass(frozen=True)
class FactRow:
    id: int
    user_id: int
    project_id: int | None
    key: str
    value: str
    category: str | None
    confidence: float
    source: str
    source_entry_id: int | None
    deprecated: bool
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class HistoryRow:
    fact_id: int
    value: str
    confidence: float
    valid_from: int
    valid_to: int
    reason: str


_COLS = (
    "id, user_id, project_id, key, value, category, confidence, source, source_entry_id,"
    " deprecated, created_at, updated_at"
)


def _fact(r: Any) -> FactRow:
    return FactRow(
        int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], float(r[6]), r[7], r[8], bool(r[9]),
        int(r[10]), int(r[11]),
    )  # fmt: skip


def get(conn: Connection, fact_id: int) -> FactRow | None:
    r = conn.execute(f"SELECT {_COLS} FROM memory_facts WHERE id = ?", (fact_id,)).fetchone()
    return _fact(r) if r else None


def by_key(conn: Connection, user_id: int, project_id: int | None, key: str) -> FactRow | None:
    r = conn.execute(
        f"SELECT {_COLS} FROM memory_facts WHERE user_id = ? AND ifnull(project_id, 0) = ?"
        " AND key = ?",
        (user_id, project_id or 0, key),
    ).fetchone()
    return _fact(r) if r else None


def visible(
    conn: Connection, user_id: int, project_id: int | None, *, deprecated: bool = False
) -> list[FactRow]:
    """The user's global facts and those of the project, newest first."""
    rows = conn.execute(
        f"SELECT {_COLS} FROM memory_facts WHERE user_id = ?"
        " AND (project_id IS NULL OR project_id IS ?) AND (deprecated = 0 OR ?)"
        " ORDER BY updated_at DESC, id DESC",
        (user_id, project_id, int(deprecated)),
    ).fetchall()
    return [_fact(r) for r in rows]


def insert(
    conn: Connection,
    user_id: int,
    project_id: int | None,
    key: str,
    value: str,
    category: str | None,
    confidence: float,
    source: str,
    source_entry_id: int | None,
    now: int,
) -> int:
    cur = conn.execute(
        "INSERT INTO memory_facts(user_id, project_id, key, value, category, confidence, source,"
        " source_entry_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (user_id, project_id, key, value, category, confidence, source, source_entry_id, now, now),
    )
    return inserted_id(cur)


def set_value(
    conn: Connection,
    fact: FactRow,
    value: str,
    category: str | None,
    confidence: float,
    now: int,
    *,
    source_entry_id: int | None = None,
) -> None:
    """Change a fact in place; the old value goes to history when it differs."""
    if value != fact.value or fact.deprecated:
        add_history(conn, fact, "updated", now)
    conn.execute(
        "UPDATE memory_facts SET value = ?, category = ?, confidence = ?, deprecated = 0,"
        " updated_at = ?, source_entry_id = coalesce(?, source_entry_id) WHERE id = ?",
        (value, category, confidence, now, source_entry_id, fact.id),
    )


def confirm(conn: Connection, fact_id: int, confidence: float, now: int) -> None:
    """The same fact stated again: more confident, one row."""
    conn.execute(
        "UPDATE memory_facts SET confidence = ?, updated_at = ? WHERE id = ?",
        (confidence, now, fact_id),
    )


def set_source(conn: Connection, fact_id: int, source: str) -> None:
    conn.execute("UPDATE memory_facts SET source = ? WHERE id = ?", (source, fact_id))


def deprecate(conn: Connection, fact: FactRow, now: int) -> None:
    """No longer true: kept as history (when it was true), out of what is remembered."""
    add_history(conn, fact, "deleted", now)
    conn.execute(
        "UPDATE memory_facts SET deprecated = 1, updated_at = ? WHERE id = ?", (now, fact.id)
    )


def add_history(conn: Connection, fact: FactRow, reason: str, now: int) -> None:
    conn.execute(
        "INSERT INTO memory_fact_history(fact_id, value, confidence, valid_from, valid_to,"
        " reason, source_entry_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (fact.id, fact.value, fact.confidence, fact.updated_at, now, reason,
         fact.source_entry_id),
    )  # fmt: skip


def history(conn: Connection, fact_id: int) -> list[HistoryRow]:
    return [
        HistoryRow(int(r[0]), r[1], float(r[2]), int(r[3]), int(r[4]), r[5])
        for r in conn.execute(
            "SELECT fact_id, value, confidence, valid_from, valid_to, reason"
            " FROM memory_fact_history WHERE fact_id = ? ORDER BY valid_to, id",
            (fact_id,),
        )
    ]


def set_vector(conn: Connection, fact_id: int, embedding_id: int) -> None:
    old = conn.execute(
        "SELECT embedding_id FROM memory_fact_vectors WHERE fact_id = ?", (fact_id,)
    ).fetchone()
    conn.execute(
        "INSERT INTO memory_fact_vectors(fact_id, embedding_id) VALUES (?, ?)"
        " ON CONFLICT(fact_id) DO UPDATE SET embedding_id = excluded.embedding_id",
        (fact_id, embedding_id),
    )
    if old is not None and int(old[0]) != embedding_id:
        drop_unused_embeddings(conn, [int(old[0])])


def vectors(
    conn: Connection, user_id: int, project_id: int | None, model: str, dimensions: int
) -> list[tuple[int, bytes]]:
    """(fact id, float32 vector bytes) of the visible, current facts in one embedding space."""
    return [
        (int(r[0]), bytes(r[1]))
        for r in conn.execute(
            "SELECT f.id, e.vector FROM memory_facts f"
            " JOIN memory_fact_vectors v ON v.fact_id = f.id"
            " JOIN embeddings e ON e.id = v.embedding_id"
            " WHERE f.user_id = ? AND (f.project_id IS NULL OR f.project_id IS ?)"
            " AND f.deprecated = 0 AND e.model = ? AND e.dimensions = ?",
            (user_id, project_id, model, dimensions),
        )
    ]


def delete(conn: Connection, fact_ids: list[int]) -> int:
    """Remove facts with their history and vectors (the embeddings too, when unused)."""
    if not fact_ids:
        return 0
    marks = ",".join("?" * len(fact_ids))
    emb = [
        int(r[0])
        for r in conn.execute(
            f"SELECT embedding_id FROM memory_fact_vectors WHERE fact_id IN ({marks})", fact_ids
        )
    ]
    n = conn.execute(f"DELETE FROM memory_facts WHERE id IN ({marks})", fact_ids).rowcount
    drop_unused_embeddings(conn, emb)
    return int(n)


def drop_unused_embeddings(conn: Connection, embedding_ids: list[int]) -> None:
    """Embeddings no fact, collection point, message, summary or document chunk refers to
    any more."""
    for eid in embedding_ids:
        conn.execute(
            "DELETE FROM embeddings WHERE id = ?"
            " AND NOT EXISTS (SELECT 1 FROM memory_fact_vectors WHERE embedding_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM vector_points WHERE embedding_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM message_embeddings WHERE embedding_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM rolling_summaries WHERE embedding_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM document_chunks WHERE embedding_id = ?)",
            (eid, eid, eid, eid, eid, eid),
        )


def matching(conn: Connection, user_id: int, project_id: int | None, text: str) -> list[FactRow]:
    """Visible facts whose key or value contains ``text`` (case-insensitive)."""
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(
        f"SELECT {_COLS} FROM memory_facts WHERE user_id = ?"
        " AND (project_id IS NULL OR project_id IS ?)"
        " AND (key LIKE ? ESCAPE '\\' OR value LIKE ? ESCAPE '\\') ORDER BY id",
        (user_id, project_id, like, like),
    ).fetchall()
    return [_fact(r) for r in rows]


FACT_COLS = _COLS  # for other stores' queries over memory_facts
fact_row = _fact
