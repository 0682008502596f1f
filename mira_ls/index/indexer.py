"""Full and incremental indexing of a workspace into code_elements / call_graph.

Full index (or catch-up), here: list files, skip those whose size and mtime match the
stored row, parse the rest (``pool``: worker processes, "forkserver" since the server has
threads) and write from this process only (``writer``), a transaction per chunk. Calls that
the worker could not resolve inside their own file are staged and resolved once every
symbol is in. Each phase is recorded in ``runs``; a run killed anywhere is finished by the
next one (``_IndexRun``). One full index per project at a time (``store/locks``).

Incremental (didSave, watched files; ``incremental``): one parse, then a diff against the
stored rows by identity (qualified_name, kind, ordinal):
- same content_hash: the row is untouched (id stable; only its position moves if lines
  above it changed);
- body changed: the row and its outgoing edges are rewritten;
- signature changed: also every edge into it is re-resolved;
- removed: the row and its edges go; callers' edges are re-resolved (maybe elsewhere).
Changed and removed symbols invalidate the caches keyed on them.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.config import IndexSettings
from mira_ls.index import deps, walk
from mira_ls.index.incremental import (
    ParseCache,
    remove_file,
    rename_file,
    scan_changes,
    update_file,
)
from mira_ls.index.pool import (
    EarlyPool,
    in_order,
    parse_results,
    pool_size,
    staged_batches,
    start_pool,
    worker_count,
)
from mira_ls.index.resolve import (
    Resolver,
    StagedCalls,
    resolve_pending,
    resolve_python_with_jedi,
    resolve_staged,
    staged_as_pending,
)
from mira_ls.index.search_backfill import backfill_search
from mira_ls.index.worker import FileResult, collect_dependencies, resolve_chunk
from mira_ls.index.writer import (
    FileUpdate,
    WorkspaceError,
    WriteCtx,
    remove_file_rows,
    store_result,
)
from mira_ls.paths import text_path
from mira_ls.store import Store, index_staged, locks, projects, runs
from mira_ls.store import code as cs
from mira_ls.store import search as search_store
from mira_ls.store.connection import error_types, is_environmental
from mira_ls.testhooks import pause_point

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

MAX_ERRORS_KEPT = 20
COMMIT_EVERY_S = 0.5


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
    partial: list[str] = field(default_factory=list)  # "path: why", files indexed partially
    cancelled: bool = False
    mode: str = "walk"
    project_id: int = 0
    parse_seconds: float = 0.0
    resolve_seconds: float = 0.0
    workers: int = 0  # parser processes used (0: parsed in this process)
    resumed: str | None = None  # the phase an interrupted previous run stopped in

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
    batches = list(staged_batches(staged))
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
        results = in_order(
            pool,
            ((resolve_chunk, (db, pid, settings.jedi, b)) for b in batches),
            workers,
            cancel,
        )
    for n, (batch, (rows, _stats)) in enumerate(zip(batches, results, strict=False)):
        with store.write() as c:
            cs.insert_edges(c, rows)
            index_staged.delete(c, (item.file_id for item in batch))
        del staged[: len(batch)]
        if n == 0 and len(batches) > 1:
            pause_point("index:resolve:middle")
    return not staged


def _checked_root(root: Path) -> Path:
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
    return root


def _reporter(progress: Progress | None) -> Progress:
    def report(done: int, total: int, msg: str) -> None:
        if progress is not None:
            try:
                progress(done, total, msg)
            except Exception as exc:  # a broken progress sink must not stop indexing
                log.debug("progress callback failed: %s", exc)

    return report


def index_workspace(
    store: Store,
    root: Path,
    settings: IndexSettings,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    *,
    wait_s: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
    trust_git: bool = False,
) -> IndexStats:
    """Index (or catch up) one workspace root; unchanged files are skipped, vanished files
    removed. ``progress(done, total, message)`` is called after every chunk; ``cancel()``
    is polled between chunks (what is written stays written).

    One full index per project at a time (a lock beside the database): another one waits
    up to ``wait_s`` seconds (``on_wait(sentence)`` says so), then raises ``locks.Busy``.
    A run interrupted before (even by kill -9) is finished by this one: see ``_IndexRun``.
    ``trust_git``: the listing's git may run what the repository's config names
    (``git.trustRepositoryConfig``)."""
    t0 = time.perf_counter()
    root = _checked_root(root)
    with store.write() as c:
        pid = projects.get_or_create(c, root).id
        # names stored before migration 024 get their words for workspace/symbol's initials
        cs.fill_symbol_words(c, pid)
        cs.prune_symbol_names_log(c, pid)  # what searches need of the names' log
    with locks.hold(
        store.path,
        f"index-{pid}",
        what=f"indexing {root}",
        wait_s=wait_s,
        cancel=cancel,
        hint=" (or pass --wait SECONDS to wait for it)",
        on_wait=on_wait,
    ):
        stats = _IndexRun(
            store, pid, root, settings, _reporter(progress), cancel, trust_git=trust_git
        ).execute()
    summary = cs.index_summary(store.conn(), pid)
    stats.files = summary["files"]
    stats.symbols = summary["symbols"]
    stats.edges = summary["edges"]
    stats.resolved = summary["resolved"]
    stats.unresolved = summary["unresolved"]
    stats.languages = summary["languages"]
    stats.seconds = time.perf_counter() - t0
    return stats


_Todo = list[tuple[str, str | None, str | None, int]]


class _IndexRun:
    """One full index, phase by phase: walk, parse (and store), resolve calls, dependencies.

    Each phase is recorded in ``runs`` when it is complete. What a killed run leaves is
    consistent by construction: files are stored with their symbols in one transaction,
    together with their staged calls (``index_staged_calls``); a resolved batch is stored
    in the transaction that drops its staged rows. So the next run needs no replay: it
    turns leftover staged calls into pending edges, parses the files not stored yet, and
    resolves everything pending."""

    def __init__(
        self,
        store: Store,
        pid: int,
        root: Path,
        settings: IndexSettings,
        report: Progress,
        cancel: Cancel | None,
        *,
        trust_git: bool = False,
    ) -> None:
        self.store, self.pid, self.root, self.settings = store, pid, root, settings
        self.trust_git = trust_git
        self.report, self.cancel = report, cancel
        self.stats = IndexStats(project_id=pid)
        self.run_id = 0
        self.fresh = False  # nothing stored yet (set by _walk)
        # Calls awaiting project-wide resolution, from committed transactions only (so
        # every caller id exists); also in index_staged_calls until resolved.
        self.staged: list[StagedCalls] = []

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel()

    def _phase_done(self, c: Any, phase: str, then: str | None = None) -> None:
        """Record ``phase`` complete (in the caller's transaction) and ``then`` begun."""
        now = int(time.time())
        runs.phase_done(c, self.run_id, phase, now)
        if then is not None:
            runs.phase_started(c, self.run_id, then, now)

    def execute(self) -> IndexStats:
        store, stats = self.store, self.stats
        with store.write() as c:
            self.run_id, interrupted = runs.begin(
                c, self.pid, "index", int(time.time()), exclusive=True
            )
            runs.phase_started(c, self.run_id, "walk", int(time.time()))
            leftover = _staged_rows(c, self.pid)
            if leftover:
                cs.insert_edges(c, staged_as_pending(self.pid, leftover))
                index_staged.delete_project(c, self.pid)
        if interrupted is not None:
            stats.resumed = f"it stopped in {interrupted.stopped_in or 'walk'}"
            log.info(
                "the previous index of %s was interrupted (%s); finishing it",
                self.root,
                stats.resumed,
            )
        conn = store.conn()
        saved = cs.begin_bulk(conn)
        try:
            status = self._phases()
        except BaseException:
            self._finish("failed")
            raise
        finally:
            self._keep_staged()
            cs.end_bulk(conn, saved)
        self._finish(status)
        return stats

    def _phases(self) -> str:
        stats = self.stats
        stored, todo = self._walk()
        pause_point("index:walk:done")
        workers = stats.workers = pool_size(todo, self.settings)
        pool = start_pool(workers) if workers else None
        try:
            t_parse = time.perf_counter()
            self._parse(pool, workers, stored, todo)
            stats.parse_seconds = time.perf_counter() - t_parse
            t_res = time.perf_counter()
            if not stats.cancelled:
                pause_point("index:parse:done")
                self._resolve(pool, workers)
            stats.resolve_seconds = time.perf_counter() - t_res
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return "cancelled" if stats.cancelled else "complete"

    def _walk(self) -> tuple[dict[str, cs.FileRow], _Todo]:
        """List the files; what changed is to parse, what vanished is removed now."""
        stats, settings = self.stats, self.settings
        stored = cs.files_of_project(self.store.conn(), self.pid)
        self.fresh = not stored
        self.report(0, 0, "listing files")
        warm = EarlyPool() if self.fresh and worker_count(settings) > 1 else None
        listing = walk.list_files(self.root, settings.exclude, on_file=warm, trusted=self.trust_git)
        stats.mode = listing.mode
        for k, v in listing.skipped.items():
            stats.skipped[k] = stats.skipped.get(k, 0) + v
        listed = {c.rel for c in listing.files}
        gone = [row for path, row in stored.items() if path not in listed]
        todo: _Todo = []
        for cand in listing.files:
            old = stored.get(cand.rel)
            if old is not None and _still_current(old, cand, settings.max_file_bytes):
                stats.unchanged += 1
                continue
            old_hash = old.content_hash if old is not None and old.status == "indexed" else None
            todo.append((cand.rel, old_hash, cand.language, cand.size))
        with self.store.write() as c:
            if gone:
                ctx = WriteCtx(c, self.pid, fresh=False)
                for row in gone:
                    remove_file_rows(ctx, row)
                ctx.flush()
                stats.removed = len(gone)
            self._phase_done(c, "walk", "parse")
        return stored, todo

    def _parse(
        self,
        pool: cf.ProcessPoolExecutor | None,
        workers: int,
        stored: dict[str, cs.FileRow],
        todo: _Todo,
    ) -> None:
        """Parse and store the files in ``todo``; the phase is complete with the last one."""
        stats, store = self.stats, self.store
        total, done = len(todo), 0
        self.report(0, total, f"parsing {total} files")
        results = parse_results(pool, workers, self.root, todo, self.settings, self.cancel)
        try:
            more, first = True, True
            while more and not stats.cancelled:
                # One transaction spans the chunks of about COMMIT_EVERY_S seconds (the
                # first one chunk, so the first symbols are served early): fewer commits
                # rewrite fewer index pages, and the lock is still held only briefly.
                with store.write() as c:
                    ctx = WriteCtx(
                        c, self.pid, fresh=self.fresh, stage=True, jedi=self.settings.jedi
                    )
                    began = time.monotonic()
                    while time.monotonic() - began < COMMIT_EVERY_S:
                        chunk = next(results, None)
                        if chunk is None:
                            more = False
                            break
                        _store_chunk(ctx, chunk, stored)
                        for res in chunk:
                            _count(stats, res)
                        done += len(chunk)
                        self.report(done, total, f"parsed {done} of {total} files")
                        if self._cancelled():
                            stats.cancelled = True
                            break
                        if first:
                            break
                    index_staged.save(
                        c,
                        self.pid,
                        ((s.file_id, s.ids, s.calls, s.count) for s in ctx.staged_files),
                    )
                    if not more:
                        self._phase_done(c, "parse", "resolve calls")
                self.staged.extend(ctx.staged_files)
                if first and more:
                    pause_point("index:parse:middle")
                first = False
        finally:
            results.close()

    def _resolve(self, pool: cf.ProcessPoolExecutor | None, workers: int) -> None:
        """Staged calls, then whatever is pending (from earlier runs, incremental updates),
        then the dependencies; the run is complete with them."""
        store, stats, pid = self.store, self.stats, self.pid
        total = stats.parsed
        self.report(total, total, "resolving calls")
        found: cf.Future[list[Any]] | None = None
        basis = deps.basis(store.conn(), pid, self.root)  # before anything reads the index
        if pool is not None:
            found = pool.submit(collect_dependencies, str(store.path), pid, str(self.root))
        if not _resolve_staged(store, pid, self.staged, pool, workers, self.settings, self.cancel):
            stats.cancelled = True
            return
        pause_point("index:resolve:staged")

        def write(fn: Callable[[Any], None]) -> None:
            with store.write() as c:
                fn(c)

        resolve_pending(
            store.conn(), pid, jedi_next=self.settings.jedi, write=write, cancel=self.cancel
        )
        if self._cancelled():
            stats.cancelled = True
            return
        with store.write() as c:
            self._phase_done(c, "resolve calls", "dependencies")
        pause_point("index:resolve:done")
        with store.write() as c:
            if found is not None:
                deps.save(c, pid, found.result(), basis)
            elif not deps.is_current(c, pid, basis):
                deps.save(c, pid, deps.collect(c, pid, self.root), basis)
            projects.set_indexed(c, pid, int(time.time()))
            self._phase_done(c, "dependencies")
        if search_store.needs_backfill(store.conn(), pid):
            self.report(total, total, "building the keyword index")
            backfill_search(store, pid, self.root, self.settings, self.cancel)

    def _keep_staged(self) -> None:
        """Cancelled or failed: keep the staged calls as pending edges, not lose them."""
        if not self.staged:
            return
        try:
            with self.store.write() as c:
                cs.insert_edges(c, staged_as_pending(self.pid, self.staged))
                index_staged.delete(c, (s.file_id for s in self.staged))
            self.staged.clear()
        except Exception as exc:
            log.warning("could not keep the staged calls of an interrupted index: %s", exc)

    def _finish(self, status: str) -> None:
        try:
            with self.store.write() as c:
                runs.finish(c, self.run_id, status, int(time.time()))
        except Exception as exc:
            log.warning("could not record the end of the index run: %s", exc)


def _file_failures() -> tuple[type[BaseException], ...]:
    """What storing one file's rows can raise because of that file (a constraint, a value
    SQLite refuses), as opposed to the database failing."""
    return (*error_types(), ValueError, RecursionError, OverflowError)


def _store_chunk(ctx: WriteCtx, chunk: list[FileResult], stored: dict[str, cs.FileRow]) -> None:
    """Store a chunk of results; if that fails, store them one by one, and a file whose rows
    cannot be stored is recorded as not indexed, with the reason, instead of stopping the
    index (its FileResult becomes an 'error')."""
    c, mark = ctx.conn, ctx.mark()
    c.execute("SAVEPOINT mira_chunk")
    try:
        for res in chunk:
            store_result(ctx, res, stored.get(res.rel))
        ctx.flush()
    except _file_failures() as exc:
        if isinstance(exc, error_types()) and is_environmental(exc):
            raise  # the database, not a file: nothing else would store either
        c.execute("ROLLBACK TO mira_chunk")
        ctx.discard(mark)
        for res in chunk:
            _store_one(ctx, res, stored.get(res.rel))
    c.execute("RELEASE mira_chunk")


def _store_one(ctx: WriteCtx, res: FileResult, old: cs.FileRow | None) -> None:
    c = ctx.conn
    for attempt in (0, 1):
        mark = ctx.mark()
        c.execute("SAVEPOINT mira_file")
        try:
            store_result(ctx, res, old)
            ctx.flush()
        except _file_failures() as exc:
            if isinstance(exc, error_types()) and is_environmental(exc):
                raise
            c.execute("ROLLBACK TO mira_file")
            c.execute("RELEASE mira_file")
            ctx.discard(mark)
            if attempt == 0:  # once more, as a file that is not indexed, with the reason
                res.status, res.error = "error", f"could not be stored: {exc}"
                res.symbols = res.calls = res.imports = None
                res.staged, res.staged_count = None, 0
                continue
            log.warning("not indexed: %s: %s", text_path(res.rel), exc)
            return
        c.execute("RELEASE mira_file")
        return


def _staged_rows(c: Any, pid: int) -> list[StagedCalls]:
    return [StagedCalls(*row) for row in index_staged.load(c, pid)]


def _still_current(old: cs.FileRow, cand: walk.Candidate, max_bytes: int) -> bool:
    """The stored row is still right: same size and mtime, and the same verdict on size."""
    too_large = cand.size > max_bytes
    return (
        old.size_bytes == cand.size
        and old.mtime_ns == cand.mtime_ns
        and (
            (old.status == "skipped_large" and too_large)
            or (old.status in ("indexed", "skipped_binary") and not too_large)
        )
    )


def _count(stats: IndexStats, res: FileResult) -> None:
    if res.status == "parsed":
        stats.parsed += 1
        if res.partial is not None and len(stats.partial) < MAX_ERRORS_KEPT:
            stats.partial.append(f"{text_path(res.rel)}: {res.partial}")
            log.info("%s: %s", text_path(res.rel), res.partial)
    elif res.status == "unchanged":
        stats.unchanged += 1
    else:
        stats.skipped[res.status] = stats.skipped.get(res.status, 0) + 1
        if res.status == "error" and len(stats.errors) < MAX_ERRORS_KEPT:
            stats.errors.append(f"{text_path(res.rel)}: {res.error}")
            log.warning("not indexed: %s: %s", text_path(res.rel), res.error)
