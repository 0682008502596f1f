"""Search benchmark (issue 16): prints one JSON object.

    python bench/search_bench.py BUNDLE_OR_PATH [--rounds 3] [--baseline SRC]
        [--dims 256 [--dims 3072]] [--queries 50] [--skip-index] [--skip-embed]

- ``fts_overhead``: full index of the corpus (a git bundle is cloned into a temporary
  directory), jedi off, each run a fresh process and a fresh database, alternating
  variants, medians of ``--rounds`` (wall and CPU, the workers' included):
  ``this`` (this checkout) and ``no_fts`` (this checkout with the keyword index's work
  stubbed out in every process, the fork server's workers included, through a
  ``sitecustomize`` on PYTHONPATH: no search-row text built in the workers, none pickled,
  queued or written, no backfill); ratio = this / no_fts. That is the clean baseline:
  the same code minus the FTS5 work. ``--baseline SRC`` adds another mira-ls source tree
  (e.g. ``git archive`` of the parent of the commit adding migrations/016_search.sql) as
  a third variant; it differs from this checkout by every later commit too, so its ratio
  is reported beside, not instead. ``timed_functions``: one more index of this checkout
  with the keyword index's functions timed in each process (the workers' search-row
  building, the main process's FTS5 inserts), as shares of the workers' CPU and of the
  index's wall.
- ``embeddings`` (per ``--dims``): the loopback OpenAI-compatible server of
  tests/support/openai_server.py (deterministic vectors from words) runs as a child
  process that reports its embedding request count on demand; ``mira-ls embed ROOT
  --collection code --yes`` (which indexes first) into a fresh database, then
  ``mira-ls index ROOT`` and the same embed again: the embedding requests of that second
  run (0 expected).
- ``search`` (per ``--dims``): ``--queries`` queries of three docstring words of the
  corpus (seeded sample), in this process through ``mira_ls.search.hybrid.search``:
  hybrid with a new query (its embedding request included), hybrid again (the query's
  vector is stored), and keyword only (vectors.semantic off), p50/p95 ms.
- ``load``: os.getloadavg() at start and end (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

_INDEX_ONE = """
import json, sys, time, resource
from pathlib import Path
from mira_ls.config import IndexSettings
from mira_ls.index import indexer
from mira_ls.store import open_store
store = open_store(Path(sys.argv[2]))
t = time.perf_counter()
stats = indexer.index_workspace(store, Path(sys.argv[1]), IndexSettings(jedi=False))
wall = time.perf_counter() - t
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
conn = store.conn()
def count(table):
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except Exception:
        return None
print(json.dumps({"wall": wall, "cpu": cpu, "symbols": count("code_elements"),
                  "search_rows": count("search_symbols")}))
"""

# Loaded by every Python process started with this folder first on PYTHONPATH (the fork
# server and its workers too): the keyword index's work becomes nothing.
_NO_FTS = """
import os
if os.environ.get("MIRA_BENCH_NO_FTS") == "1":
    from mira_ls.index import indexer, worker
    from mira_ls.store import search as search_store

    worker.search_rows = lambda data, symbols: None
    worker.SearchRows = lambda data, symbols: None
    search_store.insert_symbol_rows = lambda conn, rows: None
    search_store.replace_symbol_rows = lambda conn, rows: None
    search_store.needs_backfill = lambda conn, pid: False
    indexer.backfill_search = lambda *a, **k: 0
"""

# The same, timing the keyword index's functions instead: each process rewrites
# MIRA_BENCH_TIME_FTS/<pid>.json with its totals after every call (pool workers end with
# os._exit: no atexit).
_TIME_FTS = """
import os
out = os.environ.get("MIRA_BENCH_TIME_FTS")
if out:
    import json, resource, time
    from mira_ls.index import worker
    from mira_ls.store import search as search_store

    totals = {}

    def timed(name, fn):
        def wrapped(*a, **k):
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                t = totals.setdefault(name, [0.0, 0.0, 0])
                t[0] += time.perf_counter() - w
                t[1] += time.process_time() - c
                t[2] += 1
                ru = resource.getrusage(resource.RUSAGE_SELF)
                with open(os.path.join(out, f"{os.getpid()}.json"), "w") as f:
                    json.dump({"totals": totals, "cpu": ru.ru_utime + ru.ru_stime}, f)
        return wrapped

    worker.search_rows = timed("search_rows", worker.search_rows)
    search_store.insert_symbol_rows = timed("insert_symbol_rows", search_store.insert_symbol_rows)
    search_store.replace_symbol_rows = timed(
        "replace_symbol_rows", search_store.replace_symbol_rows
    )
