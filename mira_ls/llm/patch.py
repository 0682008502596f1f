"""Apply a unified diff from an answer to the current text of the files, or say it does not.

Models get line numbers wrong more often than context, so each hunk is placed where its
context and removed lines match exactly, searching outward from the stated line. A hunk
that matches nowhere (or a file that is missing) means the patch does not apply: nothing
is offered rather than a wrong edit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

_DIFF_BLOCK = re.compile(r"```(?:diff|patch)[^\n]*\n(.*?)```", re.S)


@dataclass(frozen=True)
class FilePatch:
    path: str
    old_text: str
    new_text: str


def diff_blocks(answer: str) -> list[str]:
    """The ```diff blocks of an answer (a bare diff when the answer is one)."""
    blocks = [b for b in _DIFF_BLOCK.findall(answer) if "@@" in b]
    if not blocks and answer.lstrip().startswith(("--- ", "diff --git")):
        blocks = [answer]
    return blocks


def _strip(path: str) -> str:
    for prefix in ("a/", "b/"):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


def _apply_hunks(text: str, hunks: list[tuple[int, list[str], list[str]]]) -> str | None:
    lines = text.split("\n")
    trailing = text.endswith("\n")
    if trailing:
        lines = lines[:-1]
    offset = 0
    for start, old, new in hunks:
        want = max(0, start - 1 + offset)
        pos = _find(lines, old, want)
        if pos is None:
            return None
        lines[pos : pos + len(old)] = new
        offset += len(new) - len(old)
    out = "\n".join(lines)
    return out + "\n" if trailing else out


def _find(lines: list[str], old: list[str], want: int) -> int | None:
    if not old:
        return min(want, len(lines))
    n = len(old)
    for delta in range(0, max(want, len(lines)) + 1):
        for pos in (want - delta, want + delta) if delta else (want,):
            if 0 <= pos <= len(lines) - n and lines[pos : pos + n] == old:
                return pos
    return None


def apply(answer: str, read: Callable[[str], str | None]) -> list[FilePatch] | None:
    """New texts for every file the answer's diffs touch; None if any part fails."""
    blocks = diff_blocks(answer)
    if not blocks:
        return None
    current: dict[str, str] = {}
    originals: dict[str, str] = {}
    for block in blocks:
        try:
            patch = PatchSet(block if block.endswith("\n") else block + "\n")
        except (UnidiffParseError, ValueError):
            return None
        if not len(patch):
            return None
        for pf in patch:
            if pf.is_added_file or pf.is_removed_file:
                return None  # creating or deleting files is not offered as an edit
            path = _strip(pf.target_file or pf.source_file)
            if path not in current:
                text = read(path)
                if text is None:
                    return None
                current[path] = originals[path] = text
            hunks = []
            for h in pf:
                old = [ln.value.rstrip("\n") for ln in h if ln.is_context or ln.is_removed]
                new = [ln.value.rstrip("\n") for ln in h if ln.is_context or ln.is_added]
                hunks.append((h.source_start, old, new))
            result = _apply_hunks(current[path], hunks)
            if result is None:
                return None
            current[path] = result
    return [FilePatch(p, originals[p], current[p]) for p in current if current[p] != originals[p]]
