"""Sections cut into chunks within a token cap, each starting with the end of the one before.

A section is split at paragraphs; a paragraph longer than a chunk at sentences and lines,
then words, then tokens. Pieces are packed up to ``CHUNK_TOKENS`` (o200k counts, the
project's counter); the next chunk of the same section repeats the last ``OVERLAP_TOKENS``
or so of the previous one, so a sentence cut at a boundary is whole in one of them. A chunk
never spans two sections, so its heading path (document_chunks.section) is exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mira_ls.documents.parse import Section
from mira_ls.llm import tokens

CHUNK_TOKENS = 400
OVERLAP_TOKENS = 60
_MARGIN = 8  # pieces are counted apart; their join may differ by a token or two

_PARAGRAPH = re.compile(r"(?:[^\n]*\S[^\n]*(?:\n|$))+")
_SENTENCE = re.compile(r"[^\n]*?(?:[.!?](?=\s)|\n|$)\s*|[^\n]+", re.DOTALL)
_WORD = re.compile(r"\S+\s*")


@dataclass(frozen=True)
class Chunk:
    index: int
    section: str | None
    text: str
    start: int  # character offsets in the document's text
    end: int
    tokens: int
    page: int | None


@dataclass(frozen=True)
class _Piece:
    start: int  # offsets in the section's text
    end: int
    tokens: int


def chunk_sections(sections: list[Section], *, max_tokens: int = CHUNK_TOKENS,
                   overlap: int = OVERLAP_TOKENS) -> list[Chunk]:  # fmt: skip
    out: list[Chunk] = []
    for s in sections:
        for start, end in _spans(s.text, max_tokens, overlap):
            raw = s.text[start:end]
            lead = len(raw) - len(raw.lstrip())
            text = raw.strip()
            if not text:
                continue
            n = tokens.count(text)
            if n > max_tokens:  # the join counted more than its parts: cut at a token
                text = tokens.truncate(text, max_tokens)
                n = tokens.count(text)
            a = s.start + start + lead
            out.append(Chunk(len(out), s.name, text, a, a + len(text), n, s.page))
    return out


def _spans(text: str, max_tokens: int, overlap: int) -> Iterator[tuple[int, int]]:
    """(start, end) in ``text`` of each chunk."""
    budget = max(16, max_tokens - _MARGIN)
    overlap = min(overlap, budget // 3)
    pieces = list(_pieces(text, budget - overlap))
    if not pieces:
        return
    cur: list[_Piece] = []
    used = 0
    head = pieces[0].start  # where the current chunk starts (inside the previous one)
    for p in pieces:
        if cur and used + p.tokens > budget:
            yield head, cur[-1].end
            head, used = _overlap_start(text, cur, overlap)
            cur = []
        cur.append(p)
        used += p.tokens
    if cur:
        yield head, cur[-1].end


def _overlap_start(text: str, done: list[_Piece], overlap: int) -> tuple[int, int]:
    """Where the next chunk starts: the last whole pieces of ``done`` within ``overlap``
    tokens, else the last words of its last piece; and the tokens that repeats."""
    if overlap <= 0:
        return done[-1].end, 0
    used = 0
    start = done[-1].end
    for p in reversed(done):
        if used + p.tokens > overlap:
            break
        used += p.tokens
        start = p.start
    if used:
        return start, used
    last = done[-1]
    words = [m.start() for m in _WORD.finditer(text, last.start, last.end)]
    # the longest tail of whole words within the overlap (binary search over word starts)
    lo, hi = 1, len(words) - 1
    best = last.end
    while lo <= hi:
        mid = (lo + hi) // 2
        n = tokens.count(text[words[mid] : last.end])
        if n <= overlap:
            best, used = words[mid], n
            hi = mid - 1
        else:
            lo = mid + 1
    return best, used


def _pieces(text: str, budget: int) -> Iterator[_Piece]:
    for m in _PARAGRAPH.finditer(text):
        yield from _fit(text, m.start(), m.end(), budget, 0)


def _fit(text: str, start: int, end: int, budget: int, level: int) -> Iterator[_Piece]:
    """The span as pieces of at most ``budget`` tokens: whole if it fits, else split at
    sentences (level 0), words (1), tokens (2)."""
    n = tokens.count(text[start:end])
    if n <= budget:
        yield _Piece(start, end, n)
        return
    if level >= 2:
        pos = start
        while pos < end:
            part = tokens.truncate(text[pos:end], budget) or text[pos : pos + 1]
            yield _Piece(pos, pos + len(part), tokens.count(part))
            pos += len(part)
        return
    pattern = _SENTENCE if level == 0 else _WORD
    found = pattern.finditer(text, start, end)
    parts = [(m.start(), m.end()) for m in found if m.end() > m.start()]
    if len(parts) <= 1:
        yield from _fit(text, start, end, budget, level + 1)
        return
    # pack the parts back together up to the budget, each too long one split further
    cur_start, cur_end, used = parts[0][0], parts[0][0], 0
    for a, b in parts:
        k = tokens.count(text[a:b])
        if k > budget:
            if cur_end > cur_start:
                yield _Piece(cur_start, cur_end, used)
            yield from _fit(text, a, b, budget, level + 1)
            cur_start, cur_end, used = b, b, 0
            continue
        if used + k > budget and cur_end > cur_start:
            yield _Piece(cur_start, cur_end, used)
            cur_start, used = a, 0
        cur_end = b
        used += k
    if cur_end > cur_start:
        yield _Piece(cur_start, cur_end, used)
