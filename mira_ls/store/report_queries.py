"""Read-only queries behind the insight report: index, git history, builds, budget and cache.

Every query reads what the subsystems stored; none writes. A table that holds nothing for
the project simply yields nothing, so the report can show an honest empty state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mira_ls.store.connection import Connection

# ------------------------------------------------------------------------------ index


@dataclass(frozen=True)
class IndexTotals:
    files: int
    symbols: int
    last_indexed_at: int | None
    languages: dict[str, int]  # language -> indexed files


def index_totals(conn: Connection, project_id: int) -> IndexTotals:
    files = conn.execute(
        "SELECT COUNT(*) FROM repository_files WHERE project_id = ? AND status = 'indexed'",
        (project_id,),
    ).fetchone()[0]
    symbols = conn.execute(
        "SELECT COUNT(*) FROM code_elements WHERE project_id = ?", (project_id,)
    ).fetchone()[0]
    last = conn.execute(
        "SELECT last_indexed_at FROM projects WHERE id = ?", (project_id,)
    ).fetchone()
    langs = {
        str(r[0]): int(r[1])
        for r in conn.execute(
            "SELECT language, COUNT(*) FROM repository_files "
            "WHERE project_id = ? AND status = 'indexed' AND language IS NOT NULL "
            "GROUP BY language ORDER BY COUNT(*) DESC, language",
            (project_id,),
        )
    }
    return IndexTotals(int(files), int(symbols), last[0] if last else None, langs)


@dataclass(frozen=True)
class FileComplexity:
    path: str
    language: str | None
    line_count: int
    symbols: int
    complexity: int  # sum of (branches + 1) over the file's symbols


def file_complexity(conn: Connection, project_id: int) -> list[FileComplexity]:
    """Indexed files that have symbols, with the sum of their symbols' complexity."""
    rows = conn.execute(
        "SELECT f.file_path, f.language, f.line_count, COUNT(e.id), SUM(e.complexity) "
        "FROM repository_files f JOIN code_elements e ON e.file_id = f.id "
        "WHERE f.project_id = ? GROUP BY f.id ORDER BY f.file_path",
        (project_id,),
    )
    return [FileComplexity(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]


def symbol_complexity(
    conn: Connection, project_id: int, path: str
) -> dict[str, tuple[int, str, int]]:
    """qualified name -> (complexity, kind, name line) of the indexed definitions of a file
    (the first of overloads sharing a name)."""
    out: dict[str, tuple[int, str, int]] = {}
    for r in conn.execute(
        "SELECT e.qualified_name, e.complexity, e.kind, e.name_line FROM code_elements e "
        "JOIN repository_files f ON f.id = e.file_id WHERE f.project_id = ? AND f.file_path = ? "
        "AND e.kind != 'module' ORDER BY e.ordinal",
        (project_id, path),
    ):
        out.setdefault(str(r[0]), (int(r[1]), str(r[2]), int(r[3])))
    return out


def xray_paths(conn: Connection, project_id: int) -> list[str]:
    """Files that have an X-Ray (any HEAD)."""
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT file_path FROM xray_cache WHERE project_id = ? ORDER BY file_path",
            (project_id,),
        )
    ]


def indexed_paths(conn: Connection, project_id: int) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT file_path FROM repository_files WHERE project_id = ?", (project_id,)
        )
    }


# ------------------------------------------------------------------------------- git


@dataclass(frozen=True)
class GitAttachment:
    status: str  # pending, ok, empty, not_a_repo, error
    head_commit: str | None
    head_ref: str | None
    last_mined_at: int | None
    mined_commits: int
    is_shallow: bool
    error: str | None


def git_attachment(conn: Connection, project_id: int) -> GitAttachment | None:
    r = conn.execute(
        "SELECT status, head_commit, head_ref, last_mined_at, mined_commits, is_shallow, error "
        "FROM git_repo_attachments WHERE project_id = ? ORDER BY id DESC LIMIT 1",
        (project_id,),
    ).fetchone()
    if r is None:
        return None
    return GitAttachment(r[0], r[1], r[2], r[3], int(r[4]), bool(r[5]), r[6])


def commit_counts(conn: Connection, project_id: int) -> tuple[int, dict[str, int]]:
    """(commits the ignore policy counts, ignored commits per reason)."""
    counted = 0
    ignored: dict[str, int] = {}
    for reason, n in conn.execute(
        "SELECT ignored_reason, COUNT(*) FROM git_commits WHERE project_id = ? "
        "GROUP BY ignored_reason",
        (project_id,),
    ):
        if reason is None:
            counted = int(n)
        else:
            ignored[str(reason)] = int(n)
    return counted, ignored


