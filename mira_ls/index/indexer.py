"""Full and incremental indexing of a workspace into code_elements / call_graph.

Full index (or catch-up): list files, skip those whose size and mtime match the stored row,
parse the rest in worker processes ("forkserver": the server has threads, plain fork is
unsafe), and write from this process only, one transaction per chunk. Calls that the
worker could not resolve inside their own file are stored pending and resolved once every
symbol is in.

Incremental (didSave, watched files): one parse, then a diff against the stored rows by
identity (qualified_name, kind, ordinal):
- same content_hash: the row is untouched (id stable; only its position moves if lines
  above it changed);
- body changed: the row and its outgoing edges are rewritten;
- signature changed: also every edge into it is re-resolved;
- removed: the row and its edges go; callers' edges are re-resolved (maybe elsewhere).
Changed and removed symbols invalidate the caches keyed on them.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import logging
import multiprocessing
import os
import pickle
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mira_ls.config import IndexSettings
from mira_ls.confined import is_inside
from mira_ls.index import deps, walk
from mira_ls.index.languages import language_for_path
from mira_ls.index.resolve import (
    NEEDS_JEDI,
    NEEDS_PROJECT,
    SETTLED,
    TARGET_KINDS,
    Resolver,
    StagedCalls,
    pack_staged,
    resolve_pending,
    resolve_python_with_jedi,
    resolve_staged,
    staged_as_pending,
)
from mira_ls.index.symbols import Parsed, module_name
from mira_ls.index.worker import (
    FileResult,
    collect_dependencies,
    process_bytes,
    process_chunk,
    read_source,
    resolve_chunk,
)
from mira_ls.search.terms import expand
from mira_ls.store import Store, projects
from mira_ls.store import code as cs
from mira_ls.store import search as search_store
from mira_ls.store.connection import Connection
from mira_ls.store.invalidation import invalidate_symbols

__all__ = [
    "FileUpdate",
    "IndexStats",
    "ParseCache",
    "WorkspaceError",
    "index_workspace",
    "remove_file",
    "rename_file",
    "resolve_python_with_jedi",
    "scan_changes",
    "update_file",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]

CHUNK_BYTES = 384 * 1024
CHUNK_FILES = 64
# Below these a process pool costs more (about 0.5 s to start) than it saves.
INLINE_MAX_FILES = 48
INLINE_MAX_BYTES = 2_000_000
MAX_ERRORS_KEPT = 20
COMMIT_EVERY_S = 0.5


class WorkspaceError(Exception):
    """The workspace cannot be indexed at all (str(exc) says why and what to do)."""


@dataclass
class IndexStats:
    """Result of a full or catch-up index; ``as_json()`` is the CLI's --json shape."""

    files: int = 0
    symbols: int = 0
    edges: int = 0
    resolved: int = 0
    unresolved: int = 0
    seconds: float = 0.0
    languages: dict[str, dict[str, int]] = field(default_factory=dict)
    parsed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    cancelled: bool = False
    mode: str = "walk"
    project_id: int = 0
    parse_seconds: float = 0.0
    resolve_seconds: float = 0.0
    workers: int = 0  # parser processes used (0: parsed in this process)

    def as_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "symbols": self.symbols,
            "edges": self.edges,
            "resolved": self.resolved,
            "unresolved": self.unresolved,
            "seconds": round(self.seconds, 3),
            "languages": self.languages,
        }


@dataclass
class FileUpdate:
    """What an incremental update did to one file.

    status: 'unchanged' (same bytes), 'indexed', 'removed', 'skipped_binary',
    'skipped_large', 'error', 'unsupported' (not a language we index), 'missing'."""

    rel_path: str
    status: str
    unchanged: int = 0
    body_changed: int = 0
    signature_changed: int = 0
    added: int = 0
    removed: int = 0
    changed_content_hashes: list[str] = field(default_factory=list)
    changed_symbol_ids: list[int] = field(default_factory=list)
    error: str | None = None
    search_rewritten: int = 0  # keyword-index rows written (a body edit: one)


