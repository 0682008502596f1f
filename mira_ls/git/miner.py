"""Mining: one streaming ``git log`` into the store, then co-change, expertise and fixes.

From scratch the log streams newest first; each commit is parsed, classified by the ignore
policy and counted in memory (file commits, pairs, expertise, fixes) while git keeps
producing, and rows go to SQLite in batches of short transactions. Renames are followed by
a map from older names to the newest one that fills as the stream goes back in time, so
every commit's files get their current (canonical) name when they are first seen.

Incrementally (the last mined commit is still an ancestor of HEAD) only ``last..HEAD`` is
read, in one transaction: stored history of renamed files moves to the new name, and only
the files the new commits touch (and the lists that name them) are recomputed. Anything
that would make the stored facts differ from a fresh run (history rewritten, a different
ignore policy or .mailmap, a shallow clone deepened, an interrupted run) mines from scratch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.config import Settings
from mira_ls.git import cochange, expertise, fixes
from mira_ls.git.log import Commit, stream_log
from mira_ls.git.policy import IgnorePolicy
from mira_ls.git.repo import (
    CommitCounter,
    GitError,
    NotARepository,
    RepoInfo,
    discover,
    is_ancestor,
)
from mira_ls.search import keyword
from mira_ls.store import Store, git_blame, git_cochange, git_fixes, git_history, runs
from mira_ls.store.connection import Connection, error_types
from mira_ls.testhooks import pause_point

log = logging.getLogger(__name__)

BATCH = 500
Progress = Callable[[str, int | None], None]


@dataclass
class MineStats:
    """What a mining run did. status: ok, up_to_date, empty, not_a_repo, error, cancelled."""

    status: str
    mode: str = "none"  # scratch, incremental or none
    head: str | None = None
    new_commits: int = 0
    total_commits: int = 0
    ignored: dict[str, int] = field(default_factory=dict)
    fixes: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    message: str = ""


class _Cancelled(Exception):
    pass


def _is_cancelled(cancel: Any) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def _file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes ('' when it does not exist)."""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return hashlib.sha256(data).hexdigest()


class _Run:
    """Per-run accumulation: rows waiting for the database and in-memory counters."""

    def __init__(
        self, project_id: int, policy: IgnorePolicy, fix_diffs: fixes.FixDiffs | None = None
    ) -> None:
        self.project_id = project_id
        self.policy = policy
        self.fix_diffs = fix_diffs
        self.forward: dict[str, str] = {}
        self.commit_rows: list[list[Any]] = []
        self.file_rows: list[list[Any]] = []
        self.fix_rows: list[list[Any]] = []
        self.stats: dict[str, list[int]] = {}
        self.pairs = cochange.PairCounter()
        self.experts = expertise.Accumulator()
        self.touched: set[str] = set()
        self.all_paths: set[str] = set()
        self.count = 0
        self.ignored: dict[str, int] = {}
        self.fixes = 0

    def add(self, c: Commit) -> None:
        fw = self.forward
        pid = self.project_id
        idx = len(self.commit_rows)
        merged: dict[str, list[int]] = {}
        ins = dels = 0
        for f in c.files:
            cp = fw.get(f.path, f.path)
            if f.old_path is not None and f.old_path != cp:
                fw[f.old_path] = cp
            self.file_rows.append([idx, pid, f.path, f.old_path, cp, f.added, f.deleted])
            self.all_paths.add(f.path)
            a = f.added or 0
            d = f.deleted or 0
            ins += a
            dels += d
            m = merged.get(cp)
            if m is None:
                merged[cp] = [a, d]
            else:
                m[0] += a
                m[1] += d
        email = c.author_email.strip().lower()
        reason = self.policy.reason(c.hash, c.author_name, email, c.parent_count, len(c.files))
        self.commit_rows.append(
            [
                idx,
                pid,
                c.hash,
                c.parent_count,
                c.author_name,
                email,
                c.authored_at,
                c.committed_at,
                c.subject,
                c.message,
                len(c.files),
                ins,
                dels,
                reason,
            ]
        )
        self.count += 1
        if reason is not None:
            self.ignored[reason] = self.ignored.get(reason, 0) + 1
            return
        at = c.authored_at
        stats = self.stats
        for cp in merged:
            s = stats.get(cp)
            if s is None:
                stats[cp] = [1, at]
            else:
                s[0] += 1
                if at > s[1]:
                    s[1] = at
        self.touched.update(merged)
        self.pairs.add(merged, at)
        self.experts.add(email, c.author_name, at, ((p, v[0], v[1]) for p, v in merged.items()))
        info = fixes.detect(c.message)
        if info is not None:
            self.fixes += 1
            if self.fix_diffs is not None:
                self.fix_diffs.add(c.hash)
            self.fix_rows.append(
                [
                    idx,
                    c.hash,
                    c.subject,
                    c.message,
                    info.category,
                    info.error_text,
                    sorted(merged),
                    json.dumps(info.issue_refs),
                    " ".join(sorted(info.words)),
                    info.similarity_hash,
                    at,
                ]
            )

    def take(self) -> _Batch:
        """Hand the buffered rows over (to the writer) and start new buffers."""
        batch = _Batch(self.commit_rows, self.file_rows, self.fix_rows)
        self.commit_rows, self.file_rows, self.fix_rows = [], [], []
        return batch

    def flush(self, conn: Connection) -> None:
        self.take().write(conn, self.project_id)


