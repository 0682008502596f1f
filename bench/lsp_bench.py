"""Latency of mira-ls over stdio while its background work runs, beside jedi-language-server.

    python bench/lsp_bench.py [CORPUS] [--jedi-ls PATH] [--hovers 300] [--queries 50]
                              [--saves 10] [--open 12] [--seed 13] [--out FILE]

Prints one JSON object. CORPUS is a git bundle (default ../shared/corpus/sqlalchemy.bundle)
or a directory; a bundle is cloned into a temporary directory.

- The client is a small raw JSON-RPC client in this file (Content-Length frames over the
  child's stdin/stdout), not the project's code; each request is sent when the previous
  answer arrived, as an editor's user does, and timed from send to the answer's arrival.
- mira-ls starts on a database where the corpus is indexed and its history mined (made once
  per corpus and kept under the temp dir, copied for every run), so what runs in the
  background is what runs for a user who opens the project again: the incremental index on
  start, then the jedi pass, blame of every opened file, and after each save the git check
  (mining, blame, co-change diagnostics).
- Rows: an empty round trip (an unknown method, answered with MethodNotFound), hover on N
  random function definitions (their names) in the opened files, workspace/symbol with Q
  queries (half prefixes, half fuzzy subsequences of stored names), call hierarchy prepare
  and incoming on the hovered functions, and saves of the corpus's Python file closest to
  2,599 lines: a didChange appending a new function, didSave, then workspace/symbol until
  the new name is found (the save row is that whole time).
- The same positions and queries go to jedi-language-server (``--jedi-ls``; skipped when
  not found); it has no call hierarchy and no index, so those rows are null for it.
- cpu: the server's CPU seconds per request of each row, from /proc/PID/stat (the whole
  process, background threads included) and /proc/PID/task/PID/stat (the main thread, where
  pygls answers requests); child processes (jedi, index workers) are not included.
- load: os.getloadavg() at the start and end of each server's run; the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus" / "sqlalchemy.bundle"
CLK_TCK = os.sysconf("SC_CLK_TCK")
DEF_RE = re.compile(r"^(\s*)(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(")


# -- a raw JSON-RPC client -------------------------------------------------------------------


class Client:
    """One language server child over stdio: requests with ids, answers matched by id;
    requests from the server answered with null (or [{}] for configuration)."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )
        self._next = 0
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[threading.Event, list[Any]]] = {}
        self.progress_ended: list[str] = []
        self.diagnostics = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _send(self, msg: dict[str, Any]) -> None:
        body = json.dumps(msg, separators=(",", ":")).encode()
        assert self.proc.stdin is not None
        with self._lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = out.read(length)
            arrived = time.perf_counter()
            msg = json.loads(body)
            if "id" in msg and "method" not in msg:
                slot = self._waiting.pop(msg["id"], None)
                if slot is not None:
                    slot[1].extend([msg, arrived])
                    slot[0].set()
            elif "id" in msg:  # a request from the server
                result: Any = None
                if msg["method"] == "workspace/configuration":
                    result = [{} for _ in msg.get("params", {}).get("items", [])]
                self._send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif msg.get("method") == "$/progress":
                value = msg.get("params", {}).get("value", {})
                if value.get("kind") == "end":
                    self.progress_ended.append(str(msg["params"].get("token")))
            elif msg.get("method") == "textDocument/publishDiagnostics":
                self.diagnostics += 1

    def request(self, method: str, params: Any, timeout: float = 120.0) -> tuple[Any, float]:
        """(result or error object, seconds from sending to the answer's arrival)."""
        self._next += 1
        rid = self._next
        done = threading.Event()
        slot: list[Any] = []
        self._waiting[rid] = (done, slot)
        sent = time.perf_counter()
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        if not done.wait(timeout):
            raise TimeoutError(f"{method} got no answer in {timeout} s")
        msg, arrived = slot
        return msg.get("result", msg.get("error")), arrived - sent

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(whole process, main thread) user+system CPU seconds."""

    def read(path: str) -> float:
        try:
            with open(path) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    return read(f"/proc/{pid}/stat"), read(f"/proc/{pid}/task/{pid}/stat")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return round(s[k] * 1000, 2)


def row(times: list[float], cpu: tuple[float, float], n: int) -> dict[str, Any]:
    return {
        "n": len(times),
        "p50_ms": pct(times, 50),
        "p95_ms": pct(times, 95),
        "max_ms": pct(times, 100),
        "cpu_ms_per_request": round(cpu[0] / max(n, 1) * 1000, 2),
        "main_thread_cpu_ms_per_request": round(cpu[1] / max(n, 1) * 1000, 2),
    }


# -- the workload ------------------------------------------------------------------------------


def py_files(root: Path) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    return [p for p in out if (root / p).is_file()]


def functions_in(text: str) -> list[tuple[int, int, str]]:
    """(0-based line, 0-based UTF-16 column of the name, name) of each def in an ASCII-safe
    way: the column is computed on the line's UTF-16 prefix."""
    found = []
    for i, line in enumerate(text.split("\n")):
        m = DEF_RE.match(line)
        if m:
            col = len(line[: m.start(2)].encode("utf-16-le")) // 2
            found.append((i, col, m.group(2)))
    return found


