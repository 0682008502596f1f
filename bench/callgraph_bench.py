"""Call graph benchmark: recall and precision of incoming call sites; prints one JSON object.

    python bench/callgraph_bench.py BUNDLE_OR_PATH [--top 30] [--jedi] [--baseline SRC]
        [--ablate] [--rounds 3] [--max-sites N] [--skip-reference]

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
  (medians of ``--rounds``), CPU seconds likewise (the index process's and its finished
  children's: a forkserver's parser processes are not among them, so on a project large
  enough for parser processes the CPU is the main process's only).
- ``--ablate``: the clean baseline for the cost of receiver types: this checkout with
  them stubbed out in every process (a ``sitecustomize`` on PYTHONPATH: no receiver
  types from the parser, no type patterns in the query, no type or member evaluation in
  the project pass, no external classification through types); ``index.vs_no_types``
  gives the ratios. A baseline checkout of the code before receiver types differs from
  this one by every later commit too (the keyword index, ...), so its ratio is reported
  beside, not instead. Decorators counted as calls stay in both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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
def used():  # CPU of this process and its finished children (the index's, not imports')
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
c0 = used()
t = time.perf_counter()
workers = int(sys.argv[3]) if len(sys.argv) > 3 else 0
stats = indexer.index_workspace(
    store, Path(sys.argv[1]), IndexSettings(jedi=False, workers=workers)
)
wall = time.perf_counter() - t
cpu = used() - c0
print(json.dumps({"wall": wall, "cpu": cpu, "resolved": stats.resolved,
                  "unresolved": stats.unresolved}))
"""


# Loaded by every Python process started with this folder first on PYTHONPATH (the fork
# server and its workers too): the receiver-type work becomes nothing.
_NO_TYPES = """
import os
if os.environ.get("MIRA_BENCH_NO_TYPES") == "1":
    from mira_ls.index import languages, resolve_members, resolve_types, worker
    worker.receiver_types = lambda fx, rel, unresolved: [None] * len(unresolved)
    worker.lang_types.receiver_types = lambda fx, unresolved: [None] * len(unresolved)
    resolve_types.TypeEval.method_call = lambda self, *a, **k: None
    resolve_types.TypeEval.external_module = lambda self, *a, **k: None
    resolve_members.MemberEval.self_call = lambda self, *a, **k: None
    resolve_members.MemberEval.typed_call = lambda self, *a, **k: None
    _query_file = languages._query_file
    def _without_types(name):
        text = _query_file(name)
        cut = text.find("; Receiver types (py_types)")
        return text[:cut] if cut >= 0 else text
    languages._query_file = _without_types
"""


def _timed_index(
    src: Path, root: Path, db: Path, stub: Path | None = None, workers: int = 0
) -> dict[str, Any]:
    """One full index in a fresh process of the mira-ls at ``src`` (jedi off); ``stub``:
    a folder with the no-types ``sitecustomize``; ``workers`` 1: parsed in that process
    (all of its CPU is counted)."""
    if db.exists():
        db.unlink()
    env = {**os.environ, "PYTHONPATH": str(src)}
    if stub is not None:
        env["PYTHONPATH"] = f"{stub}{os.pathsep}{src}"
        env["MIRA_BENCH_NO_TYPES"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _INDEX_ONE, str(root), str(db), str(workers)],
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
            "WITH n AS (SELECT callee_name, count(*) AS n FROM call_graph"
            "  WHERE project_id = ? GROUP BY callee_name)"
            " SELECT group_concat(e.id), e.file_path, e.name, e.qualified_name,"
            " max(e.name_line), e.name_col, group_concat(e.name_line), coalesce(n.n, 0) AS n"
            " FROM code_elements e LEFT JOIN n ON n.callee_name = e.name"
            " WHERE e.project_id = ? AND e.kind = ? AND e.language = 'python'"
            " AND e.name NOT LIKE '\\_\\_%' ESCAPE '\\' GROUP BY e.qualified_name"
            " ORDER BY n DESC, e.qualified_name LIMIT ?",
            (pid, pid, kind, top),
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
    gotos: dict[tuple[str, int, int], list[tuple[str, int]] | None],
    max_sites: int | None = None,
    *,
    method: bool = False,
) -> tuple[set[tuple[str, int, int]], set[tuple[str, int, int]], set[tuple[str, int, int]]]:
    """Every call site named ``name`` in the project (as the parser found them, whatever
    they resolved to) where jedi's goto lands on this definition (``rel`` at one of
    ``lines``): jedi's answer without the reference search's 30-parsed-file cap; the
    sites where jedi has no answer at all (it cannot tell, so a mira-ls edge there is
    neither confirmed nor contradicted); and the sites asked about (with ``max_sites``, a
    sample of that many, the same for every definition of the name). ``gotos`` keeps
    jedi's answer per site across definitions of one name. A ``method`` is called on a
    receiver (``self.m()``, ``obj.m()``, ``@app.m``): bare calls of the name are not asked
    about (on sqlalchemy most calls named ``select`` are the function's)."""

    out: set[tuple[str, int, int]] = set()
    silent: set[tuple[str, int, int]] = set()
    rows = conn.execute(
        "SELECT DISTINCT a.file_path, g.line, g.col FROM call_graph g JOIN code_elements a"
        " ON a.id = g.caller_id WHERE g.project_id = ? AND g.callee_name = ?"
        " AND a.language = 'python'"
        + (" AND g.receiver IS NOT NULL" if method else "")
        + " ORDER BY 1, 2, 3",
        (pid, name),
    ).fetchall()
    sites = [(str(p), int(ln), int(c)) for p, ln, c in rows]
    if max_sites is not None and len(sites) > max_sites:
        sites = random.Random(name).sample(sites, max_sites)
    target = str((root / rel).resolve())
    for site in sites:
        if site not in gotos:
            gotos[site] = _goto(root, project, scripts, site)
        names = gotos[site]
        if not names:
            silent.add(site)
            continue
        if any(mp == target and ln in lines for mp, ln in names):
            out.add(site)
    return out, silent, set(sites)


