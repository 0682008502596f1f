"""Which file changes in one batch are renames.

A watcher reports a rename made outside the editor (``git mv``, a file manager) as a
deletion and a creation. Treating them as such would give the file's symbols new ids and
lose whatever is keyed on them; so a created file whose content is byte for byte what was
stored for a file deleted in the same batch, in the same project, is taken as that file
moved.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from mira_ls.store import code as code_store
from mira_ls.store.connection import Connection


@dataclass(frozen=True)
class Change:
    project_id: int
    root: Path
    rel_path: str
    deleted: bool

    @property
    def abs_path(self) -> Path:
        return self.root / self.rel_path


@dataclass(frozen=True)
class Step:
    """``update`` re-reads ``change`` (removing it when it is gone from disk); ``rename``
    moves the stored file ``old`` to ``change``."""

    action: str  # "update" | "rename"
    change: Change
    old: Change | None = None


def content_hash(path: Path) -> str | None:
    """The hash the index stores for a file's content (None: unreadable)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def renamed_from(conn: Connection, new: Change, candidates: list[Change]) -> Change | None:
    """The deleted file in ``candidates`` (same project) whose stored content ``new`` has."""
    same = [c for c in candidates if c.project_id == new.project_id]
    if not same:
        return None
    digest = content_hash(new.abs_path)
    if digest is None:
        return None
    for old in same:
        row = code_store.get_file(conn, old.project_id, old.rel_path)
        if row is not None and row.content_hash == digest:
            return old
    return None


def plan(conn: Connection, changes: list[Change]) -> list[Step]:
    """The steps for a batch, in order: creations and edits (as renames where a deleted
    twin is found), then the deletions left. A "changed" file no longer on disk is left
    out: its deletion arrives as its own change."""
    deleted = {(c.project_id, c.rel_path): c for c in changes if c.deleted}
    steps: list[Step] = []
    for change in changes:
        if change.deleted or not change.abs_path.is_file():
            continue
        twin = renamed_from(conn, change, list(deleted.values()))
        if twin is not None:
            del deleted[(twin.project_id, twin.rel_path)]
            steps.append(Step("rename", change, twin))
        else:
            steps.append(Step("update", change))
    steps += [Step("update", c) for c in deleted.values()]
    return steps
