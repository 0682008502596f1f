"""Queries recall reads (memory/recall.py): the vectors of the user's facts, messages and
summaries in one embedding space, what each is (text, time, project, salience), keyword
matches of the ones without a vector (messages: their texts, which recall indexes by word),
and forgetting a message or a summary.

Vectors are read as (item id, embedding id) keys first, without the vectors: a cached
matrix is checked against those (``*_keys``) and the vectors are read only when they
changed (``embedding_vectors`` in store/documents.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mira_ls.store import memory_facts as fq
from mira_ls.store import memory_summaries as sq
from mira_ls.store import message_facts as mq
from mira_ls.store.connection import Connection
from mira_ls.store.memory_facts import FactRow, drop_unused_embeddings

T = TypeVar("T")

_ROLES = "('user', 'assistant')"
# The ids of one embedding space, read from the (model, dimensions, text_hash) index alone:
# joining the embeddings table itself would read every vector's row.
_SPACE = "(SELECT id FROM embeddings WHERE model = ? AND dimensions = ?)"


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# -- facts ---------------------------------------------------------------------------------


def fact_keys(
    conn: Connection, user_id: int, project_id: int | None, model: str, dimensions: int
) -> list[tuple[int, int]]:
    """(fact id, embedding id) of the visible current facts with a vector in this space."""
    return [
        (int(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT f.id, v.embedding_id FROM memory_facts f"
            " JOIN memory_fact_vectors v ON v.fact_id = f.id"
            " WHERE f.user_id = ? AND (f.project_id IS NULL OR f.project_id IS ?)"
            f" AND f.deprecated = 0 AND v.embedding_id IN {_SPACE} ORDER BY f.id",
            (user_id, project_id, model, dimensions),
        )
    ]


def facts_without_vector(
    conn: Connection, user_id: int, project_id: int | None, model: str, dimensions: int
) -> list[FactRow]:
    """The visible current facts with no vector in this space (found by keyword)."""
    have = {i for i, _ in fact_keys(conn, user_id, project_id, model, dimensions)}
    return [f for f in fq.visible(conn, user_id, project_id) if f.id not in have]


def facts(conn: Connection, fact_ids: Sequence[int]) -> dict[int, FactRow]:
    return _by_ids(conn, f"SELECT {fq.FACT_COLS} FROM memory_facts", "id", fact_ids, fq.fact_row)


# -- messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageRow:
    id: int
    role: str
    content: str
    created_at: int
    project_id: int | None
    session_id: str
    salience: float | None  # None: not analysed (or its analysis failed)


def message_keys(
    conn: Connection, user_id: int, model: str, dimensions: int
) -> list[tuple[int, int]]:
    """(entry id, embedding id) of the user's messages embedded in this space."""
    return [
        (int(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT m.entry_id, m.embedding_id FROM message_embeddings m"
            " JOIN memory_entries e ON e.id = m.entry_id JOIN sessions s ON s.id = e.session_id"
            " WHERE s.user_id = ? AND m.collection = 'conversation'"
            f" AND m.embedding_id IN {_SPACE} ORDER BY m.entry_id",
            (user_id, model, dimensions),
        )
    ]


_MSG = (
    "SELECT e.id, e.role, e.content, e.created_at, s.project_id, e.session_id,"
    " CASE WHEN a.status = 'done' THEN a.salience END FROM memory_entries e"
    " JOIN sessions s ON s.id = e.session_id LEFT JOIN message_analysis a ON a.entry_id = e.id"
)


def _message(r: Any) -> MessageRow:
    sal = None if r[6] is None else float(r[6])
    return MessageRow(int(r[0]), r[1], r[2], int(r[3]), r[4], r[5], sal)


def _by_ids(
    conn: Connection, select: str, id_col: str, ids: Sequence[int], row: Callable[[Any], T]
) -> dict[int, T]:
    """Rows of ``select`` by ``id_col``, 500 ids a statement, keyed by their first column."""
    out: dict[int, T] = {}
    unique = list(dict.fromkeys(ids))
    for i in range(0, len(unique), 500):
        part = unique[i : i + 500]
        sql = f"{select} WHERE {id_col} IN ({','.join('?' * len(part))})"
        for r in conn.execute(sql, part):
            out[int(r[0])] = row(r)
    return out


def messages(conn: Connection, entry_ids: Sequence[int]) -> dict[int, MessageRow]:
    return _by_ids(conn, _MSG, "e.id", entry_ids, _message)


@dataclass(frozen=True)
class ForgottenMessage:
    message: MessageRow
    summaries: list[int]  # the summaries made from it, dropped (summarised again later)
    facts: list[int] = field(default_factory=list)  # facts whose only source it was, forgotten


def forget_message(conn: Connection, user_id: int, entry_id: int) -> ForgottenMessage | None:
    """Remove one of the user's messages with its analysis and vectors (the embeddings no
    one else uses), and the rolling summaries made from it (of either level, with their
    vectors: memory/summaries.py summarises what is left of the block again), and the facts
    inferred from it alone (with their history and vectors, as forgetting a fact removes
    them); None when there is no such message of that user."""
    row = messages(conn, [entry_id]).get(entry_id)
    owner = conn.execute(
        "SELECT s.user_id FROM memory_entries e JOIN sessions s ON s.id = e.session_id"
        " WHERE e.id = ?",
        (entry_id,),
    ).fetchone()
    if row is None or owner is None or int(owner[0]) != user_id:
        return None
    emb = [
        int(r[0])
        for r in conn.execute(
            "SELECT embedding_id FROM message_embeddings WHERE entry_id = ?"
            " AND embedding_id IS NOT NULL",
            (entry_id,),
        )
    ]
    facts = mq.only_from(conn, entry_id)
    fq.delete(conn, facts)
    made = sq.covering(conn, row.session_id, entry_id)
    sq.delete(conn, [i for i, _ in made])
    emb += [int(e) for _, e in made if e is not None]
    conn.execute("DELETE FROM message_embeddings WHERE entry_id = ?", (entry_id,))
    conn.execute("DELETE FROM message_analysis WHERE entry_id = ?", (entry_id,))
    conn.execute("DELETE FROM memory_entries WHERE id = ?", (entry_id,))
    conn.execute(
        "UPDATE sessions SET message_count = max(0, message_count - 1) WHERE id = ?",
        (row.session_id,),
    )
    drop_unused_embeddings(conn, emb)
    return ForgottenMessage(row, [i for i, _ in made], facts)


# -- summaries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryHit:
    id: int
    content: str
    key_facts: str  # the JSON list, as stored
    message_count: int
    created_at: int
    project_id: int | None
    session_id: str


def summary_keys(
    conn: Connection, user_id: int, model: str, dimensions: int
) -> list[tuple[int, int]]:
    """(summary id, embedding id) of the user's summaries embedded in this space."""
    return [
        (int(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT r.id, r.embedding_id FROM rolling_summaries r"
            " JOIN sessions s ON s.id = r.session_id"
            f" WHERE s.user_id = ? AND r.embedding_id IN {_SPACE} ORDER BY r.id",
            (user_id, model, dimensions),
        )
    ]


_SUM = (
    "SELECT r.id, r.content, r.key_facts, r.message_count, r.created_at, s.project_id,"
    " r.session_id"
    " FROM rolling_summaries r JOIN sessions s ON s.id = r.session_id"
)


def _summary(r: Any) -> SummaryHit:
    return SummaryHit(int(r[0]), r[1], r[2] or "[]", int(r[3]), int(r[4]), r[5], r[6])


def summaries(conn: Connection, summary_ids: Sequence[int]) -> dict[int, SummaryHit]:
    return _by_ids(conn, _SUM, "r.id", summary_ids, _summary)


def summaries_matching(
    conn: Connection,
    user_id: int,
    words: Sequence[str],
    limit: int,
    *,
    without_vector_in: tuple[str, int] | None = None,
    not_session: str | None = None,
) -> list[SummaryHit]:
    """The user's newest summaries whose text or key facts contain any of ``words``,
    outside session ``not_session``."""
    if not words:
        return []
    cond = " OR ".join("(r.content LIKE ? ESCAPE '\\' OR r.key_facts LIKE ? ESCAPE '\\')"
                       for _ in words)  # fmt: skip
    args: list[Any] = [user_id]
    for w in words:
        args += [_like(w), _like(w)]
    args.append(not_session)
    extra = ""
    if without_vector_in is not None:
        extra = f" AND (r.embedding_id IS NULL OR r.embedding_id NOT IN {_SPACE})"
        args += list(without_vector_in)
    rows = conn.execute(
        f"{_SUM} WHERE s.user_id = ? AND ({cond}) AND r.session_id IS NOT ?{extra}"
        " ORDER BY r.id DESC LIMIT ?",
        (*args, limit),
    ).fetchall()
    return [_summary(r) for r in rows]


def forget_summary(conn: Connection, user_id: int, summary_id: int) -> SummaryHit | None:
    """Remove one of the user's summaries with its vector; None when there is none."""
    row = conn.execute(f"{_SUM} WHERE r.id = ? AND s.user_id = ?", (summary_id, user_id)).fetchone()
    if row is None:
        return None
    emb = conn.execute(
        "SELECT embedding_id FROM rolling_summaries WHERE id = ?", (summary_id,)
    ).fetchone()
    conn.execute("DELETE FROM rolling_summaries WHERE id = ?", (summary_id,))
    if emb is not None and emb[0] is not None:
        drop_unused_embeddings(conn, [int(emb[0])])
    return _summary(row)


def exchanges_of(conn: Connection, user_id: int, question: str) -> set[int]:
    """The ids of the user's earlier messages asking exactly ``question`` and of the
    answers to them."""
    asked = [
        int(r[0])
        for r in conn.execute(
            "SELECT e.id FROM memory_entries e JOIN sessions s ON s.id = e.session_id"
            " WHERE s.user_id = ? AND e.role = 'user' AND e.content = ?",
            (user_id, question),
        )
    ]
    out = set(asked)
    for i in range(0, len(asked), 500):
        part = asked[i : i + 500]
        out.update(
            int(r[0])
            for r in conn.execute(
                f"SELECT id FROM memory_entries WHERE parent_id IN ({','.join('?' * len(part))})",
                part,
            )
        )
    return out


def counts(conn: Connection, user_id: int) -> tuple[int, int]:
    """(user/assistant messages, summaries) of the user: when as many have a vector, none
    is left to find by keyword."""
    r = conn.execute(
        "SELECT total(s.message_count), (SELECT count(*) FROM rolling_summaries r"
        " JOIN sessions t ON t.id = r.session_id WHERE t.user_id = ?)"
        " FROM sessions s WHERE s.user_id = ?",
        (user_id, user_id),
    ).fetchone()
    return int(r[0] or 0), int(r[1] or 0)


def stamps(conn: Connection, user_id: int, project_id: int | None, model: str, dimensions: int
           ) -> dict[str, tuple[Any, ...]]:  # fmt: skip
    """source -> what changes whenever its vectors' keys (``*_keys``) change, read without
    touching a vector or the embeddings table: a cached key list is reused while equal."""
    fact = conn.execute(
        "SELECT count(*), total(f.id), total(v.embedding_id), total(f.id * v.embedding_id),"
        " total(f.deprecated), max(f.updated_at) FROM memory_fact_vectors v"
        " JOIN memory_facts f ON f.id = v.fact_id WHERE f.user_id = ?"
        " AND (f.project_id IS NULL OR f.project_id IS ?)",
        (user_id, project_id),
    ).fetchone()
    # Over the whole table, each aggregate from its own covering index (not the rows).
    msg = conn.execute(
        "SELECT (SELECT count(*) FROM message_embeddings),"
        " (SELECT total(embedding_id) FROM message_embeddings INDEXED BY"
        "  idx_message_embeddings_embedding),"
        " (SELECT total(entry_id) FROM message_embeddings INDEXED BY"
        "  idx_message_embeddings_entry),"
        " (SELECT max(id) FROM message_embeddings)"
    ).fetchone()
    summ = conn.execute(
        "SELECT count(*), total(id), total(embedding_id), total(id * embedding_id)"
        " FROM rolling_summaries WHERE embedding_id IS NOT NULL"
    ).fetchone()
    doc = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM document_chunks WHERE embedding_model = ?"
        " AND embedding_id IS NOT NULL)",
        (model,),
    ).fetchone()
    return {"fact": tuple(fact), "message": tuple(msg), "summary": tuple(summ),
            "document": tuple(doc)}  # fmt: skip


def visible_fact_count(conn: Connection, user_id: int, project_id: int | None) -> int:
    r = conn.execute(
        "SELECT count(*) FROM memory_facts WHERE user_id = ?"
        " AND (project_id IS NULL OR project_id IS ?) AND deprecated = 0",
        (user_id, project_id),
    ).fetchone()
    return int(r[0])


def session_items(conn: Connection, session_id: str) -> tuple[set[int], set[int]]:
    """(message ids, summary ids) of one session."""
    msgs = {
        int(r[0])
        for r in conn.execute("SELECT id FROM memory_entries WHERE session_id = ?", (session_id,))
    }
    sums = {
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM rolling_summaries WHERE session_id = ?", (session_id,)
        )
    }
    return msgs, sums


