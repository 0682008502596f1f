"""A build: run each command, parse its output, merge its errors into the store, and record
how the errors that disappeared were resolved.

Only a run that went to the end with its whole output read (succeeded/failed, not
truncated) can say an error is gone; a crash, a timeout or a cut output leaves open errors
open. Reading files and computing diffs happens outside the write transaction, which then
stores the run, its errors, its snapshots and its resolutions at once.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from mira_ls import confined
from mira_ls.build import errors as build_errors
from mira_ls.build import patches, vcs
from mira_ls.build.locations import is_inside
from mira_ls.build.model import BuildCommand, ParseContext, ParsedError
from mira_ls.build.parsers import ParserSpec, parser_for
from mira_ls.build.runners import RunOutcome, run_command
from mira_ls.config import BuildSettings
from mira_ls.learning import outcomes as learning
from mira_ls.store import Store
from mira_ls.store import artifacts as artifact_store
from mira_ls.store import build_errors as error_store
from mira_ls.store import build_resolutions as resolution_store
from mira_ls.store import build_runs as run_store
from mira_ls.store import build_snapshots as snapshot_store
from mira_ls.store import operations as operation_store
from mira_ls.store.build_errors import ErrorRow
from mira_ls.tasks.operations import Operation, Outcome

log = logging.getLogger(__name__)

SNAPSHOT_MAX_BYTES = 2_000_000
SNAPSHOT_MAX_FILES = 1000
DIFF_MAX_CHARS = 200_000

Progress = Callable[[int, int, str], None]


@dataclass
class StepResult:
    name: str
    command: list[str]
    run_id: int | None
    status: str
    exit_code: int | None
    error_count: int
    warning_count: int
    new_errors: int
    resolved: int
    truncated: bool
    output_bytes: int
    seconds: float
    message: str | None


@dataclass
class BuildReport:
    steps: list[StepResult] = field(default_factory=list)

    @property
    def cancelled(self) -> bool:
        return any(s.status == "cancelled" for s in self.steps)

    def summary(self) -> str:
        parts = []
        for s in self.steps:
            if s.status in ("succeeded", "failed"):
                text = f"{s.name}: {s.error_count} errors, {s.warning_count} warnings"
                if s.resolved:
                    text += f", {s.resolved} fixed"
            else:
                text = f"{s.name}: {s.status}"
            parts.append(text)
        return "; ".join(parts) or "no build commands"


def _tail(outcome: RunOutcome, limit: int = 300) -> str:
    for text in (outcome.output.stderr, outcome.output.stdout):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if lines:
            return lines[-1][:limit]
    return ""


def classify(outcome: RunOutcome, spec: ParserSpec, parsed: int) -> tuple[str, str | None]:
    """(build_runs.status, message) of a finished or failed command."""
    name = outcome.command.name
    if outcome.state in ("not_found", "start_failed"):
        return "error", outcome.message
    if outcome.state in ("timeout", "cancelled"):
        return outcome.state, outcome.message
    code = outcome.exit_code
    tail = _tail(outcome)
    if code is not None and code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = f"signal {-code}"
        return "error", f"The build step '{name}' crashed ({sig})" + (f": {tail}" if tail else ".")
    if code in spec.crash_codes:
        return "error", (
            f"The build step '{name}' failed to run (exit code {code})"
            + (f": {tail}" if tail else ".")
        )
    if code == 0 or code in spec.clean_codes:
        return "succeeded", None
    if parsed:
        return "failed", None
    return "error", (
        f"The build step '{name}' exited with code {code} without reporting errors mira-ls could "
        f"read" + (f": {tail}" if tail else "") + ". Run it in a terminal to see what went wrong."
    )


def _read(root: Path, rel: str) -> bytes | None:
    p = root / rel
    if not confined.is_inside(root, p):  # a link out of the workspace is not a build file
        return None
    try:
        if not p.is_file() or p.stat().st_size > SNAPSHOT_MAX_BYTES:
            return None
        return p.read_bytes()
    except OSError:
        return None


def _files_of(file_path: str | None, related: list[tuple[str, int]]) -> list[str]:
    out = [file_path] if file_path and is_inside(file_path) else []
    out += [p for p, _ in related if is_inside(p) and p not in out]
    return out


def _decode(data: bytes | None) -> str | None:
    if data is None or b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", "replace")


@dataclass
class _Resolution:
    error: ErrorRow
    before_run_id: int
    files: list[str]
    diff: str | None
    commit_hash: str | None


def _resolutions(
    store: Store,
    project_id: int,
    root: Path,
    gone: list[ErrorRow],
    now_files: dict[str, bytes],
    head: str | None,
    trust_git: bool = False,
) -> list[_Resolution]:
    conn = store.conn()
    out: list[_Resolution] = []
    diff_cache: dict[tuple[int, tuple[str, ...]], tuple[str | None, str | None]] = {}
    for e in gone:
        before_run_id = e.last_run_id
        if before_run_id is None:
            continue
        occ = error_store.occurrence_of(conn, before_run_id, e.id)
        files = _files_of(occ.file_path, occ.related) if occ else _files_of(e.file_path, [])
        key = (before_run_id, tuple(files))
        if key not in diff_cache:
            parts = []
            for f in files:
                before = _decode(snapshot_store.content_at(conn, project_id, before_run_id, f))
                if before is None:
                    continue
                data = now_files.get(f)
                if data is None and (root / f).exists():
                    data = _read(root, f)  # beyond the snapshot cap, or too large
                    if data is None:
                        continue  # unreadable is not deleted: no diff for this file
                parts.append(patches.file_diff(f, before, _decode(data)))
            diff = "".join(parts) or None
            before_run = run_store.get_run(conn, before_run_id)
            commit = None
            if before_run and before_run.commit_hash and head:
                commit = vcs.fix_commit(
                    root, before_run.commit_hash, head, files, trusted=trust_git
                )
                if diff is None and commit:
                    diff = vcs.diff_commits(
                        root, before_run.commit_hash, commit, [], DIFF_MAX_CHARS, trusted=trust_git
                    )
            if diff is not None and len(diff) > DIFF_MAX_CHARS:
                diff = diff[:DIFF_MAX_CHARS]
            diff_cache[key] = (diff, commit)
        diff, commit = diff_cache[key]
        out.append(_Resolution(e, before_run_id, files, diff, commit))
    return out


def _summary(r: _Resolution) -> str:
    where = f" in {r.error.file_path}" if r.error.file_path else ""
    how = (
        f"commit {r.commit_hash[:10]}"
        if r.commit_hash
        else ("an uncommitted change" if r.diff else "no change in the files it named")
    )
    return f"{r.error.tool} {r.error.code or ''} fixed{where} by {how}".replace("  ", " ")


def text_fallback(cmd: BuildCommand, outcome: RunOutcome) -> BuildCommand | None:
    """mypy's text format for a mypy that refused ``-O json`` (added in mypy 1.11)."""
    argv = list(cmd.argv)
    if (
        cmd.parser != "mypy"
        or outcome.state != "finished"
        or outcome.exit_code != 2
        or "unrecognized arguments" not in outcome.output.stderr
        or "-O" not in argv[:-1]
        or argv[argv.index("-O") + 1] != "json"
    ):
        return None
    i = argv.index("-O")
    text_argv = [*argv[:i], "--show-column-numbers", "--show-error-codes", *argv[i + 2 :]]
    return replace(cmd, argv=tuple(text_argv))


