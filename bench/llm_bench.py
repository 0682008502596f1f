"""LLM layer benchmark: prints one JSON object.

- cache lookup p50/p95 with 100,000 entries (hits and misses; target p95 <= 1 ms)
- budget reservation (reserve + settle) p95 (target <= 2 ms)
- context assembly p95 on the click repository (target <= 50 ms)
- per-chunk overhead of our streaming path against the raw openai SDK, same loopback server

Usage: python bench/llm_bench.py [--entries 100000] [--click /path/to/click.bundle|dir]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai

from mira_ls.config import CacheSettings, LlmSettings, Settings
from mira_ls.features.session import ProjectRoot, Session
from mira_ls.git import miner
from mira_ls.index import indexer
from mira_ls.llm.budget import Budget
from mira_ls.llm.cache import LlmCache
from mira_ls.llm.context import Where, assemble
from mira_ls.llm.provider import ChatCall, Provider, Usage, endpoint_from
from mira_ls.store import Store
from mira_ls.store import llm_cache as cache_store
from mira_ls.store import projects as project_store
from mira_ls.store.llm_cache import CacheEntry
from tests.support.openai_server import Answer, OpenAIServer

CLICK_BUNDLE = Path("/work/shared/corpus/click.bundle")


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def ms(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(samples, 50) * 1000, 4),
        "p95_ms": round(pct(samples, 95) * 1000, 4),
        "p99_ms": round(pct(samples, 99) * 1000, 4),
        "n": len(samples),
    }


def bench_cache(tmp: Path, entries: int) -> dict[str, object]:
    store = Store(tmp / "cache.db")
    now = int(time.time())
    keys = [f"{random.getrandbits(256):064x}" for _ in range(entries)]
    t0 = time.perf_counter()
    with store.write() as conn:
        for i, k in enumerate(keys):
            cache_store.put(
                conn,
                CacheEntry(
                    k,
                    "gpt-5.1",
                    "medium",
                    "answer " * 60,
                    [],
                    900,
                    120,
                    2325,
                    600,
                    now,
                    now + 86400,
                    now,
                    0,
                ),
                i,
                [f"{i:064x}"],
            )
    fill_s = time.perf_counter() - t0
    cache = LlmCache(store, CacheSettings(max_bytes=10**12))
    for k in random.sample(keys, 1000):  # warm-up: page cache and WAL at their steady size
        cache.get(k, "gpt-5.1")
    hits: list[float] = []
    for k in random.sample(keys, 2000):
        t = time.perf_counter()
        assert cache.get(k, "gpt-5.1") is not None
        hits.append(time.perf_counter() - t)
    misses: list[float] = []
    for _ in range(2000):
        k = f"{random.getrandbits(256):064x}"
        t = time.perf_counter()
        cache.get(k, "gpt-5.1")
        misses.append(time.perf_counter() - t)
    puts: list[float] = []
    for _ in range(500):
        k = f"{random.getrandbits(256):064x}"
        t = time.perf_counter()
        cache.put(
            k,
            model="gpt-5.1",
            reasoning_effort="medium",
            response="answer " * 60,
            tool_calls=[],
            input_tokens=900,
            output_tokens=120,
            cost_micro=2325,
            content_hashes=["a" * 64, "b" * 64],
        )
        puts.append(time.perf_counter() - t)
    store.close()
    return {
        "entries": entries,
        "fill_s": round(fill_s, 2),
        "hit": ms(hits),
        "miss": ms(misses),
        "put": ms(puts),
        "target_p95_ms": 1.0,
    }


def bench_budget(tmp: Path) -> dict[str, object]:
    store = Store(tmp / "budget.db")
    s = Settings()
    s.budget.daily_usd = 10**6
    s.budget.monthly_usd = 10**7
    b = Budget(store, s)
    for _ in range(5000):  # history: a month of requests
        r = b.reserve(
            model="gpt-5.1",
            reasoning_effort="medium",
            prompt_tokens=3000,
            max_output_tokens=1024,
            operation="chat",
        )
        b.settle(r, Usage(2800, 400))
    reserve: list[float] = []
    settle: list[float] = []
    for _ in range(2000):
        t = time.perf_counter()
        r = b.reserve(
            model="gpt-5.1",
            reasoning_effort="medium",
            prompt_tokens=3000,
            max_output_tokens=1024,
            operation="chat",
        )
        reserve.append(time.perf_counter() - t)
        t = time.perf_counter()
        b.settle(r, Usage(2800, 400))
        settle.append(time.perf_counter() - t)
    store.close()
    return {"rows": 7000, "reserve": ms(reserve), "settle": ms(settle), "target_p95_ms": 2.0}


def click_checkout(tmp: Path, source: Path) -> Path:
    if source.is_dir():
        return source
    dest = tmp / "click"
    subprocess.run(["git", "clone", "-q", str(source), str(dest)], check=True)
    return dest


def bench_context(tmp: Path, source: Path) -> dict[str, object]:
    if not source.exists():
        return {"skipped": f"{source} not found"}
    root = click_checkout(tmp, source)
    store = Store(tmp / "ctx.db")
    settings = Settings()
    t0 = time.perf_counter()
    indexer.index_workspace(store, root, settings.index)
    index_s = time.perf_counter() - t0
    project = project_store.by_root(store.conn(), root)
    assert project is not None
    t0 = time.perf_counter()
    mined = miner.mine(store, project.id, root, settings)
    mine_s = time.perf_counter() - t0
    session = Session(store, settings, [ProjectRoot(project.id, root.resolve())])
    rows = (
        store.conn()
        .execute(
            "SELECT file_path, name_line, name_col FROM code_elements WHERE project_id = ? AND "
            "kind IN ('function', 'method') AND file_path LIKE '%.py'",
            (project.id,),
        )
        .fetchall()
    )
    random.seed(7)
    picks = random.sample(rows, min(200, len(rows)))
    texts: dict[str, str] = {}
    samples: list[float] = []
    sizes: list[int] = []
    for rel, line, col in picks:
        text = texts.setdefault(rel, (root / rel).read_text("utf-8", "replace"))
        where = Where(project.id, root.resolve(), rel, text, line, col)
        t = time.perf_counter()
        fx = session.parse(rel, text)
        b = assemble(store, where, fx, budget=8000)
        samples.append(time.perf_counter() - t)
        sizes.append(b.tokens)
    store.close()
    return {
        "symbols": len(samples),
        "index_s": round(index_s, 1),
        "mine_s": round(mine_s, 1),
        "mined_commits": mined.total_commits,
        **ms(samples),
        "mean_tokens": round(statistics.mean(sizes)),
        "target_p95_ms": 50.0,
        "note": "index and git history mined; build tables empty",
    }


def bench_stream(chunks: int = 2000, rounds: int = 7) -> dict[str, object]:
    words = [f"w{i} " for i in range(chunks)]
    with OpenAIServer(
        lambda body: Answer(text="".join(words), prompt_tokens=10, completion_tokens=chunks)
    ) as srv:
        raw_client = openai.OpenAI(api_key="sk-bench", base_url=srv.base_url, max_retries=0)
        ours = Provider(
            endpoint_from(
                LlmSettings(base_url=srv.base_url, max_retries=0),
                {"MIRA_OPENAI_API_KEY": "sk-bench"},
            )
        )
        msgs = [{"role": "user", "content": "go"}]
        raw_t: list[float] = []
        our_t: list[float] = []
        for _ in range(rounds):
            t = time.perf_counter()
            stream = raw_client.chat.completions.create(
                model="gpt-5.1",
                messages=msgs,
                stream=True,  # type: ignore[arg-type]
                stream_options={"include_usage": True},
                max_completion_tokens=chunks * 2,
            )
            got = []
            for ch in stream:
                for c in ch.choices:
                    if c.delta and c.delta.content:
                        got.append(c.delta.content)
            raw_t.append(time.perf_counter() - t)
            assert len(got) == chunks
            seen: list[str] = []
            t = time.perf_counter()
            out = ours.stream(
                ChatCall("gpt-5.1", msgs, "medium", chunks * 2), seen.append, lambda: False
            )
            our_t.append(time.perf_counter() - t)
            assert out.chunks == chunks
    raw = statistics.median(raw_t)
    mine = statistics.median(our_t)
    return {
        "chunks": chunks,
        "raw_sdk_ms": round(raw * 1000, 2),
        "ours_ms": round(mine * 1000, 2),
        "overhead_per_chunk_us": round((mine - raw) / chunks * 1e6, 2),
        "ratio": round(mine / raw, 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--click", type=Path, default=CLICK_BUNDLE)
    ap.add_argument(
        "--parts",
        default="cache,budget,stream,context",
        help="comma-separated subset of cache,budget,stream,context",
    )
    args = ap.parse_args()
    random.seed(1)
    tmp = Path(tempfile.mkdtemp(prefix="mira-llm-bench-"))
    try:
        parts = set(args.parts.split(","))
        result: dict[str, object] = {}
        if "cache" in parts:
            result["cache_lookup"] = bench_cache(tmp, args.entries)
        if "budget" in parts:
            result["budget_reservation"] = bench_budget(tmp)
        if "stream" in parts:
            result["streaming"] = bench_stream()
        if "context" in parts:
            result["context_assembly"] = bench_context(tmp, args.click)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