class ParseCache:
    """The last parse of recently updated files (per process, held by the caller, e.g. the
    server's session): the next save of a file re-parses only what was edited."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[tuple[int, str], Parsed] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, project_id: int, rel: str) -> Parsed | None:
        with self._lock:
            hit = self._items.get((project_id, rel))
            if hit is not None:
                self._items.move_to_end((project_id, rel))
            return hit

    def put(self, project_id: int, rel: str, parsed: Parsed | None) -> None:
        with self._lock:
            if parsed is None:
                self._items.pop((project_id, rel), None)
                return
            self._items[(project_id, rel)] = parsed
            self._items.move_to_end((project_id, rel))
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class _WriteCtx:
    """The single writer's state inside one transaction.

    Rows are collected per file and written by ``flush()`` in an order that keeps foreign
    keys valid: new symbols (parents first), updates and moves, then deletions, then edges,
    flags, imports and cache invalidation. With ``stage=True`` (full index) calls that need
    project-wide resolution are staged instead of stored, and stored once resolved."""

    def __init__(
        self,
        conn: Connection,
        project_id: int,
        *,
        fresh: bool,
        stage: bool = False,
        jedi: bool = True,
    ) -> None:
        self.conn = conn
        self.project_id = project_id
        self.fresh = fresh
        self.stage = stage
        self.jedi = jedi
        self.now = int(time.time())
        self._next_id: int | None = None
        self.sym_inserts: list[tuple[Any, ...]] = []
        self.sym_updates: list[tuple[Any, ...]] = []
        self.sym_moves: list[tuple[Any, ...]] = []
        self.sym_deletes: list[int] = []
        self.edge_delete_callers: list[int] = []
        self.edge_shifts: list[tuple[int, int]] = []
        self.edge_lines: list[tuple[int, int]] = []
        self.edge_inserts: list[tuple[Any, ...]] = []
        # Kept by the caller once the transaction commits (flush() leaves it alone).
        self.staged_files: list[StagedCalls] = []
        self.sig_ids: list[int] = []
        self.added_names: list[str] = []
        self.imports_new: list[tuple[Any, ...]] = []
        self.imports_replace: list[int] = []
        self.invalid_ids: list[int] = []
        self.invalid_hashes: list[str] = []
        self.pending_files: set[int] = set()
        self.fts_inserts: list[search_store.SymbolText] = []
        self.fts_replaces: list[search_store.SymbolText] = []

    def take_id(self) -> int:
        return self.take_ids(1)

    def take_ids(self, n: int) -> int:
        """The first of ``n`` consecutive new symbol ids."""
        if self._next_id is None:
            self._next_id = cs.next_symbol_id(self.conn)
        sid = self._next_id
        self._next_id += n
        return sid

    def flush(self) -> set[int]:
        """Write everything collected; returns ids of files with edges needing resolution."""
        conn = self.conn
        flagged: list[int] = []
        if self.sym_inserts:
            cs.insert_symbols(conn, self.sym_inserts)
        if self.fts_inserts:
            search_store.insert_symbol_rows(conn, self.fts_inserts)
        if self.sym_updates:
            cs.update_symbols(conn, self.sym_updates)
        if self.fts_replaces:
            search_store.replace_symbol_rows(conn, self.fts_replaces)
        if self.sym_moves:
            cs.move_symbols(conn, self.sym_moves)
        if self.sym_deletes:
            flagged.extend(cs.delete_symbols(conn, self.sym_deletes))
        if self.edge_delete_callers:
            cs.delete_edges_from(conn, self.edge_delete_callers)
        if self.edge_shifts:
            cs.shift_edges(conn, self.edge_shifts)
        if self.edge_lines:
            cs.set_edge_lines(conn, self.edge_lines)
        if self.edge_inserts:
            cs.insert_edges(conn, self.edge_inserts)
        if self.sig_ids:
            flagged.extend(cs.flag_callers_of(conn, self.sig_ids))
        if self.added_names and not self.fresh:
            flagged.extend(cs.flag_unresolved_named(conn, self.project_id, self.added_names))
        for file_id in self.imports_replace:
            cs.replace_imports(conn, self.project_id, file_id, [])
        if self.imports_new:
            cs.insert_import_rows(conn, self.imports_new)
        if self.invalid_ids or self.invalid_hashes:
            invalidate_symbols(conn, self.invalid_ids, self.invalid_hashes)
        pending = set(self.pending_files)
        if flagged:
            pending |= cs.file_ids_of_symbols(conn, flagged)
        for lst in (
            self.sym_inserts,
            self.sym_updates,
            self.sym_moves,
            self.sym_deletes,
            self.edge_delete_callers,
            self.edge_shifts,
            self.edge_inserts,
            self.sig_ids,
            self.added_names,
            self.imports_new,
            self.imports_replace,
            self.invalid_ids,
            self.invalid_hashes,
            self.fts_inserts,
            self.fts_replaces,
        ):
            lst.clear()
        self.pending_files.clear()
        return pending


def _reconcile(
    ctx: _WriteCtx,
    file_id: int,
    rel: str,
    language: str,
    symbols: list[tuple[Any, ...]],
    calls: list[tuple[Any, ...]],
    imports: list[tuple[Any, ...]],
    *,
    is_new: bool,
    staged: bytes | None = None,
    staged_count: int = 0,
    search: list[tuple[str, str, str, str, str]] | None = None,
) -> FileUpdate:
    """Bring one file's stored rows in line with a fresh extract (written at flush).

    ``staged``: the extract's calls needing project-wide resolution, split off by the
    worker (FileResult.staged); ``search``: the keyword index's text per symbol."""
    if is_new:
        return _insert_new(
            ctx, file_id, rel, language, symbols, calls, imports, staged, staged_count, search
        )
    path_text = expand(rel)
    text_changed: list[search_store.SymbolText] = []
    if staged is not None:
        calls = calls + [(*c, None, NEEDS_PROJECT) for c in pickle.loads(staged)]
    conn, pid, now = ctx.conn, ctx.project_id, ctx.now
    upd = FileUpdate(rel, "indexed")
    stored = (
        {}
        if is_new
        else {(k.qualified_name, k.kind, k.ordinal): k for k in cs.stored_keys(conn, file_id)}
    )
    ids: list[int] = [0] * len(symbols)
    existing: list[int] = []
    shifts: list[tuple[int, int]] = []
    rewrite: set[int] = set()
    for i, s in enumerate(symbols):
        (kind, name, qn, ordinal, parent, sl, sc, el, ec, nl, nc, sig, doc, ch, sh, cx) = s
        parent_id = ids[parent] if parent is not None else None
        old = stored.pop((qn, kind, ordinal), None) if stored else None
        if old is None:
            sid = ctx.take_id()
            ids[i] = sid
            ctx.sym_inserts.append(
                (sid, pid, file_id, rel, language, kind, name, qn, ordinal, parent_id,
                 sl, sc, el, ec, nl, nc, sig, doc, ch, sh, cx, now)
            )  # fmt: skip
            if search is not None:
                n, q, sg, dc, bd = search[i]
                ctx.fts_inserts.append((sid, n, q, path_text, sg, dc, bd))
            upd.added += 1
            rewrite.add(i)
            if not is_new and kind in TARGET_KINDS:
                ctx.added_names.append(name)
            continue
        ids[i] = old.id
        existing.append(i)
        if old.content_hash == ch:
            upd.unchanged += 1
            place = (parent_id, sl, sc, el, ec, nl, nc)
            old_place = (old.parent_id, old.start_line, old.start_col, old.end_line,
                         old.end_col, old.name_line, old.name_col)  # fmt: skip
            if place != old_place:
                ctx.sym_moves.append((*place, old.id))
                if sc == old.start_col and sl != old.start_line:
                    shifts.append((i, sl - old.start_line))
                elif sc != old.start_col:
                    rewrite.add(i)
            continue
        ctx.sym_updates.append(
            (parent_id, sl, sc, el, ec, nl, nc, sig, doc, ch, sh, cx, now, old.id)
        )
        upd.changed_symbol_ids.append(old.id)
        upd.changed_content_hashes.append(old.content_hash)
        if search is not None:
            n, q, sg, dc, bd = search[i]
            text_changed.append((old.id, n, q, path_text, sg, dc, bd))
        rewrite.add(i)
        if old.signature_hash != sh:
            upd.signature_changed += 1
            ctx.sig_ids.append(old.id)
        else:
            upd.body_changed += 1
    if text_changed:
        # Editing a method changes its class's and module's bytes too, but not their own
        # text (children are not part of it): only rows whose text differs are rewritten.
        differing = search_store.differing_rows(conn, text_changed)
        ctx.fts_replaces.extend(differing)
        upd.search_rewritten = len(differing)
    if search is not None:
        upd.search_rewritten += upd.added
    removed = list(stored.values())
    upd.removed = len(removed)
    if removed:
        ctx.sym_deletes.extend(r.id for r in removed)
        upd.changed_symbol_ids.extend(r.id for r in removed)
        upd.changed_content_hashes.extend(r.content_hash for r in removed)
    if (upd.added and not is_new) or removed:
        rewrite = set(range(len(symbols)))  # local targets of unchanged symbols may move
    elif not is_new and rewrite:
        _keep_same_calls(ctx, rewrite, ids, calls)
    if not is_new:
        ctx.edge_delete_callers.extend(ids[i] for i in existing if i in rewrite)
        ctx.edge_shifts.extend((d, ids[i]) for i, d in shifts if i not in rewrite)
    pending = False
    to_stage: list[tuple[Any, ...]] = []
    for caller, name, receiver, line, col, target, need in calls:
        if caller not in rewrite:
            continue
        if target is not None:
            ctx.edge_inserts.append(
                (pid, ids[caller], ids[target], name, receiver, line, col, "scope", 0)
            )
        elif need != NEEDS_PROJECT:
            # No project rule can place it: stored settled (or waiting for jedi) right away.
            wait = NEEDS_JEDI if need == NEEDS_JEDI and ctx.jedi else SETTLED
            ctx.edge_inserts.append((pid, ids[caller], None, name, receiver, line, col, None, wait))
        elif ctx.stage:
            to_stage.append((caller, name, receiver, line, col))
        else:
            pending = True
            ctx.edge_inserts.append((pid, ids[caller], None, name, receiver, line, col, None, 1))
    if to_stage:
        ctx.staged_files.append(
            StagedCalls(file_id, rel, language, ids, pack_staged(to_stage), len(to_stage))
        )
    if not is_new:
        ctx.imports_replace.append(file_id)
    ctx.imports_new.extend((pid, file_id, *imp) for imp in imports)
    if upd.changed_symbol_ids:
        ctx.invalid_ids.extend(upd.changed_symbol_ids)
        ctx.invalid_hashes.extend(upd.changed_content_hashes)
    if pending:
        ctx.pending_files.add(file_id)
    return upd