def run_step(
    store: Store,
    project_id: int,
    root: Path,
    cmd: BuildCommand,
    settings: BuildSettings,
    head: str | None,
    dirty: bool | None,
    *,
    cancel: Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
    trust_git: bool = False,
    learn: bool = True,
) -> StepResult:
    spec = parser_for(cmd.parser) or parser_for("generic")
    assert spec is not None
    t0 = time.monotonic()
    started = int(time.time())
    with store.write() as conn:
        run_id = run_store.start_run(
            conn,
            project_id,
            cmd.name,
            spec.name,
            list(cmd.argv),
            cmd.cwd or ".",
            started,
            head,
            dirty,
        )
    outcome = run_command(
        cmd,
        root,
        timeout_s=settings.timeout_seconds,
        cap_bytes=settings.output_cap_bytes,
        cancel=cancel,
        env=env,
    )
    fallback = text_fallback(cmd, outcome)
    if fallback is not None:  # a mypy older than 1.11 has no -O json: ask for text
        outcome = run_command(
            fallback,
            root,
            timeout_s=settings.timeout_seconds,
            cap_bytes=settings.output_cap_bytes,
            cancel=cancel,
            env=env,
        )
    parsed: list[ParsedError] = []
    parse_problem: str | None = None
    if outcome.state == "finished":
        ctx = ParseContext(root=root, cwd=outcome.cwd, argv=tuple(outcome.argv))
        try:
            parsed = spec.parse(outcome.output, ctx)
        except Exception as exc:  # a parser bug must not lose the run
            log.exception("parser %s failed on %s", spec.name, cmd.name)
            parse_problem = (
                f"mira-ls could not read the output of '{cmd.name}' ({exc}); "
                "the run is kept without errors."
            )
    if spec.name == "generic":
        for p in parsed:
            p.tool = cmd.name
    status, message = classify(outcome, spec, len(parsed))
    if parse_problem:
        status, message = "error", parse_problem
    if outcome.truncated and status in ("succeeded", "failed"):
        note = (
            f"The output of '{cmd.name}' ({outcome.output_bytes} bytes) was longer than "
            f"mira.build.outputCapBytes; errors in the omitted part are not shown."
        )
        message = f"{message} {note}" if message else note
    grouped = build_errors.group(parsed)
    complete = status in ("succeeded", "failed") and not outcome.truncated
    conn = store.conn()
    gone: list[ErrorRow] = []
    if complete:
        gone = [
            e
            for e in error_store.open_errors_of_command(conn, project_id, cmd.name, run_id)
            if e.error_hash not in grouped.hashes
        ]
    wanted: list[str] = []
    for o in grouped.occurrences:
        for f in _files_of(o.file_path, o.related):
            if f not in wanted:
                wanted.append(f)
    for e in gone:
        occ = error_store.occurrence_of(conn, e.last_run_id or 0, e.id)
        for f in _files_of(occ.file_path if occ else e.file_path, occ.related if occ else []):
            if f not in wanted:
                wanted.append(f)
    now_files: dict[str, bytes] = {}
    for f in wanted[:SNAPSHOT_MAX_FILES]:
        data = _read(root, f)
        if data is not None:
            now_files[f] = data
    resolutions = (
        _resolutions(store, project_id, root, gone, now_files, head, trust_git) if gone else []
    )
    ended = int(time.time())
    with store.write() as conn:
        run_store.finish_run(
            conn,
            run_id,
            status=status,
            ended_at=ended,
            exit_code=outcome.exit_code,
            error_count=grouped.error_count,
            warning_count=grouped.warning_count,
            output_bytes=outcome.output_bytes,
            truncated=outcome.truncated,
            message=message,
        )
        error_store.record_errors(
            conn, project_id, run_id, ended, grouped.records, grouped.occurrences
        )
        snapshot_store.save(
            conn,
            project_id,
            run_id,
            ((f, hashlib.sha256(data).hexdigest(), data) for f, data in now_files.items()),
            ended,
        )
        new_errors = error_store.count_first_seen(conn, run_id)
        returned = artifact_store.mark_returned(conn, project_id, run_id, ended)
        for back in returned:
            if back.operation_id is not None:  # the fix that was applied did not fix it
                operation_store.add_note(
                    conn,
                    back.operation_id,
                    {
                        "status": "not_fixed",
                        "artifact_id": back.artifact_id,
                        "file": back.file_path,
                        "error_id": back.error_id,
                        "run_id": run_id,
                        "message": back.message,
                    },
                    ended,
                )
        error_store.mark_resolved(conn, [r.error.id for r in resolutions], ended)
        for r in resolutions:
            fix_id = (
                resolution_store.historical_fix_id(conn, project_id, r.commit_hash)
                if r.commit_hash
                else None
            )
            resolution_store.add(
                conn,
                project_id,
                r.error.id,
                r.before_run_id,
                run_id,
                r.diff,
                r.files,
                r.commit_hash,
                fix_id,
                _summary(r),
                ended,
            )
    if learn:  # fixes whose error this run no longer reports stayed; returned ones failed
        learning.after_build(store, project_id, run_id, [e.id for e in gone], returned)
    return StepResult(
        name=cmd.name,
        command=outcome.argv,
        run_id=run_id,
        status=status,
        exit_code=outcome.exit_code,
        error_count=grouped.error_count,
        warning_count=grouped.warning_count,
        new_errors=new_errors,
        resolved=len(resolutions),
        truncated=outcome.truncated,
        output_bytes=outcome.output_bytes,
        seconds=time.monotonic() - t0,
        message=message,
    )


