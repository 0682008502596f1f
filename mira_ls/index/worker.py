"""The work one parser process does per file: read, hash, classify, extract, resolve locally.

Results are plain tuples so they pickle fast between processes; the main process is the
only one that writes the database.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from mira_ls.index import deps, lang_types
from mira_ls.index.languages import language_for_path
from mira_ls.index.py_types import receiver_types
from mira_ls.index.resolve import (
    NEEDS_PROJECT,
    ResolveStats,
    StagedCalls,
    after_local,
    derived_callers,
    local_bindings,
    pack_staged,
    resolve_local,
    resolve_staged,
)
from mira_ls.index.symbols import FileExtract, Parsed, extract
from mira_ls.paths import text_path
from mira_ls.search.terms import expand
from mira_ls.store.connection import connect
from mira_ls.store.dependencies import Dependency

log = logging.getLogger(__name__)

BINARY_SNIFF_BYTES = 8192
# Characters of a symbol's own text kept for keyword search: enough for the words of a
# function, bounded so a generated 10,000-line function costs no more than a long one.
SEARCH_BODY_CHARS = 2000


@dataclass(slots=True)
class FileResult:
    """What a worker learned about one file.

    status: 'parsed', 'unchanged' (same hash as stored), 'skipped_binary', 'skipped_large',
    'missing' (vanished since listing), 'error' (could not be read)."""

    rel: str
    status: str
    content_hash: str = ""
    size: int = 0
    mtime_ns: int | None = None
    language: str | None = None
    line_count: int = 0
    parse_errors: int = 0
    symbols: list[tuple[Any, ...]] | None = None
    calls: list[tuple[Any, ...]] | None = None
    imports: list[tuple[Any, ...]] | None = None
    error: str | None = None
    parsed: Parsed | None = None  # only in-process (a tree does not pickle)
    # With split=True: the calls only project-wide resolution can place, pickled as
    # (caller, name, receiver, line, col) and left out of ``calls``.
    staged: bytes | None = None
    staged_count: int = 0
    # Per symbol, what the keyword index stores: (name, qualified_name, signature,
    # docstring, body), identifiers already split (search.terms.expand).
    search: Sequence[tuple[str, str, str, str, str]] | None = None
    partial: str | None = None  # parsed, but a per-file bound left part of it out: why
    non_ascii_lines: str | None = None  # see non_ascii_lines()


MAX_NON_ASCII_LINES = 5000  # beyond that the list costs more to parse than the file


def non_ascii_lines(data: bytes) -> str | None:
    """The 1-based numbers of the lines (split on LF, as positions count them) holding a
    byte above 0x7F, comma-separated; '' when all are ASCII (most source files: one pass in
    C); None when there are too many to be worth listing."""
    if data.isascii():
        return ""
    found = [str(i) for i, line in enumerate(data.split(b"\n"), 1) if not line.isascii()]
    return ",".join(found) if len(found) <= MAX_NON_ASCII_LINES else None


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:BINARY_SNIFF_BYTES]


def read_source(path: Path, max_bytes: int) -> tuple[str, bytes | None, int, int | None, str]:
    """(status, data, size, mtime_ns, error) without ever blocking on a FIFO."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing", None, 0, None, "the file no longer exists"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "error", None, 0, None, "symbolic link loop"
        return "error", None, 0, None, exc.strerror or str(exc)
    if not stat.S_ISREG(st.st_mode):
        return "error", None, 0, st.st_mtime_ns, "not a regular file"
    if st.st_size > max_bytes:
        return "skipped_large", None, st.st_size, st.st_mtime_ns, ""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        return "missing", None, 0, None, "the file no longer exists"
    except OSError as exc:
        return "error", None, 0, st.st_mtime_ns, exc.strerror or str(exc)
    if len(data) > max_bytes:
        return "skipped_large", None, len(data), st.st_mtime_ns, ""
    return "ok", data, len(data), st.st_mtime_ns, ""


SearchRow = tuple[str, str, str, str, str]