def fuzzy(name: str, rng: random.Random) -> str:
    """A subsequence of the name: its first letter and a few more, in order."""
    letters = [c for c in name if c.isalnum()]
    if len(letters) <= 3:
        return "".join(letters)
    keep = sorted(rng.sample(range(1, len(letters)), min(3, len(letters) - 1)))
    return letters[0] + "".join(letters[i] for i in keep)


def workload(root: Path, seed: int, n_open: int, n_hover: int, n_queries: int) -> dict[str, Any]:
    rng = random.Random(seed)
    files = py_files(root)
    lib = [f for f in files if "/test" not in f"/{f}" and "example" not in f]
    big = [f for f in lib if len(functions_in((root / f).read_text("utf-8", "replace"))) >= 10]
    opened = rng.sample(big, min(n_open, len(big)))
    defs = []
    texts = {}
    for f in opened:
        texts[f] = (root / f).read_text("utf-8", "replace")
        defs += [(f, *d) for d in functions_in(texts[f])]
    hovers = rng.sample(defs, min(n_hover, len(defs)))
    names = sorted({d[3] for d in defs if len(d[3]) >= 4 and not d[3].startswith("__")})
    queries = []
    for i in range(n_queries):
        name = rng.choice(names).lstrip("_")
        queries.append(name[: rng.randint(3, 5)] if i % 2 == 0 else fuzzy(name, rng))
    lengths = {f: (root / f).read_bytes().count(b"\n") for f in lib}
    save = min(lengths, key=lambda f: abs(lengths[f] - 2599))
    return {
        "opened": opened,
        "texts": texts,
        "hovers": hovers,
        "queries": queries,
        "save": save,
        "save_lines": lengths[save],
    }


def uri(root: Path, rel: str) -> str:
    return (root / rel).as_uri()


def run_server(
    name: str, argv: list[str], env: dict[str, str], root: Path, w: dict[str, Any], args: Any
) -> dict[str, Any]:
    c = Client(argv, env, str(root))
    pid = c.proc.pid
    load_start = os.getloadavg()
    caps = {
        "general": {"positionEncodings": ["utf-16"]},
        "window": {"workDoneProgress": True},
        "workspace": {"codeLens": {"refreshSupport": True}, "configuration": True},
        "textDocument": {
            "hover": {"contentFormat": ["markdown", "plaintext"]},
            "synchronization": {"didSave": True},
            "callHierarchy": {},
        },
    }
    started = time.perf_counter()
    c.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": caps,
        },
    )
    c.notify("initialized", {})
    out: dict[str, Any] = {"server": name}
    if name == "mira-ls":  # the incremental index on start; jedi, blame and mining follow
        deadline = time.monotonic() + 300
        while not c.progress_ended and time.monotonic() < deadline:
            time.sleep(0.05)
        out["start_index_s"] = round(time.perf_counter() - started, 2)
    for f in w["opened"]:
        c.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri(root, f),
                    "languageId": "python",
                    "version": 1,
                    "text": w["texts"][f],
                }
            },
        )
    rows: dict[str, Any] = {}

    def measure(label: str, calls: list[tuple[str, Any]]) -> list[Any]:
        before = cpu_seconds(pid)
        times, results = [], []
        for method, params in calls:
            result, dt = c.request(method, params)
            times.append(dt)
            results.append(result)
        after = cpu_seconds(pid)
        cpu = (after[0] - before[0], after[1] - before[1])
        rows[label] = row(times, cpu, len(calls))
        return results

    measure("empty_round_trip", [("mira/noSuchMethod", {})] * args.round_trips)
    hover_calls = [
        (
            "textDocument/hover",
            {"textDocument": {"uri": uri(root, f)}, "position": {"line": ln, "character": col}},
        )
        for f, ln, col, _ in w["hovers"]
    ]
    answered = measure("hover", hover_calls)
    rows["hover"]["answered"] = sum(1 for r in answered if r and "contents" in r)
    found = measure("workspace_symbol", [("workspace/symbol", {"query": q}) for q in w["queries"]])
    rows["workspace_symbol"]["answered"] = sum(1 for r in found if isinstance(r, list) and r)
    if name == "mira-ls":
        prepare_calls = [
            ("textDocument/prepareCallHierarchy", params) for _, params in hover_calls[: args.calls]
        ]
        prepared = measure("call_hierarchy_prepare", prepare_calls)
        items = [p[0] for p in prepared if isinstance(p, list) and p]
        rows["call_hierarchy_prepare"]["answered"] = len(items)
        measure(
            "call_hierarchy_incoming",
            [("callHierarchy/incomingCalls", {"item": it}) for it in items],
        )
        rows["save"] = saves(c, root, w, args.saves)
    out["rows"] = rows
    out["load_start"] = [round(x, 2) for x in load_start]
    out["load_end"] = [round(x, 2) for x in os.getloadavg()]
    out["publish_diagnostics"] = c.diagnostics
    c.close()
    return out