def _insert_new(
    ctx: _WriteCtx,
    file_id: int,
    rel: str,
    language: str,
    symbols: list[tuple[Any, ...]],
    calls: list[tuple[Any, ...]],
    imports: list[tuple[Any, ...]],
    staged: bytes | None,
    staged_count: int,
    search: list[tuple[str, str, str, str, str]] | None,
) -> FileUpdate:
    """_reconcile for a file with no stored rows (most of a first index): every symbol is
    new, so ids are consecutive and each row is built in one step."""
    pid, now = ctx.project_id, ctx.now
    n = len(symbols)
    b = ctx.take_ids(n)
    ctx.sym_inserts.extend(
        (b + i, pid, file_id, rel, language, kind, name, qn, ordinal,
         None if parent is None else b + parent, sl, sc, el, ec, nl, nc, sig, doc, ch, sh, cx, now)
        for i, (kind, name, qn, ordinal, parent, sl, sc, el, ec, nl, nc, sig, doc, ch, sh, cx)
        in enumerate(symbols)
    )  # fmt: skip
    if search is not None:
        path_text = expand(rel)
        ctx.fts_inserts.extend(
            (b + i, n_, q, path_text, sg, dc, bd) for i, (n_, q, sg, dc, bd) in enumerate(search)
        )
    edges = ctx.edge_inserts
    jedi_wait = NEEDS_JEDI if ctx.jedi else SETTLED
    to_stage: list[tuple[Any, ...]] = []
    pending: list[tuple[Any, ...]] = []
    for caller, name, receiver, line, col, target, need in calls:
        if target is not None:
            edges.append((pid, b + caller, b + target, name, receiver, line, col, "scope", 0))
        elif need == NEEDS_JEDI:
            edges.append((pid, b + caller, None, name, receiver, line, col, None, jedi_wait))
        elif need != NEEDS_PROJECT:
            edges.append((pid, b + caller, None, name, receiver, line, col, None, SETTLED))
        else:
            to_stage.append((caller, name, receiver, line, col))
    if staged is not None and not to_stage:
        blob, count = staged, staged_count
    else:
        if staged is not None:
            to_stage.extend(pickle.loads(staged))
        blob, count = pack_staged(to_stage), len(to_stage)
    if count and ctx.stage:
        ctx.staged_files.append(StagedCalls(file_id, rel, language, range(b, b + n), blob, count))
    elif count:
        pending = [
            (pid, b + caller, None, name, receiver, line, col, None, 1)
            for caller, name, receiver, line, col in pickle.loads(blob)
        ]
        edges.extend(pending)
        ctx.pending_files.add(file_id)
    ctx.imports_new.extend((pid, file_id, *imp) for imp in imports)
    return FileUpdate(rel, "indexed", added=n, search_rewritten=n if search is not None else 0)