@dataclass
class _Batch:
    commits: list[list[Any]]
    files: list[list[Any]]
    fixes: list[list[Any]]

    def write(self, conn: Connection, project_id: int) -> None:
        """Insert the rows with commit ids assigned now (inside the write transaction)."""
        if not self.commits:
            return
        base = git_history.next_commit_id(conn)
        for r in self.commits:
            r[0] += base
        for r in self.files:
            r[0] += base
        git_history.insert_commits(
            conn, [tuple(r) for r in self.commits], [tuple(r) for r in self.files]
        )
        git_fixes.insert_fixes(
            conn,
            project_id,
            [
                (r[0] + base, *r[1:6], json.dumps(r[6], ensure_ascii=False), *r[7:])
                for r in self.fixes
            ],
        )


class _Writer:
    """Writes batches (and their commits' keyword rows) from a thread of its own, so SQLite
    works while the log is parsed (the sqlite3 module releases the GIL while a statement
    runs). It has its own connection, closed when the run ends."""

    def __init__(self, store: Store, project_id: int) -> None:
        self._path = store.path
        self._busy = getattr(store, "busy_timeout_ms", None)
        self._project_id = project_id
        self._q: queue.Queue[_Batch | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="git-mine-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        kwargs = {"busy_timeout_ms": self._busy} if self._busy else {}
        store = None
        try:
            store = Store(self._path, migrate_schema=False, **kwargs)
            while (batch := self._q.get()) is not None:
                if self._error is None:
                    with store.write() as c:
                        batch.write(c, self._project_id)
                        # their keyword rows too, while the log is still read (at the end,
                        # in the transaction that finishes the run, they were a second)
                        keyword.index_commits(c, self._project_id)
        except BaseException as exc:  # re-raised in the miner's thread
            self._error = exc
            while self._q.get() is not None:  # keep draining so put() never blocks
                pass
        finally:
            if store is not None:
                store.close()

    def put(self, batch: _Batch) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(batch)

    def close(self) -> None:
        """Wait for every batch to be written; re-raise the writer's error."""
        if not self._closed:
            self._closed = True
            self._q.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error


def _report(progress: Progress | None, message: str, pct: int | None) -> None:
    if progress is not None:
        try:
            progress(message, pct)
        except Exception:
            log.debug("progress callback failed", exc_info=True)


def mine(
    store: Store,
    project_id: int,
    root: Path | str,
    settings: Settings,
    progress: Progress | None = None,
    cancel: Any = None,
    *,
    now: int | None = None,
    symbols: bool = True,
) -> MineStats:
    """Bring the project's mined history up to HEAD (incrementally when possible).

    Never raises for repository problems: not a repository, an empty one, git missing or
    failing all come back as a status with a sentence in ``message``.
    """
    t0 = time.perf_counter()
    now = int(time.time()) if now is None else now
    root_s = str(Path(root).resolve())
    trusted = settings.git.trust_repository_config
    try:
        info = discover(root_s)
    except NotARepository as exc:
        with store.write() as c:
            git_history.save_attachment(c, project_id, root_s, status="not_a_repo", error=str(exc))
        return MineStats("not_a_repo", message=str(exc), seconds=time.perf_counter() - t0)
    except GitError as exc:
        with store.write() as c:
            git_history.save_attachment(c, project_id, root_s, status="error", error=str(exc))
        return MineStats("error", message=str(exc), seconds=time.perf_counter() - t0)

    if info.head is None:
        with store.write() as c:
            git_history.clear_project(c, project_id)
            git_history.save_attachment(
                c, project_id, root_s, git_dir=info.git_dir, head_ref=info.head_ref, status="empty"
            )
        return MineStats(
            "empty", message=f"{root_s} has no commits yet.", seconds=time.perf_counter() - t0
        )

    policy = IgnorePolicy.from_settings(settings.git, info.toplevel)
    ctx = _Ctx(
        store=store,
        project_id=project_id,
        info=info,
        policy=policy,
        settings=settings,
        now=now,
        progress=progress,
        cancel=cancel,
        symbols=symbols,
        fingerprint=policy.fingerprint() + cochange.fingerprint(settings.cochange),
        # The mined facts depend on these: any change means mining again from scratch.
        mailmap=_file_hash(Path(info.toplevel) / ".mailmap"),
        shallow=_file_hash(Path(info.git_dir) / "shallow") if info.is_shallow else "",
    )
    conn = store.conn()
    att = git_history.get_attachment(conn, project_id)
    state = git_history.get_state(conn, project_id)
    last = att.last_mined_commit if att else None
    scratch = (
        last is None
        or state is None
        or not state.complete
        or (state.policy_hash, state.mailmap_hash, state.shallow_hash)
        != (ctx.fingerprint, ctx.mailmap, ctx.shallow)
    )
    with store.write() as c:
        run_id, interrupted = runs.begin(c, project_id, "mine", now)
    if interrupted is not None:
        log.info(
            "the previous mining of %s was interrupted (%s); finishing it",
            root_s,
            interrupted.stopped_in or "start",
        )
    if not scratch and last == info.head:
        # The history is mined; an interrupted run may still owe the fixes' symbols.
        total = git_history.commit_count(conn, project_id)
        done = MineStats(
            "up_to_date", "none", info.head, total_commits=total, seconds=time.perf_counter() - t0
        )
        if symbols and git_fixes.pending_symbols(conn, project_id):
            done.message = "finished the symbols touched by past fixes that a run left undone"
            _fix_symbols(ctx, run_id, root_s, None, done)
        _end_run(store, run_id, "complete")
        done.seconds = time.perf_counter() - t0
        return done
    if not scratch and last is not None and not is_ancestor(root_s, last, info.head):
        log.info(
            "history rewritten in %s (%s is not an ancestor of HEAD): mining again",
            root_s,
            last[:12],
        )
        scratch = True
    diffs = (
        fixes.FixDiffs(root_s, bool(info.prefix), trusted=trusted) if scratch and symbols else None
    )
    try:
        try:
            stats = (
                _scratch(ctx, diffs, run_id) if scratch else _incremental(ctx, last or "", run_id)
            )
        except BaseException:
            if diffs is not None:
                diffs.close()  # this run is over: git stops reading the fixes' diffs
            raise
    except _Cancelled:
        _end_run(store, run_id, "cancelled")
        return MineStats(
            "cancelled",
            "scratch" if scratch else "incremental",
            info.head,
            message="Mining was cancelled; it starts over next time.",
            seconds=time.perf_counter() - t0,
        )
    except GitError as exc:
        _end_run(store, run_id, "failed", str(exc))
        with store.write() as c:
            git_history.save_attachment(
                c,
                project_id,
                root_s,
                git_dir=info.git_dir,
                head_commit=info.head,
                head_ref=info.head_ref,
                is_shallow=info.is_shallow,
                status="error",
                error=str(exc),
            )
        return MineStats("error", message=str(exc), seconds=time.perf_counter() - t0)
    except error_types() as exc:
        msg = (
            f"Could not store the history of {root_s}: {exc}. Another mira-ls may be "
            "mining the same project; it will finish the job."
        )
        return MineStats("error", message=msg, seconds=time.perf_counter() - t0)
    stats.phases["core_s"] = time.perf_counter() - t0
    if symbols:
        pause_point("mine:fix symbols:start")
        _fix_symbols(ctx, run_id, root_s, diffs, stats)
    _end_run(store, run_id, "complete")
    stats.seconds = time.perf_counter() - t0
    return stats


def _fix_symbols(
    ctx: _Ctx, run_id: int, root_s: str, diffs: fixes.FixDiffs | None, stats: MineStats
) -> None:
    """Second phase: the definitions each new fix touched, from one more (smaller) git run
    over those commits only, started while the log was read (from scratch) and collected
    now. The analyses are already committed and served. Fixes still without symbols are
    what makes this phase incomplete, so a killed run's successor finds and finishes them."""
    t1 = time.perf_counter()
    with ctx.store.write() as c:
        runs.phase_started(c, run_id, "fix symbols", int(time.time()))
    _report(ctx.progress, "symbols touched by past fixes", None)
    fixes.extract_symbols(
        ctx.store,
        ctx.project_id,
        root_s,
        bool(ctx.info.prefix),
        diffs,
        trusted=ctx.settings.git.trust_repository_config,
    )
    with ctx.store.write() as c:
        runs.phase_done(c, run_id, "fix symbols", int(time.time()))
    stats.phases["fix_symbols_s"] = time.perf_counter() - t1


def _end_run(store: Store, run_id: int, status: str, message: str | None = None) -> None:
    try:
        with store.write() as c:
            runs.finish(c, run_id, status, int(time.time()), message)
    except error_types() as exc:
        log.warning("could not record the end of the mining run: %s", exc)


@dataclass(frozen=True)
class _Ctx:
    """One mining run's inputs."""

    store: Store
    project_id: int
    info: RepoInfo
    policy: IgnorePolicy
    settings: Settings
    now: int
    progress: Progress | None
    cancel: Any
    symbols: bool
    fingerprint: str
    mailmap: str
    shallow: str

    @property
    def pathspec(self) -> list[str]:
        return ["."] if self.info.prefix else []

    @property
    def relative(self) -> bool:
        return bool(self.info.prefix)

    def new_run(self, fix_diffs: fixes.FixDiffs | None = None) -> _Run:
        return _Run(self.project_id, self.policy, fix_diffs)

    def check_cancel(self) -> None:
        if _is_cancelled(self.cancel):
            raise _Cancelled


def _finish(c: Any, ctx: _Ctx) -> int:
    """Record that the project is mined up to HEAD; returns the stored commit count."""
    info = ctx.info
    total = git_history.commit_count(c, ctx.project_id)
    git_history.save_attachment(
        c,
        ctx.project_id,
        info.root,
        git_dir=info.git_dir,
        head_commit=info.head,
        head_ref=info.head_ref,
        last_mined_commit=info.head,
        last_mined_at=ctx.now,
        mined_commits=total,
        is_shallow=info.is_shallow,
        status="ok",
    )
    git_history.set_state(
        c, ctx.project_id, ctx.fingerprint, ctx.mailmap, ctx.shallow, True, ctx.now
    )
    keyword.index_commits(c, ctx.project_id)
    return total


def _scratch(ctx: _Ctx, diffs: fixes.FixDiffs | None, run_id: int) -> MineStats:
    """Mine from the first commit. ``diffs`` (when given) is sent each fix as it is found, so
    git reads the fixes' diffs beside the main log instead of after it."""
    t0 = time.perf_counter()
    store, pid, info, now = ctx.store, ctx.project_id, ctx.info, ctx.now
    with store.write() as c:
        git_history.clear_project(c, pid)
        git_history.set_state(c, pid, ctx.fingerprint, ctx.mailmap, ctx.shallow, False, now)
        git_history.save_attachment(
            c,
            pid,
            info.root,
            git_dir=info.git_dir,
            head_commit=info.head,
            head_ref=info.head_ref,
            is_shallow=info.is_shallow,
            status="pending",
        )
        runs.phase_started(c, run_id, "log", now)
    head = info.head or "HEAD"
    trusted = ctx.settings.git.trust_repository_config
    counter = CommitCounter(info.root, head, ctx.pathspec, trusted=trusted)
    _report(ctx.progress, "reading git history", 0)
    run = ctx.new_run(diffs)
    writer = _Writer(store, pid)
    try:
        for commit in stream_log(info.root, [head], ctx.pathspec, ctx.relative, trusted):
            run.add(commit)
            if run.count == 2:
                writer.put(run.take())
                pause_point("mine:log:middle")
            if run.count % 200 == 0:
                ctx.check_cancel()
                total = counter.result()
                pct = min(99, run.count * 100 // total) if total else None
                _report(ctx.progress, f"{run.count}/{total or '?'} commits", pct)
            if len(run.commit_rows) >= BATCH:
                writer.put(run.take())
        writer.put(run.take())
        if diffs is not None:
            diffs.start()
        t_stream = time.perf_counter() - t0
        ctx.check_cancel()
        _report(ctx.progress, "co-change, expertise and fixes", 99)
        stats = {p: (v[0], v[1]) for p, v in run.stats.items()}
        patterns = run.pairs.patterns(stats, ctx.settings.cochange)
        writer.close()  # every commit row is in before the analyses that refer to them
        pause_point("mine:analyses:start")
        with store.write() as c:
            runs.phase_done(c, run_id, "log", now)
            runs.phase_started(c, run_id, "co-change, expertise and fixes", now)
            git_history.replace_file_stats(
                c, pid, ((p, v[0], v[1]) for p, v in sorted(stats.items()))
            )
            git_cochange.delete_all(c, pid)
            git_cochange.insert_patterns(c, pid, patterns, now)
            expertise.write_all(c, pid, run.experts, now)
            pause_point("mine:analyses:middle")  # inside the transaction: all or nothing
            total_stored = _finish(c, ctx)
            runs.phase_done(c, run_id, "co-change, expertise and fixes", now)
    finally:
        counter.close()
        writer.close()
    return MineStats(
        "ok",
        "scratch",
        info.head,
        run.count,
        total_stored,
        run.ignored,
        run.fixes,
        phases={"stream_s": t_stream, "analyses_s": time.perf_counter() - t0 - t_stream},
    )


def _incremental(ctx: _Ctx, last: str, run_id: int) -> MineStats:
    store, pid, info, now = ctx.store, ctx.project_id, ctx.info, ctx.now
    run = ctx.new_run()
    for commit in stream_log(
        info.root,
        [info.head or "HEAD", f"^{last}"],
        ctx.pathspec,
        ctx.relative,
        ctx.settings.git.trust_repository_config,
    ):
        run.add(commit)
        if run.count % 500 == 0:
            ctx.check_cancel()
    _report(ctx.progress, f"{run.count} new commits", None)
    with store.write() as c:
        for old, new in run.forward.items():
            git_history.rename_canonical(c, pid, old, new)
        run.flush(c)
        merged = set(run.forward.values())
        touched = run.touched | merged
        gone = set(run.forward) - touched
        git_history.recompute_file_stats(c, pid, touched | gone)
        cochange.recompute(c, pid, touched, gone, merged, ctx.settings.cochange, now)
        expertise.update_incremental(c, pid, run.experts, touched, gone, bool(run.forward), now)
        if run.forward:
            git_fixes.refresh_files(c, pid, merged)
            git_fixes.rename_paths(c, pid, run.forward)
        # Lines "not committed yet" may be committed now: blame those files again.
        git_blame.forget_paths(c, pid, run.all_paths | touched | gone)
        total = _finish(c, ctx)
        runs.phase_done(c, run_id, "log", now)
        runs.phase_done(c, run_id, "co-change, expertise and fixes", now)
    return MineStats("ok", "incremental", info.head, run.count, total, run.ignored, run.fixes)
