"""Which files of a workspace are indexed.

Inside a git work tree (and when the root itself is not git-ignored) the list is what git
tracks plus untracked files that are not ignored (``git ls-files -co --exclude-standard``).
Elsewhere the tree is walked honouring every ``.gitignore`` with pathspec. Either way,
generated and vendored directories *below* the root are skipped (a root named explicitly is
always indexed, even ``.../site-packages``), as are ``index.exclude`` patterns, files of no
known language, and anything that is not a regular file (symlink loops, FIFOs, sockets).
Nothing here raises for a bad file: it is counted and logged.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from mira_ls.confined import is_inside
from mira_ls.git.repo import GitError, run_git
from mira_ls.index.languages import language_for_path

log = logging.getLogger(__name__)

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "vendor",
        "third_party",
        "third-party",
        ".venv",
        "venv",
        "site-packages",
        "dist-packages",
        "dist",
        "build",
        "target",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".cache",
        ".eggs",
        ".idea",
        ".vscode",
        ".next",
        ".nuxt",
        ".gradle",
        "htmlcov",
    }
)
GIT_TIMEOUT_S = 120


@dataclass(frozen=True)
class Candidate:
    rel: str  # project-relative POSIX path
    language: str
    size: int
    mtime_ns: int


@dataclass
class Listing:
    files: list[Candidate] = field(default_factory=list)
    mode: str = "walk"  # "git" or "walk"
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def skip(self, reason: str, rel: str, detail: str = "") -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        log.debug("skipped %s (%s) %s", rel, reason, detail)


def _git(
    root: Path, *args: str, trusted: bool = False
) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return run_git(root, *args, check=False, timeout=GIT_TIMEOUT_S, trusted=trusted)
    except GitError as exc:
        log.debug("git %s failed in %s: %s", " ".join(args), root, exc)
        return None


def git_listing_applies(root: Path, *, trusted: bool = False) -> bool:
    """True when ``root`` is inside a git work tree and not ignored by it."""
    top = _git(root, "rev-parse", "--show-toplevel", trusted=trusted)
    if top is None or top.returncode != 0:
        return False
    toplevel = Path(os.fsdecode(top.stdout.strip()))
    try:
        rel = root.resolve().relative_to(toplevel.resolve())
    except ValueError:
        return False
    if str(rel) in ("", "."):
        return True
    ignored = _git(toplevel, "check-ignore", "-q", "--no-index", rel.as_posix(), trusted=trusted)
    return not (ignored is not None and ignored.returncode == 0)


def exclude_spec(patterns: Iterable[str]) -> pathspec.GitIgnoreSpec | None:
    pats = [p for p in patterns if p and p.strip()]
    return pathspec.GitIgnoreSpec.from_lines(pats) if pats else None


def skipped_dir(rel: str) -> bool:
    """A path lies in a generated/vendored directory below the root."""
    parts = rel.split("/")[:-1]
    return any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts)


def _stat_candidate(root: Path, rel: str, listing: Listing) -> Candidate | None:
    lang = language_for_path(rel)
    if lang is None:
        return None
    if not is_inside(root, root / rel):
        listing.skip("outside_workspace", rel, "a symbolic link to a file outside the workspace")
        return None
    try:
        st = os.stat(root / rel)  # follows symlinks; a loop raises ELOOP
    except OSError as exc:
        listing.skip("unreadable", rel, str(exc))
        return None
    if not stat.S_ISREG(st.st_mode):
        listing.skip("not_a_file", rel)
        return None
    return Candidate(rel, lang, st.st_size, st.st_mtime_ns)


def list_files(
    root: Path,
    exclude: Iterable[str] = (),
    on_file: Callable[[Candidate], None] | None = None,
    *,
    trusted: bool = False,
) -> Listing:
    """Every indexable source file under ``root`` (sorted by path). ``on_file`` sees each
    candidate as it is found (the indexer starts its parser processes early for a big
    first index). ``trusted``: git may run what the repository's config names."""
    root = Path(root)
    spec = exclude_spec(exclude)
    if git_listing_applies(root, trusted=trusted):
        listing = _git_files(root, spec, on_file, trusted)
        if listing is not None:
            return listing
    return _walk_files(root, spec, on_file)


def _git_files(
    root: Path,
    spec: pathspec.GitIgnoreSpec | None,
    on_file: Callable[[Candidate], None] | None,
    trusted: bool,
) -> Listing | None:
    proc = _git(root, "ls-files", "-co", "--exclude-standard", "-z", trusted=trusted)
    if proc is None or proc.returncode != 0:
        return None
    listing = Listing(mode="git")
    seen: set[str] = set()
    for raw in proc.stdout.split(b"\0"):
        if not raw:
            continue
        rel = os.fsdecode(raw)
        if rel in seen:
            continue
        seen.add(rel)
        if language_for_path(rel) is None:
            continue
        if skipped_dir(rel):
            listing.skip("vendored", rel)
            continue
        if spec is not None and spec.match_file(rel):
            listing.skip("excluded", rel)
            continue
        cand = _stat_candidate(root, rel, listing)
        if cand is not None:
            listing.files.append(cand)
            if on_file is not None:
                on_file(cand)
    listing.files.sort(key=lambda c: c.rel)
    return listing


def _read_gitignore(path: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ignored(rel: str, specs: list[tuple[str, pathspec.GitIgnoreSpec]], is_dir: bool) -> bool:
    """git semantics: the deepest .gitignore with a matching pattern decides."""
    verdict = False
    for base, spec in specs:
        sub = rel[len(base) + 1 :] if base else rel
        res = spec.check_file(sub + "/" if is_dir else sub)
        if res.include is not None:
            verdict = bool(res.include)
    return verdict


def _walk_files(
    root: Path, spec: pathspec.GitIgnoreSpec | None, on_file: Callable[[Candidate], None] | None
) -> Listing:
    listing = Listing(mode="walk")
    # (dir rel path, its .gitignore spec) for the directories on the current path.
    stack: list[tuple[str, list[tuple[str, pathspec.GitIgnoreSpec]]]] = [("", [])]
    while stack:
        rel_dir, inherited = stack.pop()
        abs_dir = root / rel_dir if rel_dir else root
        specs = inherited
        gi = abs_dir / ".gitignore"
        if gi.is_file():
            s = _read_gitignore(gi)
            if s is not None:
                specs = [*inherited, (rel_dir, s)]
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as exc:
            listing.skip("unreadable", rel_dir or ".", str(exc))
            continue
        subdirs: list[str] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if entry.name in SKIP_DIRS or entry.name.endswith(".egg-info"):
                    continue
                if _ignored(rel, specs, True) or (spec is not None and spec.match_file(rel + "/")):
                    continue
                subdirs.append(rel)
                continue
            if language_for_path(entry.name) is None:
                continue
            if _ignored(rel, specs, False):
                continue
            if spec is not None and spec.match_file(rel):
                listing.skip("excluded", rel)
                continue
            cand = _stat_candidate(root, rel, listing)
            if cand is not None:
                listing.files.append(cand)
                if on_file is not None:
                    on_file(cand)
        for d in reversed(subdirs):
            stack.append((d, specs))
    listing.files.sort(key=lambda c: c.rel)
    return listing
