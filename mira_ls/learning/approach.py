"""The kind of change a fix made, read from its unified diff: the ``approach`` a reasoning
pattern is keyed on, with the words a person (and the model) reads."""

from __future__ import annotations

import re

LABELS = {
    "import": "changed the imports",
    "signature": "changed a definition's signature (def/class line)",
    "guard": "added a check or guard (if/try/raise/assert) around the failing code",
    "addition": "added lines without removing any",
    "removal": "removed lines without adding any",
    "edit": "edited the failing lines in place",
}
_IMPORT = re.compile(r"^\s*(import\s|from\s+\S+\s+import\s)")
_DEF = re.compile(r"^\s*(async\s+def|def|class|fn|func|function)\s")
_GUARD = re.compile(r"^\s*(if|elif|try|except|raise|assert|catch|guard)\b")


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    """(added, removed) lines of a unified diff, without its headers."""
    added, removed = [], []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            continue
        if line.startswith("+"):
            added.append(line[1:])
        elif line.startswith("-"):
            removed.append(line[1:])
    return added, removed


def classify(diffs: list[str]) -> str:
    """One approach key for the diffs of one fix (first match: import, signature, guard,
    addition, removal, edit)."""
    added: list[str] = []
    removed: list[str] = []
    for d in diffs:
        a, r = changed_lines(d)
        added += a
        removed += r
    both = added + removed
    if any(_IMPORT.match(x) for x in both):
        return "import"
    if any(_DEF.match(x) for x in both):
        return "signature"
    if any(_GUARD.match(x) for x in added):
        return "guard"
    if added and not removed:
        return "addition"
    if removed and not added:
        return "removal"
    return "edit"


def excerpt(diffs: list[str], max_lines: int = 12) -> str:
    """The changed lines of a fix (with their file headers), at most ``max_lines``."""
    out: list[str] = []
    for d in diffs:
        for line in d.splitlines():
            if line.startswith("+++ "):
                out.append(f"# {line[4:].removeprefix('b/')}")
            elif line.startswith(("+", "-")) and not line.startswith("---"):
                out.append(line)
            if len(out) >= max_lines:
                return "\n".join([*out, "..."])
    return "\n".join(out)
