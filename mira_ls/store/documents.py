"""Queries over documents, document_chunks and search_documents (migrations 005 and 025).

A chunk's keyword row in search_documents has the chunk's id as its rowid (025's trigger
removes it with the chunk); its vector is an ``embeddings`` row referenced by
document_chunks.embedding_id, in the user's own database (never vector_points).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection, inserted_id
from mira_ls.store.memory_facts import drop_unused_embeddings


@dataclass(frozen=True)
class DocumentRow:
    id: int
    project_id: int | None
    user_id: int | None
    source_path: str
    title: str | None
    mime_type: str | None
    size_bytes: int
    content_hash: str
    page_count: int | None
    chunk_count: int
    token_count: int
    metadata: dict[str, Any]
    status: str
    created_at: int
    updated_at: int
    embedded: int = 0  # chunks with a vector


@dataclass(frozen=True)
class NewChunk:
    index: int
    content: str
    tokens: int
    content_hash: str
    section: str | None
    page: int | None
    start: int
    end: int
    embedding_id: int | None
    embedding_model: str | None
    index_text: str  # what the keyword index holds (identifiers split into words)


@dataclass(frozen=True)
class ChunkHit:
    chunk_id: int
    document_id: int
    project_id: int | None
    source_path: str
    title: str | None
    section: str | None
    content: str
    page: int | None
    updated_at: int  # when the document was last added or changed


_COLS = (
    "d.id, d.project_id, d.user_id, d.source_path, d.title, d.mime_type, d.size_bytes,"
    " d.content_hash, d.page_count, d.chunk_count, d.token_count, d.metadata, d.status,"
    " d.created_at, d.updated_at,"
    " (SELECT count(*) FROM document_chunks c WHERE c.document_id = d.id"
    "  AND c.embedding_id IS NOT NULL)"
)


def _row(r: Any) -> DocumentRow:
    return DocumentRow(
        int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), r[7], r[8], int(r[9]), int(r[10]),
        json.loads(r[11] or "{}"), r[12], int(r[13]), int(r[14]), int(r[15]),
    )  # fmt: skip


def user_id_of(conn: Connection, username: str) -> int | None:
    """The users row of ``username`` without creating it (memory off writes nothing)."""
    r = conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
    return int(r[0]) if r else None


def get(conn: Connection, document_id: int) -> DocumentRow | None:
    r = conn.execute(f"SELECT {_COLS} FROM documents d WHERE d.id = ?", (document_id,)).fetchone()
    return _row(r) if r else None


def by_source(conn: Connection, user_id: int, source_path: str) -> DocumentRow | None:
    """The user's document read from ``source_path``, whichever project it was filed under."""
    r = conn.execute(
        f"SELECT {_COLS} FROM documents d WHERE d.source_path = ?"
        " AND (d.user_id = ? OR d.user_id IS NULL) ORDER BY d.id LIMIT 1",
        (source_path, user_id),
    ).fetchone()
    return _row(r) if r else None


def listed(conn: Connection, user_id: int) -> list[DocumentRow]:
    rows = conn.execute(
        f"SELECT {_COLS} FROM documents d WHERE d.user_id = ? OR d.user_id IS NULL"
        " ORDER BY d.source_path, d.id",
        (user_id,),
    ).fetchall()
    return [_row(r) for r in rows]


def save(
    conn: Connection,
    existing: DocumentRow | None,
    *,
    user_id: int,
    project_id: int | None,
    source_path: str,
    title: str | None,
    mime_type: str,
    size_bytes: int,
    content_hash: str,
    page_count: int | None,
    metadata: dict[str, Any],
    status: str,
    chunks: Sequence[NewChunk],
    now: int,
) -> int:
    """Insert the document, or update it in place (same id), with exactly these chunks and
    their keyword rows; vectors the old chunks held and no one uses any more are dropped."""
    meta = json.dumps(metadata, sort_keys=True)
    total = sum(c.tokens for c in chunks)
    old_vectors: list[int] = []
    if existing is None:
        cur = conn.execute(
            "INSERT INTO documents(project_id, user_id, source_path, title, mime_type,"
            " size_bytes, content_hash, page_count, chunk_count, token_count, metadata, status,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (project_id, user_id, source_path, title, mime_type, size_bytes, content_hash,
             page_count, len(chunks), total, meta, status, now, now),
        )  # fmt: skip
        doc_id = inserted_id(cur)
    else:
        doc_id = existing.id
        old_vectors = _chunk_vectors(conn, doc_id)
        conn.execute("DELETE FROM document_chunks WHERE document_id = ?", (doc_id,))
        conn.execute(
            "UPDATE documents SET project_id = ?, user_id = ?, title = ?, mime_type = ?,"
            " size_bytes = ?, content_hash = ?, page_count = ?, chunk_count = ?,"
            " token_count = ?, metadata = ?, status = ?, error = NULL, updated_at = ?"
            " WHERE id = ?",
            (project_id, user_id, title, mime_type, size_bytes, content_hash, page_count,
             len(chunks), total, meta, status, now, doc_id),
        )  # fmt: skip
    for c in chunks:
        cur = conn.execute(
            "INSERT INTO document_chunks(document_id, chunk_index, content, token_count,"
            " content_hash, page_number, start_offset, end_offset, embedding_model, section,"
            " embedding_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc_id, c.index, c.content, c.tokens, c.content_hash, c.page, c.start, c.end,
             c.embedding_model, c.section, c.embedding_id, now),
        )  # fmt: skip
        conn.execute(
            "INSERT INTO search_documents(rowid, section, content) VALUES (?, ?, ?)",
            (inserted_id(cur), c.section or "", c.index_text),
        )
    drop_unused_embeddings(conn, old_vectors)
    return doc_id


