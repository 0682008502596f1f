"""Code understanding benchmark (issue 19), printing JSON.

The three rows of issue 19's benchmark:

- ``analysis``: LLM calls and tokens per 1,000 symbols of the semantic analysis of a clone
  of click, first on a fresh database, then after editing 1% of its functions (a comment
  line inside each body) and re-indexing (target: the re-run costs <= 2% of the first). The
  endpoint is a loopback OpenAI-format server (tests/support/openai_server.py) answering
  every batch validly; token counts are o200k_base counts of what was sent and answered.
- complexity measurement as a ratio of the full index time, on the same clone (target
  <= 1.1): the index measures complexity, nesting and parameters with the tree it parses
  (migration 045), and the quality pass joins them with the mined churn and writes the
  issues. ``index_plus_quality_over_index_without_shapes`` is the honest ratio: the time the
  index spends on nesting and parameters (``shapes_seconds_median``, timed over the same
  trees) is taken out of its baseline.
- ``clusters`` (with ``--clusters BUNDLE``): the domain clusters' computation.

With ``--clusters BUNDLE`` (e.g. /work/shared/corpus/sqlalchemy.bundle) it also indexes and
mines that corpus once and times the domain clusters' computation (file graph, Louvain,
names, experts, stored) over the rounds.

With ``--graph DB`` (an indexed, mined database, e.g. lsp_bench's cached
``$TMPDIR/mira-lsp-bench/sqlalchemy/mira.db``; a copy is used) it times the semantic graph:
the first build, a rebuild, the refresh of one small and of the most called file, the
concepts' edges and ``concept:`` lookups over three synthetic concepts per definition, and
the design pattern detection with its estimate.

Usage: python bench/understanding_bench.py [--click /path/to/click.bundle] [--rounds 3]
           [--no-analysis] [--clusters /path/to/sqlalchemy.bundle] [--graph DB [--graph-only]]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from mira_ls.config import IndexSettings
from mira_ls.index import indexer
from mira_ls.store import open_store
from mira_ls.understand import quality

CLICK_BUNDLE = Path("/work/shared/corpus/click.bundle")
EDIT_SHARE = 0.01


def _analyst(body: dict) -> object:
    """A valid analysis of every symbol of a batch, with o200k_base token counts."""
    import re

    from mira_ls.llm import tokens
    from tests.support.openai_server import Answer

    prompt = body["messages"][-1]["content"]
    items = [
        {"id": int(i), "purpose": f"Does the work of {qn}.", "concepts": ["cli"],
         "domain": "command line", "side_effects": []}
        for i, qn in re.findall(r"^## id (\d+): \w+ (\S+)", prompt, re.M)
    ]  # fmt: skip
    text = json.dumps({"symbols": items})
    sent = sum(tokens.count(m["content"]) for m in body["messages"] if m.get("content"))
    return Answer(text=text, prompt_tokens=sent, completion_tokens=tokens.count(text))


def _edit_functions(store: object, project_id: int, root: Path, share: float) -> int:
    """Insert a comment line before the last line of every 1/share-th function (by file and
    line), so their content changes and nothing else does; how many were edited."""
    conn = store.conn()  # type: ignore[attr-defined]
    rows = conn.execute(
        "SELECT file_path, start_line, end_line FROM code_elements WHERE project_id = ? AND "
        "kind IN ('function', 'method') AND end_line > start_line ORDER BY file_path, start_line",
        (project_id,),
    ).fetchall()
    step = max(round(1 / share), 1)
    chosen = rows[::step]
    by_file: dict[str, list[int]] = {}
    for path, _, end in chosen:
        by_file.setdefault(path, []).append(end)
    for path, ends in by_file.items():
        f = root / path
        lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
        for end in sorted(set(ends), reverse=True):
            last = lines[end - 1]
            indent = last[: len(last) - len(last.lstrip())]
            lines.insert(end - 1, f"{indent}# edited for the benchmark\n")
        f.write_text("".join(lines), encoding="utf-8")
    return len(chosen)


def _shapes_seconds(store: object, project_id: int, root: Path) -> float:
    """What the index spent on nesting and parameters: index/metrics.shapes over each
    indexed file's tree (the parse itself is the index's anyway, so not timed)."""
    from mira_ls.index.metrics import shapes
    from mira_ls.index.symbols import decode, parse

    conn = store.conn()  # type: ignore[attr-defined]
    rows = conn.execute(
        "SELECT DISTINCT file_path, language FROM code_elements WHERE project_id = ? AND "
        "kind IN ('function', 'method', 'constructor')",
        (project_id,),
    ).fetchall()
    total = 0.0
    for path, language in rows:
        src, _ = decode((root / path).read_bytes())
        tree = parse(src, language)
        t0 = time.perf_counter()
        shapes(tree.root_node, language)
        total += time.perf_counter() - t0
    return total


def analysis_bench(bundle: str, tmp: Path) -> dict[str, object]:
    """Semantic analysis calls and tokens per 1,000 symbols: first, then after editing 1%."""
    from mira_ls.config import Settings
    from mira_ls.llm.service import LlmService
    from mira_ls.understand import semantic
    from tests.support.openai_server import OpenAIServer

    root = tmp / "analysis-corpus"
    subprocess.run(
        ["git", "-c", "advice.detachedHead=false", "clone", "-q", bundle, str(root)], check=True
    )
    settings = Settings()
    settings.budget.daily_usd = settings.budget.monthly_usd = 100_000.0
    settings.llm.max_retries = 0
    store = open_store(tmp / "analysis-db" / "mira.db")
    try:
        with OpenAIServer(_analyst) as srv:  # type: ignore[arg-type]
            settings.llm.base_url = srv.base_url
            svc = LlmService(store, settings, {"MIRA_OPENAI_API_KEY": "sk-bench-0123456789abcdef"})
            pid = indexer.index_workspace(store, root, settings.index).project_id
            rounds = []
            edited = 0
            for r in range(2):
                if r == 1:
                    edited = _edit_functions(store, pid, root, EDIT_SHARE)
                    indexer.index_workspace(store, root, settings.index)
                p = semantic.plan(svc, root, pid)
                t0 = time.perf_counter()
                done = semantic.run(store, svc, pid, p)
                seconds = time.perf_counter() - t0
                total = len(p.pending) + p.analysed
                k = 1000 / max(total, 1)
                rounds.append({
                    "symbols": total, "asked": len(p.pending), "calls": done.calls,
                    "input_tokens": done.input_tokens, "output_tokens": done.output_tokens,
                    "calls_per_1000_symbols": round(done.calls * k, 2),
                    "tokens_per_1000_symbols": round((done.input_tokens + done.output_tokens) * k),
                    "cost_usd": done.cost_micro / 1e6, "seconds": round(seconds, 2),
                    "asked_by_kind": dict(Counter(x.kind for x in p.pending)),
                })  # fmt: skip
            first, rerun = rounds
            first_tokens = first["input_tokens"] + first["output_tokens"]  # type: ignore[operator]
            rerun_tokens = rerun["input_tokens"] + rerun["output_tokens"]  # type: ignore[operator]
            return {
                "corpus": Path(bundle).stem, "functions_edited": edited, "first": first,
                "rerun_after_editing_1pct": rerun,
                "rerun_tokens_over_first": round(rerun_tokens / max(first_tokens, 1), 4),
                "rerun_calls_over_first": round(
                    rerun["calls"] / max(first["calls"], 1), 4  # type: ignore[operator]
                ),
                "rerun_cost_over_first": round(
                    rerun["cost_usd"] / max(first["cost_usd"], 1e-12), 4  # type: ignore[operator]
                ),
            }  # fmt: skip
    finally:
        store.close()


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
    ap.add_argument("--no-analysis", action="store_true", help="skip the LLM analysis row")
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
        shapes_s: list[float] = []
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
                shapes_s.append(_shapes_seconds(store, stats.project_id, root))
                functions, issues, files = len(run.functions), len(run.with_issues), run.files
            finally:
                store.close()
        idx, qual = statistics.median(index_s), statistics.median(quality_s)
        shp = statistics.median(shapes_s)
        extra = (
            {"clusters": clusters_bench(args.clusters, tmp, args.rounds)} if args.clusters else {}
        )
        if not args.no_analysis:
            extra["analysis"] = analysis_bench(args.click, tmp)
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
                    "shapes_seconds_median": round(shp, 3),
                    "index_plus_quality_over_index_without_shapes": round(
                        (idx + qual) / (idx - shp), 3
                    ),
                    **extra,
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
