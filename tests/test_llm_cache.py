"""The LLM cache: keys, hits through the service, invalidation on symbol edits, TTL, LRU."""

from __future__ import annotations

from pathlib import Path

from mira_ls.config import CacheSettings
from mira_ls.llm.cache import LlmCache, cache_key
from mira_ls.store import Store
from tests.support.llm_world import APP, World
from tests.support.openai_server import Answer

pytest_plugins = ["tests.llm_fixtures"]

MSGS = [{"role": "user", "content": "What does main do?"}]


def test_key_is_canonical_and_covers_every_part() -> None:
    base = cache_key(MSGS, None, "sys", "gpt-5.1", "medium")
    assert len(base) == 64 and int(base, 16) >= 0
    reordered = [{"content": "What does main do?", "role": "user"}]
    assert cache_key(reordered, [], "sys", "gpt-5.1", "medium") == base  # key order, no tools
    assert cache_key(MSGS, None, "sys", "gpt-5.1", "high") != base
    assert cache_key(MSGS, None, "sys", "gpt-5", "medium") != base
    assert cache_key(MSGS, None, "other", "gpt-5.1", "medium") != base
    assert cache_key(MSGS, [{"type": "function"}], "sys", "gpt-5.1", "medium") != base
    assert (
        cache_key(
            [{"role": "user", "content": "What does main do? "}], None, "sys", "gpt-5.1", "medium"
        )
        != base
    )


def test_identical_request_is_answered_once_then_from_cache_for_free(world: World) -> None:
    world.srv.script(Answer(text="main returns 42.", prompt_tokens=400, completion_tokens=20))
    svc = world.service()
    chunks: list[str] = []
    first = svc.ask(world.question("def main"), chunks.append)
    second = svc.ask(world.question("def main"), chunks.append)
    assert len(world.srv.chat_requests()) == 1
    assert first.text == second.text == "main returns 42."
    assert not first.cached and second.cached
    assert first.cost_micro == 400 * 1.25 + 20 * 10 == 700
    assert second.cost_micro == 0 and second.saved_micro == 700
    stats = svc.cache.stats()
    assert (stats.hits, stats.misses, stats.hit_rate) == (1, 1, 0.5)
    assert stats.saved_micro == 700 and stats.entries == 1
    assert [m.model for m in stats.by_model] == ["gpt-5.1"]
    day = svc.budget.status()["day"]
    assert day["spent_usd"] == 0.0007 and day["cache_hits"] == 1 and day["requests"] == 2
    third = svc.ask(world.question("def main"))
    assert third.cached and svc.cache.stats().hit_rate == 2 / 3
    rows = (
        world.store.conn()
        .execute(
            "SELECT status, cost_micro, from_cache, saved_micro FROM budget_tracking ORDER BY id"
        )
        .fetchall()
    )
    assert [tuple(r) for r in rows] == [
        ("settled", 700, 0, 0),
        ("cache_hit", 0, 1, 700),
        ("cache_hit", 0, 1, 700),
    ]
    entry = world.store.conn().execute("SELECT access_count, response FROM llm_cache").fetchone()
    assert tuple(entry) == (2, "main returns 42.")


def test_different_reasoning_effort_misses(world: World) -> None:
    svc = world.service()
    svc.ask(world.question("def main"))
    svc.ask(world.question("def main", reasoning_effort="high"))
    svc.ask(world.question("def main", reasoning_effort="low"))
    efforts = [r.body["reasoning_effort"] for r in world.srv.chat_requests()]
    assert efforts == ["medium", "high", "low"]
    assert svc.cache.stats().misses == 3 and svc.cache.stats().entries == 3