def _keep_same_calls(
    ctx: _WriteCtx, rewrite: set[int], ids: list[int], calls: list[tuple[Any, ...]]
) -> None:
    """Drop from ``rewrite`` the changed symbols whose own calls are the same as stored
    (same names, receivers and columns, in order): their edges stay, only lines move.

    Editing one function changes the bytes of its class and module too, but rarely their
    own calls; this keeps a save from re-resolving every module-level call."""
    by_caller: dict[int, list[tuple[Any, ...]]] = {}
    for c in calls:
        if c[0] in rewrite:
            by_caller.setdefault(c[0], []).append(c)
    stored = cs.edges_of_callers(ctx.conn, [ids[i] for i in rewrite])
    for i in list(rewrite):
        new = sorted(by_caller.get(i, []), key=lambda c: (c[3], c[4]))
        old = stored.get(ids[i], [])
        if len(new) != len(old):
            continue
        if any((n[1], n[2], n[4]) != (o[1], o[2], o[4]) for n, o in zip(new, old, strict=True)):
            continue
        rewrite.discard(i)
        ctx.edge_lines.extend((n[3], o[0]) for n, o in zip(new, old, strict=True) if n[3] != o[3])


def _clear_file_symbols(ctx: _WriteCtx, file_id: int) -> FileUpdate:
    """A file that can no longer be indexed (now binary, too large, unreadable)."""
    conn = ctx.conn
    keys = cs.stored_keys(conn, file_id)
    upd = FileUpdate("", "removed", removed=len(keys))
    if not keys:
        return upd
    upd.changed_symbol_ids = [k.id for k in keys]
    upd.changed_content_hashes = [k.content_hash for k in keys]
    flagged = cs.delete_symbols(conn, upd.changed_symbol_ids)
    cs.replace_imports(conn, ctx.project_id, file_id, [])
    invalidate_symbols(conn, upd.changed_symbol_ids, upd.changed_content_hashes)
    if flagged:
        ctx.pending_files |= cs.file_ids_of_symbols(conn, flagged) - {file_id}
    return upd


def _remove_file_rows(ctx: _WriteCtx, row: cs.FileRow) -> FileUpdate:
    conn = ctx.conn
    keys = cs.stored_keys(conn, row.id)
    upd = FileUpdate(row.file_path, "removed", removed=len(keys))
    upd.changed_symbol_ids = [k.id for k in keys]
    upd.changed_content_hashes = [k.content_hash for k in keys]
    own = set(upd.changed_symbol_ids)
    flagged = [c for c in cs.flag_callers_of(conn, upd.changed_symbol_ids) if c not in own]
    cs.delete_file(conn, row.id)
    if keys:
        invalidate_symbols(conn, upd.changed_symbol_ids, upd.changed_content_hashes)
    if flagged:
        ctx.pending_files |= cs.file_ids_of_symbols(conn, flagged)
    return upd


