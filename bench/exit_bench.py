"""Exit benchmark: how soon the server is gone after ``exit``; prints one JSON object.

    python bench/exit_bench.py PATH [--runs 5] [--busy-s 1.0]

PATH is a work tree or a ``.bundle`` (cloned into a temporary directory first). Each run
starts ``mira-ls serve`` on a fresh database, sends initialize/initialized, lets the
background work (index, mining, jedi) run for --busy-s, then shutdown and exit, keeping
stdin open as Eglot does. shutdown_ms: the shutdown request's round trip; exit_ms: from
writing ``exit`` to the process being reaped (polled every 5 ms). Medians and maxima.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any


def _send(stdin: IO[bytes], obj: dict[str, Any]) -> None:
    body = json.dumps(obj).encode()
    stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stdin.flush()


def _read(stdout: IO[bytes]) -> dict[str, Any] | None:
    header = b""
    while not header.endswith(b"\r\n\r\n"):
        c = stdout.read(1)
        if not c:
            return None
        header += c
    length = next(
        int(line.split(b":")[1])
        for line in header.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    msg: dict[str, Any] = json.loads(stdout.read(length))
    return msg


def _answer(proc: subprocess.Popen[bytes], rid: int) -> None:
    assert proc.stdout is not None and proc.stdin is not None
    while True:
        m = _read(proc.stdout)
        if m is None or (m.get("id") == rid and "method" not in m):
            return
        if "method" in m and "id" in m:  # a server request (progress, registration): accept
            _send(proc.stdin, {"jsonrpc": "2.0", "id": m["id"], "result": None})


def one_run(root: Path, busy_s: float, tmp: Path) -> tuple[float, float, int | None]:
    env = {
        **os.environ,
        "MIRA_DB": str(tmp / "mira.db"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_DATA_HOME": str(tmp / "data"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "mira_ls", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdin is not None
    uri = root.as_uri()
    init = {"processId": None, "rootUri": uri, "capabilities": {}}
    init["workspaceFolders"] = [{"uri": uri, "name": root.name}]
    _send(proc.stdin, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
    _answer(proc, 1)
    _send(proc.stdin, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
    time.sleep(busy_s)
    t0 = time.monotonic()
    _send(proc.stdin, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    _answer(proc, 2)
    t1 = time.monotonic()
    _send(proc.stdin, {"jsonrpc": "2.0", "method": "exit"})
    t2 = time.monotonic()
    code = None
    while time.monotonic() - t2 < 10:
        code = proc.poll()
        if code is not None:
            break
        time.sleep(0.005)
    if code is None:
        proc.kill()
        proc.wait()
    return 1000 * (t1 - t0), 1000 * (time.monotonic() - t2), code


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--busy-s", type=float, default=1.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        root = args.path.resolve()
        if root.suffix == ".bundle":
            subprocess.run(["git", "clone", "-q", str(root), str(tmp / "ws")], check=True)
            root = tmp / "ws"
        shut, ex, codes = [], [], []
        for i in range(args.runs):
            run_dir = tmp / f"run{i}"
            run_dir.mkdir()
            s, e, c = one_run(root, args.busy_s, run_dir)
            shut.append(s)
            ex.append(e)
            codes.append(c)
    print(
        json.dumps(
            {
                "runs": args.runs,
                "busy_s": args.busy_s,
                "shutdown_ms_median": round(statistics.median(shut), 1),
                "exit_ms_median": round(statistics.median(ex), 1),
                "exit_ms_max": round(max(ex), 1),
                "exit_codes": codes,
            }
        )
    )


if __name__ == "__main__":
    main()