def chunks_without_vector(conn: Connection, document_id: int) -> list[tuple[int, str, str]]:
    """(chunk id, section, content) of the document's chunks that have no vector yet."""
    return [
        (int(r[0]), r[1] or "", r[2])
        for r in conn.execute(
            "SELECT id, section, content FROM document_chunks WHERE document_id = ?"
            " AND embedding_id IS NULL ORDER BY chunk_index",
            (document_id,),
        )
    ]


def set_vectors(
    conn: Connection, document_id: int, vectors: dict[int, int], model: str, status: str
) -> None:
    """chunk id -> embedding id, and the document's status."""
    conn.executemany(
        "UPDATE document_chunks SET embedding_id = ?, embedding_model = ? WHERE id = ?",
        [(eid, model, cid) for cid, eid in vectors.items()],
    )
    conn.execute("UPDATE documents SET status = ? WHERE id = ?", (status, document_id))


def _chunk_vectors(conn: Connection, document_id: int) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT DISTINCT embedding_id FROM document_chunks WHERE document_id = ?"
            " AND embedding_id IS NOT NULL",
            (document_id,),
        )
    ]


def delete(conn: Connection, document_id: int) -> int:
    """Remove a document with its chunks, their keyword rows and their vectors (the
    embeddings no one else uses). Returns the number of chunks removed."""
    vectors = _chunk_vectors(conn, document_id)
    n = conn.execute("DELETE FROM document_chunks WHERE document_id = ?", (document_id,)).rowcount
    conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
    drop_unused_embeddings(conn, vectors)
    return int(n)


def match(conn: Connection, fts: str, user_id: int, limit: int) -> list[tuple[int, float]]:
    """(chunk id, bm25) of the user's chunks matching an FTS5 expression, best first
    (bm25 is negative: lower is better; a heading match weighs twice a body match)."""
    rows = conn.execute(
        "SELECT s.rowid, s.score FROM"
        " (SELECT rowid, bm25(search_documents, 2.0, 1.0) AS score FROM search_documents"
        "  WHERE search_documents MATCH ?) s"
        " JOIN document_chunks c ON c.id = s.rowid JOIN documents d ON d.id = c.document_id"
        " WHERE d.user_id = ? OR d.user_id IS NULL ORDER BY s.score, s.rowid LIMIT ?",
        (fts, user_id, limit),
    ).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]


def vector_keys(
    conn: Connection, user_id: int, model: str, dimensions: int
) -> list[tuple[int, int, str]]:
    """(chunk id, embedding id, embedded text's hash) of the user's embedded chunks in one
    space, without the vectors: what a cached matrix of them is checked against."""
    return [
        (int(r[0]), int(r[1]), str(r[2]))
        for r in conn.execute(
            "SELECT c.id, e.id, e.text_hash FROM document_chunks c"
            " JOIN documents d ON d.id = c.document_id JOIN embeddings e ON e.id = c.embedding_id"
            " WHERE (d.user_id = ? OR d.user_id IS NULL) AND e.model = ? AND e.dimensions = ?"
            " ORDER BY c.id",
            (user_id, model, dimensions),
        )
    ]


def vector_stamp(conn: Connection, user_id: int, model: str) -> tuple[Any, ...]:
    """What changes whenever the user's embedded chunks of ``model`` change (chunk and
    embedding ids, and each document's hash: ids reused after a removal belong to another
    document's text), read without touching the vectors."""
    chunk_part = conn.execute(
        "SELECT count(*), total(c.id), total(c.embedding_id), total(c.id * c.embedding_id)"
        " FROM document_chunks c JOIN documents d ON d.id = c.document_id"
        " WHERE (d.user_id = ? OR d.user_id IS NULL) AND c.embedding_model = ?"
        " AND c.embedding_id IS NOT NULL",
        (user_id, model),
    ).fetchone()
    doc_part = conn.execute(
        "SELECT group_concat(id || ':' || content_hash, ',') FROM"
        " (SELECT id, content_hash FROM documents WHERE user_id = ? OR user_id IS NULL"
        "  ORDER BY id)",
        (user_id,),
    ).fetchone()
    return (*tuple(chunk_part), doc_part[0])


def embedding_vectors(conn: Connection, embedding_ids: Sequence[int]) -> dict[int, bytes]:
    """embedding id -> float32 vector bytes."""
    out: dict[int, bytes] = {}
    ids = list(dict.fromkeys(embedding_ids))
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        for r in conn.execute(
            f"SELECT id, vector FROM embeddings WHERE id IN ({','.join('?' * len(part))})", part
        ):
            out[int(r[0])] = bytes(r[1])
    return out


def chunks(conn: Connection, chunk_ids: Sequence[int]) -> dict[int, ChunkHit]:
    out: dict[int, ChunkHit] = {}
    ids = list(dict.fromkeys(chunk_ids))
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        for r in conn.execute(
            "SELECT c.id, c.document_id, d.project_id, d.source_path, d.title, c.section,"
            " c.content, c.page_number, d.updated_at FROM document_chunks c"
            " JOIN documents d ON d.id = c.document_id"
            f" WHERE c.id IN ({','.join('?' * len(part))})",
            part,
        ):
            out[int(r[0])] = ChunkHit(
                int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], int(r[8])
            )
    return out


def chunk_rows(conn: Connection, document_id: int) -> list[tuple[int, int, str | None, str]]:
    """(id, chunk_index, section, content) of a document's chunks, in order."""
    return [
        (int(r[0]), int(r[1]), r[2], r[3])
        for r in conn.execute(
            "SELECT id, chunk_index, section, content FROM document_chunks"
            " WHERE document_id = ? ORDER BY chunk_index",
            (document_id,),
        )
    ]