def _store_result(ctx: _WriteCtx, res: FileResult, old: cs.FileRow | None) -> FileUpdate:
    """Record what a worker found about one file (rows written at ctx.flush())."""
    conn = ctx.conn
    if res.status == "missing":
        if old is not None:
            return _remove_file_rows(ctx, old)
        return FileUpdate(res.rel, "missing")
    if res.status == "unchanged":
        if old is not None:
            cs.touch_files(conn, [(res.size, res.mtime_ns, old.id)])
        return FileUpdate(res.rel, "unchanged")
    status = "indexed" if res.status == "parsed" else res.status
    if status not in ("indexed", "skipped_binary", "skipped_large", "error"):
        status = "error"
    file_id = cs.upsert_file(
        conn,
        ctx.project_id,
        res.rel,
        content_hash=res.content_hash,
        language=res.language,
        size_bytes=res.size,
        line_count=res.line_count,
        mtime_ns=res.mtime_ns,
        status=status,
        error=res.error,
        parse_errors=res.parse_errors,
        at=ctx.now,
        non_ascii_lines=res.non_ascii_lines,
    )
    if status != "indexed":
        if old is None:
            return FileUpdate(res.rel, status, error=res.error)
        upd = _clear_file_symbols(ctx, file_id)
        upd.rel_path, upd.status, upd.error = res.rel, status, res.error
        return upd
    assert res.symbols is not None and res.calls is not None and res.imports is not None
    return _reconcile(
        ctx,
        file_id,
        res.rel,
        res.language or "",
        res.symbols,
        res.calls,
        res.imports,
        is_new=old is None,
        staged=res.staged,
        staged_count=res.staged_count,
        search=res.search,
    )


# --- full / catch-up index ----------------------------------------------------------------


def _chunks(
    todo: list[tuple[str, str | None, str | None, int]],
) -> Iterator[list[tuple[str, str | None, str | None]]]:
    chunk: list[tuple[str, str | None, str | None]] = []
    size = 0
    for rel, old, lang, nbytes in todo:
        chunk.append((rel, old, lang))
        size += nbytes
        if size >= CHUNK_BYTES or len(chunk) >= CHUNK_FILES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _worker_count(settings: IndexSettings) -> int:
    if settings.workers > 0:
        return settings.workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def pool_size(todo: list[tuple[str, str | None, str | None, int]], settings: IndexSettings) -> int:
    """Parser processes for this work: 0 parses in this process (small work, one core)."""
    workers = _worker_count(settings)
    small = len(todo) < INLINE_MAX_FILES or sum(t[3] for t in todo) < INLINE_MAX_BYTES
    return 0 if workers <= 1 or (small and settings.workers == 0) else workers


def _forkserver() -> Any:
    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload(["mira_ls.index.worker"])
    return mp


def _warm_forkserver() -> None:
    """Start the fork server (which imports the parser modules once) while the files are
    listed: a cold start delays the first parsed chunk by about 0.3 s. It stays up for
    later pools, as it would after any pool."""
    _forkserver()
    try:
        from multiprocessing import forkserver

        forkserver.ensure_running()
    except (OSError, RuntimeError, ValueError) as exc:  # the pool will report it properly
        log.debug("could not start the fork server early: %s", exc)


class _EarlyPool:
    """Sees the files of a first index as they are listed; once they are too many to parse
    in this process (see pool_size), starts the fork server while the listing goes on."""

    def __init__(self) -> None:
        self.files = 0
        self.size = 0
        self.started = False

    def __call__(self, cand: walk.Candidate) -> None:
        if self.started:
            return
        self.files += 1
        self.size += cand.size
        if self.files >= INLINE_MAX_FILES and self.size >= INLINE_MAX_BYTES:
            self.started = True
            _warm_forkserver()


def _start_pool(workers: int) -> cf.ProcessPoolExecutor:
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=_forkserver())


def _in_order(
    pool: cf.ProcessPoolExecutor,
    jobs: Iterator[tuple[Callable[..., Any], tuple[Any, ...]]],
    workers: int,
    cancel: Cancel | None,
) -> Iterator[Any]:
    """Run ``jobs`` (fn, args) on the pool and yield their results in submission order.

    Workers stay busy meanwhile: up to 2 jobs per worker are running, and up to 4 per
    worker are done and waiting for the head. Taking results in order keeps symbol ids -
    and which of two same-named definitions (a .py and its .pyi) resolution prefers -
    independent of which worker finished first."""
    pending: deque[cf.Future[Any]] = deque()
    running, queued = 2 * workers, 4 * workers

    def top_up() -> None:
        busy = sum(1 for f in pending if not f.done())
        while busy < running and len(pending) < queued:
            job = next(jobs, None)
            if job is None:
                return
            pending.append(pool.submit(job[0], *job[1]))
            busy += 1

    try:
        top_up()
        while pending:
            head = pending[0]
            while not head.done():
                cf.wait([f for f in pending if not f.done()], return_when=cf.FIRST_COMPLETED)
                top_up()
            pending.popleft()
            if cancel is not None and cancel():
                return
            top_up()
            yield head.result()
    finally:
        for f in pending:
            f.cancel()


def _results(
    pool: cf.ProcessPoolExecutor | None,
    workers: int,
    root: Path,
    todo: list[tuple[str, str | None, str | None, int]],
    settings: IndexSettings,
    cancel: Cancel | None,
) -> Generator[list[FileResult], None, None]:
    chunks = _chunks(todo)
    max_bytes = settings.max_file_bytes
    if pool is None:
        for ch in chunks:
            yield process_chunk(str(root), ch, max_bytes)
        return
    yield from _in_order(
        pool, ((process_chunk, (str(root), ch, max_bytes)) for ch in chunks), workers, cancel
    )


RESOLVE_BATCH_CALLS = 8000


def _batches(staged: list[StagedCalls]) -> Iterator[list[StagedCalls]]:
    batch: list[StagedCalls] = []
    n = 0
    for item in staged:
        batch.append(item)
        n += item.count
        if n >= RESOLVE_BATCH_CALLS:
            yield batch
            batch, n = [], 0
    if batch:
        yield batch