def _goto(
    root: Path, project: Any, scripts: dict[str, Any], site: tuple[str, int, int]
) -> list[tuple[str, int]] | None:
    """Where jedi's goto at a call site lands: (resolved module path, line) pairs; None
    when jedi fails there."""
    import jedi

    path, line, col = site
    script = scripts.get(path)
    if script is None:
        if len(scripts) > 200:
            scripts.clear()
        try:
            script = scripts[path] = jedi.Script(path=str(root / path), project=project)
        except (OSError, ValueError):
            return None
    try:
        names = script.goto(line, col, follow_imports=True)
    except Exception:  # jedi fails on some code; that site is not counted
        return None
    return [
        (str(Path(n.module_path).resolve()), n.line)
        for n in names
        if n.module_path is not None and n.line is not None
    ]


def _mira_calls(conn: Any, ids: str) -> set[tuple[str, int, int]]:
    marks = ",".join("?" * len(ids.split(",")))
    rows = conn.execute(
        "SELECT a.file_path, g.line, g.col FROM call_graph g JOIN code_elements a"
        f" ON a.id = g.caller_id WHERE g.callee_id IN ({marks})",
        [int(x) for x in ids.split(",")],
    ).fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def _index_times(
    root: Path, scratch: Path, baseline: str | None, ablate: bool, rounds: int, workers: int = 0
) -> dict[str, Any]:
    """Full index times of this checkout, the no-types stub and a baseline checkout, in
    fresh processes, alternating (the order reversed every other round); medians."""
    here = Path(__file__).resolve().parents[1]
    variants: dict[str, tuple[Path, Path | None]] = {"this": (here, None)}
    if ablate:
        stub = scratch / "notypes"
        stub.mkdir(exist_ok=True)
        (stub / "sitecustomize.py").write_text(_NO_TYPES)
        variants["no_types"] = (here, stub)
    if baseline:
        variants["baseline"] = (Path(baseline).resolve(), None)
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in variants}
    load = [os.getloadavg()[0]]
    for r in range(rounds):
        for name in list(variants) if r % 2 == 0 else list(reversed(variants)):
            src, stub_dir = variants[name]
            runs[name].append(_timed_index(src, root, scratch / f"{name}.db", stub_dir, workers))
    load.append(os.getloadavg()[0])
    med = {
        k: {
            "wall_s": round(statistics.median(x["wall"] for x in v), 3),
            "cpu_s": round(statistics.median(x["cpu"] for x in v), 3),
            "walls": [round(x["wall"], 2) for x in v],
            "resolved": v[-1]["resolved"],
        }
        for k, v in runs.items()
    }
    out: dict[str, Any] = {
        "rounds": rounds,
        "workers": workers,
        "load_1min": load,
        "variants": med,
    }
    for base in ("no_types", "baseline"):
        if base in med:
            out[f"vs_{base}"] = {
                "wall_ratio": round(med["this"]["wall_s"] / med[base]["wall_s"], 3),
                "cpu_ratio": round(med["this"]["cpu_s"] / med[base]["cpu_s"], 3),
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--jedi", action="store_true", help="also run the background jedi pass")
    ap.add_argument("--baseline", help="another mira-ls source tree to compare index time")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ablate", action="store_true", help="time this checkout without types")
    ap.add_argument("--skip-reference", action="store_true", help="index times only")
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="parser processes of the timed index (1: in that process, all CPU counted)",
    )
    ap.add_argument(
        "--max-sites",
        type=int,
        help="ask jedi about a seeded sample of this many call sites per name (a large"
        " project: sqlalchemy has 6,000 calls named select); no reference search then",
    )
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
    gotos: dict[tuple[str, int, int], list[tuple[str, int]] | None] = {}
    cands_by_kind = {} if args.skip_reference else _candidates(conn, pid, args.top)
    for kind, cands in cands_by_kind.items():
        found = ref_n = mira_n = 0
        f_ans = r_ans = m_ans = 0
        contradicted = unknown = 0
        s_found = s_ref = s_mira = 0
        worst: list[dict[str, Any]] = []
        for sid, rel, name, qn, line, col, all_lines, _n in cands:
            search: set[tuple[str, int, int]] = set()
            if args.max_sites is None:
                try:
                    search = _jedi_calls(root, project, rel, line, col)
                except Exception as exc:  # jedi fails on some code; count it
                    print(f"jedi failed on {qn}: {exc}", file=sys.stderr)
            lines = {int(x) for x in str(all_lines).split(",")}
            ref, silent, asked = _goto_calls(
                root,
                project,
                conn,
                pid,
                name,
                rel,
                lines,
                scripts,
                gotos,
                args.max_sites,
                method=kind == "method",
            )
            mine = _mira_calls(conn, sid)
            if args.max_sites is not None:
                mine &= asked
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
    result["max_sites"] = args.max_sites
    result["jedi_gotos"] = len(gotos)
    if args.baseline or args.ablate:
        result["index"] = _index_times(
            root, scratch, args.baseline, args.ablate, args.rounds, args.workers
        )
    result["peak_rss_mb_self"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
