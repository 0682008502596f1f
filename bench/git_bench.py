"""Git intelligence benchmark: prints one JSON object.

    python bench/git_bench.py PATH [--runs 3] [--hovers 1000] [--new-commits 5]

PATH is a git work tree or a ``.bundle`` (cloned into a temporary directory first; the
benchmark commits into its copy, never into PATH itself: a work tree is cloned too).

- raw_git_log_s: ``git log`` with exactly the options the miner uses, output read through a
  pipe and discarded (the floor any git-log based miner has).
- mine_s: full mining into a fresh database (parse, store, co-change, expertise, fixes, and
  the symbols past fixes touched); mine_core_s the same without that last phase.
  ratio = mine_s / raw_git_log_s. Raw and mine runs alternate; medians are reported, and
  the median of the per-pair ratios (steadier when the machine's load drifts).
- incremental_one_commit_ms: mine() after one new commit (median over --new-commits).
- hover_p50_ms / hover_p95_ms: ``hover_git.git_sections`` (what the server calls for the
  git part of the hover) for random indexed definitions, after blame was cached the way the
  server does on didOpen; full_hover_*: ``hover.hover_markdown`` (the whole hover the server
  serves: live-buffer parse, code section, git sections); lsp_hover_*: the LSP round trip
  to the real server over stdio (same symbols; --no-lsp skips it).
- xray_s: ``xray.ensure_xray`` (refresh) of --xray-file (default: the most-changed file the
  index parses), with xray_ratio = xray_s / raw_git_log_follow_s (``git log -p --follow --
  FILE`` read and discarded, same run, alternating), the median of the per-pair ratios,
  and xray_cpu_ratio (CPU seconds of the X-Ray and its git children over git's own, less
  sensitive to other load). ``--only-git`` stops after mining and the X-Ray.
"""

from __future__ import annotations

import argparse
import asyncio
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mira_ls.config import Settings
from mira_ls.features import hover
from mira_ls.features.hover_git import git_sections
from mira_ls.features.session import ProjectRoot, Session
from mira_ls.git import xray
from mira_ls.git.blame import ensure_blame
from mira_ls.git.log import LOG_OPTIONS
from mira_ls.git.miner import mine
from mira_ls.git.repo import popen_git
from mira_ls.index import indexer
from mira_ls.index.languages import language_for_path
from mira_ls.store import Store, git_history, projects
from mira_ls.store import code as code_store
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


def sample_symbols(store: Store, pid: int, n: int, seed: int = 11) -> list[SymbolRow]:
    """n random indexed definitions (functions, methods, classes) of the project."""
    conn = store.conn()
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM code_elements WHERE project_id = ? AND kind IN "
            "('function', 'method', 'class') ORDER BY id",
            (pid,),
        )
    ]
    rng = random.Random(seed)
    return [code_store.get_symbol(conn, rng.choice(ids)) for _ in range(n)]


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return times[len(times) // 2], times[max(0, int(len(times) * 0.95) - 1)]


async def lsp_hovers(root: Path, db: Path, syms: list[SymbolRow], tmp: Path) -> dict:
    """The LSP round trip: the real server over stdio, files opened (blamed), then hovers."""
    from lsprotocol import types
    from pytest_lsp import ClientServerConfig, client_capabilities

    env = {
        **os.environ,
        "MIRA_DB": str(db),
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_DATA_HOME": str(tmp / "data"),
    }
    cfg = ClientServerConfig(
        server_command=[sys.executable, "-m", "mira_ls", "serve"], server_env=env
    )
    client = await cfg.start()
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("neovim"),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            )
        )
        files = sorted({s.file_path for s in syms})
        for rel in files:
            text = (root / rel).read_text("utf-8", "replace")
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=(root / rel).as_uri(), language_id="python", version=1, text=text
                    )
                )
            )
        # Wait until the background blame of every opened file is cached.
        check = Store(db)
        pid = projects.by_root(check.conn(), root).id
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = (
                check.conn()
                .execute(
                    "SELECT count(DISTINCT file_path) FROM blame_files WHERE project_id = ?", (pid,)
                )
                .fetchone()[0]
            )
            if done >= len(files):
                break
            await asyncio.sleep(0.2)
        check.close()
        times = []
        with_git = 0
        for s in syms:
            params = types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=(root / s.file_path).as_uri()),
                position=types.Position(line=s.name_line - 1, character=s.name_col),
            )
            t0 = time.perf_counter()
            h = await client.text_document_hover_async(params)
            times.append((time.perf_counter() - t0) * 1000)
            with_git += bool(h and "**Experts**" in h.contents.value)
        p50, p95 = percentiles(times)
        return {
            "lsp_hover_p50_ms": round(p50, 3),
            "lsp_hover_p95_ms": round(p95, 3),
            "lsp_hovers_with_experts": with_git,
        }
    finally:
        await asyncio.wait_for(client.shutdown_session(), 30)
        await client.stop()