def _resolve_staged(
    store: Store,
    pid: int,
    staged: list[StagedCalls],
    pool: cf.ProcessPoolExecutor | None,
    workers: int,
    settings: IndexSettings,
    cancel: Cancel | None,
) -> bool:
    """Resolve the full index's staged calls and store them as final edges (one insert each),
    in staging order. With a pool the parser processes resolve (read-only, against the
    committed symbols) while this process writes. Resolved items leave ``staged``; returns
    False when cancelled (what is left is for the caller to store as pending)."""
    batches = list(_batches(staged))
    if pool is None:
        resolver = Resolver(store.conn(), pid)

        def inline() -> Iterator[tuple[list[tuple[Any, ...]], Any]]:
            for b in batches:
                if cancel is not None and cancel():
                    return
                yield resolve_staged(
                    store.conn(), pid, b, jedi_next=settings.jedi, resolver=resolver
                )

        results: Iterator[tuple[list[tuple[Any, ...]], Any]] = inline()
    else:
        db = str(store.path)
        results = _in_order(
            pool,
            ((resolve_chunk, (db, pid, settings.jedi, b)) for b in batches),
            workers,
            cancel,
        )
    for batch, (rows, _stats) in zip(batches, results, strict=False):
        with store.write() as c:
            cs.insert_edges(c, rows)
        del staged[: len(batch)]
    return not staged


def index_workspace(
    store: Store,
    root: Path,
    settings: IndexSettings,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    *,
    trust_git: bool = False,
) -> IndexStats:
    """Index (or catch up) one workspace root; unchanged files are skipped, vanished files
    removed. ``progress(done, total, message)`` is called after every chunk; ``cancel()``
    is polled between chunks (what is written stays written). ``trust_git``: the listing's
    git may run what the repository's config names (``git.trustRepositoryConfig``)."""
    t0 = time.perf_counter()
    root = Path(root).expanduser()
    try:
        root = root.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise WorkspaceError(
            f"Cannot index {root}: it does not exist or is unreadable ({exc})."
        ) from exc
    if not root.is_dir():
        raise WorkspaceError(
            f"Cannot index {root}: it is not a directory. Pass a workspace folder."
        )

    def report(done: int, total: int, msg: str) -> None:
        if progress is not None:
            try:
                progress(done, total, msg)
            except Exception as exc:  # a broken progress sink must not stop indexing
                log.debug("progress callback failed: %s", exc)

    stats = IndexStats()
    with store.write() as c:
        project = projects.get_or_create(c, root)
    pid = project.id
    stats.project_id = pid
    conn = store.conn()
    stored = cs.files_of_project(conn, pid)
    fresh = not stored
    report(0, 0, "listing files")
    warm = _EarlyPool() if fresh and _worker_count(settings) > 1 else None
    listing = walk.list_files(root, settings.exclude, on_file=warm, trusted=trust_git)
    stats.mode = listing.mode
    for k, v in listing.skipped.items():
        stats.skipped[k] = stats.skipped.get(k, 0) + v
    listed = {c.rel for c in listing.files}
    gone = [row for path, row in stored.items() if path not in listed]
    todo: list[tuple[str, str | None, str | None, int]] = []
    for cand in listing.files:
        old = stored.get(cand.rel)
        too_large = cand.size > settings.max_file_bytes
        if (
            old is not None
            and old.size_bytes == cand.size
            and old.mtime_ns == cand.mtime_ns
            and (
                (old.status == "skipped_large" and too_large)
                or (old.status in ("indexed", "skipped_binary") and not too_large)
            )
        ):
            stats.unchanged += 1
            continue
        old_hash = old.content_hash if old is not None and old.status == "indexed" else None
        todo.append((cand.rel, old_hash, cand.language, cand.size))
    if gone:
        with store.write() as c:
            ctx = _WriteCtx(c, pid, fresh=False)
            for row in gone:
                _remove_file_rows(ctx, row)
            ctx.flush()
        stats.removed = len(gone)

    total = len(todo)
    done = 0
    workers = stats.workers = pool_size(todo, settings)
    t_parse = t_res = time.perf_counter()
    report(0, total, f"parsing {total} files")
    # Calls awaiting project-wide resolution, from committed transactions only (so every
    # caller id exists); whatever is left here after an error or a cancel is stored as
    # pending edges, which the next run resolves.
    staged: list[StagedCalls] = []
    saved = cs.begin_bulk(conn)
    pool = _start_pool(workers) if workers else None
    try:
        results = _results(pool, workers, root, todo, settings, cancel)
        try:
            more = True
            while more and not stats.cancelled:
                # One transaction spans the chunks of about COMMIT_EVERY_S seconds: fewer
                # commits rewrite fewer index pages, and the lock is still held only briefly.
                with store.write() as c:
                    ctx = _WriteCtx(c, pid, fresh=fresh, stage=True, jedi=settings.jedi)
                    began = time.monotonic()
                    while time.monotonic() - began < COMMIT_EVERY_S:
                        chunk = next(results, None)
                        if chunk is None:
                            more = False
                            break
                        for res in chunk:
                            _store_result(ctx, res, stored.get(res.rel))
                            _count(stats, res)
                        ctx.flush()
                        done += len(chunk)
                        report(done, total, f"parsed {done} of {total} files")
                        if cancel is not None and cancel():
                            stats.cancelled = True
                            break
                staged.extend(ctx.staged_files)
        finally:
            results.close()
        stats.parse_seconds = time.perf_counter() - t_parse

        t_res = time.perf_counter()

        def write(fn: Callable[[Any], None]) -> None:
            with store.write() as c:
                fn(c)

        report(total, total, "resolving calls")
        found: cf.Future[list[Any]] | None = None
        if pool is not None and not stats.cancelled:
            found = pool.submit(collect_dependencies, str(store.path), pid, str(root))
        if not stats.cancelled and not _resolve_staged(
            store, pid, staged, pool, workers, settings, cancel
        ):
            stats.cancelled = True
        if not stats.cancelled:
            resolve_pending(conn, pid, jedi_next=settings.jedi, write=write, cancel=cancel)
            with store.write() as c:
                if found is not None:
                    deps.save(c, pid, found.result())
                else:
                    deps.refresh(c, pid, root)
                projects.set_indexed(c, pid, int(time.time()))
            if search_store.needs_backfill(conn, pid):
                report(total, total, "building the keyword index")
                backfill_search(store, pid, root, settings, cancel)
    finally:
        try:
            if staged:
                # Cancelled or failed: keep the staged calls as pending edges, not lose them.
                with store.write() as c:
                    cs.insert_edges(c, staged_as_pending(pid, staged))
        except Exception as exc:
            log.warning("could not keep the staged calls of an interrupted index: %s", exc)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        cs.end_bulk(conn, saved)
    stats.resolve_seconds = time.perf_counter() - t_res
    summary = cs.index_summary(conn, pid)
    stats.files = summary["files"]
    stats.symbols = summary["symbols"]
    stats.edges = summary["edges"]
    stats.resolved = summary["resolved"]
    stats.unresolved = summary["unresolved"]
    stats.languages = summary["languages"]
    stats.seconds = time.perf_counter() - t0
    return stats


