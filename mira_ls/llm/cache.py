"""The LLM response cache: an identical request is answered from the database, for free.

The key is the SHA-256 of the canonical JSON of {messages, tools, system, model,
reasoning_effort}; different effort, model, context or tools give different keys. Entries
expire after a TTL, carry an access count and last access, and the least recently used go
first when the size cap is reached. Each entry remembers the content_hash of every symbol
whose text was in its context, so editing one of those symbols drops the entry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mira_ls.config import CacheSettings
from mira_ls.store import Store
from mira_ls.store import llm_cache as q
from mira_ls.store.connection import Connection
from mira_ls.store.llm_cache import CacheEntry, ModelStats

EVICT_BATCH = 200
ROW_OVERHEAD_BYTES = 200  # key, numbers and index entries of one row, roughly


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def cache_key(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Any] | None,
    system: str | None,
    model: str,
    reasoning_effort: str | None,
) -> str:
    """SHA-256 (hex) of {messages, tools, system, model, reasoning_effort}."""
    doc = {
        "messages": list(messages),
        "tools": list(tools or []),
        "system": system or "",
        "model": model,
        "reasoning_effort": reasoning_effort,
    }
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheStats:
    entries: int
    bytes: int
    hits: int
    misses: int
    saved_micro: int
    by_model: list[ModelStats]

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        def rate(h: int, m: int) -> float:
            return h / (h + m) if h + m else 0.0

        return {
            "entries": self.entries,
            "bytes": self.bytes,
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": self.hit_rate,
            "saved_usd": self.saved_micro / 1_000_000,
            "by_model": [
                {
                    "model": m.model,
                    "entries": m.entries,
                    "bytes": m.bytes,
                    "hits": m.hits,
                    "misses": m.misses,
                    "hit_rate": rate(m.hits, m.misses),
                    "saved_usd": m.saved_micro / 1_000_000,
                }
                for m in self.by_model
            ],
        }


class LlmCache:
    """Cache operations, each one short transaction on the shared database."""

    def __init__(
        self, store: Store, settings: CacheSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock())

    def _tick(self) -> int:
        # Sub-second order for LRU; the clock is injectable, so ties follow it, then time_ns.
        return int(self.clock() * 1_000_000_000) + (time.perf_counter_ns() % 1000)

    def get(self, key: str, model: str) -> CacheEntry | None:
        """The live entry for ``key`` (counted as a hit), else None (counted as a miss)."""
        if not self.settings.enabled:
            return None
        now = self._now()
        with self.store.write() as conn:
            entry = q.get(conn, key)
            if entry is not None and entry.expires_at <= now:
                q.delete(conn, [key])
                entry = None
            if entry is None:
                q.count_miss(conn, model, now)
                return None
            q.touch(conn, key, now, self._tick())
            q.count_hit(conn, entry.model, entry.cost_micro, now)
        return dataclasses.replace(entry, access_count=entry.access_count + 1, last_accessed_at=now)

    def put(
        self,
        key: str,
        *,
        model: str,
        reasoning_effort: str | None,
        response: str,
        tool_calls: list[Any],
        input_tokens: int,
        output_tokens: int,
        cost_micro: int,
        content_hashes: Iterable[str] = (),
        ttl_seconds: int | None = None,
    ) -> bool:
        """Store an answer; evict least recently used entries past the size cap."""
        if not self.settings.enabled:
            return False
        ttl = self.settings.ttl_seconds if ttl_seconds is None else ttl_seconds
        if ttl <= 0:
            return False
        now = self._now()
        size = (
            len(response.encode("utf-8"))
            + len(json.dumps(tool_calls).encode("utf-8"))
            + ROW_OVERHEAD_BYTES
        )
        if self.settings.max_bytes and size > self.settings.max_bytes:
            return False
        entry = CacheEntry(
            key,
            model,
            reasoning_effort,
            response,
            tool_calls,
            input_tokens,
            output_tokens,
            cost_micro,
            size,
            now,
            now + ttl,
            now,
            0,
        )
        with self.store.write() as conn:
            q.put(conn, entry, self._tick(), content_hashes)
            self._evict(conn)
        return True

    def _evict(self, conn: Connection) -> int:
        cap = self.settings.max_bytes
        if not cap:
            return 0
        _, total = q.totals(conn)
        evicted = 0
        while total > cap:
            victims = q.least_recent(conn, EVICT_BATCH)
            if not victims:
                break
            chosen: list[str] = []
            for k, size in victims:
                if total <= cap:
                    break
                chosen.append(k)
                total -= size
            evicted += q.delete(conn, chosen)
        return evicted

    def cleanup_expired(self) -> int:
        with self.store.write() as conn:
            return q.delete_expired(conn, self._now())

    def invalidate(self, content_hashes: Iterable[str]) -> int:
        with self.store.write() as conn:
            return q.delete_for_content_hashes(conn, content_hashes)

    def clear(self, *, reset_stats: bool = False) -> int:
        with self.store.write() as conn:
            n = q.clear(conn)
            if reset_stats:
                q.reset_stats(conn)
            return n

    def stats(self) -> CacheStats:
        conn = self.store.conn()
        by_model = q.stats_by_model(conn)
        entries, size = q.totals(conn)
        return CacheStats(
            entries=entries,
            bytes=size,
            hits=sum(m.hits for m in by_model),
            misses=sum(m.misses for m in by_model),
            saved_micro=sum(m.saved_micro for m in by_model),
            by_model=by_model,
        )

    def symbols_of(self, key: str) -> list[str]:
        return q.content_hashes(self.store.conn(), key)
