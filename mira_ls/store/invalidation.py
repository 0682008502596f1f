"""Drop cached analyses that were computed from symbols which have since changed.

One function for every cache keyed on a symbol: the index calls it whenever symbols change
(body or signature) or disappear. Caches added later (LLM answers) extend this function.
"""

from __future__ import annotations

from mira_ls.store import llm_cache
from mira_ls.store.connection import Connection

# (table, column holding a symbol id, column holding a content hash, which rows: a module's
# or class's semantic analysis records what the model was shown of it, ``input_hash``, and
# is kept: understand/semantic.py asks again only when that changed)
_CACHES = (
    ("semantic_analysis_cache", "symbol_id", "content_hash",
     "json_extract(result, '$.input_hash') IS NULL"),
    ("pattern_validation_cache", "symbol_id", "content_hash", "1"),
)  # fmt: skip
_CHUNK = 500


def _existing_tables(conn: Connection) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
            f"({','.join('?' * len(_CACHES))})",
            [t for t, _, _, _ in _CACHES],
        )
    }


def invalidate_symbols(conn: Connection, symbol_ids: list[int], content_hashes: list[str]) -> int:
    """Delete cache rows for these symbols or these (old) content hashes; returns rows
    deleted. Tables not created yet (older schema) are skipped."""
    ids = sorted({int(i) for i in symbol_ids})
    hashes = sorted({h for h in content_hashes if h})
    if not ids and not hashes:
        return 0
    deleted = 0
    for table, id_col, hash_col, which in _CACHES:
        if table not in _existing_tables(conn):
            continue
        for i in range(0, len(ids), _CHUNK):
            id_chunk = ids[i : i + _CHUNK]
            deleted += conn.execute(
                f"DELETE FROM {table} WHERE {id_col} IN ({','.join('?' * len(id_chunk))}) "
                f"AND {which}",
                id_chunk,
            ).rowcount
        for i in range(0, len(hashes), _CHUNK):
            chunk = hashes[i : i + _CHUNK]
            deleted += conn.execute(
                f"DELETE FROM {table} WHERE {hash_col} IN ({','.join('?' * len(chunk))}) "
                f"AND {which}",
                chunk,
            ).rowcount
    # LLM answers whose context held one of these symbol versions (migration 008).
    if (
        hashes
        and conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'llm_cache_symbols'"
        ).fetchone()
    ):
        deleted += llm_cache.delete_for_content_hashes(conn, hashes)
    return deleted
