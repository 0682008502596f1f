"""Unified diffs of the files an error was in (difflib), and re-applying a past diff's hunks
to today's text: exact context at the recorded place, or a few lines off (the placing rules
are ``mira_ls.hunks``, shared with patches from answers).

A past fix is offered only when every hunk it needs applies cleanly; nothing is guessed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from mira_ls.hunks import Hunk, LineEdit, edits_for_file, parse
from mira_ls.hunks import apply_edits as _apply_edits

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


FileEdit = LineEdit  # replace lines [start, end) (0-based) of ``path`` with ``new_text``


def _near(h: Hunk, line: int) -> bool:
    first = h.start + 1
    last = h.start + max(len(h.source), 1)
    return first - NEAR_LINES <= line <= last + NEAR_LINES


def _hunks(diff: str) -> tuple[Hunk, ...] | None:
    files = parse(diff)
    if files is None:
        return None
    # deleting files is not something a quick fix should do
    return tuple(h for f in files if not (f.binary or f.removed) for h in f.hunks)


def _expected(shift: int) -> Callable[[Hunk], list[int]]:
    """Where to look for a hunk: moved by how far the error moved, then where it was."""
    return lambda h: [h.start + shift, h.start] if shift else [h.start]


def plan(
    diff: str,
    text_of: Callable[[str], str | None],
    anchor: tuple[str, int, int] | None = None,
    fuzz: int = DEFAULT_FUZZ,
) -> list[FileEdit] | None:
    """Edits that re-apply a past diff to the current texts, or None when it does not apply.

    ``anchor`` = (file, line the error had then, line it has now): hunks near the error's
    old line are the fix, and they are looked for shifted by how far the error moved. When no
    hunk is near the error, the whole diff is the fix (it was made elsewhere). Hunks are
    placed by ``mira_ls.hunks`` within ``fuzz`` lines: a past commit's line numbers are
    exact for its own text, so a match far from them is more likely another place.
    """
    hunks = _hunks(diff)
    if not hunks:
        return None
    shift = 0
    if anchor is not None:
        a_path, then, now = anchor
        near = tuple(h for h in hunks if h.path == a_path and _near(h, then))
        if near:
            hunks = near
            shift = now - then
    edits: list[FileEdit] = []
    by_file: dict[str, list[Hunk]] = {}
    for h in hunks:
        by_file.setdefault(h.path, []).append(h)
    for path, file_hunks in by_file.items():
        text = text_of(path)
        if text is None:
            return None
        moved = shift if anchor is not None and path == anchor[0] else 0
        found = edits_for_file(text, file_hunks, fuzz, _expected(moved))
        if found is None:
            return None
        edits.extend(found)
    return edits or None


def apply_edits(text: str, edits: list[FileEdit]) -> str:
    """The text after line edits of one file (for tests and previews)."""
    return _apply_edits(text, edits)
