"""MCP tool-call latency: prints one JSON object.

Clones a corpus bundle, starts `mira-ls mcp` on it with a fresh database through the
official SDK's stdio client, and times (wall clock, client side) the first call (which
waits for the start-up index and mining) and then ``--calls`` calls of each of
search_symbols, callers, experts and past_fixes, and what a call pays besides its tool;
then the same in a second server started on the database the first one filled. The same
queries through the CLI (`mira-ls symbols/callers/experts/fixes`, a process each) beside
them.

Usage: python bench/mcp_bench.py [--bundle ../shared/corpus/click.bundle] [--calls 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client

QUERIES: dict[str, dict[str, dict[str, Any]]] = {
    "click": {
        "search_symbols": {"query": "echo"},
        "callers": {"name": "echo"},
        "experts": {"path": "src/click/core.py"},
        "past_fixes": {"error_text": "TypeError: option default is not a string"},
    },
    "sqlalchemy": {
        "search_symbols": {"query": "execute"},
        "callers": {"name": "_execute_context"},
        "experts": {"path": "lib/sqlalchemy/engine/base.py"},
        "past_fixes": {"error_text": "AttributeError: 'NoneType' object has no attribute"},
    },
}


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(p * len(xs)))], 2)


def _stats(xs: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(xs), 2), "p95_ms": _pct(xs, 0.95), "n": len(xs)}


def _cli_args(tool: str, a: dict[str, Any], root: Path) -> list[str]:
    if tool == "search_symbols":
        return ["symbols", a["query"], "--root", str(root)]
    if tool == "callers":
        return ["callers", a["name"], "--root", str(root)]
    if tool == "experts":
        return ["experts", str(root / a["path"])]
    return ["fixes", a["error_text"], "--project", str(root)]


async def _session(root: Path, env: dict[str, str], calls: int, queries: Any) -> dict[str, Any]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mira_ls", "mcp", "--workspace", str(root)],
        env=env,
    )
    out: dict[str, Any] = {}
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (r, w), ClientSession(r, w) as s:
            await s.initialize()
            t0 = time.perf_counter()
            await s.call_tool("search_symbols", {"query": "x"}, progress_callback=on_progress)
            out["first_call_s"] = round(time.perf_counter() - t0, 2)
            out["progress_messages"] = len(progress)
            out["last_progress"] = progress[-1] if progress else None
            for tool, args in queries.items():
                times = []
                for _ in range(calls):
                    t = time.perf_counter()
                    res = await s.call_tool(tool, args)
                    times.append((time.perf_counter() - t) * 1000)
                    assert not res.is_error, res
                out[tool] = _stats(times)
            # what every call pays besides its tool: the protocol alone (tools/list), and
            # the protocol with the freshness check (a call of a tool that does not exist)
            for label, ask in (
                ("protocol_only", lambda: s.list_tools()),
                ("protocol_and_freshness", lambda: s.call_tool("no_such_tool", {})),
            ):
                times = []
                for _ in range(calls):
                    t = time.perf_counter()
                    await ask()
                    times.append((time.perf_counter() - t) * 1000)
                out[label] = _stats(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", default="../shared/corpus/click.bundle")
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--cli-calls", type=int, default=5)
    a = ap.parse_args()
    name = Path(a.bundle).stem
    queries = QUERIES[name]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / name
        subprocess.run(["git", "clone", "-q", a.bundle, str(root)], check=True)
        env = {
            **os.environ,
            "MIRA_DB": str(Path(tmp) / "mira.db"),
            "XDG_STATE_HOME": str(Path(tmp) / "state"),
        }
        env.pop("OPENAI_API_KEY", None)
        result: dict[str, Any] = {
            "corpus": name,
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, load "
            + " ".join(f"{x:.1f}" for x in os.getloadavg()),
            "mcp": asyncio.run(_session(root, env, a.calls, queries)),
            # an agent starting again on a workspace already indexed and mined
            "mcp_restarted": asyncio.run(_session(root, env, a.calls, queries)),
            "cli": {},
        }
        for tool, args in queries.items():
            times = []
            for _ in range(a.cli_calls):
                t = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "mira_ls", *_cli_args(tool, args, root)],
                    env=env,
                    capture_output=True,
                    check=True,
                )
                times.append((time.perf_counter() - t) * 1000)
            result["cli"][tool] = _stats(times)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
