"""Placing a unified diff's hunks in today's text: one set of rules for every patch.

Both kinds of patch mira-ls offers go through here: a diff a model wrote in an answer
(``llm/patch.py``) and a past fix re-applied to an error that came back
(``build/patches.py``). The rules:

- a hunk applies where its context and removed lines match the text exactly, line endings
  aside (a CRLF file matches an LF diff);
- the search starts at the expected line(s) and moves outward one line at a time, the
  earlier line first, up to ``window`` lines away; the caller says how far its line
  numbers can be trusted (a model's are guesses, a past commit's are exact);
- hunks of one file are placed in order and never overlap: each starts at or after the end
  of the previous one;
- a hunk with no source lines (a pure insertion) goes at its expected line;
- unchanged lines at either end of a hunk are kept out of the edit, so an edit touches only
  what changes; a hunk whose target equals its source is no edit at all.

A hunk that matches nowhere in its window means the patch does not apply, and nothing is
offered: a wrong edit is worse than none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError


@dataclass(frozen=True)
class Hunk:
    path: str  # the target path, without a/ or b/
    start: int  # 0-based line of the original text where the source lines begin
    source: tuple[str, ...]  # context and removed lines, with their line endings
    target: tuple[str, ...]  # context and added lines
    target_ends_without_newline: bool


@dataclass(frozen=True)
class FileChange:
    """How a diff treats one file: its hunks, or that it creates or deletes the file."""

    path: str
    hunks: tuple[Hunk, ...]
    added: bool = False
    removed: bool = False
    binary: bool = False


@dataclass(frozen=True)
class LineEdit:
    """Replace lines [start, end) (0-based) of ``path`` with ``new_text``."""

    path: str
    start: int
    end: int
    new_text: str


def strip_prefix(name: str) -> str:
    return name[2:] if name.startswith(("a/", "b/")) else name


def _hunk(path: str, h: object) -> Hunk:
    source: list[str] = []
    target: list[str] = []
    no_nl_target = False
    prev = ""
    for line in h:  # type: ignore[attr-defined]
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
    length = h.source_length  # type: ignore[attr-defined]
    start = h.source_start - 1 if length else h.source_start  # type: ignore[attr-defined]
    return Hunk(path, max(start, 0), tuple(source), tuple(target), no_nl_target)


@functools.lru_cache(maxsize=512)
def parse(diff: str) -> tuple[FileChange, ...] | None:
    """The files of a unified diff (parsed once per text); None when it is not one."""
    try:
        patch = PatchSet(diff if diff.endswith("\n") else diff + "\n")
    except (UnidiffParseError, ValueError):
        return None
    out = []
    for pf in patch:
        path = strip_prefix(pf.target_file if not pf.is_removed_file else pf.source_file)
        out.append(
            FileChange(
                path,
                tuple(_hunk(path, h) for h in pf),
                added=pf.is_added_file,
                removed=pf.is_removed_file,
                binary=pf.is_binary_file,
            )
        )
    return tuple(out)


def _matches(lines: list[str], at: int, source: tuple[str, ...]) -> bool:
    if at < 0 or at + len(source) > len(lines):
        return False
    return all(lines[at + i].rstrip("\r\n") == s.rstrip("\r\n") for i, s in enumerate(source))


def place(
    lines: list[str], hunk: Hunk, expected: list[int], window: int, after: int = 0
) -> int | None:
    """The 0-based line where ``hunk`` applies, nearest the expected lines; None if nowhere."""
    if not hunk.source:
        at = max(expected[0] if expected else hunk.start, after)
        return at if at <= len(lines) else None
    window = min(window, max(len(lines), *expected))  # no farther than the whole text
    seen: set[int] = set()
    for base in expected:
        for at in _outward(base, window):
            if at in seen or at < after:
                continue
            seen.add(at)
            if _matches(lines, at, hunk.source):
                return at
    return None


def _outward(base: int, window: int) -> Iterator[int]:
    yield base
    for k in range(1, window + 1):
        yield base - k
        yield base + k


def split_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _eol(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def edits_for_file(
    text: str,
    hunks: list[Hunk],
    window: int,
    expected: Callable[[Hunk], list[int]] | None = None,
) -> list[LineEdit] | None:
    """The edits that apply ``hunks`` (of one file) to ``text``; None when one does not."""
    lines = split_lines(text)
    eol = _eol(lines)
    after = 0
    edits: list[LineEdit] = []
    for h in sorted(hunks, key=lambda x: x.start):
        at = place(lines, h, expected(h) if expected else [h.start], window, after)
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
            edits.append(LineEdit(h.path, at, end, "".join(new)))
    return edits


def apply_edits(text: str, edits: list[LineEdit]) -> str:
    """The text after line edits of one file."""
    lines = split_lines(text)
    for e in sorted(edits, key=lambda x: x.start, reverse=True):
        lines[e.start : e.end] = split_lines(e.new_text)
    return "".join(lines)
