"""Index benchmark: prints one JSON object.

    python bench/index_bench.py PATH [--workers N] [--edits 200] [--jedi]

- index_s: full index of PATH into a fresh database (listing, parsing in worker processes,
  writing, scope/import resolution; jedi excluded).
- raw_parse_s: plain tree-sitter parse + the same queries over the same files, one thread,
  in this run (the baseline); ratio = index_s / raw_parse_s.
- did_save_*: a ~1,000-line Python file of the corpus is copied next to it (the copy is
  removed afterwards), indexed, then one function body is edited N times, each edit
  followed by update_file; p50/p95 of update_file. null with did_save_note when the corpus
  has no such file or cannot be written.
- PATH may be a git bundle (e.g. /work/shared/corpus/click.bundle): it is cloned into a
  temporary directory first.
- peak_rss_mb: this process plus its worker processes, sampled every 10 ms.
- index_cpu_s / raw_parse_cpu_s / cpu_ratio: CPU seconds (all processes) of the same two
  runs; on a shared machine wall times vary with other load, CPU seconds much less. With
  two cores, index_s can reach ratio <= 1.0 only if cpu_ratio stays under about 2.
- jedi_s (with --jedi): the background jedi pass, timed separately (its memory is
  jedi_peak_rss_mb; peak_rss_mb covers the index and the did_save edits).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tree_sitter import QueryCursor

from mira_ls.config import IndexSettings
from mira_ls.index import indexer
from mira_ls.index.languages import get_query, language_for_path, new_parser
from mira_ls.index.symbols import extract
from mira_ls.store import code as cs
from mira_ls.store import open_store


class RssSampler(threading.Thread):
    """Peak of (this process + all descendants) resident set size.

    Cheap on purpose, since it shares the cores (and this process's GIL) with what it
    measures: descendants are found through /proc/PID/task/TID/children (a few small reads)
    and re-listed every ``refresh`` seconds, not through psutil's scan of every process on
    the machine; each sample then reads one statm file per process."""

    def __init__(self, interval: float = 0.01, refresh: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.refresh = refresh
        self.peak = 0
        self._halt = threading.Event()
        self.proc = psutil.Process()
        self._procs: dict[int, psutil.Process] = {}
        self._listed = 0.0
        self.child_cpu: dict[int, float] = {}  # pid -> last seen user+system seconds

    @staticmethod
    def _child_pids(pid: int) -> list[int] | None:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return []
        out: list[int] = []
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    out.extend(int(x) for x in fh.read().split())
            except FileNotFoundError:
                return None  # no CONFIG_PROC_CHILDREN: psutil's scan instead
            except OSError:
                continue
        return out

    def _descendants(self) -> list[int]:
        out: list[int] = []
        todo = [self.proc.pid]
        while todo:
            kids = self._child_pids(todo.pop())
            if kids is None:
                return [c.pid for c in self.proc.children(recursive=True)]
            out.extend(kids)
            todo.extend(kids)
        return out

    def sample(self, *, relist: bool = False) -> None:
        now = time.monotonic()
        if relist or now - self._listed >= self.refresh:
            self._listed = now
            pids = set(self._descendants())
            for pid in list(self._procs):
                if pid not in pids:
                    del self._procs[pid]
            for pid in pids - self._procs.keys():
                try:
                    self._procs[pid] = psutil.Process(pid)
                except psutil.Error:
                    pass
            for pid, p in self._procs.items():
                try:
                    t = p.cpu_times()
                    self.child_cpu[pid] = t.user + t.system
                except psutil.Error:
                    pass
        try:
            total = self.proc.memory_info().rss
        except psutil.Error:
            return
        for p in self._procs.values():
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        self.peak = max(self.peak, total)

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample(relist=True)


def raw_parse(root: Path, files: list[tuple[str, str]]) -> float:
    """One thread: read, parse, run the language's query, drop the tree."""
    t = time.perf_counter()
    parsers = {}
    for rel, lang in files:
        data = (root / rel).read_bytes()
        parser = parsers.get(lang)
        if parser is None:
            parser = parsers[lang] = new_parser(lang)
        tree = parser.parse(data)
        QueryCursor(get_query(lang)).matches(tree.root_node)
    return time.perf_counter() - t


def pick_edit_file(store, pid: int, root: Path) -> str | None:
    """An indexed Python file close to 1,000 lines with a function of a few lines."""
    rows = (
        store.conn()
        .execute(
            "SELECT file_path, line_count FROM repository_files WHERE project_id = ? AND"
            " language = 'python' AND status = 'indexed' AND parse_errors = 0"
            " ORDER BY abs(line_count - 1000) LIMIT 20",
            (pid,),
        )
        .fetchall()
    )
    for rel, _ in rows:
        funcs = [
            s
            for s in cs.symbols_in_file(store.conn(), pid, rel)
            if s.kind in ("function", "method") and s.end_line - s.name_line >= 3
        ]
        if funcs:
            return rel
    return None


def did_save(store, pid: int, root: Path, rel: str, edits: int) -> dict[str, object]:
    src = (root / rel).read_bytes()
    copy_rel = str(Path(rel).with_name("_mira_bench_edit.py").as_posix())
    copy = root / copy_rel
    copy.write_bytes(src)
    try:
        indexer.update_file(store, pid, root, copy_rel)
        fx = extract(src, copy_rel, "python")
        funcs = [
            s
            for s in fx.symbols
            if s.kind in ("function", "method") and s.end_line - s.name_line >= 3
        ]
        target = funcs[len(funcs) // 2]
        lines = src.decode("utf-8", "replace").splitlines(keepends=True)
        # The first line of the body (after the signature): insert a statement before it.
        body_line = lines[target.end_line - 1]
        indent = body_line[: len(body_line) - len(body_line.lstrip())]
        insert_at = target.end_line - 1  # before the last line of the body
        row = cs.find_symbol(
            store.conn(), pid, copy_rel, target.qualified_name, target.kind, target.ordinal
        )
        assert row is not None
        times: list[float] = []
        changed = 0
        cache = indexer.ParseCache()  # as the server keeps one
        for k in range(edits):
            new_lines = list(lines)
            new_lines.insert(insert_at, f"{indent}_mira_bench_value = {k}\n")
            data = "".join(new_lines).encode()
            copy.write_bytes(data)
            t = time.perf_counter()
            upd = indexer.update_file(store, pid, root, copy_rel, data, cache=cache)
            times.append(time.perf_counter() - t)
            changed += upd.body_changed
            if row.id not in upd.changed_symbol_ids:
                raise RuntimeError(f"edit {k} did not register as a change of {row.qualified_name}")
        after = cs.find_symbol(
            store.conn(), pid, copy_rel, target.qualified_name, target.kind, target.ordinal
        )
        assert after is not None and after.id == row.id, "the edited symbol's id changed"
        times.sort()
        return {
            "did_save_file": rel,
            "did_save_file_lines": len(lines),
            "did_save_symbol": target.qualified_name,
            "did_save_edits": edits,
            "did_save_p50_ms": round(1000 * statistics.median(times), 2),
            "did_save_p95_ms": round(1000 * times[int(0.95 * (len(times) - 1))], 2),
            "did_save_max_ms": round(1000 * times[-1], 2),
        }
    finally:
        copy.unlink(missing_ok=True)
        indexer.remove_file(store, pid, copy_rel)


def search_ms(store, pid: int) -> float:
    conn = store.conn()
    times = []
    for q in ("get", "parse", "Cmd", "rsv", "init", "x"):
        t = time.perf_counter()
        cs.search_symbols(conn, pid, q, limit=100)
        times.append(time.perf_counter() - t)
    return round(1000 * statistics.median(times), 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--workers", type=int, default=0, help="parser processes (0: one per core)")
    ap.add_argument("--edits", type=int, default=200)
    ap.add_argument("--jedi", action="store_true", help="also time the background jedi pass")
    ap.add_argument(
        "--no-raw", action="store_true", help="skip the raw parse baseline (quicker A/B runs)"
    )
    args = ap.parse_args()
    root = Path(args.path).resolve()
    if root.is_file():  # a git bundle: index a clone of it
        tmp_src = tempfile.mkdtemp(prefix="mira-bench-src-")
        atexit.register(shutil.rmtree, tmp_src, True)
        clone = Path(tmp_src) / root.stem
        subprocess.run(
            ["git", "-c", "advice.detachedHead=false", "clone", "-q", str(root), str(clone)],
            check=True,
        )
        root = clone
    settings = IndexSettings(workers=args.workers)
    sampler = RssSampler()
    sampler.start()
    tmp = tempfile.mkdtemp(prefix="mira-bench-")
    store = open_store(Path(tmp) / "bench.db")

    # Warm the page cache for both measurements alike.
    from mira_ls.index.walk import list_files

    listing = list_files(root, settings.exclude)
    for c in listing.files:
        if c.size <= settings.max_file_bytes:
            try:
                (root / c.rel).read_bytes()
            except OSError:
                pass

    t = time.perf_counter()
    cpu0 = time.process_time()
    stats = indexer.index_workspace(store, root, settings)
    index_s = time.perf_counter() - t
    main_cpu = time.process_time() - cpu0
    index_cpu = main_cpu + sum(sampler.child_cpu.values())
    pid = stats.project_id

    conn = store.conn()
    indexed = conn.execute(
        "SELECT file_path, language, line_count FROM repository_files WHERE project_id = ?"
        " AND status = 'indexed' ORDER BY file_path",
        (pid,),
    ).fetchall()
    files = [
        (r[0], language_for_path(r[0], (root / r[0]).read_bytes()[:4096]) or r[1]) for r in indexed
    ]
    cpu0 = time.process_time()
    raw_s = raw_parse(root, files) if not args.no_raw else 0.0
    raw_cpu = time.process_time() - cpu0 if not args.no_raw else 0.0

    result: dict[str, object] = {
        "corpus": str(Path(args.path).resolve()),
        "files": stats.files,
        "lines": sum(int(r[2]) for r in indexed),
        "symbols": stats.symbols,
        "edges": stats.edges,
        "resolved": stats.resolved,
        "unresolved": stats.unresolved,
        "index_s": round(index_s, 3),
        "raw_parse_s": round(raw_s, 3),
        "ratio": round(index_s / raw_s, 3) if raw_s else None,
        "index_cpu_s": round(index_cpu, 3),
        "index_main_process_cpu_s": round(main_cpu, 3),
        "raw_parse_cpu_s": round(raw_cpu, 3),
        "cpu_ratio": round(index_cpu / raw_cpu, 3) if raw_cpu else None,
        "index_parse_phase_s": round(stats.parse_seconds, 3),
        "index_resolve_phase_s": round(stats.resolve_seconds, 3),
        "parser_processes": stats.workers,
        "cpus": os.cpu_count(),
    }
    rel = pick_edit_file(store, pid, root)
    empty = {"did_save_p50_ms": None, "did_save_p95_ms": None}
    if args.edits <= 0:
        result.update(empty, did_save_note="--edits 0")
    elif rel is None:
        result.update(empty, did_save_note="no indexed Python file with a function to edit")
    else:
        try:
            result.update(did_save(store, pid, root, rel, args.edits))
        except OSError as exc:
            result.update(empty, did_save_note=f"could not write the edited copy: {exc}")
    result["workspace_symbol_ms"] = search_ms(store, pid)
    sampler.sample()
    result["peak_rss_mb"] = round(sampler.peak / 1e6, 1)
    if args.jedi:
        sampler.peak = 0
        waiting = (
            store.conn()
            .execute(
                "SELECT count(*) FROM call_graph WHERE project_id = ? AND needs_resolution = 2",
                (pid,),
            )
            .fetchone()[0]
        )
        t = time.perf_counter()
        result["jedi_candidates"] = waiting
        result["jedi_resolved"] = indexer.resolve_python_with_jedi(store, pid, root)
        result["jedi_s"] = round(time.perf_counter() - t, 3)
        sampler.sample()
        result["jedi_peak_rss_mb"] = round(sampler.peak / 1e6, 1)
    sampler.stop()
    store.close()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