def cpu_s() -> float:
    """CPU seconds of this process (all threads) and its finished children (git)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def raw_follow_log(root: Path, rel: str) -> tuple[float, float]:
    """``git log -p --follow -- FILE``, read through a pipe and discarded: (wall, CPU)."""
    t, c = time.perf_counter(), cpu_s()
    proc = popen_git(root, "log", "-p", "--follow", "--", rel)
    assert proc.stdout is not None
    while proc.stdout.read(1 << 18):
        pass
    proc.wait()
    return time.perf_counter() - t, cpu_s() - c


def most_changed_code_file(store: Store, pid: int, root: Path) -> str:
    """The file with the most counted commits that the index parses and that exists."""
    for path, _, _ in sorted(
        git_history.all_file_stats(store.conn(), pid), key=lambda r: (-r[1], r[0])
    ):
        if language_for_path(path) is not None and (root / path).is_file():
            return path
    raise SystemExit("no parseable file with history")


def xray_bench(root: Path, db: Path, rel: str | None, runs: int) -> dict:
    """X-Ray of one file (with the ignore policy and co-change partners, as the server
    computes it, never from the cache) against ``git log -p --follow`` of it, alternating."""
    store = Store(db)
    pid = projects.get_or_create(store.conn(), root).id
    rel = rel or most_changed_code_file(store, pid, root)
    raws, xs, raw_cpu, x_cpu, info = [], [], [], [], {}
    for _ in range(runs):
        wall, cpu = raw_follow_log(root, rel)
        raws.append(wall)
        raw_cpu.append(cpu)
        t0, c0 = time.perf_counter(), cpu_s()
        x = xray.ensure_xray(store, pid, root, rel, refresh=True)
        xs.append(time.perf_counter() - t0)
        x_cpu.append(cpu_s() - c0)
        info = {"versions": x.versions, "parsed_versions": x.parsed_versions}
    store.close()
    return {
        "xray_file": rel,
        "xray_commits": x.commits,
        "xray_definitions": len(x.definitions),
        **{f"xray_{k}": v for k, v in info.items()},
        "raw_git_log_follow_s": round(statistics.median(raws), 3),
        "xray_s": round(statistics.median(xs), 3),
        "xray_ratio": round(statistics.median(xs) / statistics.median(raws), 3),
        "xray_ratio_paired_median": round(
            statistics.median(x / r for x, r in zip(xs, raws, strict=True)), 3
        ),
        # CPU seconds (the X-Ray's process and its git children against git's), steadier
        # than wall time when other work shares the cores.
        "xray_cpu_ratio": round(statistics.median(x_cpu) / statistics.median(raw_cpu), 3),
        "xray_runs": {"raw": [round(r, 3) for r in raws], "xray": [round(r, 3) for r in xs]},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hovers", type=int, default=1000)
    ap.add_argument("--new-commits", type=int, default=5)
    ap.add_argument(
        "--no-lsp", dest="lsp", action="store_false", help="skip the LSP round-trip measurement"
    )
    ap.add_argument("--xray-file", help="the file to X-Ray (default: the most-changed one)")
    ap.add_argument("--xray-runs", type=int, default=1)
    ap.add_argument(
        "--only-git", action="store_true", help="mining and X-Ray only (no incremental, hovers)"
    )
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
        xr = xray_bench(root, tmp / f"mine{args.runs - 1}.db", args.xray_file, args.xray_runs)
        if args.only_git:
            print(
                json.dumps(
                    {
                        "repo": str(src),
                        "commits": info.get("commits"),
                        "raw_git_log_s": round(raw_s, 3),
                        "mine_s": round(mine_s, 3),
                        "ratio": round(mine_s / raw_s, 3),
                        "ratio_paired_median": round(
                            statistics.median(m / r for m, r in zip(mines, raws, strict=True)),
                            3,
                        ),
                        **xr,
                        "cpu_count": os.cpu_count(),
                        "load_avg_1m": round(os.getloadavg()[0], 2),
                    },
                    indent=2,
                )
            )
            return

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

        # Hover: index the work tree, blame the sampled files as didOpen does, then time
        # the functions the server calls and, separately, the LSP round trip.
        t0 = time.perf_counter()
        indexer.index_workspace(store, root, settings.index)
        index_s = time.perf_counter() - t0
        syms = sample_symbols(store, pid, args.hovers)
        t0 = time.perf_counter()
        for rel in sorted({s.file_path for s in syms}):
            ensure_blame(store, pid, root, rel, settings)
        blame_s = time.perf_counter() - t0
        session = Session(store, settings, [ProjectRoot(pid, root)])
        texts = {
            rel: (root / rel).read_text("utf-8", "replace") for rel in {s.file_path for s in syms}
        }
        now = int(time.time())
        git_times, hover_times = [], []
        nonempty = 0
        for s in syms:
            t0 = time.perf_counter()
            sections = git_sections(store.conn(), pid, s.file_path, s, now)
            git_times.append((time.perf_counter() - t0) * 1000)
            nonempty += bool(sections)
            loc = session.locate(root / s.file_path)
            t0 = time.perf_counter()
            hover.hover_markdown(session, loc, texts[s.file_path], s.name_line, s.name_col)
            hover_times.append((time.perf_counter() - t0) * 1000)
        store.close()
        p50, p95 = percentiles(git_times)
        full50, full95 = percentiles(hover_times)
        lsp = (
            asyncio.run(lsp_hovers(root, tmp / f"mine{args.runs - 1}.db", syms, tmp))
            if args.lsp
            else {}
        )
        result = {
            "repo": str(src),
            "commits": info.get("commits"),
            "ignored": info.get("ignored"),
            "fixes": info.get("fixes"),
            "raw_git_log_s": round(raw_s, 3),
            "mine_s": round(mine_s, 3),
            "ratio": round(mine_s / raw_s, 3),
            "ratio_paired_median": round(
                statistics.median(m / r for m, r in zip(mines, raws, strict=True)), 3
            ),
            "mine_core_s": round(core_s, 3),
            "ratio_core": round(core_s / raw_s, 3),
            "ratio_core_paired_median": round(
                statistics.median(c / r for c, r in zip(cores, raws, strict=True)), 3
            ),
            "runs": {
                "raw": [round(x, 3) for x in raws],
                "mine": [round(x, 3) for x in mines],
                "mine_core": [round(x, 3) for x in cores],
            },
            "phases": info.get("phases"),
            "incremental_one_commit_ms": round(statistics.median(incs), 2),
            "incremental_runs_ms": [round(x, 1) for x in incs],
            "index_s": round(index_s, 2),
            "blame_files": len({s.file_path for s in syms}),
            "blame_all_s": round(blame_s, 2),
            "hovers": len(syms),
            "hovers_with_git_sections": nonempty,
            "hover_p50_ms": round(p50, 3),
            "hover_p95_ms": round(p95, 3),
            "full_hover_p50_ms": round(full50, 3),
            "full_hover_p95_ms": round(full95, 3),
            **lsp,
            **xr,
            "cpu_count": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
