"""Apply a unified diff from an answer to the current text of the files, or say why it does not.

Models get line numbers wrong more often than context, so each hunk is placed where its
context and removed lines match exactly, searching the whole file outward from the stated
line (``mira_ls.hunks`` holds the placing rules, shared with past fixes). A hunk that
matches nowhere, a file that is missing, or a file the patch guard refuses means the patch
does not apply: nothing is offered rather than a wrong or dangerous edit, and the reason is
a sentence.
"""

from __future__ import annotations

import difflib
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


# -- fenced code blocks that name a file -------------------------------------------------------

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.S | re.M)
_PATH = re.compile(r"[\w./-]*\w\.\w{1,10}")
_PATH_KEY = re.compile(r"""^(?:path|file|filename|title)=["']?([^"'\s]+)["']?$""")
_COMMENT_PATH = re.compile(
    r"^\s*(?:#|//|--|/\*|<!--)\s*(?:(?:file(?:name)?|path)\s*:\s*)?([\w./-]*\w\.\w{1,10})"
    r"\s*(?:\*/|-->)?\s*$"
)
_HEADER = re.compile(r"^\s*(?:async\s+def|def|class|function|fn|func|pub\s+fn)\b")


@dataclass(frozen=True)
class CodeBlock:
    """A fenced block an answer labels with a file (```python app.py, path=..., or a first
    line comment naming the file)."""

    path: str
    text: str


def _path_of(info: str) -> str | None:
    for word in info.split()[:3]:
        m = _PATH_KEY.match(word)
        cand = m.group(1) if m else word.split(":", 1)[-1]
        if _PATH.fullmatch(cand):
            return cand
    return None


def code_blocks(answer: str) -> list[CodeBlock]:
    """The fenced blocks of an answer that name the file they belong in (diffs excluded)."""
    out: list[CodeBlock] = []
    for info, body in _FENCE.findall(answer):
        if info.strip().split()[:1] in (["diff"], ["patch"]):
            continue
        path = _path_of(info)
        lines = body.splitlines(keepends=True)
        if path is None and lines:
            m = _COMMENT_PATH.match(lines[0])
            if m:
                path, body = m.group(1), "".join(lines[1:])
        if path:
            out.append(CodeBlock(path.removeprefix("./"), body))
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _placed(text: str, block: str) -> str | None:
    """The file's new text: the block replaces the one definition its first line opens, or
    the whole file when it holds at least half of it; None when it is neither (a fragment
    that could go anywhere is not offered)."""
    blines = block.splitlines(keepends=True)
    if blines and not blines[-1].endswith("\n"):
        blines[-1] += "\n"
    body = [ln for ln in blines if ln.strip()]
    if not body:
        return None
    flines = text.splitlines(keepends=True)
    first = body[0]
    hits = [i for i, ln in enumerate(flines) if ln.rstrip() == first.rstrip()]
    one_def = not any(_indent(ln) <= _indent(first) for ln in body[1:])
    if _HEADER.match(first) and len(hits) == 1 and one_def:
        i = hits[0]
        j = i + 1
        while j < len(flines) and (not flines[j].strip() or _indent(flines[j]) > _indent(first)):
            j += 1
        while j > i + 1 and not flines[j - 1].strip():
            j -= 1
        lead = next(k for k, ln in enumerate(blines) if ln.strip())
        return "".join(flines[:i] + blines[lead:] + flines[j:])
    if len(body) * 2 >= len([ln for ln in flines if ln.strip()]):
        return "".join(blines)
    return None


def _line_counts(old: str, new: str) -> tuple[int, int]:
    added = removed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old.splitlines(), new.splitlines(), autojunk=False
    ).get_opcodes():
        if op != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed


def plan_blocks(answer: str, read: Callable[[str], str | None]) -> PatchPlan:
    """What the answer's path-labelled code blocks change (``read`` as for ``plan``)."""
    blocks = code_blocks(answer)
    if not blocks:
        return PatchPlan(problem="the answer holds no code block naming a file")
    refusals: list[str] = []
    out: dict[str, FilePatch] = {}
    for b in blocks:
        try:
            text = read(b.path)
        except PatchRefused as exc:
            refusals.append(str(exc))
            continue
        if text is None:
            refusals.append(f"{b.path} does not exist in the workspace")
            continue
        base = out[b.path].new_text if b.path in out else text
        new = _placed(base, b.text)
        if new is None:
            refusals.append(
                f"the code block for {b.path} is neither the whole file nor one definition in it"
            )
            continue
        added, removed = _line_counts(text, new)
        out[b.path] = FilePatch(b.path, text, new, added, removed)
    if refusals:
        return PatchPlan(problem="; ".join(refusals))
    changed = [p for p in out.values() if p.new_text != p.old_text]
    if not changed:
        return PatchPlan(problem="the code blocks change nothing in the current text")
    return PatchPlan(changed)
