"""Blame in the background, cached per blob id, so a hover never runs git.

``git blame --porcelain -w`` (``-C`` when configured) over the working-tree file, with the
ignore policy's commits (ignore-revs file, bots, merges, large changesets) passed as an
ignore-revs file. Lines not committed yet keep git's all-zero commit id. Per-symbol
expertise reads the cached ranges of the symbol's current lines.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mira_ls.config import Settings
from mira_ls.git.repo import GitError, blob_id, run_git
from mira_ls.store import Store, git_blame, git_history
from mira_ls.store.connection import Connection
from mira_ls.store.git_blame import BlameRange

log = logging.getLogger(__name__)

UNCOMMITTED = "0" * 40
MAX_BLAME_BYTES = 5_000_000


def is_uncommitted(commit_hash: str) -> bool:
    return not commit_hash.strip("0")


def parse_porcelain(data: bytes) -> tuple[list[BlameRange], int]:
    """Ranges of consecutive lines from the same commit, and the number of lines."""
    info: dict[str, dict[str, str]] = {}
    out: list[BlameRange] = []
    lines = data.split(b"\n")
    i = 0
    n = len(lines)
    count = 0
    cur: list[Any] | None = None  # [start, end, hash]
    spans: list[list[Any]] = []
    while i < n:
        header = lines[i]
        i += 1
        if not header:
            continue
        parts = header.split(b" ")
        if len(parts) < 3:
            continue
        h = parts[0].decode("ascii", "replace")
        try:
            final = int(parts[2])
        except ValueError:
            continue
        meta = info.setdefault(h, {})
        while i < n and not lines[i].startswith(b"\t"):
            key, _, value = lines[i].partition(b" ")
            meta[key.decode("ascii", "replace")] = value.decode("utf-8", "replace")
            i += 1
        i += 1  # the "\t<content>" line
        count += 1
        if cur is not None and cur[2] == h and cur[1] == final - 1:
            cur[1] = final
        else:
            cur = [final, final, h]
            spans.append(cur)
    for start, end, h in spans:
        meta = info.get(h, {})
        email = meta.get("author-mail", "").strip().strip("<>").lower()
        try:
            at = int(meta.get("author-time", "0"))
        except ValueError:
            at = 0
        out.append(
            BlameRange(start, end, h, meta.get("author", ""), email, at, meta.get("summary"))
        )
    return out, count


def ensure_blame(
    store: Store,
    project_id: int,
    root: Path | str,
    rel_path: str,
    settings: Settings,
    now: int | None = None,
) -> None:
    """Blame ``rel_path`` unless its current content was blamed already (background work).

    Failures are recorded for that content (an untracked file is not retried until it
    changes) and logged, never raised: nothing waits on this.
    """
    now = int(time.time()) if now is None else now
    path = Path(root) / rel_path
    try:
        if path.stat().st_size > MAX_BLAME_BYTES:
            return
        data = path.read_bytes()
    except (OSError, ValueError):
        return
    conn = store.conn()
    att = git_history.get_attachment(conn, project_id)
    if att is not None and att.status in ("not_a_repo", "empty"):
        return
    bid = blob_id(data)
    if git_blame.has_blame(conn, project_id, rel_path, bid):
        if not git_blame.is_current(conn, project_id, rel_path, bid):
            with store.write() as w:
                git_blame.touch(w, project_id, rel_path, bid)
        return
    status, err, ranges, count = _run_blame(conn, project_id, root, rel_path, settings)
    with store.write() as w:
        git_blame.store_blame(w, project_id, rel_path, bid, status, count, err, ranges, now)


def _run_blame(
    conn: Connection, project_id: int, root: Path | str, rel_path: str, settings: Settings
) -> tuple[str, str | None, list[BlameRange], int]:
    ignored = git_history.ignored_hashes(conn, project_id)
    args = ["blame", "--porcelain", "-w"]
    if settings.git.blame_copies:
        args.append("-C")
    tmp_name = None
    try:
        if ignored:
            fd, tmp_name = tempfile.mkstemp(prefix="mira-ignore-revs-")
            with os.fdopen(fd, "w") as fh:
                fh.write("\n".join(ignored) + "\n")
            args += ["--ignore-revs-file", tmp_name]
        args += ["--", rel_path]
        try:
            proc = run_git(
                root, *args, check=False, timeout=300, trusted=settings.git.trust_repository_config
            )
        except GitError as exc:
            return "error", str(exc), [], 0
    finally:
        if tmp_name:
            Path(tmp_name).unlink(missing_ok=True)
    if proc.returncode != 0:
        text = proc.stderr.decode("utf-8", "replace").strip()
        first = (text.splitlines() or ["no message"])[0].removeprefix("fatal: ")
        if "no such path" in text or "no such ref" in text or "bad revision" in text:
            return "untracked", f"{rel_path} is not committed yet.", [], 0
        log.info("git blame failed for %s: %s", rel_path, first)
        return "error", f"git blame failed for {rel_path}: {first}.", [], 0
    ranges, count = parse_porcelain(proc.stdout)
    return "ok", None, ranges, count


@dataclass(frozen=True)
class Owner:
    name: str
    email: str
    lines: int
    last_at: int


@dataclass(frozen=True)
class SymbolBlame:
    """Who owns a span's current lines and its newest committed change."""

    owners: list[Owner]  # committed lines per author, most lines first
    last: BlameRange | None  # newest committed range in the span
    uncommitted_lines: int
    total_lines: int


def summarize(rs: list[BlameRange], start: int, end: int) -> SymbolBlame | None:
    """Owners and newest change of lines start..end from a file's blame ranges."""
    per: dict[str, list[Any]] = {}
    last: BlameRange | None = None
    unc = 0
    total = 0
    for r in rs:
        if r.line_end < start or r.line_start > end:
            continue
        n = min(r.line_end, end) - max(r.line_start, start) + 1
        total += n
        if is_uncommitted(r.commit_hash):
            unc += n
            continue
        o = per.get(r.author_email)
        if o is None:
            per[r.author_email] = [r.author_name, n, r.authored_at]
        else:
            o[1] += n
            if r.authored_at > o[2]:
                o[2] = r.authored_at
        if last is None or (r.authored_at, r.commit_hash) > (last.authored_at, last.commit_hash):
            last = r
    if total == 0:
        return None
    owners = [Owner(v[0], e, v[1], v[2]) for e, v in per.items()]
    owners.sort(key=lambda o: (-o.lines, -o.last_at, o.email))
    return SymbolBlame(owners, last, unc, total)


def file_ranges(conn: Connection, project_id: int, path: str) -> list[BlameRange] | None:
    """All cached ranges of the file's current version; None when it was not blamed."""
    cur = git_blame.current(conn, project_id, path)
    if cur is None or cur.status != "ok":
        return None
    return git_blame.ranges(conn, project_id, path, cur.blob_id)


def span_blame(
    conn: Connection, project_id: int, path: str, start: int, end: int
) -> SymbolBlame | None:
    """From the cached blame of the file's current version; None when there is none."""
    cur = git_blame.current(conn, project_id, path)
    if cur is None or cur.status != "ok":
        return None
    return summarize(git_blame.ranges(conn, project_id, path, cur.blob_id, start, end), start, end)
