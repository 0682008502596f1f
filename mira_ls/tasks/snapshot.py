"""Where the work stood when a task was paused, and what changed since: branch, HEAD and the
modified files (through ``run_git``, never a raw git call), open build errors, the symbols
edited (saved and re-indexed) and the ones the task's questions were about, its last chat
session and the user's notes."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.git.repo import GitError, is_ancestor, run_git
from mira_ls.store import build_errors
from mira_ls.store import tasks as task_store
from mira_ls.store.connection import Connection

log = logging.getLogger(__name__)

MAX_FILES = 100
MAX_ERRORS = 20
MAX_COMMITS = 50


def _git(root: Path, *args: str, trusted: bool = False) -> bytes | None:
    try:
        proc = run_git(root, *args, check=False, timeout=30, trusted=trusted)
    except GitError as exc:
        log.debug("git %s failed: %s", args[0], exc)
        return None
    return proc.stdout if proc.returncode == 0 else None


def branch_and_head(root: Path, *, trusted: bool = False) -> tuple[str | None, str | None]:
    """(branch, HEAD commit) in one git call; the branch is None on a detached HEAD, both
    are None in a repository without commits."""
    out = _git(root, "rev-parse", "HEAD", "--abbrev-ref", "HEAD", trusted=trusted)
    lines = (out or b"").decode("utf-8", "replace").split()
    if len(lines) != 2:
        return None, None
    return (None if lines[1] == "HEAD" else lines[1]), lines[0]


def modified_files(root: Path, *, trusted: bool = False) -> list[str]:
    """Changed, staged and untracked files (not ignored ones), sorted."""
    out = _git(
        root,
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=normal",
        "--no-renames",
        trusted=trusted,
    )
    if out is None:
        return []
    files = {e[3:].decode("utf-8", "replace") for e in out.split(b"\0") if len(e) > 3}
    return sorted(files)[:MAX_FILES]


@dataclass
class Snapshot:
    at: int
    branch: str | None
    head: str | None
    modified: list[str]
    errors: list[dict[str, Any]]
    symbols: list[str]
    chat_session: str | None
    notes: str | None
    reason: str = "paused"  # or "server stopped": the task stayed current
    edited: list[str] = field(default_factory=list)  # definitions changed during the session

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(at: int, d: dict[str, Any]) -> Snapshot:
        return Snapshot(
            int(d.get("at", at)),
            d.get("branch"),
            d.get("head"),
            list(d.get("modified", [])),
            list(d.get("errors", [])),
            list(d.get("symbols", [])),
            d.get("chat_session"),
            d.get("notes"),
            d.get("reason", "paused"),
            list(d.get("edited", [])),
        )


def capture(
    conn: Connection,
    root: Path,
    project_id: int,
    task_id: int,
    since: int,
    notes: str | None,
    *,
    trusted: bool = False,
    now: int | None = None,
    reason: str = "paused",
) -> Snapshot:
    """The snapshot of a task now; ``since``: when its session started (for the symbols)."""
    branch, head = branch_and_head(root, trusted=trusted)
    errors = [
        {"file": e.file_path, "line": e.line, "code": e.code, "message": e.message[:300]}
        for e in build_errors.list_errors(conn, project_id, "open")[:MAX_ERRORS]
    ]
    return Snapshot(
        int(time.time()) if now is None else now,
        branch,
        head,
        modified_files(root, trusted=trusted),
        errors,
        task_store.asked_symbols(conn, task_id, since),
        task_store.last_chat_session(conn, task_id),
        notes,
        reason,
        task_store.edited_symbols(conn, project_id, since),
    )


@dataclass
class Changes:
    """What happened in the repository between a pause and now."""

    branch_then: str | None
    branch_now: str | None
    head_now: str | None
    commits: list[dict[str, Any]] = field(default_factory=list)  # {sha, subject, author, at}
    files: list[str] = field(default_factory=list)  # changed by those commits
    newly_modified: list[str] = field(default_factory=list)  # uncommitted now, not then
    no_longer_modified: list[str] = field(default_factory=list)
    diverged: bool = False  # HEAD no longer contains the paused commit (rebase, switch)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def sentence(self) -> str:
        parts = []
        if self.branch_then != self.branch_now:
            parts.append(f"the branch changed from {self.branch_then} to {self.branch_now}")
        if self.diverged:
            parts.append("HEAD no longer contains the commit of the pause (rebased or switched)")
        if self.commits:
            shown = "; ".join(f"{c['sha'][:8]} {c['subject']}" for c in self.commits[:5])
            more = f" and {len(self.commits) - 5} more" if len(self.commits) > 5 else ""
            n = len(self.commits)
            parts.append(f"{n} commit{'s' * (n != 1)} ({shown}{more})")
        if self.files:
            parts.append("files changed by commits: " + ", ".join(self.files[:15]))
        if self.newly_modified:
            parts.append("newly modified: " + ", ".join(self.newly_modified[:15]))
        if self.no_longer_modified:
            parts.append("no longer modified: " + ", ".join(self.no_longer_modified[:15]))
        return "; ".join(parts) if parts else "nothing changed in the repository"


def changes_since(root: Path, snap: Snapshot, *, trusted: bool = False) -> Changes:
    branch, head = branch_and_head(root, trusted=trusted)
    ch = Changes(snap.branch, branch, head)
    if snap.head and head and snap.head != head:
        try:
            contained = is_ancestor(root, snap.head, head)
        except GitError:
            contained = False
        ch.diverged = not contained
        rng = f"{snap.head}..{head}" if contained else f"{head}"
        log_args = ["log", "--format=%H%x1f%s%x1f%an%x1f%at", f"-{MAX_COMMITS}", rng]
        if not contained:
            log_args += ["--not", snap.head]
        out = _git(root, *log_args, "--", trusted=trusted)
        for line in (out or b"").decode("utf-8", "replace").splitlines():
            sha, subject, author, at = [*line.split("\x1f", 3), "", "", "", "0"][:4]
            ch.commits.append({"sha": sha, "subject": subject, "author": author, "at": int(at)})
        diff = _git(root, "diff", "--name-only", "-z", "--no-renames", snap.head, head, "--",
                    trusted=trusted)  # fmt: skip
        ch.files = sorted({p.decode("utf-8", "replace") for p in (diff or b"").split(b"\0") if p})
    now_mod = set(modified_files(root, trusted=trusted))
    then_mod = set(snap.modified)
    ch.newly_modified = sorted(now_mod - then_mod)
    ch.no_longer_modified = sorted(then_mod - now_mod)
    return ch