class SearchRows(Sequence[SearchRow]):
    """The keyword index's text for each symbol tuple (see ``pack``), made on first use:
    a save rewrites the rows of its edited symbols only, so the others are never built.

    A symbol's body is its own lines without those of its direct children (a class keeps
    its attributes, a module its imports and top-level code), so each line is indexed once,
    under the innermost definition it belongs to; cut to SEARCH_BODY_CHARS."""

    def __init__(self, data: bytes, symbols: list[tuple[Any, ...]]) -> None:
        self._lines = data.decode("utf-8", "replace").split("\n")
        self._symbols = symbols
        self._children: dict[int, list[tuple[int, int]]] = {}
        for s in symbols:
            if s[4] is not None:
                self._children.setdefault(s[4], []).append((s[5], s[7]))
        self._made: dict[int, SearchRow] = {}

    def __len__(self) -> int:
        return len(self._symbols)

    @overload
    def __getitem__(self, i: int) -> SearchRow: ...
    @overload
    def __getitem__(self, i: slice) -> list[SearchRow]: ...
    def __getitem__(self, i: int | slice) -> SearchRow | list[SearchRow]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        row = self._made.get(i)
        if row is None:
            row = self._made[i] = self._make(i)
        return row

    def _make(self, i: int) -> SearchRow:
        s = self._symbols[i]
        lines = self._lines
        start, end = s[5], s[7]
        end = min(end, len(lines))  # lines past the end of the file have no text
        # the symbol's own runs of lines, between its direct children's spans
        runs: list[tuple[int, int]] = []
        line = start
        for c_start, c_end in sorted(self._children.get(i, ())):
            if c_end < line or c_end < c_start:
                continue
            if c_start > line:
                runs.append((line, min(c_start - 1, end)))
            line = max(line, c_end + 1)
            if line > end:
                break
        if line <= end:
            runs.append((line, end))
        # whole lines until SEARCH_BODY_CHARS is reached (a newline counts one), then cut
        taken: list[str] = []
        size = 0
        for a, b in runs:
            if a > b:
                continue
            chunk = lines[a - 1 : b]
            more = sum(map(len, chunk)) + len(chunk)
            if size + more < SEARCH_BODY_CHARS:
                taken.extend(chunk)
                size += more
                continue
            for text in chunk:
                taken.append(text)
                size += len(text) + 1
                if size >= SEARCH_BODY_CHARS:
                    break
            break
        body = "\n".join(taken)[:SEARCH_BODY_CHARS]
        return (expand(s[1]), expand(s[2]), expand(s[11]), expand(s[12]), expand(body))


def search_rows(data: bytes, symbols: list[tuple[Any, ...]]) -> list[SearchRow]:
    """Every symbol's keyword-index text at once (a worker's result is pickled)."""
    return list(SearchRows(data, symbols))


def pack(
    fx: FileExtract, rel: str, *, split: bool = False
) -> tuple[
    list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]
]:
    """(symbols, calls, imports, staged) as plain tuples. Each call carries its local
    target (symbol index) or, failing that, what it still needs (resolve.after_local),
    and its receiver's type expression where the file tells it (py_types);
    with ``split`` the calls needing the project go to ``staged`` instead of ``calls``."""
    targets = resolve_local(fx, rel)
    unresolved = [t is None for t in targets]
    if fx.language == "python":
        rtypes = receiver_types(fx, rel, unresolved)
    else:
        rtypes = lang_types.receiver_types(fx, unresolved)
    symbols = [
        (
            s.kind,
            s.name,
            s.qualified_name,
            s.ordinal,
            s.parent,
            s.start_line,
            s.start_col,
            s.end_line,
            s.end_col,
            s.name_line,
            s.name_col,
            s.signature,
            s.docstring,
            s.content_hash,
            s.signature_hash,
            s.complexity,
            s.nesting,
            s.params,
        )
        for s in fx.symbols
    ]
    bound, star, has_imports = local_bindings(fx)
    lang = fx.language
    calls: list[tuple[Any, ...]] = []
    staged: list[tuple[Any, ...]] = []
    needs: dict[tuple[str, str | None, str | None, bool], int] = {}
    derived = derived_callers(fx)
    for c, t, rt in zip(fx.calls, targets, rtypes, strict=True):
        if t is not None:
            calls.append((c.caller, c.name, c.receiver, c.line, c.col, t, -1, None))
            continue
        key = (c.name, c.receiver, rt, c.caller in derived)
        need = needs.get(key)
        if need is None:
            need = needs[key] = after_local(
                lang, c.name, c.receiver, bound, star, has_imports, receiver_type=rt, derived=key[3]
            )
        if split and need == NEEDS_PROJECT:
            staged.append((c.caller, c.name, c.receiver, c.line, c.col, rt))
        else:
            calls.append((c.caller, c.name, c.receiver, c.line, c.col, None, need, rt))
    imports = [(i.module, i.name, i.alias, i.line) for i in fx.imports]
    return symbols, calls, imports, staged


