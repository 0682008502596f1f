"""Which files a patch Mira offers may touch: source files of the workspace, nothing else.

A patch comes from text a model wrote (mira.fixError) or from a stored diff (a past fix),
and either can be steered by what a repository contains (a prompt injection in a comment,
a planted resolution). Applying it is one click, so the files it may change are limited to
what a person would call the project's source: files the index holds or git tracks, inside
the workspace, reached without a symbolic link. Never git's own files (``.git/config`` can
name programs git runs), vendored or generated directories (``.venv/bin/...`` runs on the
next tool call), executables that are not source, secret-looking files, or ignored files.
Each refusal is a sentence naming the file and the reason.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mira_ls.git.repo import GitError, run_git
from mira_ls.index.languages import language_for_path
from mira_ls.index.walk import SKIP_DIRS
from mira_ls.llm.redact import is_secret_path
from mira_ls.llm.workspace_files import is_ignored
from mira_ls.store import Store
from mira_ls.store import code as code_store


class PatchRefused(Exception):
    """``str(exc)`` names the file and why a patch may not touch it."""


def _vendored(parts: tuple[str, ...]) -> str | None:
    for p in parts[:-1]:
        if p in SKIP_DIRS or p.endswith(".egg-info"):
            return p
    return None


def _symlink_on_the_way(root: Path, parts: tuple[str, ...]) -> str | None:
    cur = root
    for p in parts:
        cur = cur / p
        try:
            if stat.S_ISLNK(os.lstat(cur).st_mode):
                return cur.relative_to(root).as_posix()
        except OSError:
            return None  # missing: the existence check says so
    return None


def _executable(path: Path, rel: str) -> str | None:
    """'mode +x' or 'a #! script' for an executable that is not a source file, else None."""
    if language_for_path(rel) is not None:
        return None  # a Python or shell *source* file may carry +x or a #! line
    try:
        if os.stat(path).st_mode & 0o111:
            return "an executable (mode +x)"
        with path.open("rb") as fh:
            if fh.read(2) == b"#!":
                return "a script (it starts with #!)"
    except OSError:
        return None
    return None


@dataclass(frozen=True)
class PatchGuard:
    """The checks for one project; ``tracked`` answers "index or git holds this file".

    Without ``tracked`` every check but that one applies: a past fix re-applies a diff that
    mira-ls itself recorded from the workspace's own files (build snapshots), which may be
    outside git and of no indexed language (a config file a build reported an error in).
    """

    root: Path
    tracked: Callable[[str], bool] | None

    def refusal(self, rel: str) -> str | None:
        """None when a patch may change ``rel``, else the sentence why not."""
        rel = rel.replace("\\", "/")
        pure = PurePosixPath(rel)
        parts = pure.parts
        if not rel or pure.is_absolute() or ".." in parts or not parts:
            return f"{rel or '(no path)'} is outside the workspace"
        if ".git" in parts:
            return (
                f"{rel} is inside .git, git's own files (a change there can make git run programs)"
            )
        vendored = _vendored(parts)
        if vendored:
            return f"{rel} is in {vendored}/, a vendored or generated directory"
        if is_secret_path(rel):
            return f"{rel} looks like a secrets file (.env, keys, credentials)"
        root = self.root.resolve()
        link = _symlink_on_the_way(root, parts)
        if link is not None:
            return f"{rel} is reached through a symbolic link ({link}); only real files are edited"
        path = root / rel
        try:
            inside = path.resolve().is_relative_to(root)
        except (OSError, RuntimeError):
            inside = False
        if not inside:
            return f"{rel} is outside the workspace"
        if not path.is_file():
            return f"{rel} does not exist in the workspace (fixes do not create files)"
        if is_ignored(root, rel):
            return f"{rel} is ignored by git"
        if self.tracked is not None and not self.tracked(rel):
            return f"{rel} is neither tracked by git nor indexed"
        exe = _executable(path, rel)
        if exe:
            return f"{rel} is {exe}, not a source file"
        return None

    def check(self, rel: str) -> None:
        reason = self.refusal(rel)
        if reason:
            raise PatchRefused(reason)


def tracked_in(store: Store | None, project_id: int | None, root: Path) -> Callable[[str], bool]:
    """Indexed (a store lookup), else tracked by git (``git ls-files --error-unmatch``)."""

    def tracked(rel: str) -> bool:
        if (
            store is not None
            and project_id is not None
            and code_store.get_file(store.conn(), project_id, rel) is not None
        ):
            return True
        try:
            proc = run_git(root, "ls-files", "--error-unmatch", "--", rel, check=False, timeout=10)
        except GitError:
            return False
        return proc.returncode == 0

    return tracked


def guard_for(store: Store | None, project_id: int | None, root: Path) -> PatchGuard:
    """The guard for patches a model wrote: only files the index or git tracks."""
    return PatchGuard(root, tracked_in(store, project_id, root))


def guard_for_recorded(root: Path) -> PatchGuard:
    """The guard for diffs mira-ls recorded from the workspace itself (past fixes)."""
    return PatchGuard(root, None)