"""

# The loopback server as a child process: prints its port, then answers "count" on stdin
# with the number of embedding requests (inputs summed after a space) it has received.
_SERVER = """
import sys
from tests.support.openai_server import OpenAIServer
srv = OpenAIServer().start()
print(srv.port, flush=True)
for line in sys.stdin:
    reqs = srv.embedding_requests()
    n = 0
    for r in reqs:
        i = r.body.get("input")
        n += 1 if isinstance(i, str) else len(i or [])
    print(len(reqs), n, flush=True)
srv.stop()
"""

_STOP = {
    "this", "that", "with", "from", "which", "will", "have", "been", "when", "should",
    "into", "also", "used", "uses", "using", "their", "there", "these", "those", "then",
    "than", "they", "what", "where", "would", "could", "does", "each", "such", "only",
    "other", "more", "some", "must", "here", "returns", "return", "given", "being",
    "were", "within", "about", "after", "before", "note", "versionadded", "versionchanged",
    "seealso", "param", "class", "method", "function", "object", "attr", "meth", "func",
    "sqlalchemy", "none", "true", "false", "self", "value", "values",
}  # fmt: skip


def _clone(source: str, scratch: Path) -> Path:
    if source.endswith(".bundle"):
        dest = scratch / Path(source).stem
        subprocess.run(["git", "clone", "-q", source, str(dest)], check=True)
        return dest
    return Path(source).resolve()


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def _ms(xs: list[float]) -> dict[str, float]:
    return {"p50_ms": round(_pct(xs, 0.5), 1), "p95_ms": round(_pct(xs, 0.95), 1)}


def _timed_index(
    src: Path, root: Path, db: Path, extra_path: Path | None = None, env_add: Any = None
) -> Any:
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if p.exists():
            p.unlink()
    path = [str(src)] if extra_path is None else [str(extra_path), str(src)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), **(env_add or {})}
    out = subprocess.run(
        [sys.executable, "-c", _INDEX_ONE, str(root), str(db)],
        env=env,
        cwd=str(src),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def fts_overhead(root: Path, scratch: Path, rounds: int, baseline: str | None) -> dict[str, Any]:
    stub = scratch / "nofts"
    stub.mkdir()
    (stub / "sitecustomize.py").write_text(_NO_FTS + _TIME_FTS)
    variants: dict[str, tuple[Path, Path | None]] = {"this": (HERE, None), "no_fts": (HERE, stub)}
    no_fts = {"MIRA_BENCH_NO_FTS": "1"}
    if baseline:
        variants["baseline"] = (Path(baseline).resolve(), None)
    runs: dict[str, list[Any]] = {k: [] for k in variants}
    for r in range(rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in order:
            src, extra = variants[name]
            add = no_fts if name == "no_fts" else None
            runs[name].append(_timed_index(src, root, scratch / f"{name}.db", extra, add))
    med = {
        k: {
            "wall_s": round(statistics.median(x["wall"] for x in v), 2),
            "cpu_s": round(statistics.median(x["cpu"] for x in v), 2),
            "walls": [round(x["wall"], 2) for x in v],
            "symbols": v[-1]["symbols"],
            "search_rows": v[-1]["search_rows"],
        }
        for k, v in runs.items()
    }
    out: dict[str, Any] = {"rounds": rounds, "variants": med}
    for base in ("no_fts", "baseline"):
        if base in med:
            out[f"wall_ratio_vs_{base}"] = round(med["this"]["wall_s"] / med[base]["wall_s"], 3)
            out[f"cpu_ratio_vs_{base}"] = round(med["this"]["cpu_s"] / med[base]["cpu_s"], 3)
    out["timed_functions"] = _timed_functions(root, scratch, stub)
    return out


def _timed_functions(root: Path, scratch: Path, stub: Path) -> dict[str, Any]:
    """One more index of this checkout with the keyword index's functions timed: the
    workers' row building (CPU, against the workers' own CPU) and the main process's FTS5
    writes (wall, against the index's wall). FTS5 work deferred to the commit is not in it."""
    times = scratch / "fts-times"
    times.mkdir()
    run = _timed_index(HERE, root, scratch / "timed.db", stub, {"MIRA_BENCH_TIME_FTS": str(times)})
    rows_cpu = {"main": 0.0, "workers": 0.0}
    write_wall = write_cpu = worker_cpu = 0.0
    calls = 0
    for f in times.glob("*.json"):
        d = json.loads(f.read_text())
        t = d["totals"]
        where = "main" if "insert_symbol_rows" in t else "workers"
        if "search_rows" in t:
            rows_cpu[where] += t["search_rows"][1]
            calls += t["search_rows"][2]
        if where == "workers":
            worker_cpu += d["cpu"]
        for k in ("insert_symbol_rows", "replace_symbol_rows"):
            if k in t:
                write_wall += t[k][0]
                write_cpu += t[k][1]
    return {
        "index_wall_s": round(run["wall"], 2),
        "index_main_cpu_s": round(run["cpu"], 2),
        "workers_cpu_s": round(worker_cpu, 2),
        "row_building_calls": calls,
        "row_building_cpu_s_workers": round(rows_cpu["workers"], 2),
        "row_building_cpu_s_main": round(rows_cpu["main"], 2),
        "row_building_share_of_workers_cpu": round(rows_cpu["workers"] / worker_cpu, 3)
        if worker_cpu
        else None,
        "fts_write_wall_s": round(write_wall, 2),
        "fts_write_cpu_s": round(write_cpu, 2),
        "fts_write_share_of_index_wall": round(write_wall / run["wall"], 3),
        "fts_write_and_main_rows_share_of_main_cpu": round(
            (write_cpu + rows_cpu["main"]) / run["cpu"], 3
        ),
    }


class _Server:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            cwd=str(HERE),
            env={**os.environ, "PYTHONPATH": str(HERE)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def count(self) -> tuple[int, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        a, b = self.proc.stdout.readline().split()
        return int(a), int(b)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _cli(env: dict[str, str], *args: str) -> tuple[float, Any]:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "mira_ls", *args],
        env=env,
        cwd=str(HERE),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"mira-ls {' '.join(args)} failed: {out.stderr[-2000:]}")
    try:
        return wall, json.loads(out.stdout)
    except json.JSONDecodeError:
        return wall, out.stdout[-500:]


def _queries(db: Path, n: int) -> list[str]:
    """Three content words of docstrings of the corpus, seeded; the first few by hand."""
    import sqlite3

    fixed = ["retry connection pool", "compile select statement", "reflect table columns"]
    conn = sqlite3.connect(db)
    docs = [
        r[0]
        for r in conn.execute(
            "SELECT docstring FROM code_elements WHERE docstring IS NOT NULL"
            " AND length(docstring) > 40 ORDER BY id"
        )
    ]
    conn.close()
    rng = random.Random(16)
    out = list(fixed)
    seen = set(out)
    while len(out) < n and docs:
        words = [w for w in re.findall(r"[a-z]{4,}", rng.choice(docs).lower()) if w not in _STOP]
        uniq = list(dict.fromkeys(words))
        if len(uniq) < 3:
            continue
        q = " ".join(uniq[:3])
        if q not in seen:
            seen.add(q)
            out.append(q)
    return out[:n]


def embeddings_and_search(root: Path, scratch: Path, dims: int, nq: int) -> dict[str, Any]:
    from dataclasses import replace

    from mira_ls import config
    from mira_ls.search import hybrid
    from mira_ls.store import open_store

    db = scratch / f"embed{dims}.db"
    srv = _Server()
    try:
        env = {
            **os.environ,
            "PYTHONPATH": str(HERE),
            "MIRA_DB": str(db),
            "MIRA_LLM_BASE_URL": f"http://127.0.0.1:{srv.port}/v1",
            "MIRA_OPENAI_API_KEY": "sk-bench-dummy",
            "MIRA_LLM_EMBEDDING_DIMENSIONS": str(dims),
            "MIRA_BUDGET_DAILY_USD": "1000",
        }
        embed = ("embed", str(root), "--collection", "code", "--yes", "--quiet", "--json")
        r0 = srv.count()
        w1, first = _cli(env, *embed)
        r1 = srv.count()
        wi, _ = _cli(env, "index", str(root), "--json")
        w2, second = _cli(env, *embed)
        r2 = srv.count()
        out: dict[str, Any] = {
            "dimensions": dims,
            "first_embed": {
                "wall_s": round(w1, 1),
                "requests": r1[0] - r0[0],
                "texts": r1[1] - r0[1],
                "cli": first.get("collections", first) if isinstance(first, dict) else first,
            },
            "reindex_unchanged": {
                "index_wall_s": round(wi, 1),
                "embed_wall_s": round(w2, 1),
                "embedding_requests": r2[0] - r1[0],
                "texts": r2[1] - r1[1],
                "cli": second.get("collections", second) if isinstance(second, dict) else second,
            },
            "db_mb": round(db.stat().st_size / 1e6, 1),
        }
        queries = _queries(db, nq)
        settings, problems = config.load(env)
        assert not problems, problems
        kw_settings = replace(settings, vectors=replace(settings.vectors, semantic=False))
        store = open_store(db)
        hybrid.search(store, settings, "warm up the connection", env=env)
        first_t, again_t, kw_t = [], [], []
        semantic = 0
        notes: set[str] = set()
        r3 = srv.count()
        for q in queries:
            t = time.perf_counter()
            ans = hybrid.search(store, settings, q, env=env)
            first_t.append((time.perf_counter() - t) * 1000)
            semantic += ans.semantic
            notes.update(ans.notes)
        r4 = srv.count()
        for q in queries:
            t = time.perf_counter()
            hybrid.search(store, settings, q, env=env)
            again_t.append((time.perf_counter() - t) * 1000)
        for q in queries:
            t = time.perf_counter()
            hybrid.search(store, kw_settings, q, env=env)
            kw_t.append((time.perf_counter() - t) * 1000)
        r5 = srv.count()
        store.close()
        out["search"] = {
            "queries": len(queries),
            "examples": queries[:8],
            "hybrid_new_query": {**_ms(first_t), "embedding_requests": r4[0] - r3[0]},
            "hybrid_stored_query": {**_ms(again_t), "embedding_requests": r5[0] - r4[0]},
            "keyword_only": _ms(kw_t),
            "semantic_answers": semantic,
            "notes": sorted(notes),
        }
        return out
    finally:
        srv.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source", help="a git bundle or a folder")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", help="another mira-ls source tree (index time beside)")
    ap.add_argument("--dims", type=int, action="append", help="embedding dimensions (256)")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--skip-index", action="store_true", help="no FTS overhead runs")
    ap.add_argument("--skip-embed", action="store_true", help="no embedding/search runs")
    args = ap.parse_args()
    result: dict[str, Any] = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "load_start": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        scratch = Path(tmp)
        root = _clone(args.source, scratch)
        result["corpus"] = Path(args.source).name
        if not args.skip_index:
            t = time.perf_counter()
            result["fts_overhead"] = fts_overhead(root, scratch, args.rounds, args.baseline)
            result["fts_overhead"]["bench_s"] = round(time.perf_counter() - t, 1)
        if not args.skip_embed:
            result["embeddings"] = []
            for dims in args.dims or [256]:
                t = time.perf_counter()
                part = embeddings_and_search(root, scratch, dims, args.queries)
                part["bench_s"] = round(time.perf_counter() - t, 1)
                result["embeddings"].append(part)
                print(json.dumps(part), file=sys.stderr, flush=True)
    result["load_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