def entries_stamp(conn: Connection) -> tuple[int, int, float]:
    """(count, max id, sum of ids) of memory_entries, from the rowid alone: messages are
    never edited, so equal stamps mean the same messages."""
    r = conn.execute(
        "SELECT count(*), ifnull(max(id), 0), total(id) FROM memory_entries"
    ).fetchone()
    return int(r[0]), int(r[1]), float(r[2])


def entries_after(conn: Connection, after_id: int) -> tuple[int, float]:
    """(count, sum of ids) of memory_entries after ``after_id``."""
    r = conn.execute(
        "SELECT count(*), total(id) FROM memory_entries WHERE id > ?", (after_id,)
    ).fetchone()
    return int(r[0]), float(r[1])


def message_texts(conn: Connection, user_id: int, after_id: int = 0) -> list[tuple[int, str, str]]:
    """(entry id, session id, text) of the user's user/assistant messages after ``after_id``."""
    return [
        (int(r[0]), r[1], r[2])
        for r in conn.execute(
            "SELECT e.id, e.session_id, e.content FROM memory_entries e"
            " JOIN sessions s ON s.id = e.session_id"
            f" WHERE s.user_id = ? AND e.role IN {_ROLES} AND e.id > ? ORDER BY e.id",
            (user_id, after_id),
        )
    ]


def facts_matching(
    conn: Connection, user_id: int, project_id: int | None, words: Sequence[str]
) -> list[FactRow]:
    """The visible current facts whose key or value contains any of ``words``
    (case-insensitive): a superset of those the words match as whole words."""
    if not words:
        return []
    cond = " OR ".join("key LIKE ? ESCAPE '\\' OR value LIKE ? ESCAPE '\\'" for _ in words)
    args: list[Any] = [user_id, project_id]
    for w in words:
        args += [_like(w), _like(w)]
    rows = conn.execute(
        f"SELECT {fq.FACT_COLS} FROM memory_facts WHERE user_id = ?"
        f" AND (project_id IS NULL OR project_id IS ?) AND deprecated = 0 AND ({cond})"
        " ORDER BY updated_at DESC, id DESC",
        args,
    ).fetchall()
    return [fq.fact_row(r) for r in rows]