def _path_column(conn: Connection) -> str:
    """The file's newest name when the schema follows renames, else the path in the commit."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(git_commit_files)")}
    return "COALESCE(f.canonical_path, f.file_path)" if "canonical_path" in cols else "f.file_path"


@dataclass(frozen=True)
class FileChurn:
    path: str
    commits: int  # counted commits touching the file
    added: int
    deleted: int
    last_at: int


def file_churn(conn: Connection, project_id: int) -> list[FileChurn]:
    """Per file: counted commits (no merges, bots, ignore-revs, large changesets) and lines."""
    path = _path_column(conn)
    rows = conn.execute(
        f"SELECT {path} AS p, COUNT(DISTINCT c.id), COALESCE(SUM(f.added), 0), "
        "COALESCE(SUM(f.deleted), 0), MAX(c.authored_at) "
        "FROM git_commit_files f JOIN git_commits c ON c.id = f.commit_id "
        "WHERE c.project_id = ? AND c.ignored_reason IS NULL "
        "GROUP BY p ORDER BY p",
        (project_id,),
    )
    return [FileChurn(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


@dataclass(frozen=True)
class AuthorActivity:
    email: str
    last_at: int  # newest commit of any kind: the last sign the author is around
    counted: int  # commits the ignore policy counts (0 for bots and merge-only authors)


def author_activity(conn: Connection, project_id: int) -> dict[str, AuthorActivity]:
    return {
        str(r[0]): AuthorActivity(str(r[0]), int(r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT author_email, MAX(authored_at), SUM(ignored_reason IS NULL) "
            "FROM git_commits WHERE project_id = ? GROUP BY author_email",
            (project_id,),
        )
    }


@dataclass(frozen=True)
class PairRow:
    file_a: str
    file_b: str
    shared: int
    commits_a: int
    commits_b: int
    confidence: float  # directional c / a, seen from file_a (the file with fewer commits)
    jaccard: float  # c / (a + b - c)
    dice: float
    last_at: int | None
    strong: bool


def strongest_pairs(
    conn: Connection, project_id: int, limit: int, strong_shared: int, strong_confidence: float
) -> list[PairRow]:
    """Co-change pairs, each once (a pair may be stored from both sides, then from the side
    of the file with fewer commits, where c/a is higher): strong pairs first (enough shared
    commits and confidence c/a), then by confidence c/a and shared commits. The stored
    ``confidence`` column is Jaccard; c/a is computed here."""
    rows = conn.execute(
        "SELECT file_a, file_b, shared_commits, commits_a, commits_b, conf, confidence, dice, "
        "last_changed_together, (shared_commits >= ? AND conf >= ?) AS strong FROM ("
        "  SELECT *, CAST(shared_commits AS REAL) / commits_a AS conf "
        "  FROM file_cochange_patterns p WHERE project_id = ? AND ("
        "    commits_a < commits_b OR (commits_a = commits_b AND file_a < file_b) "
        "    OR NOT EXISTS (SELECT 1 FROM file_cochange_patterns q "
        "      WHERE q.project_id = p.project_id AND q.file_a = p.file_b AND q.file_b = p.file_a))"
        ") ORDER BY strong DESC, conf DESC, shared_commits DESC, file_a, file_b LIMIT ?",
        (strong_shared, strong_confidence - 1e-12, project_id, limit),
    )
    return [
        PairRow(
            r[0],
            r[1],
            int(r[2]),
            int(r[3]),
            int(r[4]),
            min(float(r[5]), 1.0),
            float(r[6]),
            float(r[7]),
            r[8],
            bool(r[9]),
        )
        for r in rows
    ]


def cochange_pair_count(conn: Connection, project_id: int) -> int:
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM file_cochange_patterns p WHERE project_id = ? AND "
            "(commits_a < commits_b OR (commits_a = commits_b AND file_a < file_b) OR NOT EXISTS "
            "(SELECT 1 FROM file_cochange_patterns q WHERE q.project_id = p.project_id "
            "AND q.file_a = p.file_b AND q.file_b = p.file_a))",
            (project_id,),
        ).fetchone()[0]
    )


@dataclass(frozen=True)
class ExpertiseRow:
    path: str
    author: str
    email: str
    commits: int
    lines_added: int
    last_at: int
    share: float  # of the path's lines added


def expertise(conn: Connection, project_id: int, scope: str) -> list[ExpertiseRow]:
    """Every author's aggregate per file or directory, biggest share first within a path."""
    rows = conn.execute(
        "SELECT path, author_name, author_email, commits, lines_added, last_commit_at, "
        "ownership_share FROM author_expertise WHERE project_id = ? AND scope = ? "
        "ORDER BY path, ownership_share DESC, commits DESC, author_email",
        (project_id, scope),
    )
    return [
        ExpertiseRow(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), float(r[6])) for r in rows
    ]


# ----------------------------------------------------------------------------- builds


@dataclass(frozen=True)
class BuildRunRow:
    id: int
    name: str
    tool: str
    started_at: int
    status: str
    error_count: int
    warning_count: int


def recent_build_runs(conn: Connection, project_id: int, limit: int) -> list[BuildRunRow]:
    """The newest finished runs, oldest first (the order a trend is read in)."""
    rows = conn.execute(
        "SELECT id, name, tool, started_at, status, error_count, warning_count FROM build_runs "
        "WHERE project_id = ? AND status != 'running' ORDER BY started_at DESC, id DESC LIMIT ?",
        (project_id, limit),
    ).fetchall()
    return [BuildRunRow(r[0], r[1], r[2], int(r[3]), r[4], int(r[5]), int(r[6])) for r in rows][
        ::-1
    ]


