"""Code understanding benchmark (issue 19), printing JSON.

Measured so far: the quality pass (nesting and parameters from one tree-sitter parse per
file, joined with the index's complexity and the mined churn, issues written) as a ratio
of the full index time, on a clone of click. The LLM analysis part (calls and tokens on a
re-run over an unchanged workspace) is not built yet, so it is not reported.

With ``--clusters BUNDLE`` (e.g. /work/shared/corpus/sqlalchemy.bundle) it also indexes and
mines that corpus once and times the domain clusters' computation (file graph, Louvain,
names, experts, stored) over the rounds.

With ``--graph DB`` (an indexed, mined database, e.g. lsp_bench's cached
``$TMPDIR/mira-lsp-bench/sqlalchemy/mira.db``; a copy is used) it times the semantic graph:
the first build, a rebuild, the refresh of one small and of the most called file, the
concepts' edges and ``concept:`` lookups over three synthetic concepts per definition, and
the design pattern detection with its estimate.

Usage: python bench/understanding_bench.py [--click /path/to/click.bundle] [--rounds 3]
           [--clusters /path/to/sqlalchemy.bundle] [--graph DB [--graph-only]]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from mira_ls.config import IndexSettings
from mira_ls.index import indexer
from mira_ls.store import open_store
from mira_ls.understand import quality

CLICK_BUNDLE = Path("/work/shared/corpus/click.bundle")


def clusters_bench(bundle: str, tmp: Path, rounds: int) -> dict[str, object]:
    """Index and mine ``bundle`` once, then time clusters.compute ``rounds`` times."""
    from mira_ls.config import Settings
    from mira_ls.git import miner
    from mira_ls.understand import clusters

    root = tmp / "clusters-corpus"
    subprocess.run(
        ["git", "-c", "advice.detachedHead=false", "clone", "-q", bundle, str(root)], check=True
    )
    settings = Settings()
    store = open_store(tmp / "clusters-db" / "mira.db")
    try:
        stats = indexer.index_workspace(store, root, settings.index)
        mined = miner.mine(store, stats.project_id, root, settings)
        seconds: list[float] = []
        same = True
        first: list[list[str]] | None = None
        for _ in range(rounds):
            t0 = time.perf_counter()
            run = clusters.compute(store, stats.project_id)
            seconds.append(time.perf_counter() - t0)
            members = [c.members for c in run.clusters]
            same = same and (first is None or members == first)
            first = members if first is None else first
        return {
            "corpus": Path(bundle).stem,
            "files": run.files,
            "linked_files": run.linked,
            "commits_mined": mined.total_commits,
            "edges": run.signals,
            "clusters": len(run.clusters),
            "seconds": [round(x, 3) for x in seconds],
            "seconds_median": round(statistics.median(seconds), 3),
            "same_clusters_every_round": same,
        }
    finally:
        store.close()


def _ms(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"p50_ms": round(1000 * xs[len(xs) // 2], 2),
            "p95_ms": round(1000 * xs[min(len(xs) - 1, int(len(xs) * 0.95))], 2)}  # fmt: skip


def graph_bench(db: str, tmp: Path, rounds: int) -> dict[str, object]:
    """The semantic graph and design patterns on a copy of an indexed database."""
    import random

    from mira_ls.config import Settings
    from mira_ls.store import semantic_graph as sg
    from mira_ls.understand import graph, patterns

    copy = tmp / "graph-db" / "mira.db"
    copy.parent.mkdir(parents=True)
    shutil.copy(db, copy)
    store = open_store(copy)
    try:
        conn = store.conn()
        pid, root = conn.execute("SELECT id, root_path FROM projects LIMIT 1").fetchone()
        first = graph.refresh_all(store, pid).seconds
        again = [graph.refresh_all(store, pid).seconds for _ in range(rounds)]
        small, big = conn.execute(
            "SELECT (SELECT file_path FROM code_elements WHERE project_id = ?1 GROUP BY"
            " file_path ORDER BY count(*), file_path LIMIT 1), (SELECT e.file_path FROM"
            " call_graph g JOIN code_elements e ON e.id = g.callee_id WHERE g.project_id = ?1"
            " GROUP BY e.file_path ORDER BY count(*) DESC LIMIT 1)",
            (pid,),
        ).fetchone()
        one = {f: [graph.refresh(store, pid, [f]).seconds for _ in range(5 * rounds)]
               for f in (small, big)}  # fmt: skip
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM code_elements WHERE project_id = ? AND kind IN ('function',"
            " 'method', 'class')", (pid,))]  # fmt: skip
        words = ["retry policy", "session cookie", "sql compiler", "connection pool"]
        words += [f"concept {i}" for i in range(2000)]
        rnd = random.Random(19)
        with store.write() as w:
            w.executemany(
                "INSERT OR IGNORE INTO concept_index(project_id, concept, symbol_id,"
                " confidence) VALUES (?, ?, ?, 0.8)",
                [(pid, rnd.choice(words), i) for i in ids for _ in range(3)],
            )
        t0 = time.perf_counter()
        graph.refresh(store, pid, parts=("concepts",))
        concepts_s = time.perf_counter() - t0
        lookups = {}
        for q in ("retry policy", "concept 1", "nothing like it"):
            ts = []
            for _ in range(50):
                t0 = time.perf_counter()
                n = len(sg.concept_symbols(conn, pid, q, 200))
                ts.append(time.perf_counter() - t0)
            lookups[q] = {"symbols": n, **_ms(ts)}
        t0 = time.perf_counter()
        plan = patterns.plan(store, Settings(), Path(root), pid, estimate=True)
        patterns_s = time.perf_counter() - t0
        counts: dict[str, int] = {}
        for c in plan.found:
            counts[c.pattern] = counts.get(c.pattern, 0) + 1
        return {
            "graph": sg.stats(conn, pid).as_json(),
            "first_build_s": round(first, 3),
            "rebuild_s": round(statistics.median(again), 3),
            "refresh_one_file": {f: _ms(ts) for f, ts in one.items()},
            "concept_rows": len(ids) * 3,
            "concept_edges_s": round(concepts_s, 3),
            "concept_lookups": lookups,
            "patterns": {
                "found": len(plan.found),
                "by_pattern": counts,
                "calls_planned": len(plan.prompts),
                "estimated_usd": round(plan.cost_micro / 1e6, 4),
                "seconds": round(patterns_s, 3),
            },
        }
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--click", default=str(CLICK_BUNDLE))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clusters", default="", metavar="BUNDLE", help="time domain clusters")
    ap.add_argument("--graph", default="", metavar="DB", help="time the semantic graph")
    ap.add_argument("--graph-only", action="store_true", help="only the --graph part")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mira-understanding-bench-"))
    try:
        if args.graph_only:
            print(json.dumps({"graph": graph_bench(args.graph, tmp, args.rounds)}, indent=2))
            return
        root = tmp / "click"
        subprocess.run(
            ["git", "-c", "advice.detachedHead=false", "clone", "-q", args.click, str(root)],
            check=True,
        )
        index_s: list[float] = []
        quality_s: list[float] = []
        functions = issues = files = 0
        for r in range(args.rounds):
            store = open_store(tmp / f"db{r}" / "mira.db")
            try:
                t0 = time.perf_counter()
                stats = indexer.index_workspace(store, root, IndexSettings(workers=1))
                index_s.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                run = quality.measure_project(store, stats.project_id, root)
                quality_s.append(time.perf_counter() - t0)
                functions, issues, files = len(run.functions), len(run.with_issues), run.files
            finally:
                store.close()
        idx, qual = statistics.median(index_s), statistics.median(quality_s)
        extra = (
            {"clusters": clusters_bench(args.clusters, tmp, args.rounds)} if args.clusters else {}
        )
        if args.graph:
            extra["graph"] = graph_bench(args.graph, tmp, args.rounds)
        print(
            json.dumps(
                {
                    "corpus": "click",
                    "rounds": args.rounds,
                    "files": files,
                    "functions": functions,
                    "functions_with_issues": issues,
                    "index_seconds_median": round(idx, 3),
                    "quality_seconds_median": round(qual, 3),
                    "quality_over_index": round(qual / idx, 3),
                    "index_plus_quality_over_index": round((idx + qual) / idx, 3),
                    **extra,
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