def _count(stats: IndexStats, res: FileResult) -> None:
    if res.status == "parsed":
        stats.parsed += 1
    elif res.status == "unchanged":
        stats.unchanged += 1
    else:
        stats.skipped[res.status] = stats.skipped.get(res.status, 0) + 1
        if res.status == "error" and len(stats.errors) < MAX_ERRORS_KEPT:
            stats.errors.append(f"{res.rel}: {res.error}")
            log.warning("not indexed: %s: %s", res.rel, res.error)


def backfill_search(
    store: Store, pid: int, root: Path, settings: IndexSettings, cancel: Cancel | None = None
) -> int:
    """Give keyword-index rows to symbols stored before the index existed (a database
    from before migration 016): their files are read and split again; nothing else is
    rewritten. Returns the rows added; the project is marked done once none is missing."""
    added = 0
    conn = store.conn()
    for file_id, rel in search_store.files_missing_rows(conn, pid):
        if cancel is not None and cancel():
            return added
        status, data, _, _, _ = read_source(root / rel, settings.max_file_bytes)
        if status != "ok" or data is None:
            continue
        res = process_bytes(rel, data, None, None, language_for_path(rel, data[:4096]))
        if res.symbols is None or res.search is None:
            continue
        text = {(s[2], s[0], s[3]): t for s, t in zip(res.symbols, res.search, strict=True)}
        path_text = expand(rel)
        rows: list[search_store.SymbolText] = []
        with store.write() as c:
            for sid, qn, kind, ordinal, has_row in search_store.symbols_of_file(c, file_id):
                t = text.get((qn, kind, ordinal))
                if t is not None and not has_row:
                    rows.append((sid, t[0], t[1], path_text, t[2], t[3], t[4]))
            search_store.insert_symbol_rows(c, rows)
        added += len(rows)
    with store.write() as c:
        search_store.set_backfilled(c, pid)
    return added


# --- incremental -------------------------------------------------------------------------------


def _norm_rel(rel_path: str) -> str:
    return PurePosixPath(str(rel_path).replace(os.sep, "/")).as_posix()


