"""Queries over llm_cache, llm_cache_symbols, llm_cache_stats and llm_cache_totals."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection

_CHUNK = 500
_COLS = (
    "cache_key, model, reasoning_effort, response, tool_calls, input_tokens, output_tokens, "
    "cost_micro, size_bytes, created_at, expires_at, last_accessed_at, access_count"
)


@dataclass(frozen=True)
class CacheEntry:
    cache_key: str
    model: str
    reasoning_effort: str | None
    response: str
    tool_calls: list[Any]
    input_tokens: int
    output_tokens: int
    cost_micro: int  # what producing the answer cost (= what a hit saves)
    size_bytes: int
    created_at: int
    expires_at: int
    last_accessed_at: int
    access_count: int


def _entry(r: Any) -> CacheEntry:
    return CacheEntry(
        r[0],
        r[1],
        r[2],
        r[3],
        json.loads(r[4]) if r[4] else [],
        int(r[5]),
        int(r[6]),
        int(r[7]),
        int(r[8]),
        int(r[9]),
        int(r[10]),
        int(r[11]),
        int(r[12]),
    )


def get(conn: Connection, cache_key: str) -> CacheEntry | None:
    r = conn.execute(f"SELECT {_COLS} FROM llm_cache WHERE cache_key = ?", (cache_key,)).fetchone()
    return _entry(r) if r else None


def touch(conn: Connection, cache_key: str, now: int, tick: int) -> None:
    conn.execute(
        "UPDATE llm_cache SET access_count = access_count + 1, last_accessed_at = ?, "
        "lru_tick = ? WHERE cache_key = ?",
        (now, tick, cache_key),
    )


def delete(conn: Connection, cache_keys: Iterable[str]) -> int:
    keys = list(cache_keys)
    n = 0
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        n += conn.execute(
            f"DELETE FROM llm_cache WHERE cache_key IN ({','.join('?' * len(chunk))})", chunk
        ).rowcount
    return n


def put(conn: Connection, e: CacheEntry, tick: int, content_hashes: Iterable[str]) -> None:
    """Insert or replace an entry (UPSERT, so the size triggers see an update, not a delete)."""
    conn.execute(
        "INSERT INTO llm_cache(cache_key, model, reasoning_effort, response, tool_calls, "
        "input_tokens, output_tokens, cost_micro, size_bytes, created_at, expires_at, "
        "last_accessed_at, access_count, lru_tick) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(cache_key) DO UPDATE SET model = excluded.model, "
        "reasoning_effort = excluded.reasoning_effort, response = excluded.response, "
        "tool_calls = excluded.tool_calls, input_tokens = excluded.input_tokens, "
        "output_tokens = excluded.output_tokens, cost_micro = excluded.cost_micro, "
        "size_bytes = excluded.size_bytes, created_at = excluded.created_at, "
        "expires_at = excluded.expires_at, last_accessed_at = excluded.last_accessed_at, "
        "lru_tick = excluded.lru_tick",
        (
            e.cache_key,
            e.model,
            e.reasoning_effort,
            e.response,
            json.dumps(e.tool_calls),
            e.input_tokens,
            e.output_tokens,
            e.cost_micro,
            e.size_bytes,
            e.created_at,
            e.expires_at,
            e.last_accessed_at,
            e.access_count,
            tick,
        ),
    )
    conn.execute("DELETE FROM llm_cache_symbols WHERE cache_key = ?", (e.cache_key,))
    conn.executemany(
        "INSERT OR IGNORE INTO llm_cache_symbols(cache_key, content_hash) VALUES (?, ?)",
        [(e.cache_key, h) for h in sorted(set(content_hashes)) if h],
    )


def content_hashes(conn: Connection, cache_key: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT content_hash FROM llm_cache_symbols WHERE cache_key = ? ORDER BY content_hash",
            (cache_key,),
        )
    ]


def count_hit(conn: Connection, model: str, saved_micro: int, now: int) -> None:
    conn.execute(
        "INSERT INTO llm_cache_stats(model, hits, misses, saved_micro, updated_at) "
        "VALUES (?, 1, 0, ?, ?) ON CONFLICT(model) DO UPDATE SET hits = hits + 1, "
        "saved_micro = saved_micro + excluded.saved_micro, updated_at = excluded.updated_at",
        (model, saved_micro, now),
    )


def count_miss(conn: Connection, model: str, now: int) -> None:
    conn.execute(
        "INSERT INTO llm_cache_stats(model, hits, misses, saved_micro, updated_at) "
        "VALUES (?, 0, 1, 0, ?) ON CONFLICT(model) DO UPDATE SET misses = misses + 1, "
        "updated_at = excluded.updated_at",
        (model, now),
    )


def totals(conn: Connection) -> tuple[int, int]:
    """(entries, bytes) from the trigger-maintained totals row."""
    r = conn.execute("SELECT entries, bytes FROM llm_cache_totals WHERE id = 1").fetchone()
    return (int(r[0]), int(r[1])) if r else (0, 0)


def least_recent(conn: Connection, limit: int) -> list[tuple[str, int]]:
    return [
        (r[0], int(r[1]))
        for r in conn.execute(
            "SELECT cache_key, size_bytes FROM llm_cache ORDER BY lru_tick, cache_key LIMIT ?",
            (limit,),
        )
    ]


def delete_expired(conn: Connection, now: int) -> int:
    return conn.execute("DELETE FROM llm_cache WHERE expires_at <= ?", (now,)).rowcount


def delete_for_content_hashes(conn: Connection, hashes: Iterable[str]) -> int:
    """Entries whose context held any of these symbol versions; returns entries deleted."""
    hs = sorted({h for h in hashes if h})
    n = 0
    for i in range(0, len(hs), _CHUNK):
        chunk = hs[i : i + _CHUNK]
        n += conn.execute(
            "DELETE FROM llm_cache WHERE cache_key IN (SELECT cache_key FROM llm_cache_symbols "
            f"WHERE content_hash IN ({','.join('?' * len(chunk))}))",
            chunk,
        ).rowcount
    return n


def clear(conn: Connection) -> int:
    return conn.execute("DELETE FROM llm_cache").rowcount


def reset_stats(conn: Connection) -> None:
    conn.execute("DELETE FROM llm_cache_stats")


@dataclass(frozen=True)
class ModelStats:
    model: str
    entries: int
    bytes: int
    hits: int
    misses: int
    saved_micro: int


def stats_by_model(conn: Connection) -> list[ModelStats]:
    """Entries and bytes from llm_cache, counters from llm_cache_stats, one row per model."""
    sizes = {
        r[0]: (int(r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT model, COUNT(*), COALESCE(SUM(size_bytes), 0) FROM llm_cache GROUP BY model"
        )
    }
    counters = {
        r[0]: (int(r[1]), int(r[2]), int(r[3]))
        for r in conn.execute("SELECT model, hits, misses, saved_micro FROM llm_cache_stats")
    }
    out = []
    for model in sorted(set(sizes) | set(counters)):
        entries, size = sizes.get(model, (0, 0))
        hits, misses, saved = counters.get(model, (0, 0, 0))
        out.append(ModelStats(model, entries, size, hits, misses, saved))
    return out