@dataclass(frozen=True)
class BuildDayRow:
    day: str  # YYYY-MM-DD, UTC
    runs: int
    failed: int  # runs that did not succeed
    errors: int
    warnings: int


def build_days(conn: Connection, project_id: int, limit: int) -> list[BuildDayRow]:
    """Finished runs per UTC day, the newest ``limit`` days that had runs, oldest first."""
    rows = conn.execute(
        "SELECT date(started_at, 'unixepoch') AS d, COUNT(*), "
        "SUM(status != 'succeeded'), SUM(error_count), SUM(warning_count) FROM build_runs "
        "WHERE project_id = ? AND status != 'running' GROUP BY d ORDER BY d DESC LIMIT ?",
        (project_id, limit),
    ).fetchall()
    return [BuildDayRow(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows][::-1]


@dataclass(frozen=True)
class BuildTotals:
    runs: int
    failed: int
    open_errors: int
    resolved_errors: int
    first_at: int | None
    last_at: int | None


def build_totals(conn: Connection, project_id: int) -> BuildTotals:
    r = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(status != 'succeeded'), 0), MIN(started_at), "
        "MAX(started_at) FROM build_runs WHERE project_id = ? AND status != 'running'",
        (project_id,),
    ).fetchone()
    e = conn.execute(
        "SELECT COALESCE(SUM(status = 'open'), 0), COALESCE(SUM(status = 'resolved'), 0) "
        "FROM build_errors WHERE project_id = ?",
        (project_id,),
    ).fetchone()
    return BuildTotals(int(r[0]), int(r[1]), int(e[0]), int(e[1]), r[2], r[3])


@dataclass(frozen=True)
class CategoryRow:
    category: str
    open: int
    resolved: int
    occurrences: int


def build_error_categories(conn: Connection, project_id: int) -> list[CategoryRow]:
    rows = conn.execute(
        "SELECT category, SUM(status = 'open'), SUM(status = 'resolved'), SUM(occurrence_count) "
        "FROM build_errors WHERE project_id = ? GROUP BY category "
        "ORDER BY SUM(occurrence_count) DESC, category",
        (project_id,),
    )
    return [CategoryRow(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]


@dataclass(frozen=True)
class BuildErrorRow:
    tool: str
    code: str | None
    category: str
    message: str
    file_path: str | None
    line: int | None
    occurrences: int
    first_seen_at: int
    last_seen_at: int
    status: str


def top_build_errors(conn: Connection, project_id: int, limit: int) -> list[BuildErrorRow]:
    """The errors seen in the most runs."""
    rows = conn.execute(
        "SELECT tool, code, category, message, file_path, line, occurrence_count, "
        "first_seen_at, last_seen_at, status FROM build_errors WHERE project_id = ? "
        "ORDER BY occurrence_count DESC, last_seen_at DESC, id LIMIT ?",
        (project_id, limit),
    )
    return [
        BuildErrorRow(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7]), int(r[8]), r[9])
        for r in rows
    ]


# ------------------------------------------------------------------------ budget/cache


@dataclass(frozen=True)
class SpendRow:
    period: str  # YYYY-MM-DD or YYYY-MM (UTC)
    cost_micro: int
    requests: int
    cache_hits: int
    saved_micro: int


def spend(conn: Connection, period_type: str, periods: Iterable[str]) -> dict[str, SpendRow]:
    """budget_summary rows of the given periods (missing periods had no requests)."""
    wanted = list(periods)
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = conn.execute(
        "SELECT period, cost_micro, requests, cache_hits, saved_micro FROM budget_summary "
        f"WHERE period_type = ? AND period IN ({marks})",
        (period_type, *wanted),
    )
    return {r[0]: SpendRow(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def spend_totals(conn: Connection) -> SpendRow:
    """All months together: what was ever spent, requested and saved."""
    r = conn.execute(
        "SELECT COALESCE(SUM(cost_micro), 0), COALESCE(SUM(requests), 0), "
        "COALESCE(SUM(cache_hits), 0), COALESCE(SUM(saved_micro), 0) FROM budget_summary "
        "WHERE period_type = 'month'"
    ).fetchone()
    return SpendRow("all", int(r[0]), int(r[1]), int(r[2]), int(r[3]))


@dataclass(frozen=True)
class CacheRow:
    entries: int
    live_entries: int  # not expired at ``now``
    bytes: int
    hits: int
    misses: int
    saved_micro: int


def cache_figures(conn: Connection, now: int) -> CacheRow:
    e = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(expires_at > ?), 0), COALESCE(SUM(size_bytes), 0) "
        "FROM llm_cache",
        (now,),
    ).fetchone()
    s = conn.execute(
        "SELECT COALESCE(SUM(hits), 0), COALESCE(SUM(misses), 0), COALESCE(SUM(saved_micro), 0) "
        "FROM llm_cache_stats"
    ).fetchone()
    return CacheRow(int(e[0]), int(e[1]), int(e[2]), int(s[0]), int(s[1]), int(s[2]))