def update_file(
    store: Store,
    project_id: int,
    root: Path,
    rel_path: str,
    data: bytes | None = None,
    *,
    settings: IndexSettings | None = None,
    cache: ParseCache | None = None,
) -> FileUpdate:
    """Re-index one file after a save or an outside change (``data``: the saved bytes when
    the caller has them; else the file is read). Cheap when nothing changed: one hash.
    ``cache``: keeps this file's parse so its next update re-parses only the edit."""
    settings = settings or IndexSettings()
    rel = _norm_rel(rel_path)
    root = Path(root)
    path = root / rel
    language = language_for_path(rel)
    if language is None:
        return FileUpdate(rel, "unsupported")
    if not is_inside(root, path):  # a link to a file outside the workspace is never indexed
        log.info("not indexing %s: it leads outside the workspace", rel)
        return remove_file(store, project_id, rel)
    mtime: int | None = None
    if data is None:
        status, read, size, mtime, err = read_source(path, settings.max_file_bytes)
        if status == "missing":
            upd = remove_file(store, project_id, rel)
            return upd
        if status != "ok" or read is None:
            return _record_unindexable(store, project_id, rel, language, status, size, mtime, err)
        data = read
    else:
        try:
            st = os.stat(path)
            mtime = st.st_mtime_ns if st.st_size == len(data) else None
        except OSError:
            mtime = None
        if len(data) > settings.max_file_bytes:
            return _record_unindexable(
                store, project_id, rel, language, "skipped_large", len(data), mtime, ""
            )
    conn = store.conn()
    old = cs.get_file(conn, project_id, rel)
    previous = cache.get(project_id, rel) if cache is not None else None
    old_hash = old.content_hash if old and old.status == "indexed" else None
    res = process_bytes(
        rel, data, mtime, old_hash, language, previous, keep_parse=cache is not None
    )
    if cache is not None and res.parsed is not None:
        cache.put(project_id, rel, res.parsed)
    if res.status == "unchanged":
        if (
            old is not None
            and mtime is not None
            and (old.mtime_ns != mtime or old.size_bytes != len(data))
        ):
            with store.write() as c:
                cs.touch_files(c, [(len(data), mtime, old.id)])
        return FileUpdate(rel, "unchanged")
    with store.write() as c:
        old = cs.get_file(c, project_id, rel)
        ctx = _WriteCtx(c, project_id, fresh=False, jedi=settings.jedi)
        upd = _store_result(ctx, res, old)
        pending = ctx.flush()
        if pending:
            resolve_pending(c, project_id, jedi_next=settings.jedi, file_ids=sorted(pending))
    return upd


def _record_unindexable(
    store: Store,
    project_id: int,
    rel: str,
    language: str,
    status: str,
    size: int,
    mtime: int | None,
    error: str,
) -> FileUpdate:
    res = FileResult(
        rel, status if status != "ok" else "error", "", size, mtime, language, error=error or None
    )
    with store.write() as c:
        old = cs.get_file(c, project_id, rel)
        ctx = _WriteCtx(c, project_id, fresh=False)
        upd = _store_result(ctx, res, old)
        pending = ctx.flush()
        if pending:
            resolve_pending(c, project_id, file_ids=sorted(pending))
    return upd


def remove_file(store: Store, project_id: int, rel_path: str) -> FileUpdate:
    """A file was deleted: its rows go; edges into its symbols are re-resolved."""
    rel = _norm_rel(rel_path)
    with store.write() as c:
        row = cs.get_file(c, project_id, rel)
        if row is None:
            return FileUpdate(rel, "missing")
        ctx = _WriteCtx(c, project_id, fresh=False)
        upd = _remove_file_rows(ctx, row)
        pending = ctx.flush()
        if pending:
            resolve_pending(c, project_id, file_ids=sorted(pending))
    return upd


def rename_file(store: Store, project_id: int, old: str, new: str) -> FileUpdate:
    """A file moved: its rows follow it (ids kept), then its content is reconciled."""
    old_rel, new_rel = _norm_rel(old), _norm_rel(new)
    conn = store.conn()
    project = projects.by_id(conn, project_id)
    if project is None:
        raise WorkspaceError(f"Project {project_id} is not in the database; index it first.")
    root = Path(project.root_path)
    old_lang, new_lang = language_for_path(old_rel), language_for_path(new_rel)
    with store.write() as c:
        row = cs.get_file(c, project_id, old_rel)
        if row is not None and old_lang is not None and old_lang == new_lang:
            cs.rename_file_rows(
                c,
                project_id,
                row.id,
                new_rel,
                module_name(old_rel, old_lang),
                module_name(new_rel, new_lang),
            )
            cs.flag_file_edges(c, row.id)
            cs.set_module_name(c, row.id, module_name(new_rel, new_lang).rsplit(".", 1)[-1])
            search_store.rename_symbol_rows(c, row.id, expand)
            resolve_pending(c, project_id, file_ids=[row.id])
            moved = True
        else:
            moved = False
    if not moved and cs.get_file(conn, project_id, old_rel) is not None:
        remove_file(store, project_id, old_rel)
    if new_lang is None:
        return FileUpdate(new_rel, "unsupported")
    return update_file(store, project_id, root, new_rel)


def scan_changes(
    store: Store,
    project_id: int,
    root: Path,
    *,
    settings: IndexSettings | None = None,
    trust_git: bool = False,
) -> list[str]:
    """Paths whose bytes differ from the stored ones, plus new and deleted files.

    Cheap: size and mtime decide; the file is hashed only when the size is the same but
    the mtime moved (a touch without a change is not reported)."""
    settings = settings or IndexSettings()
    root = Path(root).resolve()
    listing = walk.list_files(root, settings.exclude, trusted=trust_git)
    stored = cs.files_of_project(store.conn(), project_id)
    out: list[str] = []
    listed: set[str] = set()
    for cand in listing.files:
        listed.add(cand.rel)
        old = stored.get(cand.rel)
        if old is None:
            out.append(cand.rel)
            continue
        if old.size_bytes == cand.size and old.mtime_ns == cand.mtime_ns:
            continue
        if old.size_bytes != cand.size or not old.content_hash:
            out.append(cand.rel)
            continue
        status, data, _, _, _ = read_source(root / cand.rel, settings.max_file_bytes)
        if status != "ok" or data is None:
            out.append(cand.rel)
            continue
        if hashlib.sha256(data).hexdigest() != old.content_hash:
            out.append(cand.rel)
    out.extend(p for p in stored if p not in listed)
    return sorted(out)
