"""Which reasoning patterns fit a new build error, and how well.

A problem's signature: its category, the build error's ``error_hash``, its tool and code
(``ruff:F401``), the file's language and the concepts of the definitions at its line
(``concept_index``), and the text its vector is stored under (``fix_query``: code and
message). A pattern's signature is the union of the problems its own fixes solved
(``pattern_signatures``, migration 044).

Candidates: the live patterns with a success of the error's category (the best CANDIDATES
by success rate), those whose fixes solved this very error and those that solved one with
the same tool and code, in any category (for each, the SIGNATURE_CANDIDATES that solved it
most recently). Each gets a match in 0..1:

- signature: 1.0 for the same error, 0.7 for the same tool and code, 0.4 for the same
  category only; +0.1 when the language is one its fixes were in; +0.2 x the Jaccard of the
  concepts; at most 1.
- vector: when the error's text and some of the pattern's have vectors stored in the
  configured embedding space, match = 0.6 x signature + 0.4 x the best cosine. Only stored
  vectors are read (``mira-ls embed`` stores the build errors' texts with the ``git``
  collection); the endpoint is never called here, and with no vectors the match is the
  signature's alone.

Rank = 0.5 x match + 0.35 x success rate + 0.15 x recency, recency = (365 - min(days since
the last success, 365)) / 365; ties: more successes, then the lower id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mira_ls.index.languages import language_for_path
from mira_ls.store import learning as q
from mira_ls.store.connection import Connection
from mira_ls.vectors.embeddings import from_blob, text_hash

CANDIDATES = 6  # of the category, best success rate first
SIGNATURE_CANDIDATES = 6  # with the same error, and again with the same tool and code
SAME_ERROR, SAME_CODE, SAME_CATEGORY = 1.0, 0.7, 0.4
LANGUAGE_BONUS, CONCEPT_WEIGHT = 0.1, 0.2
VECTOR_WEIGHT = 0.4
W_MATCH, W_RATE, W_RECENCY = 0.5, 0.35, 0.15


@dataclass(frozen=True)
class Problem:
    category: str
    error_hash: str | None = None
    code: str | None = None  # "tool:code"
    language: str | None = None
    concepts: tuple[str, ...] = ()
    text: str = ""  # what its vector is stored under (build.resolutions.fix_query)

    def signature(self) -> list[tuple[str, str]]:
        items = [("error_hash", self.error_hash), ("code", self.code), ("language", self.language)]
        items += [("concept", c) for c in self.concepts]
        if self.text:
            items.append(("text", text_key(self.text)))
        return [(k, v) for k, v in items if v]


def text_key(text: str) -> str:
    """The key an error's text is embedded under (its SHA-256; error texts are far below
    the embedding model's input limit, so nothing is cut)."""
    return text_hash(text)


def code_of(tool: str | None, code: str | None) -> str | None:
    return f"{tool}:{code}" if tool and code else None


def language_of(path: str | None) -> str | None:
    if not path:
        return None
    return language_for_path(path)


def problem_of(
    conn: Connection,
    project_id: int | None,
    *,
    category: str,
    error_hash: str | None,
    tool: str | None,
    code: str | None,
    message: str,
    path: str | None,
    line: int | None,
) -> Problem:
    concepts: tuple[str, ...] = ()
    if project_id is not None and path and line:
        concepts = tuple(q.concepts_at(conn, project_id, path, line))
    return Problem(
        category,
        error_hash,
        code_of(tool, code),
        language_of(path),
        concepts,
        f"{code or ''} {message}".strip(),  # fix_query's text
    )


@dataclass(frozen=True)
class Match:
    pattern: q.PatternRow
    score: float  # the match, 0..1
    rank: float
    tool_steps: list[tuple[str, str]]  # (tool, arguments as JSON text)


def signature_match(p: Problem, c: q.Candidate) -> float:
    if c.same_error:
        base = SAME_ERROR
    elif c.same_code:
        base = SAME_CODE
    elif c.category == p.category:
        base = SAME_CATEGORY
    else:
        return 0.0
    if c.same_language:
        base += LANGUAGE_BONUS
    if c.concepts_shared:  # Jaccard of the two sets of concepts
        base += (
            CONCEPT_WEIGHT * c.concepts_shared / (len(p.concepts) + c.concepts - c.concepts_shared)
        )
    return min(1.0, base)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if not na or not nb or a.shape != b.shape:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def best(
    conn: Connection,
    project_id: int | None,
    problem: Problem,
    *,
    limit: int = 3,
    space: tuple[str, int] | None = None,
    now: float | None = None,
) -> list[Match]:
    """The best ``limit`` patterns for ``problem``; ``space`` (embedding model, dimensions):
    the vectors that may take part (None: signature only)."""
    found = q.candidates(
        conn, project_id, problem.category, problem.error_hash, problem.code,
        problem.language, tuple(dict.fromkeys(problem.concepts)),
        of_category=CANDIDATES, per_signature=SIGNATURE_CANDIDATES,
    )  # fmt: skip
    if not found:
        return []
    query: np.ndarray | None = None
    theirs: dict[int, list[bytes]] = {}
    if space is not None and problem.text:
        from mira_ls.store import embeddings as emb_store

        got = emb_store.stored(conn, space[0], space[1], [text_key(problem.text)])
        if got:
            query = from_blob(next(iter(got.values()))[1])
            theirs = q.text_vectors(conn, space[0], space[1], [c.id for c in found])
    now = time.time() if now is None else now
    scored: list[tuple[float, float, q.Candidate]] = []
    for c in found:
        score = signature_match(problem, c)
        if query is not None and theirs.get(c.id):
            cos = max(_cosine(query, from_blob(b)) for b in theirs[c.id])
            score = (1 - VECTOR_WEIGHT) * score + VECTOR_WEIGHT * max(0.0, cos)
        if score <= 0:
            continue
        rate = c.success_count / c.use_count if c.use_count else 0.0
        days = (now - c.last_success_at) / 86400 if c.last_success_at else 365.0
        recency = (365 - min(max(days, 0.0), 365)) / 365
        scored.append((W_MATCH * score + W_RATE * rate + W_RECENCY * recency, score, c))
    scored.sort(key=lambda x: (-x[0], -x[2].success_count, x[2].id))
    top = scored[:limit]
    steps = q.tool_steps_of(conn, [c.id for _, _, c in top])  # for the shown ones only
    return [Match(c.row(), round(score, 3), rank, steps.get(c.id, [])) for rank, score, c in top]
