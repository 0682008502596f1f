"""Unified diffs of the files an error was in (difflib), and re-applying a past diff's hunks
to today's text (unidiff): exact context at the recorded place, or a few lines off.

A past fix is offered only when every hunk it needs applies cleanly; nothing is guessed.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from dataclasses import dataclass

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

NO_NEWLINE = "\\ No newline at end of file\n"
DEFAULT_FUZZ = 3
NEAR_LINES = 3


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def file_diff(path: str, before: str | None, after: str | None, context: int = 3) -> str:
    """A git-style unified diff of one file ('' when unchanged); None sides are absent files."""
    a, b = _lines(before or ""), _lines(after or "")
    if a == b and (before is None) == (after is None):
        return ""
    out: list[str] = []
    for line in difflib.unified_diff(
        a,
        b,
        "/dev/null" if before is None else f"a/{path}",
        "/dev/null" if after is None else f"b/{path}",
        n=context,
    ):
        if line.startswith(("---", "+++")):
            out.append(line if line.endswith("\n") else line + "\n")
        elif line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n" + NO_NEWLINE)
    return "".join(out)


@dataclass(frozen=True)
class FileEdit:
    """Replace lines [start, end) (0-based) of ``path`` with ``new_text``."""

    path: str
    start: int
    end: int
    new_text: str


@dataclass(frozen=True)
class _Hunk:
    path: str
    start: int  # 0-based line where the source lines begin
    source: tuple[str, ...]
    target: tuple[str, ...]
    target_ends_without_newline: bool

    def near(self, line: int) -> bool:
        first = self.start + 1
        last = self.start + max(len(self.source), 1)
        return first - NEAR_LINES <= line <= last + NEAR_LINES


def _path(name: str) -> str:
    return name[2:] if name.startswith(("a/", "b/")) else name


@functools.lru_cache(maxsize=512)
def _hunks(diff: str) -> tuple[_Hunk, ...] | None:
    """Parsed once per diff text: code actions ask for the same past fixes again and again."""
    try:
        patch = PatchSet(diff)
    except (UnidiffParseError, ValueError):
        return None
    out: list[_Hunk] = []
    for pf in patch:
        if pf.is_binary_file or pf.is_removed_file:
            continue  # deleting files is not something a quick fix should do
        path = _path(pf.target_file)
        for h in pf:
            source: list[str] = []
            target: list[str] = []
            no_nl_target = False
            prev = ""
            for line in h:
                t = line.line_type
                if t == "\\":
                    if prev in ("+", " "):
                        no_nl_target = True
                    continue
                if t in (" ", "-"):
                    source.append(line.value)
                if t in (" ", "+"):
                    target.append(line.value)
                    no_nl_target = False
                prev = t
            start = h.source_start - 1 if h.source_length else h.source_start
            out.append(_Hunk(path, max(start, 0), tuple(source), tuple(target), no_nl_target))
    return tuple(out)


def _matches(text_lines: list[str], at: int, source: tuple[str, ...]) -> bool:
    if at < 0 or at + len(source) > len(text_lines):
        return False
    return all(text_lines[at + i].rstrip("\r\n") == s.rstrip("\r\n") for i, s in enumerate(source))


def _place(
    text_lines: list[str], hunk: _Hunk, expected: list[int], fuzz: int, after: int
) -> int | None:
    seen: set[int] = set()
    for base in expected:
        for delta in (0, *[d for k in range(1, fuzz + 1) for d in (-k, k)]):
            at = base + delta
            if at in seen or at < after:
                continue
            seen.add(at)
            if _matches(text_lines, at, hunk.source):
                return at
    return None


def _eol(text_lines: list[str]) -> str:
    return "\r\n" if text_lines and text_lines[0].endswith("\r\n") else "\n"


def plan(
    diff: str,
    text_of: Callable[[str], str | None],
    anchor: tuple[str, int, int] | None = None,
    fuzz: int = DEFAULT_FUZZ,
) -> list[FileEdit] | None:
    """Edits that re-apply a past diff to the current texts, or None when it does not apply.

    ``anchor`` = (file, line the error had then, line it has now): hunks near the error's
    old line are the fix, and they are looked for shifted by how far the error moved. When no
    hunk is near the error, the whole diff is the fix (it was made elsewhere).
    """
    hunks = _hunks(diff)
    if not hunks:
        return None
    shift = 0
    if anchor is not None:
        a_path, then, now = anchor
        near = tuple(h for h in hunks if h.path == a_path and h.near(then))
        if near:
            hunks = near
            shift = now - then
    edits: list[FileEdit] = []
    by_file: dict[str, list[_Hunk]] = {}
    for h in hunks:
        by_file.setdefault(h.path, []).append(h)
    for path, file_hunks in by_file.items():
        text = text_of(path)
        if text is None:
            return None
        lines = _lines(text)
        eol = _eol(lines)
        after = 0
        for h in sorted(file_hunks, key=lambda x: x.start):
            expected = (
                [h.start]
                if not shift or anchor is None or path != anchor[0]
                else [h.start + shift, h.start]
            )
            at = _place(lines, h, expected, fuzz, after)
            if at is None:
                return None
            new = [t.rstrip("\r\n") + eol for t in h.target]
            if new and h.target_ends_without_newline:
                new[-1] = new[-1].rstrip("\r\n")
            end = at + len(h.source)
            after = end
            old = lines[at:end]
            while new and old and new[0] == old[0]:  # keep context lines out of the edit
                new, old, at = new[1:], old[1:], at + 1
            while new and old and new[-1] == old[-1]:
                new, old, end = new[:-1], old[:-1], end - 1
            if new or old:
                edits.append(FileEdit(path, at, end, "".join(new)))
    return edits or None


def apply_edits(text: str, edits: list[FileEdit]) -> str:
    """The text after line edits of one file (for tests and previews)."""
    lines = _lines(text)
    for e in sorted(edits, key=lambda x: x.start, reverse=True):
        lines[e.start : e.end] = _lines(e.new_text)
    return "".join(lines)
