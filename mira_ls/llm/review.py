"""What a review request sends: the working tree against HEAD, plus who and what usually
goes with the changed files (co-change partners left unchanged, experts).

Secret-looking and ignored files never appear: git only diffs tracked files, and the
secret patterns are excluded by pathspec.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mira_ls.llm import tokens
from mira_ls.llm.context import Section
from mira_ls.llm.redact import SECRET_FILE_PATTERNS, redact
from mira_ls.store import Store, git_cochange
from mira_ls.store import llm_queries as lq

DIFF_SHARE = 0.6  # of the context budget


class ReviewError(Exception):
    pass


@dataclass(frozen=True)
class WorkingTree:
    files: list[str]
    stat: str
    diff: str


def _git(root: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReviewError(f"git could not run in {root}: {exc}") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ReviewError(f"git {args[0]} failed in {root}: {err[-1] if err else 'unknown'}")
    return proc.stdout.decode("utf-8", "replace")


def working_tree(root: Path) -> WorkingTree:
    """Tracked changes (staged and not) against HEAD; new untracked files by name."""
    _git(root, "rev-parse", "--verify", "-q", "HEAD")
    excludes = [f":(exclude,glob)**/{p}" for p in SECRET_FILE_PATTERNS]
    spec = ["--", ".", *excludes]
    names = [n for n in _git(root, "diff", "HEAD", "--name-only", *spec).splitlines() if n]
    stat = _git(root, "diff", "HEAD", "--stat", *spec)
    diff = _git(root, "diff", "HEAD", "--no-color", "-U3", *spec)
    untracked = [
        n for n in _git(root, "ls-files", "--others", "--exclude-standard", *spec).splitlines() if n
    ]
    if untracked:
        stat += "\nNew files not yet added: " + ", ".join(untracked[:20])
    return WorkingTree(names, stat.strip(), diff)


def sections(
    store: Store, project_id: int, root: Path, budget: int, secrets: tuple[str, ...] = ()
) -> tuple[list[Section], WorkingTree]:
    tree = working_tree(root)
    if not tree.files and "New files" not in tree.stat:
        raise ReviewError("There are no uncommitted changes to review (working tree = HEAD).")
    conn = store.conn()
    diff = redact(tree.diff, secrets)
    limit = int(budget * DIFF_SHARE)
    if tokens.count(diff) > limit:
        diff = tokens.truncate(diff, limit) + "\n[... diff cut to fit the context budget]"
    out = [Section("diff", "Changes (git diff HEAD)", f"```diff\n{diff}\n```", 0)]
    changed = set(tree.files)
    missing: list[str] = []
    for f in tree.files[:30]:
        for p in git_cochange.partners(conn, project_id, f, 5):
            if p.path not in changed and p.confidence >= 0.3:
                missing.append(
                    f"- {p.path} usually changes with {f} ({p.shared} of "
                    f"{p.commits} commits, confidence {p.confidence:.2f}) but "
                    "is not changed"
                )
    if missing:
        out.append(
            Section(
                "cochange",
                "Co-change partners not in this change",
                "\n".join(dict.fromkeys(missing)),
                1,
            )
        )
    people: list[str] = []
    for f in tree.files[:30]:
        ex = lq.experts(conn, project_id, f, int(time.time()), 2)
        if ex:
            people.append(f"- {f}: " + ", ".join(f"{e.author} (score {e.score:.0f})" for e in ex))
    if people:
        out.append(Section("experts", "Experts of the changed files", "\n".join(people), 2))
    return out, tree
