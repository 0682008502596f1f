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
from mira_ls.index.worker import FileResult, collect_dependencies, resolve_chunk
from mira_ls.index.writer import (
    FileUpdate,
    WorkspaceError,
    WriteCtx,
    remove_file_rows,
    store_result,
)
from mira_ls.store import Store, projects
from mira_ls.store import code as cs

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
) -> IndexStats:
    """Index (or catch up) one workspace root; unchanged files are skipped, vanished files
    removed. ``progress(done, total, message)`` is called after every chunk; ``cancel()``
    is polled between chunks (what is written stays written)."""
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
    warm = EarlyPool() if fresh and worker_count(settings) > 1 else None
    listing = walk.list_files(root, settings.exclude, on_file=warm)
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
            ctx = WriteCtx(c, pid, fresh=False)
            for row in gone:
                remove_file_rows(ctx, row)
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
    pool = start_pool(workers) if workers else None
    try:
        results = parse_results(pool, workers, root, todo, settings, cancel)
        try:
            more = True
            while more and not stats.cancelled:
                # One transaction spans the chunks of about COMMIT_EVERY_S seconds: fewer
                # commits rewrite fewer index pages, and the lock is still held only briefly.
                with store.write() as c:
                    ctx = WriteCtx(c, pid, fresh=fresh, stage=True, jedi=settings.jedi)
                    began = time.monotonic()
                    while time.monotonic() - began < COMMIT_EVERY_S:
                        chunk = next(results, None)
                        if chunk is None:
                            more = False
                            break
                        for res in chunk:
                            store_result(ctx, res, stored.get(res.rel))
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
