"""What a review request sends: the working tree against HEAD, plus who and what usually
goes with the changed files (co-change partners left unchanged, experts).

New files git does not ignore are part of the change, so they go along as new-file diffs
(text only, each cut to NEW_FILE_MAX_BYTES). Secret-looking and ignored files never appear:
the secret patterns are excluded by pathspec and checked again by name, ignored files are
left out by ``--exclude-standard``, and symlinks are not followed out of the repository.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from mira_ls.git.repo import GitError, run_git
from mira_ls.llm import tokens
from mira_ls.llm.context import Section
from mira_ls.llm.redact import SECRET_FILE_PATTERNS, is_secret_path, redact
from mira_ls.store import Store, git_cochange
from mira_ls.store import llm_queries as lq

DIFF_SHARE = 0.6  # of the context budget
NEW_FILE_MAX_BYTES = 64_000  # read of one untracked file; the whole diff is cut to tokens too
MAX_NEW_FILES = 50  # untracked files shown as diffs; more are listed by name


class ReviewError(Exception):
    pass


@dataclass(frozen=True)
class WorkingTree:
    files: list[str]
    stat: str
    diff: str


def _git(root: Path, *args: str, trusted: bool = False) -> str:
    try:
        proc = run_git(root, *args, check=False, timeout=30, trusted=trusted)
    except GitError as exc:
        raise ReviewError(str(exc)) from exc
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ReviewError(f"git {args[0]} failed in {root}: {err[-1] if err else 'unknown'}")
    return proc.stdout.decode("utf-8", "replace")


def _utf8(data: bytes, cut: bool) -> str | None:
    """The text, or None when it is not UTF-8; a cut may split the last character."""
    for trim in range(4 if cut else 1):
        try:
            return data[: len(data) - trim].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def _new_file_diff(root: Path, rel: str) -> str | None:
    """A new-file diff of an untracked file; None for binaries, symlinks and unreadables."""
    path = root / rel
    if is_secret_path(rel) or path.is_symlink() or not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            data = f.read(NEW_FILE_MAX_BYTES + 1)
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    cut = len(data) > NEW_FILE_MAX_BYTES
    text = _utf8(data[:NEW_FILE_MAX_BYTES], cut)
    if text is None:  # not UTF-8 text: a binary format without NUL bytes early on
        return None
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    if cut:
        body += f"+[... cut at {NEW_FILE_MAX_BYTES} bytes]\n"
    return (
        f"diff --git a/{rel} b/{rel}\nnew file (untracked)\n--- /dev/null\n+++ b/{rel}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def working_tree(root: Path, *, trusted: bool = False) -> WorkingTree:
    """Tracked changes (staged and not) against HEAD, plus new files git does not ignore.
    Untrusted, no external diff, textconv or filter of the repository's config runs."""
    _git(root, "rev-parse", "--verify", "-q", "HEAD", trusted=trusted)
    excludes = [f":(exclude,glob)**/{p}" for p in SECRET_FILE_PATTERNS]
    spec = ["--", ".", *excludes]
    names = [
        n
        for n in _git(root, "diff", "HEAD", "--name-only", *spec, trusted=trusted).splitlines()
        if n
    ]
    stat = _git(root, "diff", "HEAD", "--stat", *spec, trusted=trusted)
    diff = _git(root, "diff", "HEAD", "--no-color", "-U3", *spec, trusted=trusted)
    untracked = [
        n
        for n in _git(
            root, "ls-files", "-z", "--others", "--exclude-standard", *spec, trusted=trusted
        ).split("\0")
        if n and not n.endswith("/") and not is_secret_path(n)  # "dir/": a nested repository
    ]
    new_diffs: list[str] = []
    skipped: list[str] = []
    for rel in untracked:
        d = _new_file_diff(root, rel) if len(new_diffs) < MAX_NEW_FILES else None
        if d is None:
            skipped.append(rel)
        else:
            new_diffs.append(d)
    if untracked:
        more = f" and {len(untracked) - 20} more" if len(untracked) > 20 else ""
        stat += "\nNew files (untracked): " + ", ".join(untracked[:20]) + more
        if skipped:
            stat += "; not shown (binary, symlink or too many): " + ", ".join(skipped[:20])
    if new_diffs:
        # Smallest first: the diff is cut to the token budget at its end, and one big new
        # file should not push every other one out.
        new_diffs.sort(key=len)
        diff = diff.rstrip("\n") + ("\n" if diff.strip() else "") + "".join(new_diffs)
    return WorkingTree([*names, *untracked], stat.strip(), diff)


def sections(
    store: Store,
    project_id: int,
    root: Path,
    budget: int,
    secrets: tuple[str, ...] = (),
    *,
    trusted: bool = False,
) -> tuple[list[Section], WorkingTree]:
    tree = working_tree(root, trusted=trusted)
    if not tree.files:
        raise ReviewError("There are no uncommitted changes to review (working tree = HEAD).")
    conn = store.conn()
    diff = redact(tree.diff, secrets)
    limit = int(budget * DIFF_SHARE)
    if tokens.count(diff) > limit:
        diff = tokens.truncate(diff, limit) + "\n[... diff cut to fit the context budget]"
    out = [Section("diff", "Changes (git diff HEAD, new files)", f"```diff\n{diff}\n```", 0)]
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