def process_bytes(
    rel: str,
    data: bytes,
    mtime_ns: int | None,
    old_hash: str | None,
    language: str | None,
    previous: Parsed | None = None,
    *,
    keep_parse: bool = False,
    split: bool = False,
) -> FileResult:
    """``previous``: this file's last parse, to re-parse incrementally; ``keep_parse``: the
    result carries the new parse (in-process only: a tree does not pickle); ``split``: see
    FileResult.staged (a full index)."""
    h = hashlib.sha256(data).hexdigest()
    if old_hash is not None and h == old_hash:
        return FileResult(rel, "unchanged", h, len(data), mtime_ns, language)
    if is_binary(data):
        return FileResult(rel, "skipped_binary", h, len(data), mtime_ns, language)
    lang = language or language_for_path(rel, data[:4096])
    if rel.endswith(".h"):
        lang = language_for_path(rel, data[:4096])
    if lang is None:
        return FileResult(rel, "error", h, len(data), mtime_ns, None, error="unknown language")
    name = text_path(rel)  # what is stored: module names come from it
    fx = extract(data, name, lang, previous, source_hash=h)
    symbols, calls, imports, staged = pack(fx, name, split=split)
    return FileResult(
        rel,
        "parsed",
        h,
        len(data),
        mtime_ns,
        lang,
        fx.line_count,
        fx.parse_errors,
        symbols,
        calls,
        imports,
        parsed=fx.parsed if keep_parse else None,
        staged=pack_staged(staged) if split else None,
        staged_count=len(staged),
        search=SearchRows(data, symbols) if keep_parse else search_rows(data, symbols),
        non_ascii_lines=non_ascii_lines(data),
        partial=fx.partial,
    )


def process_file(
    root: Path,
    rel: str,
    old_hash: str | None,
    language: str | None,
    max_bytes: int,
    *,
    split: bool = False,
) -> FileResult:
    status, data, size, mtime_ns, err = read_source(root / rel, max_bytes)
    if status != "ok" or data is None:
        return FileResult(rel, status, "", size, mtime_ns, language, error=err or None)
    try:
        return process_bytes(rel, data, mtime_ns, old_hash, language, split=split)
    except Exception as exc:  # one file's failure skips that file, with the reason
        log.warning("could not parse %s: %s", text_path(rel), exc)
        h = hashlib.sha256(data).hexdigest()
        return FileResult(rel, "error", h, size, mtime_ns, language, error=f"parse failed: {exc}")


def process_chunk(
    root: str, items: list[tuple[str, str | None, str | None]], max_bytes: int
) -> list[FileResult]:
    """Worker entry point: items are (rel, old content hash, language)."""
    base = Path(root)
    return [process_file(base, rel, old, lang, max_bytes, split=True) for rel, old, lang in items]


def _read_only(db_path: str) -> Any:
    """A reader for one task. Its page cache is small: the file's pages are in the OS cache
    anyway, and two parser processes each holding the default cache would add ~30 MB."""
    conn = connect(Path(db_path))
    conn.execute("PRAGMA query_only=1")
    conn.execute("PRAGMA cache_size=-2000")
    return conn


def resolve_chunk(
    db_path: str, project_id: int, jedi_next: bool, items: list[StagedCalls]
) -> tuple[list[tuple[Any, ...]], ResolveStats]:
    """Worker entry point at the end of a full index: resolve staged calls against the
    committed symbols (read-only); the writer stores the rows."""
    conn = _read_only(db_path)
    try:
        return resolve_staged(conn, project_id, items, jedi_next=jedi_next)
    finally:
        conn.close()


def collect_dependencies(db_path: str, project_id: int, root: str) -> list[Dependency]:
    """Worker entry point: a project's external dependencies (read-only), so the writer
    only stores them."""
    conn = _read_only(db_path)
    try:
        return deps.collect(conn, project_id, Path(root))
    finally:
        conn.close()
