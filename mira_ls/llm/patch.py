"""Apply a unified diff from an answer to the current text of the files, or say why it does not.

Models get line numbers wrong more often than context, so each hunk is placed where its
context and removed lines match exactly, searching the whole file outward from the stated
line (``mira_ls.hunks`` holds the placing rules, shared with past fixes). A hunk that
matches nowhere, a file that is missing, or a file the patch guard refuses means the patch
does not apply: nothing is offered rather than a wrong or dangerous edit, and the reason is
a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mira_ls.hunks import FileChange, Hunk, LineEdit, apply_edits, edits_for_file, parse
from mira_ls.llm.patch_guard import PatchRefused

_DIFF_BLOCK = re.compile(r"```(?:diff|patch)[^\n]*\n(.*?)```", re.S)
WHOLE_FILE = 1 << 30  # a model's line numbers are guesses: search the whole file


@dataclass(frozen=True)
class FilePatch:
    path: str
    old_text: str
    new_text: str
    added: int = 0  # lines
    removed: int = 0

    def size(self) -> str:
        return f"+{self.added} \u2212{self.removed}"


@dataclass
class PatchPlan:
    """The files a patch changes, or the sentence why nothing is offered."""

    patches: list[FilePatch] = field(default_factory=list)
    problem: str | None = None


def diff_blocks(answer: str) -> list[str]:
    """The ```diff blocks of an answer (a bare diff when the answer is one)."""
    blocks = [b for b in _DIFF_BLOCK.findall(answer) if "@@" in b]
    if not blocks and answer.lstrip().startswith(("--- ", "diff --git")):
        blocks = [answer]
    return blocks


def _counts(edits: list[LineEdit]) -> tuple[int, int]:
    added = sum(len(e.new_text.splitlines()) for e in edits)
    return added, sum(e.end - e.start for e in edits)


def _changes(blocks: list[str]) -> list[FileChange] | str:
    out: list[FileChange] = []
    for block in blocks:
        files = parse(block)
        if not files:
            return "the diff in the answer could not be read"
        out.extend(files)
    return out


def plan(answer: str, read: Callable[[str], str | None]) -> PatchPlan:
    """What the answer's diffs change; ``read`` gives a file's text (None: missing) or raises
    PatchRefused with the reason it may not be changed."""
    blocks = diff_blocks(answer)
    if not blocks:
        return PatchPlan(problem="the answer holds no diff")
    changes = _changes(blocks)
    if isinstance(changes, str):
        return PatchPlan(problem=changes)
    hunks: dict[str, list[Hunk]] = {}
    for fc in changes:
        if fc.added or fc.removed or fc.binary:
            return PatchPlan(
                problem=f"the diff creates or deletes {fc.path}; only edits are offered"
            )
        hunks.setdefault(fc.path, []).extend(fc.hunks)
    refusals: list[str] = []
    texts: dict[str, str] = {}
    for path in hunks:
        try:
            text = read(path)
        except PatchRefused as exc:
            refusals.append(str(exc))
            continue
        if text is None:
            refusals.append(f"{path} does not exist in the workspace")
            continue
        texts[path] = text
    if refusals:
        return PatchPlan(problem="; ".join(refusals))
    out: list[FilePatch] = []
    for path, file_hunks in hunks.items():
        edits = edits_for_file(texts[path], file_hunks, WHOLE_FILE)
        if edits is None:
            return PatchPlan(problem=f"the diff does not match the current text of {path}")
        if edits:
            added, removed = _counts(edits)
            new = apply_edits(texts[path], edits)
            out.append(FilePatch(path, texts[path], new, added, removed))
    if not out:
        return PatchPlan(problem="the diff changes nothing in the current text")
    return PatchPlan(out)


def apply(answer: str, read: Callable[[str], str | None]) -> list[FilePatch] | None:
    """New texts for every file the answer's diffs touch; None if any part fails."""
    result = plan(answer, read)
    return result.patches if result.problem is None else None
