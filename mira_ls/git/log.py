"""Streaming parser for ``git log --numstat -M -z`` with a NUL-separated header.

The output is read in chunks and split on NUL as it arrives, so memory holds one chunk and
one commit, never the whole log. With ``-z`` renames come as three tokens (``a\\td\\t``,
old path, new path) and file names are raw bytes, so spaces, tabs, newlines and non-ASCII
names are unambiguous.

Token grammar (one commit): hash, parents, author name, author email, author time, commit
time, message; then any number of empty separators and numstat entries
(``added\\tdeleted\\tpath``, the first one prefixed by a newline). A token that is neither
empty nor a numstat entry starts the next commit.
"""

from __future__ import annotations

import queue
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mira_ls.git.repo import GitError, popen_git

LOG_FORMAT = "%H%x00%P%x00%aN%x00%aE%x00%at%x00%ct%x00%B%x00"
# The options mining and the raw baseline of the benchmark share.
LOG_OPTIONS = (
    "log",
    "--numstat",
    "-M",
    "-z",
    f"--format={LOG_FORMAT}",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--encoding=UTF-8",
)
CHUNK = 1 << 18

_HASH = re.compile(rb"^[0-9a-f]{40}([0-9a-f]{24})?$")
_NUMSTAT = re.compile(rb"^\n?(\d+|-)\t(\d+|-)\t")


@dataclass(slots=True)
class FileChange:
    path: str
    old_path: str | None  # set on renames
    added: int | None  # None: binary
    deleted: int | None


@dataclass(slots=True)
class Commit:
    hash: str
    parent_count: int
    author_name: str
    author_email: str
    authored_at: int
    committed_at: int
    message: str
    files: list[FileChange] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _int(b: bytes) -> int:
    try:
        return int(b)
    except ValueError:
        return 0


def parse_tokens(tokens: Iterable[bytes]) -> Iterator[Commit]:
    """Turn the NUL-separated token stream into commits, one at a time."""
    it = iter(tokens)
    pending: bytes | None = None
    while True:
        tok = pending if pending is not None else next(it, None)
        pending = None
        if tok is None:
            return
        if not tok or tok == b"\n":
            continue
        if not _HASH.match(tok):
            # Stray token outside a commit (should not happen); skip it rather than fail.
            continue
        header = [tok]
        for _ in range(6):
            t = next(it, None)
            if t is None:
                return
            header.append(t)
        h, parents, name, email, at, ct, msg = header
        commit = Commit(
            hash=h.decode("ascii"),
            parent_count=len(parents.split()),
            author_name=_text(name),
            author_email=_text(email),
            authored_at=_int(at),
            committed_at=_int(ct),
            message=_text(msg).strip("\n"),
        )
        files = commit.files
        while True:
            t = next(it, None)
            if t is None:
                yield commit
                return
            if not t or t == b"\n":
                continue
            m = _NUMSTAT.match(t)
            if m is None:
                pending = t
                break
            a, d = m.group(1), m.group(2)
            added = None if a == b"-" else int(a)
            deleted = None if d == b"-" else int(d)
            path = t[m.end() :]
            if path:
                files.append(FileChange(_text(path), None, added, deleted))
            else:
                old = next(it, None)
                new = next(it, None)
                if old is None or new is None:
                    yield commit
                    return
                files.append(FileChange(_text(new), _text(old), added, deleted))
        yield commit


def tokens_from_stream(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """Split a byte stream on NUL as it arrives, holding at most one chunk."""
    rest = b""
    while True:
        chunk = read(CHUNK)
        if not chunk:
            break
        parts = (rest + chunk).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


class _Prefetch:
    """Drain the pipe in a thread so git never waits while we parse or write; at most
    ``limit`` chunks are held, so a slow consumer still bounds memory."""

    def __init__(self, read: Callable[[int], bytes], limit: int = 64) -> None:
        self._read = read
        self._q: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=limit)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="git-log-reader", daemon=True)
        self._thread.start()

    def _put(self, item: bytes | BaseException) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _pump(self) -> None:
        try:
            while True:
                chunk = self._read(CHUNK)
                if not self._put(chunk) or not chunk:
                    return
        except BaseException as exc:
            self._put(exc)

    def read(self, _: int) -> bytes:
        item = self._q.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def stream_log(
    root: Path | str,
    rev_args: list[str],
    pathspec: list[str] | None = None,
    relative: bool = False,
    trusted: bool = False,
) -> Iterator[Commit]:
    """Run one ``git log`` and yield commits newest first while it is still running."""
    opts = list(LOG_OPTIONS)
    if relative:
        opts.remove("--no-relative")
        opts.append("--relative")
    args = [*opts, *rev_args, "--", *(pathspec or [])]
    with tempfile.TemporaryFile() as errf:
        proc = popen_git(root, *args, stderr=errf, trusted=trusted)
        assert proc.stdout is not None
        reader = _Prefetch(proc.stdout.read)
        try:
            yield from parse_tokens(tokens_from_stream(reader.read))
        except GeneratorExit:
            # The consumer stopped early (cancelled): stop git and the reader, report nothing.
            proc.kill()
            reader.stop()
            proc.wait()
            proc.stdout.close()
            raise
        reader.stop()
        rc = proc.wait()
        proc.stdout.close()
        errf.seek(0)
        err = errf.read()
    if rc != 0:
        text = err.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git log failed in {root}: {text[0] if text else f'exit code {rc}'}.")
