"""Text as the keyword index sees it: identifiers split into words, queries made safe.

FTS5's tokenizers cannot be written in Python, so the split happens before the text is
stored: each compound identifier (camelCase, snake_case, SCREAMING_CASE) is followed by its
lowercase words. ``parseHTTPHeader`` and ``parse_http_header`` then both hold the tokens
"parse", "http", "header", while the identifier itself stays one token ('_' is a token
character in the tables) for exact matches. Queries go through the same split, so the
index and the query always agree.
"""

from __future__ import annotations

import re

# An identifier with a lower->upper step, an acronym followed by a word, or an inner '_'.
_COMPOUND = re.compile(
    r"\b[A-Za-z0-9_]*(?:[a-z0-9][A-Z]|[A-Z][A-Z][a-z]|[A-Za-z0-9]_+[A-Za-z0-9])[A-Za-z0-9_]*\b"
)
_PART = re.compile(r"[A-Z]+\d*(?=[A-Z][a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+")
_WORD = re.compile(r"\w+")

# Words of a question that say nothing about the code ("where do we retry uploads?").
STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "this",
        "to",
        "use",
        "used",
        "uses",
        "using",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "code",
        "function",
        "method",
        "find",
        "show",
        "me",
        "there",
    }
)


def split_identifier(ident: str) -> list[str]:
    """The lowercase words of an identifier: parseHTTPHeader -> [parse, http, header]."""
    return [p.lower() for p in _PART.findall(ident)]


# What expand() scans for: a whole ASCII word holding an upper-case letter or a '_' (its
# first one after lower-case letters and digits), which
# every _COMPOUND match is (a lower->upper step, an acronym, an inner '_'); the few that are
# not compound come back unchanged. The same matches as _COMPOUND's, found twice as fast
# (no backtracking through the alternatives at every word), and each word's expansion is
# made once per process: the index's text is the same, byte for byte.
_CANDIDATE = re.compile(r"\b[a-z0-9]*+[A-Z_][A-Za-z0-9_]*+\b")  # possessive: no backtracking
_STEP = re.compile(r"[a-z0-9][A-Z]|[A-Z][A-Z][a-z]|[A-Za-z0-9]_+[A-Za-z0-9]")
_expanded: dict[str, str] = {}
_EXPANDED_MAX = 200_000  # words remembered (then forgotten at once and relearned)


def _expand_word(word: str) -> str:
    if not _STEP.search(word):
        return word
    parts = split_identifier(word)
    if len(parts) < 2:
        return word
    return f"{word} {' '.join(parts)}"


def _expand_match(m: re.Match[str]) -> str:
    word = m.group(0)
    out = _expanded.get(word)
    if out is None:
        if len(_expanded) >= _EXPANDED_MAX:
            _expanded.clear()
        out = _expanded[word] = _expand_word(word)
    return out


def expand(text: str | None) -> str:
    """``text`` with each compound identifier followed by its words (what is indexed)."""
    if not text:
        return ""
    return _CANDIDATE.sub(_expand_match, text)


def query_terms(query: str, *, keep_stop_words: bool = False) -> list[str]:
    """The words a query is matched by, lowercased, in order, without repeats.

    Stop words are dropped unless nothing else is left (a search for "the" still runs)."""
    out: list[str] = []
    for w in _WORD.findall(query):
        parts = split_identifier(w) if _COMPOUND.fullmatch(w) else [w.lower()]
        for p in parts:
            if p and p not in out:
                out.append(p)
    if not keep_stop_words:
        kept = [t for t in out if t not in STOP_WORDS]
        if kept:
            return kept
    return out


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def match_all(terms: list[str]) -> str:
    """An FTS5 MATCH expression requiring every term (each quoted: no query syntax)."""
    return " AND ".join(_quote(t) for t in terms)


def match_any(terms: list[str]) -> str:
    """An FTS5 MATCH expression requiring any term."""
    return " OR ".join(_quote(t) for t in terms)


def exact_identifier(query: str) -> str | None:
    """The identifier (or dotted / :: qualified name) a query is, if it is exactly one."""
    q = query.strip()
    if re.fullmatch(r"[A-Za-z_$][\w$]*(?:(?:\.|::)[A-Za-z_$][\w$]*)*", q):
        return q
    return None
