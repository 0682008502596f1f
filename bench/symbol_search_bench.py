"""Workspace symbol search in the store, without the server: prints one JSON object.

    python bench/symbol_search_bench.py [CORPUS] [--db FILE] [--rounds 5] [--limit 200]
                                        [--queries 50] [--hovers 20] [--open 12] [--seed 13]

- The queries are the ones bench/lsp_bench.py sends with the same ``--seed``, ``--open``,
  ``--hovers`` and ``--queries`` (its ``workload``: half prefixes, half fuzzy subsequences of
  names defined in the opened files), so the two benches measure the same requests.
- The database is a copy of lsp_bench's cached one for the corpus (``--db`` for another),
  migrated by this checkout's store, the names' words filled as the server's first index
  run fills them; the corpus is a git bundle or a work tree.
- ``store.search_symbols`` (this checkout) and the reference, the search as it was before
  the symbol_names table (tests/support/symbol_search_reference.py), alternate query by query
  on one warm connection, ``--rounds`` times over the queries; p50/p95/max in milliseconds
  over every call, and over each query's best round (what the machine's load adds least
  to). ``same_results`` counts the queries whose answers (ids, in order) are identical;
  ``differences`` lists the others, each with whether the new answer is the reference's
  without its row caps (the reference asked for 5000, cut to the limit).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lsp_bench import DEFAULT_CORPUS, pct, workload
from mira_ls.store import code as cs
from mira_ls.store import open_store
from tests.support.symbol_search_reference import search_symbols_reference


def stats(times: list[float], best: list[float]) -> dict[str, Any]:
    return {
        "n": len(times),
        "p50_ms": pct(times, 50),
        "p95_ms": pct(times, 95),
        "max_ms": pct(times, 100),
        "best_of_rounds_p50_ms": pct(best, 50),
        "best_of_rounds_p95_ms": pct(best, 95),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    ap.add_argument("--db", default=None, help="an indexed database (default: lsp_bench's)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--limit", type=int, default=200, help="as workspace/symbol asks")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--hovers", type=int, default=20)
    ap.add_argument("--open", type=int, default=12)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()

    corpus = Path(args.corpus)
    cache = Path(tempfile.gettempdir()) / "mira-lsp-bench" / corpus.stem
    source_db = Path(args.db) if args.db else cache / "mira.db"
    if not source_db.exists():
        sys.exit(f"no database at {source_db}: run bench/lsp_bench.py once or pass --db")
    with tempfile.TemporaryDirectory(prefix="mira-symbol-bench-") as tmp:
        root = corpus.resolve() if corpus.is_dir() else Path(tmp) / "repo"
        if not corpus.is_dir():
            subprocess.run(["git", "clone", "-q", str(corpus), str(root)], check=True)
        w = workload(root, args.seed, args.open, args.hovers, args.queries)
        db = Path(tmp) / "mira.db"
        shutil.copyfile(source_db, db)
        store = open_store(db)
        with store.write() as c:  # what the server's first index run does after migration 024
            cs.fill_symbol_words(c)
        conn = store.conn()
        (pid,) = conn.execute("SELECT id FROM projects ORDER BY id LIMIT 1").fetchone()
        funcs = {
            "new": lambda q: cs.search_symbols(conn, pid, q, limit=args.limit),
            "reference": lambda q: search_symbols_reference(conn, pid, q, limit=args.limit),
        }
        times: dict[str, list[float]] = {k: [] for k in funcs}
        best: dict[str, dict[str, float]] = {k: {} for k in funcs}
        answers: dict[str, dict[str, list[int]]] = {k: {} for k in funcs}
        for f in funcs.values():  # warm the page cache and the statement cache
            for q in w["queries"]:
                f(q)
        for _ in range(args.rounds):
            for q in w["queries"]:
                for name, f in funcs.items():
                    t0 = time.perf_counter()
                    rows = f(q)
                    dt = time.perf_counter() - t0
                    times[name].append(dt)
                    best[name][q] = min(dt, best[name].get(q, dt))
                    answers[name][q] = [r.id for r in rows]
        symbols = int(conn.execute("SELECT count(*) FROM code_elements").fetchone()[0])
        diffs = [
            {
                "query": q,
                "same_as_reference_uncut": answers["new"][q]
                == [r.id for r in search_symbols_reference(conn, pid, q, limit=5000)][: args.limit],
            }
            for q in w["queries"]
            if answers["new"][q] != answers["reference"][q]
        ]
        store.close()
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "load": [round(x, 2) for x in os.getloadavg()],
        "corpus": corpus.name,
        "symbols": symbols,
        "queries": len(w["queries"]),
        "limit": args.limit,
        "rounds": args.rounds,
        "new": stats(times["new"], list(best["new"].values())),
        "reference": stats(times["reference"], list(best["reference"].values())),
        "same_results": len(w["queries"]) - len(diffs),
        "differences": diffs,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
