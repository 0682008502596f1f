"""Call graph benchmark: recall and precision of incoming call sites; prints one JSON object.

    python bench/callgraph_bench.py BUNDLE_OR_PATH [--top 30] [--jedi] [--baseline SRC]

- The corpus (a git bundle is cloned into a temporary directory) is indexed into a fresh
  database (jedi off unless ``--jedi``, which also runs the background jedi pass).
- Reference: for the ``--top`` most-called methods and functions of the project (ranked by
  call sites *with their name*, which does not depend on resolution), jedi run here as an
  independent computation: ``goto(follow_imports=True)`` at every call site with that name
  (the sites as tree-sitter found them, whatever mira-ls resolved them to) that lands on the
  definition. jedi's own reference search (``get_references(scope="project")``, calls and
  decorators only) is reported beside it as ``vs_reference_search``: it parses at most 30
  files it has not loaded (``jedi.inference.references._PARSED_FILE_LIMIT``), so on a
  project of more files it misses call sites that its goto finds. mira-ls's answer is the
  stored incoming edges of that definition (of all its ``@overload`` definitions).
- recall = found / reference, precision = found / what mira-ls reports, over all the
  definitions' call sites (micro-averaged), plus both where jedi answered at all.
- ``--baseline SRC``: another checkout of mira-ls (e.g. ``git archive main``) indexes the
  same files in the same run, alternating; index_ratio = this index time / the baseline's
  (medians of ``--rounds``), CPU seconds likewise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _clone(source: str, scratch: Path) -> Path:
    if source.endswith(".bundle"):
        dest = scratch / Path(source).stem
        subprocess.run(["git", "clone", "-q", source, str(dest)], check=True)
        return dest
    return Path(source).resolve()


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
print(json.dumps({"wall": wall, "cpu": cpu, "resolved": stats.resolved,
                  "unresolved": stats.unresolved}))
"""


