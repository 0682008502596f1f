"""X-Ray: which definitions of one file change, how often, by whom, and with what.

One ``git log --follow -p -U0 --raw`` stream gives every commit of the file (renames and
copies followed) with the old and new blob ids and the changed line ranges. Definitions
are known per blob: a version's definitions come from its parent version's, shifted
through the hunks, unless a hunk adds or removes a definition line (``def``, ``class``, a
decorator) or the language is not Python; only then is the blob read (through one
``git cat-file --batch`` process), parsed incrementally from the last parse with
tree-sitter, and the index's own definition query run on the changed lines only. Each
commit's removed lines are mapped to the old version's innermost definitions and its added
lines to the new version's.

Coupling between definitions counts counted commits (the miner's ignore policy) touching
both; with the definitions of the file's top co-change partners it uses the partners'
hunks in the shared commits, named by git's function context line (``diff=python`` and
friends), qualified through the partner's current definitions.
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import tempfile
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

from mira_ls.git.fixes import _attributes_file, parse_fix_diffs
from mira_ls.git.repo import GitError, head_commit, popen_git, run_git
from mira_ls.index import symbols
from mira_ls.index.languages import language_for_path, new_parser
from mira_ls.store import Store, git_cochange, git_history
from mira_ls.store import xray as xray_store
from mira_ls.store.connection import Connection

log = logging.getLogger(__name__)

MIN_SHARED = 2  # commits two definitions must share to couple
MIN_CONFIDENCE = 0.5  # shared / changes of the definition
COUPLINGS_PER_DEF = 5
MAX_DEFS_PER_COMMIT = 30  # a commit touching more (a reformat, the first commit) does not couple
PARTNER_FILES = 3
_CACHE_BLOBS = 256
_CACHE_TEXTS = 32  # texts kept (a list of lines each; a miss is one cat-file read)

_ZERO = re.compile(r"^0+$")
_PY_HEADER = re.compile(rb"^[+-]\s*(?:async\s+def|def|class)\b|^[+-]\s*@")

Progress = Callable[[str, int | None], None]


class Cancelled(Exception):
    """The X-Ray was cancelled (a newer request, shutdown)."""


@dataclass
class Coupling:
    symbol: str
    path: str
    shared: int
    confidence: float  # shared / changes of the definition


@dataclass
class Author:
    name: str
    email: str
    changes: int


@dataclass
class DefinitionHistory:
    symbol: str  # Class.method
    kind: str
    line: int  # 1-based line of its span at HEAD
    end_line: int
    changes: int = 0
    authors: list[Author] = field(default_factory=list)
    last_at: int | None = None
    last_commit: str | None = None
    couplings: list[Coupling] = field(default_factory=list)


@dataclass
class XRay:
    path: str
    head: str
    commits: int  # counted commits of the file
    definitions: list[DefinitionHistory]
    parsed_versions: int = 0  # blobs parsed (the rest were shifted)
    versions: int = 0


@dataclass
class _Hunk:
    a: int
    b: int
    c: int
    d: int
    header: bool  # an added or removed line opens or decorates a definition
    indents: list[int | None]  # per added line: its indentation, None when blank
    lines: list[bytes] = field(default_factory=list)  # the added lines, without their "\n"

    def inside(self, indent: int) -> int:
        """How many leading added lines belong to a definition indented ``indent`` (more
        indented, or blank between such lines)."""
        k = n = 0
        for i in self.indents:
            if i is None:
                n += 1
            elif i > indent:
                n += 1
                k = n
            else:
                break
        return k


@dataclass
class _Commit:
    hash: str
    author: str
    email: str
    at: int
    merge: bool = False
    old: str | None = None
    new: str | None = None
    path: str | None = None
    binary: bool = False
    hunks: list[_Hunk] = field(default_factory=list)
    # "\ No newline at end of file" after a removed / an added line
    old_unterminated: bool = False
    new_unterminated: bool = False


_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _log_args(path: str) -> list[str]:
    return [
        "log",
        "--follow",
        "-M",
        "-C",
        "--no-abbrev",
        "--raw",
        "-p",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        # A merge shows its diff against its first parent: it produces the merged version
        # (the next commit's parent) but is never counted (its changes were counted on
        # the branch).
        "--diff-merges=first-parent",
        "--format=%x01%H%x00%P%x00%an%x00%ae%x00%at",
        "--",
        path,
    ]


def _parse_log(stream: Iterable[bytes], cancel: Callable[[], bool] | None) -> list[_Commit]:
    """Commits newest first, with blob ids and hunks of the followed file."""
    out: list[_Commit] = []
    cur: _Commit | None = None
    hunk: _Hunk | None = None
    in_diff = False
    sign = b""  # of the last added or removed line
    for raw in stream:
        line = raw.rstrip(b"\n")
        c0 = line[:1]
        if c0 == b"\x01":
            if cancel is not None and len(out) % 200 == 0 and cancel():
                raise Cancelled()
            parts = line[1:].split(b"\x00")
            if len(parts) < 5:
                cur = None
                continue
            cur = _Commit(
                parts[0].decode("ascii", "replace"),
                parts[2].decode("utf-8", "replace"),
                parts[3].decode("utf-8", "replace"),
                int(parts[4] or 0),
                merge=b" " in parts[1].strip(),
            )
            out.append(cur)
            hunk, in_diff, sign = None, False, b""
            continue
        if cur is None:
            continue
        if c0 == b":" and not in_diff:
            fields, _, paths = line.partition(b"\t")
            f = fields.split()
            if len(f) >= 5 and cur.new is None:
                cur.old = None if _ZERO.match(f[2].decode()) else f[2].decode()
                cur.new = None if _ZERO.match(f[3].decode()) else f[3].decode()
                cur.path = paths.split(b"\t")[-1].decode("utf-8", "replace")
            continue
        if c0 == b"d" and line.startswith(b"diff --git "):
            in_diff, hunk = True, None  # '--- a/x' and '+++ b/x' follow before the '@@'
            continue
        if c0 == b"@":
            m = _HUNK.match(line)
            if m:
                b = int(m.group(2)) if m.group(2) is not None else 1
                d = int(m.group(4)) if m.group(4) is not None else 1
                hunk = _Hunk(int(m.group(1)), b, int(m.group(3)), d, False, [])
                cur.hunks.append(hunk)
            continue
        if hunk is not None and (c0 == b"+" or c0 == b"-"):
            sign = c0
            if _PY_HEADER.match(line):
                hunk.header = True
            if c0 == b"+":
                body = line[1:]
                hunk.lines.append(body)
                stripped = body.lstrip(b" \t")
                hunk.indents.append(len(body) - len(stripped) if stripped.strip() else None)
        elif hunk is not None and c0 == b"\\":
            if sign == b"+":
                cur.new_unterminated = True
            elif sign == b"-":
                cur.old_unterminated = True
        elif c0 == b"B" and line.startswith(b"Binary files"):
            cur.binary = True
    return out


def _apply(old: list[bytes], c: _Commit) -> list[bytes] | None:
    """The new version's text (split at "\n") from the old one's and the commit's hunks
    (``-U0`` shows every added line), or None when the hunks do not fit the old text."""
    new: list[bytes] = []
    pos = 0
    for h in c.hunks:
        at = h.a - 1 if h.b > 0 else h.a  # the first removed line, or the insertion point
        if at < pos or at + h.b > len(old) or len(h.lines) != h.d:
            return None
        new.extend(old[pos:at])
        new.extend(h.lines)
        pos = at + h.b
    new.extend(old[pos:])
    if c.old_unterminated and not c.new_unterminated:
        new.append(b"")
    elif c.new_unterminated and not c.old_unterminated:
        if not new or new[-1] != b"":
            return None
        new.pop()
    return new


class _Blobs:
    """One ``git cat-file --batch`` process answering blob requests in order."""

    def __init__(self, root: Path | str) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None  # started on the first read

    def read(self, sha: str) -> bytes:
        if self.proc is None:
            self.proc = popen_git(self.root, "cat-file", "--batch", stdin=subprocess.PIPE)
            assert self.proc.stdout is not None
            self.out = io.BufferedReader(self.proc.stdout, 1 << 16)  # type: ignore[type-var]
        proc = self.proc
        assert proc.stdin is not None
        proc.stdin.write(sha.encode() + b"\n")
        proc.stdin.flush()
        header = self.out.readline().split()
        if len(header) < 3 or header[1] == b"missing":
            return b""
        data = self.out.read(int(header[2]))
        self.out.read(1)
        return data

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class _Span(NamedTuple):
    """A definition's lines in one version (``symbols._Span``'s fields; a tuple, as the
    walk makes one per definition per version)."""

    start_line: int
    end_line: int
    name: str
    kind: str
    indent: int


_new_span = tuple.__new__  # _Span(...) without the generated __new__ (the walk makes many)


def _spans(tree: Any, language: str, lines: tuple[int, int] | None = None) -> list[_Span]:
    return [
        _Span(d.start_line, d.end_line, d.name, d.kind, d.indent)
        for d in symbols.definition_spans(tree, language, lines)
    ]


@dataclass
class _Version:
    defs: list[_Span]
    starts: list[int]
    broken: bool = False  # the parse had syntax errors: the next version is parsed in full
    # Lazily: each definition's parent index (-1: the module) and each parent's children.
    parents: list[int] | None = None
    children: dict[int, list[int]] | None = None

    def nesting(self) -> tuple[list[int], dict[int, list[int]]]:
        if self.parents is None or self.children is None:
            parents: list[int] = []
            children: dict[int, list[int]] = {}
            stack: list[int] = []
            for i, d in enumerate(self.defs):
                while stack and self.defs[stack[-1]].end_line < d.end_line:
                    stack.pop()
                p = stack[-1] if stack else -1
                parents.append(p)
                children.setdefault(p, []).append(i)
                stack.append(i)
            self.parents, self.children = parents, children
        return self.parents, self.children


def _version(defs: list[_Span], broken: bool = False) -> _Version:
    defs.sort(key=lambda d: (d.start_line, -d.end_line))
    return _Version(defs, [d.start_line for d in defs], broken)


def _touched(v: _Version, lo: int, hi: int, out: set[str]) -> None:
    """Add the innermost definition of every line lo..hi."""
    defs, starts = v.defs, v.starts
    line = lo
    n = len(defs)
    while line <= hi:
        i = bisect_right(starts, line) - 1
        nxt = starts[i + 1] if i + 1 < n else None
        j = i
        inner = None
        while j >= 0:
            if defs[j].end_line >= line:
                inner = defs[j]
                break
            j -= 1
        if inner is not None:
            out.add(inner.name)
            stop = inner.end_line if nxt is None else min(inner.end_line, nxt - 1)
            line = stop + 1
        elif nxt is None:
            return
        else:
            line = nxt


def _innermost(v: _Version, line: int) -> _Span | None:
    i = bisect_right(v.starts, line) - 1
    while i >= 0:
        if v.defs[i].end_line >= line:
            return v.defs[i]
        i -= 1
    return None


def _certain(v: _Version, h: _Hunk) -> bool:
    """Can the definitions around this hunk be shifted without parsing? Yes when it lies
    strictly inside one definition (between two of its lines), or outside every one and
    adds only unindented or blank lines (a top-level statement ends any definition)."""
    if h.header:
        return False
    if h.b > 0:
        lo, hi = h.a, h.a + h.b - 1
        d = _innermost(v, lo)
        if d is not None and d.start_line < lo and hi < d.end_line:
            return not _may_extend_child(v, d, lo, h)
        if d is not None and d.start_line < lo and hi == d.end_line and h.d > 0:
            # The def's last lines replaced by lines that all belong to it (deeper, ending
            # on a non-blank one), and to every def ending there: it ends on the last one.
            ending = [x for x in v.defs if x.end_line == hi and x.start_line < lo]
            return (
                h.indents[-1] is not None
                and all(h.inside(x.indent) == h.d for x in ending)
                and not _may_extend_child(v, d, lo, h)
            )
    else:
        d = _innermost(v, h.a)
        if d is not None and d.start_line <= h.a < d.end_line:
            return not _may_extend_child(v, d, h.a + 1, h)
        lo = hi = h.a
    if _innermost(v, lo) is not None or _innermost(v, hi) is not None:
        return False
    i = bisect_right(v.starts, lo)
    if i < len(v.starts) and v.starts[i] <= hi:
        return False
    if i == 0:
        # before the first definition (``if TYPE_CHECKING:`` imports): what it adds,
        # however indented, opens no definition (no header line) and none lies above it
        return True
    return all(x is None or x == 0 for x in h.indents)


def _may_extend_child(v: _Version, d: _Span, lo: int, h: _Hunk) -> bool:
    """Could the added lines continue a nested definition of ``d`` that ended before
    line ``lo`` (they are indented deeper than it)?"""
    deepest = max((x for x in h.indents if x is not None), default=-1)
    if deepest < 0:
        return False
    j = bisect_right(v.starts, lo - 1) - 1
    last_end = -1
    shallowest = None
    while j >= 0 and v.defs[j].start_line > d.start_line:
        x = v.defs[j]
        if x.end_line < lo:
            if x.end_line > last_end:
                last_end, shallowest = x.end_line, x.indent
            elif x.end_line == last_end and shallowest is not None:
                shallowest = min(shallowest, x.indent)
        j -= 1
    return shallowest is not None and shallowest < deepest


def _shift(v: _Version, hunks: list[_Hunk]) -> _Version:
    """The next version's definitions by moving lines through the hunks (exact when every
    hunk is ``_certain``); a definition whose first line was removed is dropped (the region
    parse re-reads what is there now)."""
    # git's hunks are sorted and disjoint, so the last old line each covers (an insertion:
    # the line it follows) increases: the hunks before a line are found by bisection.
    lasts = [h.a + h.b - 1 if h.b > 0 else h.a for h in hunks]
    if any(x >= y for x, y in pairwise(lasts)):
        return _shift_each(v, hunks)
    pre = [0]
    for h in hunks:
        pre.append(pre[-1] + h.d - h.b)
    m = len(hunks)
    if not m:
        return _Version(list(v.defs), list(v.starts))
    # A definition ending before ``free`` is untouched; one starting after ``done`` moves
    # by the whole delta. Definitions are sorted by start: those starting before ``free``
    # are a prefix (kept unless they reach into the hunks), those starting after ``done``
    # a suffix (moved without looking at the hunks).
    free = hunks[0].a if hunks[0].b > 0 else hunks[0].a + 1
    done, total = lasts[-1], pre[-1]
    defs, starts = v.defs, v.starts
    i0 = bisect_left(starts, free)
    i1 = bisect_right(starts, done, i0)
    out = defs[:i0]
    for j in [j for j in range(i0) if defs[j][1] >= free]:  # ends in or after the hunks
        d = out[j]
        ne = max(d[1] + _end_delta(hunks, lasts, pre, d[1]), d[0])
        out[j] = _new_span(_Span, (d[0], ne, d[2], d[3], d[4]))
    for j in range(i0, i1):
        d = defs[j]
        start, end = d.start_line, d.end_line
        k = bisect_left(lasts, start)
        if k < m and hunks[k].b > 0 and hunks[k].a <= start:
            continue  # its first line was removed
        ns = start + pre[k]
        ne = max(end + _end_delta(hunks, lasts, pre, end), ns)
        out.append(_new_span(_Span, (ns, ne, d.name, d.kind, d.indent)))
    mid = [d.start_line for d in out[i0:]]
    if total:
        out.extend(
            [_new_span(_Span, (d[0] + total, d[1] + total, d[2], d[3], d[4])) for d in defs[i1:]]
        )
        tail = [x + total for x in starts[i1:]]
    else:
        out.extend(defs[i1:])
        tail = starts[i1:]
    shifted = _Version(out, starts[:i0] + mid + tail)
    if len(out) == len(v.defs):  # the same definitions in the same order: the same nesting
        shifted.parents, shifted.children = v.parents, v.children
    return shifted


def _end_delta(hunks: list[_Hunk], lasts: list[int], pre: list[int], end: int) -> int:
    """How far a definition's last line ``end`` moves (``_shift``'s hunks)."""
    k = bisect_left(lasts, end)
    de = pre[k]
    if k < len(hunks):
        h = hunks[k]
        if h.b > 0 and h.a <= end and h.d > 0:
            de += h.d - h.b + (lasts[k] - end)  # ends on the last added line
    return de


def _shift_each(v: _Version, hunks: list[_Hunk]) -> _Version:
    """``_shift`` hunk by hunk (for hunks that are not sorted and disjoint)."""
    out = []
    for d in v.defs:
        start, end = d.start_line, d.end_line
        ds = de = 0
        gone = False
        for h in hunks:
            delta = h.d - h.b
            last = h.a + h.b - 1 if h.b > 0 else h.a
            if h.b > 0 and h.a <= start <= last:
                gone = True
                break
            if last < start:
                ds += delta
            if last < end or (h.b == 0 and h.a < end):
                de += delta
            elif h.b > 0 and h.a <= end <= last and h.d > 0:
                de += delta + (last - end)  # ends on the last added line
        if gone:
            continue
        ns = start + ds
        out.append(_Span(ns, max(end + de, ns), d.name, d.kind, d.indent))
    return _Version(out, [d.start_line for d in out])


def _new_line(hunks: list[_Hunk], line: int) -> int:
    """Where an old line no hunk removed is in the new version."""
    n = line
    for h in hunks:
        if (h.a + h.b - 1 if h.b > 0 else h.a) < line:
            n += h.d - h.b
    return n


@dataclass
class _Run:
    """Old lines ``first..last``, whole statements of one block: the body of definition
    ``parent`` (-1: the module). ``top``: the run starts at the parent's own first line
    (the module: the file's start), ``bottom``: it ends with the parent's last line (the
    module: the file's end); otherwise it starts and ends with whole child definitions, or,
    ``narrow``, just after the one before (``after_def``: its last line) and just before the
    one after (``before_def``: its first line)."""

    first: int
    last: int
    parent: int
    top: bool
    bottom: bool
    after_def: int = 0
    before_def: int = 0
    indent: int = -1  # narrow: the block's indentation (of the definitions around)


def _window(v: _Version, lo: int, hi: int, narrow: bool = False) -> _Run | None:
    """The run of old lines around ``lo..hi`` (``hi = lo - 1``: an insertion before
    ``lo``) that begins at a statement boundary before them and ends at one after them:
    from the last child definition of the innermost definition holding them strictly that
    ends before ``lo`` (else that definition's own first line) to the first child that
    starts after ``hi`` (else its last line)."""
    defs = v.defs
    parents, children = v.nesting()
    c = bisect_right(v.starts, lo - 1) - 1  # the last definition starting before lo
    while c >= 0 and defs[c].end_line <= hi:
        c = parents[c]  # up to the innermost one holding lo..hi strictly
    before = after = None
    for k in children.get(c, ()):
        d = defs[k]
        if d.end_line < lo:
            before = d
        elif d.start_line > hi:
            after = d
            break
    if c < 0 and before is None and after is None:
        return None  # the whole file
    p = defs[c] if c >= 0 else None
    if before is not None:
        first = before.end_line + 1 if narrow else before.start_line
    else:
        first = p.start_line if p is not None else 0
    if after is not None:
        last = after.start_line - 1 if narrow else after.end_line
    else:
        last = p.end_line if p is not None else _EOF
    r = _Run(first, last, c, before is None, after is None)
    if narrow and before is not None:
        r.after_def, r.indent = before.end_line, before.indent
    if narrow and after is not None:
        r.before_def, r.indent = after.start_line, after.indent
    return r


_EOF = 1 << 40  # a run to the end of the file


def _cut(r: _Run, hunks: list[_Hunk]) -> _Hunk | None:
    """A hunk that removes a line run ``r`` is anchored at: its first and last lines, or
    the last line of the definition before it and the first of the one after (the file's
    own start and end cannot be removed)."""
    lo = r.after_def or (None if r.top and r.parent < 0 else r.first)
    hi = r.before_def or (None if r.bottom and r.parent < 0 else r.last)
    for h in hunks:
        if h.b > 0 and (
            (lo is not None and h.a <= lo < h.a + h.b) or (hi is not None and h.a <= hi < h.a + h.b)
        ):
            return h
    return None


def _code_edge(lines: list[bytes], indices: Iterable[int], indent: int) -> int | None:
    """The first of ``indices`` whose line is code (neither blank nor a comment), or -1
    when a comment before it is indented deeper than ``indent`` (tree-sitter puts such a
    comment in the block it follows: it belongs to the definition next to the run), or
    None when there is no code."""
    for i in indices:
        line = lines[i]
        s = line.lstrip(b" \t\f")
        if not s.strip():
            continue
        if not s.startswith(b"#"):
            return i
        if indent >= 0 and len(line) - len(s) > indent:
            return -1
    return None


MAX_WINDOW_SHARE = 0.75  # runs longer than this share of the file: parse the file


class _Parser:
    """Parses blobs of one file incrementally (from the last parse) and keeps the tree."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.last: symbols.Parsed | None = None
        self.count = 0
        self.snippets = new_parser(language)

    def full(self, src: bytes) -> _Version:
        tree = symbols.parse(src, self.language, self.last)
        self.last = symbols.Parsed(self.language, src, tree)
        self.count += 1
        return _version(_spans(tree, self.language), tree.root_node.has_error)

    def window(self, lines: list[bytes], base: _Version, hunks: list[_Hunk]) -> _Version | None:
        """Python: the new version's definitions with only runs of whole statements around
        the uncertain hunks parsed (each run alone, under one-line stand-ins for the
        definitions enclosing it), the rest shifted. A run is whole statements of one block
        in both versions, so it parses as it does in the file. None (parse the file) when a
        run is long or does not parse cleanly into the same nesting."""
        if self.language != "python" or base.broken or not base.defs:
            return None
        # Narrow runs (between the definitions around the change) first; a run that does
        # not parse into the same nesting (new lines that continue the definition before,
        # definitions in different blocks) is retried with those definitions in it, then
        # one parent further up.
        for narrow, up in ((True, 0), (False, 0), (False, 1), (False, 2)):
            found, again = self._window(lines, base, hunks, up, narrow)
            if found is not None or not again:
                return found
        return None

    def _window(
        self, lines: list[bytes], base: _Version, hunks: list[_Hunk], up: int, narrow: bool
    ) -> tuple[_Version | None, bool]:
        runs: list[_Run] = []
        for h in hunks:
            if _certain(base, h):
                continue
            lo, hi = (h.a, h.a + h.b - 1) if h.b > 0 else (h.a + 1, h.a)
            climb = up
            while True:
                w = _window(base, lo, hi, narrow)
                if w is None:
                    return None, False
                cut = _cut(w, hunks)
                if cut is not None:
                    lo, hi = min(lo, cut.a), max(hi, cut.a + cut.b - 1)  # take that hunk in
                elif climb and w.parent >= 0:
                    climb -= 1
                    lo, hi = base.defs[w.parent].start_line, base.defs[w.parent].end_line
                else:
                    break
            runs.append(w)
        runs.sort(key=lambda w: (w.first, -w.last))
        merged: list[_Run] = []
        for w in runs:
            if merged and w.first <= merged[-1].last:
                r = merged[-1]
                if w.last <= r.last:
                    continue  # inside the run already there
                if w.parent != r.parent:
                    return None, False
                r.last, r.bottom, r.before_def = w.last, w.bottom, w.before_def  # one longer run
            else:
                merged.append(w)
        if any(_cut(r, hunks) is not None for r in merged):
            return None, False
        bounds = [
            (
                _new_line(hunks, r.after_def) + 1
                if r.after_def
                else 1
                if r.top and r.parent < 0
                else _new_line(hunks, r.first),
                _new_line(hunks, r.before_def) - 1
                if r.before_def
                else len(lines)
                if r.bottom and r.parent < 0
                else _new_line(hunks, r.last),
            )
            for r in merged
        ]
        if sum(b - a + 1 for a, b in bounds) > MAX_WINDOW_SHARE * len(lines):
            return None, False
        parents, _ = base.nesting()
        found_runs: list[_Span] = []
        for r, (first, last) in zip(merged, bounds, strict=True):
            found = self._run(lines, hunks, base, parents, r, first, last)
            if found is None:
                return None, True
            found_runs.extend(found)
        # The definitions starting outside the runs (and the parents a run starts in) are
        # shifted; the runs are sorted and disjoint, so each is a slice of the old ones.
        own = {r.parent for r in merged if r.top and r.parent >= 0}
        defs, starts = base.defs, base.starts
        rest: list[_Span] = []
        rest_starts: list[int] = []
        pos = 0
        for r in merged:
            a = bisect_left(starts, r.first, pos)
            b = bisect_right(starts, r.last, a)
            rest += defs[pos:a]
            rest_starts += starts[pos:a]
            for i in sorted(i for i in own if a <= i < b):
                rest.append(defs[i])
                rest_starts.append(starts[i])
            pos = b
        rest += defs[pos:]
        rest_starts += starts[pos:]
        out = _shift(_Version(rest, rest_starts), hunks).defs
        out.extend(found_runs)
        self.count += 1
        return _version(out), False

    def _run(
        self,
        lines: list[bytes],
        hunks: list[_Hunk],
        base: _Version,
        parents: list[int],
        r: _Run,
        first: int,
        last: int,
    ) -> list[_Span] | None:
        """The definitions of new lines ``first..last`` (run ``r``), or None."""
        chain: list[_Span] = []
        i = parents[r.parent] if r.top and r.parent >= 0 else r.parent
        while i >= 0:
            chain.append(base.defs[i])
            i = parents[i]
        chain.reverse()
        head: list[bytes] = []
        for a in chain:
            line = lines[_new_line(hunks, a.start_line) - 1]
            name = a.name.rsplit(".", 1)[-1].encode()
            stub = b"class " + name + b":" if a.kind == "class" else b"def " + name + b"():"
            head.append(line[: len(line) - len(line.lstrip(b" \t\f"))] + stub)
        body = lines[first - 1 : last]
        narrow = r.indent if r.after_def or r.before_def else -1
        code = _code_edge(body, range(len(body)), narrow if r.after_def else -1)
        if code is None:
            if r.after_def and r.before_def and _code_edge(body, range(len(body)), 0) is None:
                return []  # only blank lines between two definitions: nothing defined
            return None
        last_code = _code_edge(body, range(len(body) - 1, -1, -1), narrow if r.before_def else -1)
        if code < 0 or last_code is None or last_code < 0:
            return None
        if r.after_def:
            # New lines indented deeper than the definition before would continue it.
            line = body[code]
            if len(line) - len(line.lstrip(b" \t\f")) != r.indent:
                return None
        tree = self.snippets.parse(b"\n".join(head + body) + b"\n")
        if tree.root_node.has_error:
            return None
        spans = _spans(tree, self.language)
        n, total = len(head), len(head) + len(body)
        end = n + 1 + last_code  # the run's last line of code
        for k, a in enumerate(chain):  # the stand-ins hold the whole run
            if k >= len(spans) or spans[k].start_line != k + 1 or spans[k].name != a.name:
                return None
            if spans[k].end_line < end:
                return None
        inner = spans[n:]
        if r.top and r.parent >= 0:
            # The run starts with its parent's own lines: the parent (shifted, not from
            # here) must hold the whole run.
            p = base.defs[r.parent]
            if not inner or (inner[0].start_line, inner[0].name) != (n + 1, p.name):
                return None
            if inner[0].end_line < end:
                return None
            inner = inner[1:]
        elif not r.top and not r.after_def and (not inner or inner[0].start_line != n + 1):
            return None  # it must start with a definition
        if not r.bottom and not r.before_def and not any(x.end_line == total for x in inner):
            return None  # and end with one
        shift = first - n - 1
        return [
            _Span(x.start_line + shift, x.end_line + shift, x.name, x.kind, x.indent) for x in inner
        ]

    def region(self, src: bytes, base: _Version, hunks: list[_Hunk]) -> _Version:
        """Definitions shifted outside the added lines, re-read from the tree inside them."""
        tree = symbols.parse(src, self.language, self.last)
        self.last = symbols.Parsed(self.language, src, tree)
        self.count += 1
        # The lines each uncertain hunk changed (new numbering), and a wider range to ask
        # the tree about (a decorated def's node starts below its decorators).
        changed = [(h.c, h.c + max(h.d, 1) - 1) for h in hunks if not _certain(base, h)]
        fresh: dict[tuple[str, int], _Span] = {}
        for lo, hi in changed:
            for d in _spans(tree, self.language, (max(lo - 1, 1), hi + 8)):
                fresh[(d.name, d.start_line)] = d
        shifted = _shift(base, hunks).defs
        known = {(d.name, d.start_line) for d in shifted}
        for d in list(fresh.values()):
            if (d.name, d.start_line) not in known and (d.start_line, d.end_line) not in changed:
                # A new or renamed definition: its nested ones are renamed with it.
                changed.append((d.start_line, d.end_line))
                for e in _spans(tree, self.language, changed[-1]):
                    fresh[(e.name, e.start_line)] = e
        touching = [
            d
            for d in shifted
            if (d.name, d.start_line) not in fresh
            and any(d.start_line <= hi and d.end_line >= lo for lo, hi in changed)
        ]
        for d in touching:
            # It reached into the changed lines and the tree no longer says so there (a
            # class that ends before them now): ask the tree at its first line.
            for e in _spans(tree, self.language, (d.start_line, d.start_line)):
                fresh[(e.name, e.start_line)] = e
        keep = [
            d
            for d in shifted
            if (d.name, d.start_line) not in fresh
            and not any(d.start_line <= hi and d.end_line >= lo for lo, hi in changed)
        ]
        return _version(keep + list(fresh.values()), tree.root_node.has_error)


def _partner_definitions(
    root: Path, partners: list[str], shared: dict[str, set[str]]
) -> dict[str, dict[str, set[str]]]:
    """commit -> partner path -> qualified names of its definitions the commit touched."""
    hashes = sorted({h for hs in shared.values() for h in hs})
    if not hashes or not partners:
        return {}
    with tempfile.TemporaryDirectory(prefix="mira-xray-") as tmp:
        attrs = _attributes_file(Path(tmp))
        try:
            proc = run_git(
                root,
                "-c",
                f"core.attributesFile={attrs}",
                "log",
                "--no-walk=unsorted",
                "--stdin",
                "-p",
                "-U0",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--format=%x00%H",
                "--relative",
                "--",
                *partners,
                input_bytes="\n".join(hashes).encode(),
                timeout=600,
            )
        except GitError as exc:
            log.info("could not read the partners' diffs: %s", exc)
            return {}
    found = parse_fix_diffs(proc.stdout)
    qualify: dict[str, dict[str, str]] = {}
    for p in partners:
        lang = language_for_path(p)
        names: dict[str, str] = {}
        try:
            src = (root / p).read_bytes()
        except OSError:
            src = b""
        if lang is not None and src:
            tree = new_parser(lang).parse(src)
            for d in symbols.definition_spans(tree, lang):
                names.setdefault(d.name.rsplit(".", 1)[-1], d.name)
        qualify[p] = names
    out: dict[str, dict[str, set[str]]] = {}
    for h, per_path in found.items():
        for p, ns in per_path.items():
            if p in qualify and h in shared.get(p, ()):
                q = qualify[p]
                out.setdefault(h, {})[p] = {q.get(n, n) for n in ns}
    return out


def xray(
    root: Path | str,
    rel_path: str,
    head: str,
    ignored: set[str] | None = None,
    partners: list[str] | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> XRay:
    """The X-Ray of ``rel_path`` at ``head``. ``ignored``: commit hashes the ignore policy
    does not count; ``partners``: the file's top co-change partners (cross-file coupling)."""
    root = Path(root)
    language = language_for_path(rel_path)
    if progress:
        progress(f"X-Ray of {rel_path}: reading history", 0)
    commits = _read_log(root, rel_path, cancel)
    # The partners' diffs of the file's counted commits (those the coupling keeps are among
    # them) are read by git beside the walk.
    ignored = ignored or set()
    counted = {c.hash for c in commits if (c.new or c.old) and not (c.merge or c.hash in ignored)}
    partner_diffs = _Background(
        lambda: _partner_definitions(root, partners or [], {p: counted for p in partners or []})
    )
    walk = _Walk(root, language)
    try:
        for i, c in enumerate(commits):
            if cancel is not None and i % 50 == 0 and cancel():
                raise Cancelled()
            if progress and i % 200 == 0 and commits:
                progress(
                    f"X-Ray of {rel_path}: {i}/{len(commits)} commits", 5 + 90 * i // len(commits)
                )
            if c.new is None and c.old is None:
                continue  # a merge or a mode change: no content change shown
            touched = walk.step(c)
            if not (c.merge or c.hash in ignored):
                walk.count(c, touched)
        current = walk.current()
    finally:
        walk.close()
    defs = walk.definitions(current)
    _couple_inside(defs, walk.per_commit, rel_path)
    if partners:
        if progress:
            progress(f"X-Ray of {rel_path}: partner files", 96)
        _couple_partners(defs, walk.per_commit, partner_diffs.result() or {})
    for d in defs:
        d.couplings.sort(key=lambda x: (-x.confidence, -x.shared, x.path, x.symbol))
        del d.couplings[COUPLINGS_PER_DEF:]
    parsed = walk.parser.count if walk.parser else 0
    return XRay(rel_path, head, len(walk.per_commit), defs, parsed, len(commits))


class _Background:
    """``fn()`` in a daemon thread (its git child runs beside the caller's work)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.value: Any = None
        self.thread = threading.Thread(target=self._run, args=(fn,), name="xray", daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self.value = fn()
        except Exception:  # the coupling with partners is optional
            log.exception("X-Ray background step failed")

    def result(self) -> Any:
        self.thread.join()
        return self.value


def _read_log(root: Path, rel_path: str, cancel: Callable[[], bool] | None) -> list[_Commit]:
    """The file's commits, oldest first (one ``git log --follow -p``)."""
    with tempfile.TemporaryFile() as errf:
        proc = popen_git(root, *_log_args(rel_path), stderr=errf)
        assert proc.stdout is not None
        reader = io.BufferedReader(proc.stdout, 1 << 18)  # type: ignore[type-var]
        try:
            commits = _parse_log(reader, cancel)
        except Cancelled:
            proc.kill()
            raise
        finally:
            reader.close()
            proc.wait()
        if proc.returncode != 0:
            errf.seek(0)
            msg = errf.read().decode("utf-8", "replace").strip()
            raise GitError(f"git could not read the history of {rel_path}: {msg}")
    commits.reverse()
    return commits


class _Walk:
    """The walk over a file's versions: each version's definitions (parsed only where the
    hunks make it necessary), which definitions each commit touched, and the counts."""

    def __init__(self, root: Path, language: str | None) -> None:
        self.language = language
        self.parser = _Parser(language) if language else None
        self.blobs = _Blobs(root) if self.parser else None
        self.versions: dict[str, _Version] = {}
        self.order: list[str] = []
        self.last_new: str | None = None
        self.stats: dict[str, DefinitionHistory] = {}
        self.authors: dict[str, dict[tuple[str, str], int]] = {}
        self.per_commit: list[tuple[str, set[str]]] = []
        self.empty = _Version([], [])
        # Texts (split at "\n") of recent versions: each from its parent's through the
        # hunks, so blobs are read only where that cannot be done (binary, a merge's parent).
        self.texts: dict[str, list[bytes]] = {}
        self.text_order: list[str] = []

    def _keep(self, sha: str, lines: list[bytes]) -> list[bytes]:
        if sha not in self.texts:
            self.texts[sha] = lines
            self.text_order.append(sha)
            if len(self.text_order) > _CACHE_TEXTS:
                self.texts.pop(self.text_order.pop(0), None)
        return lines

    def text(self, sha: str) -> list[bytes]:
        """The lines of blob ``sha``."""
        lines = self.texts.get(sha)
        if lines is None:
            assert self.blobs is not None
            lines = self._keep(sha, self.blobs.read(sha).split(b"\n"))
        return lines

    def source(self, sha: str) -> bytes:
        return b"\n".join(self.text(sha))

    def _advance(self, c: _Commit) -> None:
        """Remember the text ``c`` produced, when its hunks give it."""
        if c.new is None or c.new in self.texts or c.binary or not c.hunks:
            return
        new = _apply(self.text(c.old) if c.old else [b""], c)
        if new is not None:
            self._keep(c.new, new)

    def close(self) -> None:
        if self.blobs is not None:
            self.blobs.close()

    def step(self, c: _Commit) -> set[str]:
        """The definitions commit ``c`` touched; remembers the version it produced."""
        touched: set[str] = set()
        if self.parser is not None and self.blobs is not None:
            old = self._lookup(c.old) if c.old else self.empty
            self._advance(c)
            new = self._new_version(c, old, touched)
            for h in c.hunks:
                if h.b > 0:
                    _touched(old, h.a, h.a + h.b - 1, touched)
                if h.d > 0:
                    _touched(new, h.c, h.c + h.d - 1, touched)
            if c.new is not None:
                self.versions[c.new] = new
                self.order.append(c.new)
                if len(self.order) > _CACHE_BLOBS:
                    self.versions.pop(self.order.pop(0), None)
        if c.new is not None:
            self.last_new = c.new
        return touched

    def _new_version(self, c: _Commit, old: _Version, touched: set[str]) -> _Version:
        assert self.parser is not None
        parser = self.parser
        if c.new is None:
            return self.empty
        if c.new in self.versions:
            return self.versions[c.new]
        if c.binary or not c.hunks:
            # Git showed no lines (binary on one side): every definition changed.
            new = parser.full(self.source(c.new))
            touched.update(d.name for d in new.defs)
            touched.update(d.name for d in old.defs)
            return new
        if c.old is None or old.broken:
            # A broken tree can hide definitions far from the hunks: read them all.
            return parser.full(self.source(c.new))
        if not all(_certain(old, h) for h in c.hunks):
            found = parser.window(self.text(c.new), old, c.hunks)
            return found or parser.region(self.source(c.new), old, c.hunks)
        if self.language == "python":
            return _shift(old, c.hunks)
        return parser.full(self.source(c.new))

    def count(self, c: _Commit, touched: set[str]) -> None:
        self.per_commit.append((c.hash, touched))
        for name in touched:
            s = self.stats.get(name)
            if s is None:
                s = self.stats[name] = DefinitionHistory(name, "", 0, 0)
            s.changes += 1
            if s.last_at is None or c.at >= s.last_at:
                s.last_at, s.last_commit = c.at, c.hash
            a = self.authors.setdefault(name, {})
            a[(c.author, c.email)] = a.get((c.author, c.email), 0) + 1

    def current(self) -> _Version:
        """The definitions of the file's last version."""
        current = self.versions.get(self.last_new) if self.last_new else None
        if current is None and self.last_new and self.blobs and self.parser:
            current = self.parser.full(self.source(self.last_new))
        return current or self.empty

    def _lookup(self, sha: str) -> _Version:
        v = self.versions.get(sha)
        if v is None:  # a parent version this walk has not produced (a merge result): parse it
            assert self.parser is not None
            v = self.versions[sha] = self.parser.full(self.source(sha))
        return v

    def definitions(self, current: _Version) -> list[DefinitionHistory]:
        defs: list[DefinitionHistory] = []
        seen: set[str] = set()
        for span in current.defs:
            if span.name in seen:  # overloads share a name (and so their history)
                continue
            seen.add(span.name)
            s = self.stats.get(span.name)
            dh = DefinitionHistory(span.name, span.kind, span.start_line, span.end_line)
            if s is not None:
                dh.changes, dh.last_at, dh.last_commit = s.changes, s.last_at, s.last_commit
                ranked = sorted(self.authors[span.name].items(), key=lambda x: (-x[1], x[0]))
                dh.authors = [Author(n, e, k) for (n, e), k in ranked]
            defs.append(dh)
        return defs


def _couple_inside(
    defs: list[DefinitionHistory], per_commit: list[tuple[str, set[str]]], path: str
) -> None:
    by_name = {d.symbol: d for d in defs}
    pairs: dict[tuple[str, str], int] = {}
    for _, touched in per_commit:
        names = sorted(n for n in touched if n in by_name)
        if len(names) < 2 or len(names) > MAX_DEFS_PER_COMMIT:
            continue
        for i, x in enumerate(names):
            for y in names[i + 1 :]:
                pairs[(x, y)] = pairs.get((x, y), 0) + 1
    for (x, y), c in pairs.items():
        if c < MIN_SHARED:
            continue
        for a, b in ((x, y), (y, x)):
            d = by_name[a]
            conf = c / d.changes if d.changes else 0.0
            if conf >= MIN_CONFIDENCE:
                d.couplings.append(Coupling(b, path, c, min(conf, 1.0)))


def _couple_partners(
    defs: list[DefinitionHistory],
    per_commit: list[tuple[str, set[str]]],
    found: dict[str, dict[str, set[str]]],
) -> None:
    """Couple with the partners' definitions ``found`` (commit -> partner -> names)."""
    by_name = {d.symbol: d for d in defs}
    touched_by = {h: t for h, t in per_commit if t and len(t) <= MAX_DEFS_PER_COMMIT}
    pairs: dict[tuple[str, str, str], int] = {}
    for h, per_path in found.items():
        mine = touched_by.get(h, set())
        for p, names in per_path.items():
            if len(names) > MAX_DEFS_PER_COMMIT:
                continue
            for x in mine:
                if x in by_name:
                    for y in names:
                        pairs[(x, p, y)] = pairs.get((x, p, y), 0) + 1
    for (x, p, y), c in pairs.items():
        d = by_name[x]
        conf = c / d.changes if d.changes else 0.0
        if c >= MIN_SHARED and conf >= MIN_CONFIDENCE:
            d.couplings.append(Coupling(y, p, c, min(conf, 1.0)))


# --- the stored, per-HEAD X-Ray ---------------------------------------------------------


def to_json(x: XRay) -> dict[str, Any]:
    """The ``mira-ls xray --json`` document (CONVENTIONS; fields may be added)."""
    return {
        "path": x.path,
        "head": x.head,
        "commits": x.commits,
        "versions": x.versions,
        "parsed_versions": x.parsed_versions,
        "definitions": [
            {
                "symbol": d.symbol,
                "kind": d.kind,
                "line": d.line,
                "end_line": d.end_line,
                "changes": d.changes,
                "authors": [
                    {"name": a.name, "email": a.email, "changes": a.changes} for a in d.authors
                ],
                "last_at": d.last_at,
                "last_commit": d.last_commit,
                "couplings": [
                    {
                        "symbol": c.symbol,
                        "path": c.path,
                        "shared": c.shared,
                        "confidence": round(c.confidence, 4),
                    }
                    for c in d.couplings
                ],
            }
            for d in x.definitions
        ],
    }


def from_json(doc: dict[str, Any]) -> XRay:
    return XRay(
        doc["path"],
        doc.get("head", ""),
        int(doc["commits"]),
        [
            DefinitionHistory(
                d["symbol"],
                d.get("kind", ""),
                int(d["line"]),
                int(d.get("end_line", d["line"])),
                int(d["changes"]),
                [Author(a["name"], a["email"], int(a["changes"])) for a in d["authors"]],
                d.get("last_at"),
                d.get("last_commit"),
                [
                    Coupling(c["symbol"], c["path"], int(c["shared"]), float(c["confidence"]))
                    for c in d["couplings"]
                ],
            )
            for d in doc["definitions"]
        ],
        int(doc.get("parsed_versions", 0)),
        int(doc.get("versions", 0)),
    )


def latest(conn: Connection, project_id: int, path: str) -> XRay | None:
    """The last X-Ray computed for ``path``, whatever HEAD it was computed at."""
    row = xray_store.latest(conn, project_id, path)
    return None if row is None else from_json(json.loads(row[1]))


def stored(conn: Connection, project_id: int, path: str, head: str | None) -> XRay | None:
    """The X-Ray of ``path`` if one was computed at ``head`` (no git: the hover's path)."""
    if not head:
        return None
    raw = xray_store.get(conn, project_id, path, head)
    return None if raw is None else from_json(json.loads(raw))


def ensure_xray(
    store: Store,
    project_id: int,
    root: Path | str,
    path: str,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    refresh: bool = False,
) -> XRay:
    """The X-Ray of ``path`` at the current HEAD: from the cache, else computed (with the
    miner's ignore policy and the file's top co-change partners) and stored."""
    head = head_commit(root)
    if head is None:
        raise GitError(f"{root} has no commits yet; there is no history to X-Ray.")
    conn = store.conn()
    if not refresh:
        cached = stored(conn, project_id, path, head)
        if cached is not None:
            return cached
    ignored = set(git_history.ignored_hashes(conn, project_id))
    partners = [
        p.path
        for p in git_cochange.partners(conn, project_id, path)
        if language_for_path(p.path) is not None
    ][:PARTNER_FILES]
    t0 = time.perf_counter()
    x = xray(root, path, head, ignored, partners, progress, cancel)
    seconds = time.perf_counter() - t0
    with store.write() as c:
        xray_store.put(c, project_id, path, head, x.commits, json.dumps(to_json(x)), seconds)
    return x
