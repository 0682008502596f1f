"""The parser process pool of a full index: chunks of files, results in order.

"forkserver": the server has threads, plain fork is unsafe. Small work is parsed in this
process instead (a pool costs about 0.5 s to start).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

from mira_ls.config import IndexSettings
from mira_ls.index import walk
from mira_ls.index.resolve import StagedCalls
from mira_ls.index.worker import FileResult, process_chunk

log = logging.getLogger(__name__)

Cancel = Callable[[], bool]

CHUNK_BYTES = 384 * 1024
CHUNK_FILES = 64
# Below these a process pool costs more (about 0.5 s to start) than it saves.
INLINE_MAX_FILES = 48
INLINE_MAX_BYTES = 2_000_000


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


def worker_count(settings: IndexSettings) -> int:
    if settings.workers > 0:
        return settings.workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def pool_size(todo: list[tuple[str, str | None, str | None, int]], settings: IndexSettings) -> int:
    """Parser processes for this work: 0 parses in this process (small work, one core)."""
    workers = worker_count(settings)
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


class EarlyPool:
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


def start_pool(workers: int) -> cf.ProcessPoolExecutor:
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=_forkserver())


def in_order(
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


def parse_results(
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
    yield from in_order(
        pool, ((process_chunk, (str(root), ch, max_bytes)) for ch in chunks), workers, cancel
    )


RESOLVE_BATCH_CALLS = 8000


def staged_batches(staged: list[StagedCalls]) -> Iterator[list[StagedCalls]]:
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