def run_build(
    store: Store,
    project_id: int,
    root: Path,
    commands: list[BuildCommand],
    settings: BuildSettings,
    *,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
    trust_git: bool = False,
    learn: bool = True,
) -> BuildReport:
    """Run the commands one after another; a cancel stops the running one and the rest.
    ``trust_git``: git may run what the repository's config names; ``learn``: record what
    became of applied fixes (learning.enabled). The build is one
    operation (command ``build``) with its events, listed by ``mira-ls ops``."""
    op = Operation(
        store, uuid.uuid4().hex[:12], "build", ", ".join(c.name for c in commands), project_id
    )
    op.running(commands=[c.name for c in commands])
    try:
        report = _run_build(
            store, project_id, root, commands, settings, progress, cancel, env, trust_git, learn
        )
    except BaseException as exc:
        op.failed(f"The build stopped: {exc or type(exc).__name__}.")
        raise
    summary = Outcome(summary=report.summary())
    broken = [s for s in report.steps if s.status not in ("succeeded", "failed", "cancelled")]
    if report.cancelled:
        op.cancelled(summary)
    elif broken:
        op.failed(" ".join(s.message or f"{s.name}: {s.status}." for s in broken), summary)
    else:
        op.done(summary)
    return report


def _run_build(
    store: Store,
    project_id: int,
    root: Path,
    commands: list[BuildCommand],
    settings: BuildSettings,
    progress: Progress | None,
    cancel: Callable[[], bool] | None,
    env: dict[str, str] | None,
    trust_git: bool,
    learn: bool = True,
) -> BuildReport:
    report = BuildReport()
    head, dirty = vcs.head_and_dirty(root, trusted=trust_git)
    now = int(time.time())
    with store.write() as conn:
        run_store.mark_abandoned(conn, project_id, now, now - int(settings.timeout_seconds) - 3600)
    for i, cmd in enumerate(commands):
        if cancel is not None and cancel():
            break
        if progress is not None:
            progress(i, len(commands), f"{cmd.name}: {' '.join(cmd.argv)}")
        step = run_step(
            store,
            project_id,
            root,
            cmd,
            settings,
            head,
            dirty,
            cancel=cancel,
            env=env,
            trust_git=trust_git,
            learn=learn,
        )
        report.steps.append(step)
        if step.status == "cancelled":
            break
    if progress is not None:
        progress(len(commands), len(commands), report.summary())
    with store.write() as conn:
        snapshot_store.prune(conn, project_id)
        # fix commits git history mined since a resolution was recorded
        resolution_store.link_historical_fixes(conn, project_id)
    return report
