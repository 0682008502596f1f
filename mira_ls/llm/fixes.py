"""Past fixes similar to an error, scored as the conventions define for historical fixes.

score = 0.2 + 0.15 * file overlap + 0.65 * word Jaccard (file overlap = |fix files ∩ error
files| / |error files|; words: lowercase alphanumeric tokens of 3+ characters without stop
words); below 0.3 dropped; best 5, ties by recency.
"""

from __future__ import annotations

import re
from typing import Any

from mira_ls.store import llm_queries as lq
from mira_ls.store.llm_queries import Fix

MIN_SCORE = 0.3
TOP = 5
_WORD = re.compile(r"[a-z0-9]{3,}")
STOP_WORDS = frozenset(
    (
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "not",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "but",
        "can",
        "could",
        "should",
        "would",
        "will",
        "into",
        "out",
        "use",
        "used",
        "using",
        "when",
        "then",
        "than",
        "there",
        "their",
        "them",
        "they",
        "its",
        "fix",
        "fixed",
        "fixes",
        "fixing",
        "bug",
        "bugs",
        "issue",
        "error",
        "errors",
        "line",
        "file",
    )
)


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS}


def score(fix: Fix, error_words: set[str], error_files: list[str]) -> float:
    fix_words = words(" ".join(filter(None, (fix.subject, fix.error_text or ""))))
    union = error_words | fix_words
    jaccard = len(error_words & fix_words) / len(union) if union else 0.0
    overlap = len(set(error_files) & set(fix.files)) / len(set(error_files)) if error_files else 0.0
    return 0.2 + 0.15 * overlap + 0.65 * jaccard


def rank_fixes(
    conn: Any, project_id: int, error_text: str, files: list[str]
) -> list[tuple[float, Fix]]:
    ew = words(error_text)
    files = [f for f in files if f]
    scored = [(score(f, ew, files), f) for f in lq.recent_fixes(conn, project_id)]
    kept = [(s, f) for s, f in scored if s >= MIN_SCORE]
    kept.sort(key=lambda sf: (-sf[0], -sf[1].fixed_at))
    return kept[:TOP]
