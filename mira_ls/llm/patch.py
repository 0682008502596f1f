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
    whole_file: bool = False  # a code block holding the whole file (not one definition)

    def size(self) -> str:
        return f"+{self.added} \u2212{self.removed}"


@dataclass
class PatchPlan:
    """The files a patch changes, or the sentence why nothing is offered."""

    patches: list[FilePatch] = field(default_factory=list)
    problem: str | None = None
    unplaced: list[Unplaced] = field(default_factory=list)  # code blocks kept without a diff


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
_HEADER = re.compile(
    r"^\s*(?:(?:export\s+)?(?:async\s+)?(?:def|class|function)|(?:pub\s+)?fn|func)\s+"
    r"(?:\([^)]*\)\s*)?([A-Za-z_]\w*)"
)
_IMPORT = re.compile(r"^(?:import\s|from\s+\S+\s+import\s|use\s|#include\s)")
_FILLER = re.compile(r"^\s*(?:(?:#|//)(?!\s*(?:type:|noqa|pragma)).*|\.\.\.|/\*.*\*/)?\s*$")
_CLOSER = ("}", ")", "]", "end")
_OPEN, _SHUT = "([{", ")]}"
_DOCSTRING = ('"' * 3, "'" * 3)


@dataclass(frozen=True)
class CodeBlock:
    """A fenced block an answer labels with a file (```python app.py, path=..., or a first
    line comment naming the file)."""

    path: str
    text: str


@dataclass(frozen=True)
class Unplaced:
    """A code block naming a file that could not be placed in it (kept without a diff)."""

    path: str
    text: str
    original: str | None  # the file's text when the answer was made; None when it is missing
    reason: str


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


def _depth(line: str) -> int:
    """Brackets opened minus closed on a line (strings and comments not told apart: a rough
    count, enough to find where a signature or a braced body ends)."""
    return sum(ch in _OPEN for ch in line) - sum(ch in _SHUT for ch in line)


def _span(lines: list[str], i: int) -> tuple[int, int]:
    """The lines [start, end) of the definition whose header is line ``i``: its decorators,
    a signature over several lines, a braced body, then every more indented (or blank) line."""
    ind = _indent(lines[i])
    start = i
    while (
        start > 0 and lines[start - 1].strip().startswith("@") and _indent(lines[start - 1]) == ind
    ):
        start -= 1
    j, depth = i, 0
    while j < len(lines):
        depth += _depth(lines[j])
        j += 1
        if depth <= 0:
            break
    if depth > 0:  # never balanced: trust the indentation alone
        j = i + 1
    while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > ind):
        j += 1
    if j < len(lines) and _indent(lines[j]) == ind and lines[j].strip().startswith(_CLOSER):
        j += 1
    while j > i + 1 and not lines[j - 1].strip():
        j -= 1
    return start, j


def _headers(lines: list[str]) -> list[tuple[int, str]]:
    """(line, name) of every definition header."""
    out = []
    for i, ln in enumerate(lines):
        m = _HEADER.match(ln)
        if m:
            out.append((i, m.group(1)))
    return out


def _is_class(line: str) -> bool:
    return line.lstrip().startswith(("class ", "export class "))


def _reindent(lines: list[str], have: int, want: str) -> list[str]:
    """Lines moved from indent ``have`` to the indent string ``want``."""
    return [want + ln[min(have, _indent(ln)) :] if ln.strip() else ln for ln in lines]


def _top_names(lines: list[str]) -> set[str]:
    return {name for i, name in _headers(lines) if _indent(lines[i]) == 0}


def _loose(lines: list[str]) -> int:
    """Non-blank lines outside the top-level definitions (a docstring, imports, constants)."""
    n = i = 0
    while i < len(lines):
        ln = lines[i]
        if _indent(ln) == 0 and _HEADER.match(ln):
            i = _span(lines, i)[1]
            continue
        n += bool(ln.strip()) and not (ln.startswith("@"))
        i += 1
    return n


def _statement_end(lines: list[str], i: int) -> int:
    """The line after a statement that starts at ``i`` (brackets left open continue it)."""
    j, depth = i, _depth(lines[i])
    while depth > 0 and j + 1 < len(lines):
        j += 1
        depth += _depth(lines[j])
    return j + 1


def _import_at(flines: list[str]) -> int:
    """Where a missing import goes: after the last top-level import, else after a leading
    docstring (and comments), else at the top."""
    last = None
    i = 0
    while i < len(flines):
        if _IMPORT.match(flines[i]):
            last = i = _statement_end(flines, i)
            continue
        i += 1
    if last is not None:
        return last
    i = 0
    while i < len(flines) and (flines[i].startswith("#") or not flines[i].strip()):
        i += 1
    if i < len(flines) and flines[i].lstrip().startswith(_DOCSTRING):
        quote = flines[i].lstrip()[:3]
        if flines[i].count(quote) >= 2:
            return i + 1
        for k in range(i + 1, len(flines)):
            if quote in flines[k]:
                return k + 1
    return 0


@dataclass
class Placing:
    """A code block placed in its file (``text``), or the sentence why it is not."""

    text: str | None = None
    whole: bool = False  # the block is the whole file
    reason: str | None = None


