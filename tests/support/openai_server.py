"""A real HTTP server on 127.0.0.1 that speaks the OpenAI Chat Completions and Embeddings
wire formats.

Tests point the openai SDK at it through ``base_url``. Replies are scripted per request
(queue) or produced by a default function: JSON or SSE (chunked transfer encoding, usage in
the last chunk when ``stream_options.include_usage`` is set), tool-call deltas, HTTP errors
with headers (retry-after), slow answers and dropped connections. It records every request
(body and headers) so tests can check what the client sent.

``/v1/embeddings`` answers with deterministic vectors made from the words of each input
(feature hashing: each lowercase word adds a signed unit at a hashed position, then the
vector is normalized), so texts sharing words are near and the same text always gets the
same vector. They are the test server's, not the product's.

Run it standalone for other processes: ``python -m tests.support.openai_server`` prints
``PORT`` on its first line and serves the default reply until killed.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass
class Answer:
    """A successful completion. ``chunks`` splits the text for streaming (default: words)."""

    text: str = "Hello from the loopback model."
    tool_calls: list[ToolCall] = field(default_factory=list)
    prompt_tokens: int | None = None  # None: derived from the request
    completion_tokens: int | None = None  # None: words of the text (+ tool call args)
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    chunks: list[str] | None = None
    chunk_delay_s: float = 0.0
    delay_s: float = 0.0  # before the response headers
    drop_after_chunks: int | None = None  # close the socket mid-stream after N content chunks
    finish_reason: str | None = None  # None: "tool_calls" when tool calls, else "stop"
    ignore_cap: bool = False  # report completion_tokens above the request's cap (a broken server)
    send_usage: bool = True  # False: no usage chunk even when include_usage is asked for


@dataclass
class Error:
    status: int
    message: str = "error"
    type: str = "invalid_request_error"
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Drop:
    """Accept the request, then close the connection without any response."""


@dataclass
class Vectors:
    """An embeddings answer with a fixed dimension (e.g. a model making 768 whatever was
    asked), or without usage."""

    dimensions: int | None = None
    usage: bool = True


Reply = Answer | Error | Drop | Vectors
ReplyFn = Callable[[dict[str, Any]], Reply]


def _words(text: str) -> int:
    return len(text.split())


def default_reply(body: dict[str, Any]) -> Reply:
    """Echo the last user message, so identical requests give identical answers."""
    last = ""
    for m in body.get("messages", []):
        if m.get("role") == "user" and isinstance(m.get("content"), str):
            last = m["content"]
    return Answer(text=f"You asked: {last[:200]}")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class OpenAIServer:
    """Start with ``with OpenAIServer() as srv:``; ``srv.base_url`` is ``http://127.0.0.1:P/v1``."""

    def __init__(
        self, reply: ReplyFn = default_reply, models: tuple[str, ...] = ("gpt-5.1",)
    ) -> None:
        self.default = reply
        self.models = models
        self.queue: deque[Reply] = deque()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    data = {
                        "object": "list",
                        "data": [
                            {"id": m, "object": "model", "created": 0, "owned_by": "test"}
                            for m in owner.models
                        ],
                    }
                    self._json(200, data)
                else:
                    self._json(404, _error_body("not found", "invalid_request_error", None))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._json(400, _error_body("invalid JSON", "invalid_request_error", None))
                    return
                with owner._lock:
                    owner.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    reply = owner.queue.popleft() if owner.queue else None
                if self.path.rstrip("/").endswith("/embeddings"):
                    owner._embed(self, body, reply)
                    return
                if reply is None:
                    reply = owner.default(body)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(
                        404, _error_body(f"unknown path {self.path}", "invalid_request_error", None)
                    )
                    return
                owner._serve(self, body, reply)

            def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

        self._handler = Handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="openai-loopback", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.queue.extend(replies)

    def embedding_requests(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.rstrip("/").endswith("/embeddings")]

    def chat_requests(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.rstrip("/").endswith("/chat/completions")]

    # -- serving ----------------------------------------------------------------------

    def _embed(self, h: Any, body: dict[str, Any], reply: Reply | None) -> None:
        if isinstance(reply, Drop):
            _abort(h)
            return
        if isinstance(reply, Error):
            h._json(reply.status, _error_body(reply.message, reply.type, reply.code), reply.headers)
            return
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or len(inputs) > 2048:
            h._json(
                400, _error_body("input must be 1 to 2048 strings", "invalid_request_error", None)
            )
            return
        model = str(body.get("model", "text-embedding-3-large"))
        dims = int(body.get("dimensions") or (3072 if model.endswith("large") else 1536))
        if isinstance(reply, Vectors) and reply.dimensions is not None:
            dims = reply.dimensions
        b64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(inputs):
            vec = word_vector(str(text), dims)
            emb: Any = vec
            if b64:
                emb = base64.b64encode(b"".join(_f32(x) for x in vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        out: dict[str, Any] = {"object": "list", "data": data, "model": model}
        if not (isinstance(reply, Vectors) and not reply.usage):
            n = sum(max(1, _words(str(t))) for t in inputs)
            out["usage"] = {"prompt_tokens": n, "total_tokens": n}
        h._json(200, out)

    def _serve(self, h: Any, body: dict[str, Any], reply: Reply) -> None:
        if isinstance(reply, Drop):
            _abort(h)
            return
        if isinstance(reply, Error):
            h._json(reply.status, _error_body(reply.message, reply.type, reply.code), reply.headers)
            return
        if reply.delay_s:
            time.sleep(reply.delay_s)
        usage = self._usage(body, reply)
        rid = f"chatcmpl-{next(self._ids)}"
        model = str(body.get("model", "gpt-5.1"))
        calls = [
            {
                "id": tc.id or f"call_{i + 1}",
                "type": "function",
                "function": {"name": tc.name, "arguments": json.dumps(tc.arguments)},
            }
            for i, tc in enumerate(reply.tool_calls)
        ]
        finish = reply.finish_reason or ("tool_calls" if calls else "stop")
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
            if calls:
                message["tool_calls"] = calls
            h._json(
                200,
                {
                    "id": rid,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                },
            )
            return
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.send_header("transfer-encoding", "chunked")
        h.end_headers()

        def event(data: Any) -> None:
            payload = (
                b"data: "
                + (data if isinstance(data, bytes) else json.dumps(data).encode())
                + b"\n\n"
            )
            h.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            h.wfile.flush()

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }

        try:
            event(chunk({"role": "assistant", "content": ""}))
            pieces = reply.chunks if reply.chunks is not None else _split(reply.text)
            for n, piece in enumerate(pieces):
                if reply.drop_after_chunks is not None and n >= reply.drop_after_chunks:
                    _abort(h)
                    return
                if reply.chunk_delay_s:
                    time.sleep(reply.chunk_delay_s)
                event(chunk({"content": piece}))
            if reply.drop_after_chunks is not None and reply.drop_after_chunks >= len(pieces):
                _abort(h)
                return
            for i, c in enumerate(calls):
                args = c["function"]["arguments"]
                event(
                    chunk(
                        {
                            "tool_calls": [
                                {
                                    "index": i,
                                    "id": c["id"],
                                    "type": "function",
                                    "function": {"name": c["function"]["name"], "arguments": ""},
                                }
                            ]
                        }
                    )
                )
                half = len(args) // 2
                for part in (args[:half], args[half:]):
                    event(chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]}))
            event(chunk({}, finish))
            if reply.send_usage and (body.get("stream_options") or {}).get("include_usage"):
                event(
                    {
                        "id": rid,
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [],
                        "usage": usage,
                    }
                )
            event(b"[DONE]")
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away (cancellation): nothing more to send

    def _usage(self, body: dict[str, Any], reply: Answer) -> dict[str, Any]:
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = 8 + sum(
                _words(m["content"])
                for m in body.get("messages", [])
                if isinstance(m.get("content"), str)
            )
        completion = reply.completion_tokens
        if completion is None:
            completion = (
                _words(reply.text)
                + sum(len(json.dumps(tc.arguments)) // 4 + 4 for tc in reply.tool_calls)
                + reply.reasoning_tokens
            )
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(cap, int) and not reply.ignore_cap:
            completion = min(completion, cap)  # a real server never exceeds the cap
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": reply.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
        }