def saves(c: Client, root: Path, w: dict[str, Any], n: int) -> dict[str, Any]:
    """didChange appending a function, didSave, then workspace/symbol until it is found."""
    rel = w["save"]
    path = root / rel
    original = path.read_text("utf-8", "replace")
    doc = uri(root, rel)
    c.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": doc, "languageId": "python", "version": 1, "text": original}},
    )
    text = original
    times, polls = [], []
    before = cpu_seconds(c.proc.pid)
    try:
        for i in range(n):
            new = f"bench_saved_symbol_{os.getpid()}_{i}"
            added = f"\n\ndef {new}(a, b):\n    return a + b\n"
            lines = text.split("\n")
            end = {"line": len(lines) - 1, "character": len(lines[-1].encode("utf-16-le")) // 2}
            text += added
            c.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": doc, "version": i + 2},
                    "contentChanges": [{"range": {"start": end, "end": end}, "text": added}],
                },
            )
            path.write_text(text, "utf-8")
            t0 = time.perf_counter()
            c.notify("textDocument/didSave", {"textDocument": {"uri": doc}})
            k = 0
            while True:
                k += 1
                result, _ = c.request("workspace/symbol", {"query": new})
                if isinstance(result, list) and any(r.get("name") == new for r in result):
                    break
                if time.perf_counter() - t0 > 30:
                    break
            times.append(time.perf_counter() - t0)
            polls.append(k)
            time.sleep(0.2)  # a user's pause between saves; the git check runs meanwhile
    finally:
        path.write_text(original, "utf-8")
    after = cpu_seconds(c.proc.pid)
    r = row(times, (after[0] - before[0], after[1] - before[1]), n)
    r["file"] = rel
    r["file_lines"] = w["save_lines"]
    r["polls_mean"] = round(sum(polls) / max(len(polls), 1), 1)
    return r


# -- setup -------------------------------------------------------------------------------------


def prepare(corpus: Path, work: Path, mira: list[str]) -> tuple[Path, Path]:
    """(work tree, database indexed and mined); both cached under the temp dir by name."""
    cache = Path(tempfile.gettempdir()) / "mira-lsp-bench" / corpus.stem
    root, db = cache / "repo", cache / "mira.db"
    if corpus.is_dir():
        root = corpus.resolve()
    elif not root.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", str(corpus), str(root)], check=True)
    if not db.exists():
        tmp = cache / "mira.db.tmp"
        for cmd in (["index", str(root), "--quiet"], ["mine", str(root)]):
            subprocess.run(
                [*mira, *cmd, "--db", str(tmp)],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        tmp.rename(db)
    fresh = work / "mira.db"
    shutil.copyfile(db, fresh)
    return root, fresh


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    ap.add_argument("--jedi-ls", default=shutil.which("jedi-language-server") or "")
    ap.add_argument("--hovers", type=int, default=300)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--calls", type=int, default=100, help="call hierarchy prepares")
    ap.add_argument("--round-trips", type=int, default=200)
    ap.add_argument("--saves", type=int, default=10)
    ap.add_argument("--open", type=int, default=12, help="files opened (and blamed)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--only", choices=["mira-ls", "jedi-ls"], default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    mira = [sys.executable, "-m", "mira_ls"]
    with tempfile.TemporaryDirectory(prefix="mira-lsp-bench-") as tmp:
        work = Path(tmp)
        root, db = prepare(Path(args.corpus), work, mira)
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True)
        w = workload(root, args.seed, args.open, args.hovers, args.queries)
        result: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}",
            "corpus": Path(args.corpus).name,
            "opened_files": len(w["opened"]),
            "servers": [],
        }
        env = {
            **os.environ,
            "MIRA_DB": str(db),
            "XDG_STATE_HOME": str(work / "state"),
            "XDG_DATA_HOME": str(work / "data"),
            "PYTHONPATH": str(HERE.parent),
        }
        env.pop("OPENAI_API_KEY", None)
        env.pop("MIRA_OPENAI_API_KEY", None)
        if args.only in (None, "mira-ls"):
            result["servers"].append(run_server("mira-ls", [*mira, "serve"], env, root, w, args))
        if args.only in (None, "jedi-ls") and args.jedi_ls:
            jenv = {k: v for k, v in env.items() if k != "PYTHONPATH"}
            result["servers"].append(run_server("jedi-ls", [args.jedi_ls], jenv, root, w, args))
        elif not args.jedi_ls:
            result["jedi_ls_note"] = "jedi-language-server not found (pass --jedi-ls PATH)"
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
