"""``mira-ls serve --tcp``: the real server answers LSP over a socket; bad addresses are
usage errors with a sentence."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _send(sock: socket.socket, msg: dict[str, Any]) -> None:
    body = json.dumps(msg).encode()
    sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _read(sock: socket.socket, buf: bytearray) -> dict[str, Any]:
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        buf.extend(chunk)
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        rest += chunk
    buf[:] = rest[length:]
    return json.loads(rest[:length])


def _response(sock: socket.socket, buf: bytearray, rid: int) -> dict[str, Any]:
    while True:
        msg = _read(sock, buf)
        if msg.get("id") == rid and "method" not in msg:
            return msg


def test_serve_over_tcp_answers_initialize_and_workspace_symbols(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "m.py").write_text("def tcp_probe():\n    return 1\n")
    port = _free_port()
    env = {**os.environ, "MIRA_DB": str(tmp_path / "tcp.db")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mira_ls", "serve", "--tcp", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the server never listened"
                time.sleep(0.1)
        buf = bytearray()
        with sock:
            _send(
                sock,
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "processId": None,
                        "rootUri": ws.as_uri(),
                        "capabilities": {},
                        "workspaceFolders": [{"uri": ws.as_uri(), "name": "ws"}],
                    },
                },
            )
            init = _response(sock, buf, 1)
            assert init["result"]["serverInfo"]["name"] == "mira-ls"
            assert init["result"]["capabilities"]["workspaceSymbolProvider"]
            _send(sock, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
            found: list[Any] = []
            for rid in range(2, 200):  # the first index runs in the background
                _send(
                    sock,
                    {
                        "jsonrpc": "2.0",
                        "id": rid,
                        "method": "workspace/symbol",
                        "params": {"query": "tcp_probe"},
                    },
                )
                found = _response(sock, buf, rid)["result"] or []
                if found:
                    break
                time.sleep(0.1)
            assert [s["name"] for s in found] == ["tcp_probe"]
            assert found[0]["location"]["uri"] == (ws / "m.py").as_uri()
            _send(sock, {"jsonrpc": "2.0", "id": 999, "method": "shutdown", "params": None})
            assert _response(sock, buf, 999)["result"] is None
            _send(sock, {"jsonrpc": "2.0", "method": "exit", "params": None})
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_bad_tcp_addresses_are_usage_errors(tmp_path: Path) -> None:
    for value in ("nonsense", "127.0.0.1:99999", ":2087"):
        r = subprocess.run(
            [sys.executable, "-m", "mira_ls", "serve", "--tcp", value],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "MIRA_DB": str(tmp_path / "x.db")},
            check=False,
        )
        assert r.returncode == 2, r.stderr
        assert "--tcp expects HOST:PORT with a port from 1 to 65535" in r.stderr
        assert "Traceback" not in r.stderr
