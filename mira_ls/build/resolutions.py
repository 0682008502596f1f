"""How an error was fixed before: recorded resolutions of the same error (1.0), of the same
code (0.8) and of the same category (0.5), merged with git history's fix commits (their
own score) into one list, best first, ties by recency (CONVENTIONS)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mira_ls.config import Settings
from mira_ls.git import fixes as git_fixes
from mira_ls.store import Store
from mira_ls.store import build_resolutions as resolution_store
from mira_ls.store.build_errors import ErrorRow
from mira_ls.store.build_resolutions import ResolutionRow
from mira_ls.store.connection import Connection

log = logging.getLogger(__name__)

SAME_ERROR, SAME_CODE, SAME_CATEGORY = 1.0, 0.8, 0.5
TOP = 3


@dataclass(frozen=True)
class HistoricalMatch:
    """A fix commit from git history (mira_ls.git.fixes.FixMatch, as the build side sees it)."""

    commit: str
    subject: str
    score: float
    category: str
    files: list[str]
    at: int


@dataclass(frozen=True)
class RankedFix:
    score: float
    match: str  # "same error", "same code", "same category" or "fix commit"
    at: int
    resolution: ResolutionRow | None = None
    commit: str | None = None
    subject: str | None = None
    files: list[str] = field(default_factory=list)

    @property
    def diff(self) -> str | None:
        return self.resolution.diff if self.resolution else None


HistoricalSource = Callable[[Connection, int, str, list[str]], list[HistoricalMatch]]


def fix_query(error: ErrorRow) -> str:
    """The text an error's fix commits are ranked by (and, for blending, embedded by
    ``mira-ls embed`` ahead of time: mira_ls.vectors.git)."""
    return f"{error.code} {error.message}".strip()


def git_history(
    conn: Connection, project_id: int, error_text: str, files: list[str]
) -> list[HistoricalMatch]:
    """Fix commits like this error, ranked by git intelligence (mira_ls.git.fixes)."""
    return _matches(git_fixes.rank_fixes(conn, project_id, error_text, files))


def _matches(found: list[git_fixes.FixMatch]) -> list[HistoricalMatch]:
    return [
        HistoricalMatch(m.commit, m.subject, float(m.score), m.category, list(m.files), int(m.at))
        for m in found
    ]


def git_history_blended(store: Store, settings: Settings) -> HistoricalSource:
    """Fix commits like this error, their meaning blended in when the error's vector is
    already stored (``mira-ls embed`` embeds the project's build errors with its fixes).
    Never calls the embedding endpoint: the hover and code actions use it on the request
    path; without a stored vector the ranking is exactly ``git_history``'s."""

    def source(
        conn: Connection, project_id: int, error_text: str, files: list[str]
    ) -> list[HistoricalMatch]:
        from mira_ls.vectors import git as git_vectors

        vectors, _ = git_vectors.fix_vectors(
            store, settings, project_id, error_text, may_embed=False
        )
        return _matches(git_fixes.rank_fixes(conn, project_id, error_text, files, vectors=vectors))

    return source


def rank(
    conn: Connection,
    project_id: int,
    error: ErrorRow,
    *,
    limit: int = TOP,
    historical: HistoricalSource | None = git_history,
) -> list[RankedFix]:
    found: list[RankedFix] = []
    seen: set[int] = set()

    def add(rows: list[ResolutionRow], score: float, match: str) -> None:
        for r in rows:
            if r.id in seen:
                continue
            seen.add(r.id)
            found.append(
                RankedFix(score, match, r.resolved_at, r, r.commit_hash, r.fix_subject, r.files)
            )

    add(resolution_store.for_error(conn, error.id), SAME_ERROR, "same error")
    if error.code:
        add(
            resolution_store.same_code(conn, project_id, error.tool, error.code, error.id),
            SAME_CODE,
            "same code",
        )
    if error.category != "other":
        add(
            resolution_store.same_category(
                conn, project_id, error.category, error.tool, error.code, error.id
            ),
            SAME_CATEGORY,
            "same category",
        )
    if historical is not None:
        text = fix_query(error)
        files = [error.file_path] if error.file_path else []
        try:
            matches = historical(conn, project_id, text, files)
        except Exception:  # history is a bonus; its failure must not hide resolutions
            log.exception("ranking fix commits failed")
            matches = []
        for m in matches:
            same = [i for i, f in enumerate(found) if f.commit and f.commit == m.commit]
            if same:  # one fix seen twice: from the build and from git history
                i = same[0]
                f = found[i]
                found[i] = replace(f, score=max(f.score, m.score), subject=f.subject or m.subject)
                continue
            found.append(RankedFix(m.score, "fix commit", m.at, None, m.commit, m.subject, m.files))
    found.sort(key=lambda f: (-f.score, -f.at, f.resolution.id if f.resolution else 0))
    return found[:limit]
