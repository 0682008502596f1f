"""Git intelligence benchmark: prints one JSON object.

    python bench/git_bench.py PATH [--runs 3] [--hovers 1000] [--new-commits 5]

PATH is a git work tree or a ``.bundle`` (cloned into a temporary directory first; the
benchmark commits into its copy, never into PATH itself: a work tree is cloned too).

- raw_git_log_s: ``git log`` with exactly the options the miner uses, output read through a
  pipe and discarded (the floor any git-log based miner has).
- mine_s: full mining into a fresh database (parse, store, co-change, expertise, fixes, and
  the symbols past fixes touched); mine_core_s the same without that last phase.
  ratio = mine_s / raw_git_log_s. Raw and mine runs alternate; medians are reported.
- incremental_one_commit_ms: mine() after one new commit (median over --new-commits).
- hover_p50_ms / hover_p95_ms: ``hover_git.git_sections`` (the function the server calls
  for the git part of the hover) at random symbol positions, after blame was cached the
  way the server does on didOpen. Symbols come from Python's ``ast`` over the repository's
  .py files (the span a definition covers), so this runs without the index.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mira_ls.config import Settings
from mira_ls.features.hover_git import git_sections
from mira_ls.git.blame import ensure_blame
from mira_ls.git.log import LOG_OPTIONS
from mira_ls.git.miner import mine
from mira_ls.git.repo import popen_git
from mira_ls.store import Store, projects
from mira_ls.store.code import SymbolRow


def raw_log(root: Path) -> float:
    t = time.perf_counter()
    proc = popen_git(root, *LOG_OPTIONS, "HEAD", "--")
    assert proc.stdout is not None
    while proc.stdout.read(1 << 18):
        pass
    proc.wait()
    return time.perf_counter() - t


def fresh_mine(root: Path, tmp: Path, i: int) -> tuple[float, float, dict]:
    store = Store(tmp / f"mine{i}.db")
    with store.write() as c:
        pid = projects.get_or_create(c, root).id
    t = time.perf_counter()
    stats = mine(store, pid, root, Settings())
    total = time.perf_counter() - t
    store.close()
    return (
        total,
        stats.phases.get("core_s", total),
        {
            "commits": stats.total_commits,
            "ignored": stats.ignored,
            "fixes": stats.fixes,
            "phases": {k: round(v, 3) for k, v in stats.phases.items()},
        },
    )


def git(root: Path, *args: str, env: dict | None = None) -> None:
    subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, env={**os.environ, **(env or {})}
    )


def symbols_of(root: Path, limit_files: int = 400) -> list[SymbolRow]:
    out: list[SymbolRow] = []
    files = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in files[:limit_files]:
        try:
            tree = ast.parse((root / rel).read_text("utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                out.append(
                    SymbolRow(
                        len(out) + 1,
                        0,
                        rel,
                        "python",
                        "function",
                        node.name,
                        node.name,
                        0,
                        None,
                        start,
                        node.col_offset,
                        node.end_lineno or start,
                        0,
                        node.lineno,
                        node.col_offset,
                        None,
                        None,
                        "",
                        "",
                        1,
                    )
                )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hovers", type=int, default=1000)
    ap.add_argument("--new-commits", type=int, default=5)
    args = ap.parse_args()
    src = Path(args.path).resolve()
    with tempfile.TemporaryDirectory(prefix="mira-git-bench-") as tmp_s:
        tmp = Path(tmp_s)
        root = tmp / "repo"
        subprocess.run(["git", "clone", "-q", str(src), str(root)], check=True)
        raw_log(root)  # warm the page cache for both sides
        raws, mines, cores, info = [], [], [], {}
        for i in range(args.runs):
            raws.append(raw_log(root))
            total, core, info = fresh_mine(root, tmp, i)
            mines.append(total)
            cores.append(core)
        raw_s = statistics.median(raws)
        mine_s = statistics.median(mines)
        core_s = statistics.median(cores)

        # Incremental: the last fresh database, one new commit at a time.
        store = Store(tmp / f"mine{args.runs - 1}.db")
        pid = projects.get_or_create(store.conn(), root).id
        settings = Settings()
        env = {
            "GIT_AUTHOR_NAME": "Bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
        }
        tracked = subprocess.run(
            ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.split()
        rng = random.Random(7)
        incs = []
        for n in range(args.new_commits):
            targets = rng.sample(tracked, 2)
            for t in targets:
                with (root / t).open("a", encoding="utf-8", errors="replace") as fh:
                    fh.write(f"\n# bench change {n}\n")
            git(root, "commit", "-q", "-am", f"Fix bench change {n}", env=env)
            t0 = time.perf_counter()
            st = mine(store, pid, root, settings)
            incs.append((time.perf_counter() - t0) * 1000)
            assert st.mode == "incremental" and st.new_commits == 1, st
        git(root, "reset", "-q", "--hard", f"HEAD~{args.new_commits}")
        mine(store, pid, root, settings)  # history rewritten: back to the original

        # Hover: blame cached per file as on didOpen, then the section function.
        syms = symbols_of(root)
        t0 = time.perf_counter()
        for rel in sorted({s.file_path for s in syms}):
            ensure_blame(store, pid, root, rel, settings)
        blame_s = time.perf_counter() - t0
        rng = random.Random(11)
        times = []
        nonempty = 0
        now = int(time.time())
        for _ in range(args.hovers):
            s = rng.choice(syms)
            t0 = time.perf_counter()
            sections = git_sections(store, pid, s.file_path, s, now)
            times.append((time.perf_counter() - t0) * 1000)
            nonempty += bool(sections)
        times.sort()
        store.close()
        result = {
            "repo": str(src),
            "commits": info.get("commits"),
            "ignored": info.get("ignored"),
            "fixes": info.get("fixes"),
            "raw_git_log_s": round(raw_s, 3),
            "mine_s": round(mine_s, 3),
            "ratio": round(mine_s / raw_s, 3),
            "mine_core_s": round(core_s, 3),
            "ratio_core": round(core_s / raw_s, 3),
            "runs": {"raw": [round(x, 3) for x in raws], "mine": [round(x, 3) for x in mines]},
            "phases": info.get("phases"),
            "incremental_one_commit_ms": round(statistics.median(incs), 2),
            "incremental_runs_ms": [round(x, 1) for x in incs],
            "blame_files": len({s.file_path for s in syms}),
            "blame_all_s": round(blame_s, 2),
            "hovers": len(times),
            "hovers_with_sections": nonempty,
            "hover_p50_ms": round(times[len(times) // 2], 3),
            "hover_p95_ms": round(times[int(len(times) * 0.95) - 1], 3),
            "cpu_count": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