def _not_placed(path: str, why: str = "") -> Placing:
    return Placing(
        reason=f"the code block for {path} is neither the whole file nor one definition in it" + why
    )


def place(text: str, block: str, path: str) -> Placing:
    """The file's new text with a code block that carries no position: the block itself
    when it is the whole file (it holds every top-level definition of the file, and at least
    half its lines); else each definition the block holds replaces the file's definition of
    that name (re-indented to it) and imports the file lacks are added after its imports;
    or the sentence why it cannot be placed (a fragment that could go anywhere, a name the
    file does not define, or defines more than once)."""
    blines = block.splitlines(keepends=True)
    if blines and not blines[-1].endswith("\n"):
        blines[-1] += "\n"
    body = [ln for ln in blines if ln.strip()]
    if not body:
        return Placing(reason=f"the code block for {path} is empty")
    flines = text.splitlines(keepends=True)
    if flines and not flines[-1].endswith("\n"):
        flines[-1] += "\n"
    top = _top_names(flines)
    half = len(body) * 2 >= len([ln for ln in flines if ln.strip()])
    # the whole file: every top-level definition of it and, when it has more than those
    # (a docstring, imports), more in the block too; a run of definitions is replaced one by one
    every = top and top <= _top_names(blines) and (_loose(blines) > 0 or _loose(flines) == 0)
    if (every and half) or not text.strip():
        return Placing("".join(blines), whole=True)
    base = min(_indent(ln) for ln in body)
    units: list[tuple[int, int, int, str]] = []  # the block's definitions: start, header, end, name
    imports: list[str] = []
    i = 0
    while i < len(blines):
        ln = blines[i]
        m = _HEADER.match(ln)
        if m and _indent(ln) == base:
            start, end = _span(blines, i)
            units.append((start, i, end, m.group(1)))
            i = end
        elif _IMPORT.match(ln[base:]) and _indent(ln) == base:
            j = _statement_end(blines, i)
            imports.append("".join(x[base:] for x in blines[i:j]))
            i = j
        elif (ln.strip().startswith("@") and _indent(ln) == base) or _FILLER.match(ln):
            i += 1
        elif half and not top:
            return Placing("".join(blines), whole=True)  # a script with no definitions
        else:
            return _not_placed(path, f" (`{ln.strip()[:60]}` is outside any definition)")
    if not units:
        return Placing("".join(blines), whole=True) if half else _not_placed(path)
    found = _headers(flines)
    edits: list[tuple[int, int, list[str]]] = []
    for start, head, end, name in units:
        cls = _is_class(blines[head])
        cands = [k for k, n in found if n == name and _is_class(flines[k]) == cls]
        if len(cands) > 1:
            same = [k for k in cands if flines[k].strip() == blines[head].strip()]
            cands = same or [k for k in cands if _indent(flines[k]) == _indent(blines[head])]
        if not cands:
            return Placing(reason=f"{path} has no definition named {name} for the code block")
        if len(cands) > 1:
            return Placing(
                reason=f"{path} defines {name} {len(cands)} times and the code block does not "
                "say which one it replaces"
            )
        fs, fe = _span(flines, cands[0])
        if any(fs < e and s < fe for s, e, _ in edits):
            return Placing(reason=f"the code block for {path} replaces {name} twice")
        lead = flines[cands[0]][: _indent(flines[cands[0]])]
        edits.append((fs, fe, _reindent(blines[start:end], base, lead)))
    out = list(flines)
    for fs, fe, new in sorted(edits, reverse=True):
        out[fs:fe] = new
    have = {ln.strip() for ln in flines}
    missing = [imp for imp in imports if imp.strip() not in have]
    if missing:
        at = _import_at(out)
        out[at:at] = missing
    return Placing("".join(out))


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
    """What the answer's path-labelled code blocks change (``read`` as for ``plan``). A block
    that cannot be placed is in ``unplaced`` with the reason (the others are still offered);
    a file the guard refuses refuses the whole plan (and nothing is kept)."""
    blocks = code_blocks(answer)
    if not blocks:
        return PatchPlan(problem="the answer holds no code block naming a file")
    refusals: list[str] = []
    unplaced: list[Unplaced] = []
    out: dict[str, FilePatch] = {}
    for b in blocks:
        try:
            text = read(b.path)
        except PatchRefused as exc:
            refusals.append(str(exc))
            continue
        if text is None:
            why = f"{b.path} does not exist in the workspace"
            unplaced.append(Unplaced(b.path, b.text, None, why))
            continue
        prior = out.get(b.path)
        placed = place(prior.new_text if prior else text, b.text, b.path)
        if placed.text is None:
            unplaced.append(Unplaced(b.path, b.text, text, placed.reason or "it was not placed"))
            continue
        added, removed = _line_counts(text, placed.text)
        whole = placed.whole or (prior is not None and prior.whole_file)
        out[b.path] = FilePatch(b.path, text, placed.text, added, removed, whole)
    if refusals:
        return PatchPlan(problem="; ".join(refusals))
    changed = [p for p in out.values() if p.new_text != p.old_text]
    if not changed:
        problem = "; ".join(u.reason for u in unplaced) or (
            "the code blocks change nothing in the current text"
        )
        return PatchPlan(problem=problem, unplaced=unplaced)
    return PatchPlan(changed, unplaced=unplaced)