def _f32(x: float) -> bytes:
    import struct

    return struct.pack("<f", x)


def word_vector(text: str, dims: int) -> list[float]:
    """The test server's deterministic embedding of ``text`` (see the module docstring)."""
    vec = [0.0] * dims
    for word in re.findall(r"[a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower()):
        d = hashlib.blake2b(word.encode(), digest_size=8).digest()
        vec[int.from_bytes(d[:4], "little") % dims] += 1.0 if d[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vec))
    if norm == 0:
        vec[0] = 1.0
        return vec
    return [x / norm for x in vec]


def _split(text: str) -> list[str]:
    """Words with their following whitespace, so joining the chunks gives the text back."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _error_body(message: str, type_: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def _abort(h: Any) -> None:
    """Close the TCP connection mid-response (FIN without finishing the body)."""
    try:
        h.wfile.flush()
        sock: socket.socket = h.connection
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    except OSError:
        pass
    h.close_connection = True


def _fixed_reply(body: dict[str, Any]) -> Reply:
    """For standalone use by other processes: a fixed usage so costs are predictable."""
    return Answer(text="ok " * 20, prompt_tokens=1000, completion_tokens=500)


if __name__ == "__main__":  # pragma: no cover - used by multi-process tests
    srv = OpenAIServer(_fixed_reply if "--fixed" in sys.argv else default_reply).start()
    print(srv.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
