"""Code an answer proposes, and what became of it.

A fix offered by ``mira.fixError`` (kind ``patch``) or a chat answer's code block naming a file
(kind ``code``; ``file`` when the block is the whole file) is stored as one ``artifact`` per
file: the proposed text, the file's text when the answer was made (and their hashes) and the
unified diff between them. A code block that could not be placed in its file (a fragment
whose definition the file does not have) is kept too, as kind ``code`` with no diff and a
title saying why: never dropped, never applied. Applying it records a ``file_modification`` (source
``artifact``, before/after hashes) and marks it applied; a file changed since the artifact
was made is named first, so the editor asks before replacing it. A saved file whose text is
back to the artifact's original is recorded as a revert (a ``user`` modification, the
artifact ``reverted``), which later reasoning about fixes can read."""

from __future__ import annotations

import difflib
import hashlib
import logging
import time
from collections.abc import Callable, Iterable

from mira_ls.index.languages import language_for_path
from mira_ls.llm.patch import FilePatch, Unplaced
from mira_ls.store import Store, StoreError
from mira_ls.store import artifacts as q

log = logging.getLogger(__name__)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def unified(path: str, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{path}",
            f"b/{path}",
        )
    )


def propose(
    store: Store,
    operation_id: str,
    project_id: int,
    patches: Iterable[FilePatch],
    error_id: int | None = None,
    *,
    kind: str = "patch",
) -> list[int]:
    """One artifact per file (``patch``: from a diff, ``code``: from a code block naming
    the file), in one transaction, each linked to the build error it was made
    for (``error_id``), so the error coming back is held against it; [] when the database
    refuses (logged)."""
    try:
        with store.write() as conn:
            now = int(time.time())
            ids = [
                q.insert(
                    conn,
                    operation_id=operation_id,
                    project_id=project_id,
                    kind="file" if p.whole_file and kind == "code" else kind,
                    title=f"fix for {p.path}",
                    file_path=p.path,
                    language=language_for_path(p.path),
                    content=p.new_text,
                    content_hash=sha(p.new_text),
                    original_content=p.old_text,
                    original_hash=sha(p.old_text),
                    diff=unified(p.path, p.old_text, p.new_text),
                    lines_added=p.added,
                    lines_removed=p.removed,
                    now=now,
                )
                for p in patches
            ]
            if error_id is not None:
                for a in ids:
                    q.link_error(conn, a, error_id)
            return ids
    except StoreError as exc:
        log.warning("could not store the proposed fix of %s: %s", operation_id, exc)
        return []


def keep_unplaced(
    store: Store, operation_id: str, project_id: int, blocks: Iterable[Unplaced]
) -> list[int]:
    """The code blocks an answer named a file for but that could not be placed in it: each
    an artifact (kind ``code``) with the block as its text, the file's text then, no diff,
    and the reason in its title; [] when the database refuses (logged)."""
    try:
        with store.write() as conn:
            now = int(time.time())
            return [
                q.insert(
                    conn,
                    operation_id=operation_id,
                    project_id=project_id,
                    kind="code",
                    title=f"code for {b.path}, not placed: {b.reason}"[:500],
                    file_path=b.path,
                    language=language_for_path(b.path),
                    content=b.text,
                    content_hash=sha(b.text),
                    original_content=b.original,
                    original_hash=sha(b.original) if b.original is not None else None,
                    diff=None,
                    lines_added=0,
                    lines_removed=0,
                    now=now,
                )
                for b in blocks
            ]
    except StoreError as exc:
        log.warning("could not keep the code blocks of %s: %s", operation_id, exc)
        return []


def changed_since(
    store: Store, operation_id: str, current: Callable[[str], str | None]
) -> list[str]:
    """The files of an operation's proposed fix whose text is no longer the one the fix was
    made against (``current``: a file's text now, None when it is gone)."""
    return [
        a.file_path or ""
        for a in q.of_operation(store.conn(), operation_id)
        if a.status == "proposed" and a.placed and current(a.file_path or "") != a.original_content
    ]


def applied(store: Store, operation_id: str, project_id: int) -> int:
    """The editor applied the fix of ``operation_id``: its modifications; how many files."""
    with store.write() as conn:
        now = int(time.time())
        arts = [
            a for a in q.of_operation(conn, operation_id) if a.status == "proposed" and a.placed
        ]
        for a in arts:
            q.insert_modification(
                conn, project_id=project_id, artifact_id=a.id, operation_id=operation_id,
                file_path=a.file_path or "", source="artifact", old_hash=a.original_hash,
                new_hash=a.content_hash, diff=a.diff, lines_added=a.lines_added,
                lines_removed=a.lines_removed, now=now,
            )  # fmt: skip
            q.set_status(conn, a.id, "applied", now)
    return len(arts)


def saved(store: Store, project_id: int, rel_path: str, text: str) -> list[int]:
    """A file was saved: the applied artifacts it reverted (its text is their original)."""
    conn = store.conn()
    h = sha(text)
    hits = [
        a for a in q.applied_to(conn, project_id, rel_path)
        if a.original_hash == h and a.content_hash != h
    ]  # fmt: skip
    if not hits:
        return []
    with store.write() as w:
        now = int(time.time())
        for a in hits:
            q.insert_modification(
                w, project_id=project_id, artifact_id=a.id, operation_id=a.operation_id,
                file_path=rel_path, source="user", old_hash=a.content_hash, new_hash=h,
                diff=unified(rel_path, a.content, text), lines_added=a.lines_removed,
                lines_removed=a.lines_added, now=now,
            )  # fmt: skip
            q.set_status(w, a.id, "reverted", now)
    return [a.id for a in hits]


def still_in(a: q.ArtifactRow, text: str | None) -> bool:
    """Whether an applied artifact's change is still in its file's text now (None: the file
    is gone): the file is the applied text, or it is not back at the original and every line
    the change added is there and no line it took out (one the applied text no longer has)
    came back. Other edits of the file around the change do not matter."""
    if text is None:
        return False
    h = sha(text)
    if h == a.content_hash:
        return True
    if h == a.original_hash:
        return False
    lines = {x.strip() for x in text.splitlines()}
    applied = {x.strip() for x in a.content.splitlines()}
    added, removed = set(), set()
    for d in (a.diff or "").splitlines():
        if d.startswith(("+++", "---")):
            continue
        body = d[1:].strip()
        if not body:
            continue
        if d.startswith("+"):
            added.add(body)
        elif d.startswith("-") and body not in applied:
            removed.add(body)
    return added <= lines and not (removed & lines)
