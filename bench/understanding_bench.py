"""Code understanding benchmark (issue 19), printing JSON.

Measured so far: the quality pass (nesting and parameters from one tree-sitter parse per
file, joined with the index's complexity and the mined churn, issues written) as a ratio
of the full index time, on a clone of click. The LLM analysis part (calls and tokens on a
re-run over an unchanged workspace) is not built yet, so it is not reported.

With ``--clusters BUNDLE`` (e.g. /work/shared/corpus/sqlalchemy.bundle) it also indexes and
mines that corpus once and times the domain clusters' computation (file graph, Louvain,
names, experts, stored) over the rounds.

Usage: python bench/understanding_bench.py [--click /path/to/click.bundle] [--rounds 3]
           [--clusters /path/to/sqlalchemy.bundle]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--click", default=str(CLICK_BUNDLE))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clusters", default="", metavar="BUNDLE", help="time domain clusters")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mira-understanding-bench-"))
    try:
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