def _timed_index(src: Path, root: Path, db: Path) -> dict[str, Any]:
    """One full index in a fresh process of the mira-ls at ``src`` (jedi off)."""
    if db.exists():
        db.unlink()
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", _INDEX_ONE, str(root), str(db)],
        env=env,
        cwd=str(src),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _candidates(conn: Any, pid: int, top: int) -> dict[str, list[tuple[Any, ...]]]:
    """The most-called methods and functions, ranked by call sites with their name; one
    per qualified name (the last definition: the implementation after its overloads),
    with the ids of all its definitions."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for kind in ("method", "function"):
        rows = conn.execute(
            "SELECT group_concat(e.id), e.file_path, e.name, e.qualified_name,"
            " max(e.name_line), e.name_col, group_concat(e.name_line),"
            " (SELECT count(*) FROM call_graph g WHERE g.project_id = e.project_id"
            "  AND g.callee_name = e.name) AS n"
            " FROM code_elements e WHERE e.project_id = ? AND e.kind = ? AND e.language = 'python'"
            " AND e.name NOT LIKE '\\_\\_%' ESCAPE '\\' GROUP BY e.qualified_name"
            " ORDER BY n DESC, e.qualified_name LIMIT ?",
            (pid, kind, top),
        ).fetchall()
        out[kind] = [tuple(r) for r in rows]
    return out


def _jedi_calls(
    root: Path, project: Any, rel: str, line: int, col: int
) -> set[tuple[str, int, int]]:
    import jedi

    script = jedi.Script(path=str(root / rel), project=project)
    refs = script.get_references(line, col, scope="project", include_builtins=False)
    out: set[tuple[str, int, int]] = set()
    lines_cache: dict[str, list[str]] = {}
    for r in refs:
        if r.module_path is None or r.line is None or r.is_definition():
            continue
        try:
            path = Path(r.module_path).resolve().relative_to(root).as_posix()
        except ValueError:
            continue
        if path not in lines_cache:
            try:
                lines_cache[path] = (root / path).read_text("utf-8", "replace").splitlines()
            except OSError:
                continue
        text = lines_cache[path][r.line - 1] if r.line <= len(lines_cache[path]) else ""
        after = text[r.column + len(r.name) :].lstrip()
        if after.startswith("(") or text.lstrip().startswith("@"):
            out.add((path, r.line, r.column))
    return out


def _goto_calls(
    root: Path,
    project: Any,
    conn: Any,
    pid: int,
    name: str,
    rel: str,
    lines: set[int],
    scripts: dict[str, Any],
) -> tuple[set[tuple[str, int, int]], set[tuple[str, int, int]]]:
    """Every call site named ``name`` in the project (as the parser found them, whatever
    they resolved to) where jedi's goto lands on this definition (``rel`` at one of
    ``lines``): jedi's answer without the reference search's 30-parsed-file cap; and the
    sites where jedi has no answer at all (it cannot tell, so a mira-ls edge there is
    neither confirmed nor contradicted)."""
    import jedi

    out: set[tuple[str, int, int]] = set()
    silent: set[tuple[str, int, int]] = set()
    rows = conn.execute(
        "SELECT DISTINCT a.file_path, g.line, g.col FROM call_graph g JOIN code_elements a"
        " ON a.id = g.caller_id WHERE g.project_id = ? AND g.callee_name = ?"
        " AND a.language = 'python'",
        (pid, name),
    ).fetchall()
    target = (root / rel).resolve()
    for path, line, col in rows:
        script = scripts.get(path)
        if script is None:
            try:
                script = scripts[path] = jedi.Script(path=str(root / path), project=project)
            except (OSError, ValueError):
                continue
        try:
            names = script.goto(line, col, follow_imports=True)
        except Exception:  # jedi fails on some code; that site is not counted
            silent.add((path, line, col))
            continue
        if not names:
            silent.add((path, line, col))
        for n in names:
            mp = n.module_path
            if mp is not None and n.line in lines and Path(mp).resolve() == target:
                out.add((path, line, col))
                break
    return out, silent


def _mira_calls(conn: Any, ids: str) -> set[tuple[str, int, int]]:
    marks = ",".join("?" * len(ids.split(",")))
    rows = conn.execute(
        "SELECT a.file_path, g.line, g.col FROM call_graph g JOIN code_elements a"
        f" ON a.id = g.caller_id WHERE g.callee_id IN ({marks})",
        [int(x) for x in ids.split(",")],
    ).fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--jedi", action="store_true", help="also run the background jedi pass")
    ap.add_argument("--baseline", help="another mira-ls source tree to compare index time")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import jedi

    from mira_ls.config import IndexSettings
    from mira_ls.index import indexer
    from mira_ls.index.resolve_jedi import jedi_project
    from mira_ls.store import open_store

    scratch = Path(tempfile.mkdtemp(prefix="callgraph_bench_"))
    # jedi's own cache, not the user's: another process writing the shared one mid-run made
    # jedi fail ("Ran out of input") on a third of the reference definitions
    jedi.settings.cache_directory = str(scratch / "jedi-cache")
    root = _clone(args.source, scratch)
    store = open_store(scratch / "mira.db")
    t0 = time.perf_counter()
    stats = indexer.index_workspace(store, root, IndexSettings(jedi=args.jedi))
    index_s = time.perf_counter() - t0
    conn = store.conn()
    pid = conn.execute("SELECT id FROM projects").fetchone()[0]
    jedi_s = None
    jedi_resolved = None
    if args.jedi:
        t1 = time.perf_counter()
        jedi_resolved = indexer.resolve_python_with_jedi(store, pid, root)
        jedi_s = time.perf_counter() - t1
    by = dict(
        conn.execute(
            "SELECT coalesce(resolved_by, CASE WHEN external IS NOT NULL THEN 'external'"
            " ELSE 'unresolved' END), count(*) FROM call_graph WHERE project_id = ? GROUP BY 1",
            (pid,),
        ).fetchall()
    )
    project = jedi_project(jedi, root)
    result: dict[str, Any] = {
        "corpus": args.source,
        "index_s": round(index_s, 2),
        "calls": stats.resolved + stats.unresolved,
        "edges_by": by,
        "jedi_s": round(jedi_s, 1) if jedi_s is not None else None,
        "jedi_resolved": jedi_resolved,
        "load_avg": os.getloadavg(),
    }
    t2 = time.perf_counter()
    scripts: dict[str, Any] = {}
    for kind, cands in _candidates(conn, pid, args.top).items():
        found = ref_n = mira_n = 0
        f_ans = r_ans = m_ans = 0
        contradicted = unknown = 0
        s_found = s_ref = s_mira = 0
        worst: list[dict[str, Any]] = []
        for sid, rel, name, qn, line, col, all_lines, _n in cands:
            try:
                search = _jedi_calls(root, project, rel, line, col)
            except Exception as exc:  # jedi fails on some code; count it
                print(f"jedi failed on {qn}: {exc}", file=sys.stderr)
                search = set()
            lines = {int(x) for x in str(all_lines).split(",")}
            ref, silent = _goto_calls(root, project, conn, pid, name, rel, lines, scripts)
            mine = _mira_calls(conn, sid)
            unknown += len((mine - ref) & silent)
            contradicted += len((mine - ref) - silent)
            s_found += len(search & mine)
            s_ref += len(search)
            s_mira += len(mine)
            hit = len(ref & mine)
            found, ref_n, mira_n = found + hit, ref_n + len(ref), mira_n + len(mine)
            if ref:
                f_ans, r_ans, m_ans = f_ans + hit, r_ans + len(ref), m_ans + len(mine)
            worst.append(
                {"qn": qn, "jedi": len(ref), "mira": len(mine), "both": hit,
                 "extra": sorted(mine - ref)[:3], "missed": sorted(ref - mine)[:3]}
            )  # fmt: skip
        worst.sort(key=lambda w: w["both"] - max(w["jedi"], w["mira"]))
        result[kind] = {
            "definitions": len(cands),
            "reference_sites": ref_n,
            "mira_sites": mira_n,
            "recall": round(found / ref_n, 3) if ref_n else None,
            "precision": round(found / mira_n, 3) if mira_n else None,
            "precision_where_jedi_answers": round(f_ans / m_ans, 3) if m_ans else None,
            # mira-ls's sites jedi lands elsewhere at, and those where jedi has no answer
            "contradicted_by_jedi": contradicted,
            "jedi_silent": unknown,
            "precision_where_jedi_can_tell": round(found / (found + contradicted), 3)
            if found + contradicted
            else None,
            "recall_where_jedi_answers": round(f_ans / r_ans, 3) if r_ans else None,
            "worst": worst[:5],
            "vs_reference_search": {
                "sites": s_ref,
                "recall": round(s_found / s_ref, 3) if s_ref else None,
                "precision": round(s_found / s_mira, 3) if s_mira else None,
            },
        }
    result["reference_s"] = round(time.perf_counter() - t2, 1)
    if args.baseline:
        mine_t, base_t = [], []
        for _ in range(args.rounds):
            here = Path(__file__).resolve().parents[1]
            mine_t.append(_timed_index(here, root, scratch / "a.db"))
            base_t.append(_timed_index(Path(args.baseline), root, scratch / "b.db"))
        mw = statistics.median(x["wall"] for x in mine_t)
        bw = statistics.median(x["wall"] for x in base_t)
        mc = statistics.median(x["cpu"] for x in mine_t)
        bc = statistics.median(x["cpu"] for x in base_t)
        result["index"] = {
            "this_s": round(mw, 2),
            "baseline_s": round(bw, 2),
            "index_ratio": round(mw / bw, 3),
            "this_cpu_s": round(mc, 2),
            "baseline_cpu_s": round(bc, 2),
            "cpu_ratio": round(mc / bc, 3),
            "rounds": args.rounds,
            "this_resolved": mine_t[-1]["resolved"],
            "baseline_resolved": base_t[-1]["resolved"],
        }
    result["peak_rss_mb_self"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