def test_editing_a_symbol_in_the_context_invalidates_the_answer(world: World) -> None:
    svc = world.service()
    a = svc.ask(world.question("def main"))  # context: main's source, helper's signature
    b = svc.ask(world.question("class Greeter"))
    assert svc.cache.stats().entries == 2
    # helper's body changes (signature unchanged): main's answer had helper in its context
    (world.root / "app.py").write_text(APP.replace("return x * 2", "return x * 3"))
    world.reindex()
    keys = {r[0] for r in world.store.conn().execute("SELECT cache_key FROM llm_cache")}
    assert keys == {b.cache_key} and a.cache_key not in keys
    again = svc.ask(world.question("def main"))
    assert not again.cached and len(world.srv.chat_requests()) == 3
    assert svc.ask(world.question("class Greeter")).cached


def test_ttl_expiry_and_cleanup(tmp_db: Store) -> None:
    now = [1_000_000.0]
    cache = LlmCache(tmp_db, CacheSettings(ttl_seconds=60), clock=lambda: now[0])
    for i in range(3):
        cache.put(
            f"{i:064x}",
            model="gpt-5.1",
            reasoning_effort="low",
            response=f"a{i}",
            tool_calls=[],
            input_tokens=1,
            output_tokens=1,
            cost_micro=5,
        )
    assert cache.get(f"{0:064x}", "gpt-5.1") is not None
    now[0] += 59
    assert cache.get(f"{1:064x}", "gpt-5.1") is not None
    now[0] += 1
    assert cache.get(f"{1:064x}", "gpt-5.1") is None  # expired at exactly the TTL
    assert cache.cleanup_expired() == 2 and cache.stats().entries == 0
    s = cache.stats()
    assert (s.hits, s.misses) == (2, 1) and s.bytes == 0


def test_lru_eviction_keeps_the_recently_used(tmp_db: Store) -> None:
    now = [1_000_000.0]
    cache = LlmCache(tmp_db, CacheSettings(max_bytes=3 * 302), clock=lambda: now[0])  # 3 entries

    def put(i: int) -> None:
        now[0] += 1
        cache.put(
            f"{i:064x}",
            model="m",
            reasoning_effort=None,
            response="x" * 100,
            tool_calls=[],
            input_tokens=1,
            output_tokens=1,
            cost_micro=1,
        )

    for i in range(3):
        put(i)
    assert cache.stats().entries == 3
    now[0] += 1
    assert cache.get(f"{0:064x}", "m") is not None  # 0 is now the most recent
    put(3)  # over the cap: the least recently used (1) goes
    keys = {r[0] for r in tmp_db.conn().execute("SELECT cache_key FROM llm_cache")}
    assert keys == {f"{i:064x}" for i in (0, 2, 3)}
    assert cache.stats().bytes == 3 * 302
    row = (
        tmp_db.conn()
        .execute(
            "SELECT access_count, last_accessed_at FROM llm_cache WHERE cache_key = ?",
            (f"{0:064x}",),
        )
        .fetchone()
    )
    assert tuple(row) == (1, 1_000_004)


def test_invalidate_and_clear_and_disabled(tmp_db: Store, tmp_path: Path) -> None:
    cache = LlmCache(tmp_db, CacheSettings())
    cache.put(
        "a" * 64,
        model="m",
        reasoning_effort=None,
        response="r",
        tool_calls=[],
        input_tokens=1,
        output_tokens=1,
        cost_micro=1,
        content_hashes=["h1", "h2"],
    )
    cache.put(
        "b" * 64,
        model="m",
        reasoning_effort=None,
        response="r",
        tool_calls=[],
        input_tokens=1,
        output_tokens=1,
        cost_micro=1,
        content_hashes=["h3"],
    )
    assert cache.symbols_of("a" * 64) == ["h1", "h2"]
    assert cache.invalidate(["h2"]) == 1 and cache.stats().entries == 1
    assert cache.clear() == 1 and cache.stats().entries == 0
    off = LlmCache(tmp_db, CacheSettings(enabled=False))
    assert not off.put(
        "c" * 64,
        model="m",
        reasoning_effort=None,
        response="r",
        tool_calls=[],
        input_tokens=1,
        output_tokens=1,
        cost_micro=1,
    )
    assert off.get("c" * 64, "m") is None
