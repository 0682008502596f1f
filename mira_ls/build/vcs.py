"""The few git facts a build run records: HEAD, whether the tree is dirty, and which commit
between two runs touched the files an error was in. No repository: all None."""

from __future__ import annotations

import logging
from pathlib import Path

from mira_ls.git.repo import GitError, run_git

log = logging.getLogger(__name__)

GIT_TIMEOUT_S = 15


def _git(root: Path, *args: str, trusted: bool = False) -> str | None:
    try:
        out = run_git(root, *args, check=False, timeout=GIT_TIMEOUT_S, trusted=trusted)
    except GitError as exc:
        log.debug("git %s failed: %s", args[0], exc)
        return None
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "replace")


def head_and_dirty(root: Path, *, trusted: bool = False) -> tuple[str | None, bool | None]:
    head = _git(root, "rev-parse", "--verify", "-q", "HEAD", trusted=trusted)
    if head is None:
        return None, None
    status = _git(root, "status", "--porcelain", "--untracked-files=no", trusted=trusted)
    return head.strip() or None, None if status is None else bool(status.strip())


def fix_commit(
    root: Path, before: str, after: str, files: list[str], *, trusted: bool = False
) -> str | None:
    """The newest commit in before..after touching the files (any commit if none named)."""
    if not before or not after or before == after:
        return None
    args = ["log", "-n", "1", "--format=%H", f"{before}..{after}"]
    if files:
        args += ["--", *files]
    out = _git(root, *args, trusted=trusted)
    return out.strip() or None if out else None


def diff_commits(
    root: Path, before: str, after: str, files: list[str], cap: int, *, trusted: bool = False
) -> str | None:
    """``git diff before after`` of the files (all files when none), cut at ``cap`` chars."""
    args = ["diff", "--no-color", "--no-ext-diff", before, after]
    if files:
        args += ["--", *files]
    out = _git(root, *args, trusted=trusted)
    if not out:
        return None
    return out if len(out) <= cap else None


def show_commit(
    root: Path, commit: str, files: list[str], cap: int, *, trusted: bool = False
) -> str | None:
    """The patch a commit made (to the files, when named), cut at ``cap`` chars."""
    args = ["show", "--format=", "--no-color", "--no-ext-diff", commit]
    if files:
        args += ["--", *files]
    out = _git(root, *args, trusted=trusted)
    if not out:
        return None
    return out if len(out) <= cap else out[:cap] + "\n[... cut ...]\n"
