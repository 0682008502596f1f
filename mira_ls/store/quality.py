"""Queries over code_quality_issues (migrations 002 and 021) and what measuring reads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection

CALLABLES = ("function", "method", "constructor")
FINDING_KIND = "quality_finding"  # semantic_analysis_cache.analysis_kind of the LLM's finding


@dataclass(frozen=True)
class Callable:
    """A stored function or method, as measuring needs it."""

    id: int
    file_path: str
    language: str
    qualified_name: str
    name_line: int
    start_line: int
    end_line: int
    complexity: int
    content_hash: str
    nesting: int | None = None  # measured by the index (migration 045); None: not yet
    params: int | None = None


@dataclass(frozen=True)
class IssueRow:
    symbol_id: int | None
    file_path: str
    issue_type: str
    severity: str
    message: str
    start_line: int | None
    end_line: int | None
    content_hash: str | None
    metric: str
    value: int
    threshold: int
    churn: int | None


def callables(conn: Connection, project_id: int, prefix: str = "") -> list[Callable]:
    """The project's functions and methods (under ``prefix``, a project-relative folder or
    file), by file and line."""
    like = prefix.rstrip("/")
    rows = conn.execute(
        "SELECT id, file_path, language, qualified_name, name_line, start_line, end_line, "
        "complexity, content_hash, nesting, params FROM code_elements WHERE project_id = ? "
        "AND kind IN "
        f"({','.join('?' * len(CALLABLES))}) AND (? = '' OR file_path = ? OR file_path LIKE ?)"
        " ORDER BY file_path, name_line",
        (project_id, *CALLABLES, like, like, like + "/%"),
    )
    return [Callable(*r) for r in rows]


def store_shapes(conn: Connection, rows: list[tuple[int, int, int]]) -> None:
    """(nesting, params, id): shapes measured for functions indexed before the index
    measured them."""
    conn.executemany("UPDATE code_elements SET nesting = ?, params = ? WHERE id = ?", rows)


def replace_issues(
    conn: Connection, project_id: int, paths: Iterable[str], issues: list[IssueRow], now: int
) -> None:
    """The open metric issues of these files become exactly ``issues``."""
    ps = list(paths)
    for i in range(0, len(ps), 500):
        part = ps[i : i + 500]
        conn.execute(
            "DELETE FROM code_quality_issues WHERE project_id = ? AND metric IS NOT NULL AND "
            f"file_path IN ({','.join('?' * len(part))})",
            (project_id, *part),
        )
    conn.executemany(
        "INSERT INTO code_quality_issues(project_id, file_path, symbol_id, issue_type, "
        "severity, message, start_line, end_line, content_hash, metric, value, threshold, "
        "churn, detected_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (project_id, x.file_path, x.symbol_id, x.issue_type, x.severity, x.message,
             x.start_line, x.end_line, x.content_hash, x.metric, x.value, x.threshold,
             x.churn, now)
            for x in issues
        ],
    )  # fmt: skip


def _issue(r: Any) -> IssueRow:
    return IssueRow(*r)


_ISSUE_COLS = (
    "symbol_id, file_path, issue_type, severity, message, start_line, end_line, content_hash, "
    "metric, value, threshold, churn"
)


def open_issues(conn: Connection, project_id: int, file_path: str | None = None) -> list[IssueRow]:
    rows = conn.execute(
        f"SELECT {_ISSUE_COLS} FROM code_quality_issues WHERE project_id = ? AND status = 'open'"
        " AND metric IS NOT NULL AND (? IS NULL OR file_path = ?) ORDER BY file_path, start_line",
        (project_id, file_path, file_path),
    )
    return [_issue(r) for r in rows]


@dataclass(frozen=True)
class IssueSite:
    """An open metric issue with the name of its function and where that name is."""

    issue: IssueRow
    name: str
    name_line: int
    name_col: int
    finding: tuple[str, str] | None = None  # the LLM's (why hard, what to split), if asked


def issue_sites(
    conn: Connection, project_id: int, file_path: str, lines: tuple[int, int] | None = None
) -> list[IssueSite]:
    """The file's open metric issues of functions indexed as they were measured (whose
    name is on lines first..last when given), by line."""
    first, last = lines or (0, 1 << 30)
    cols = ", ".join(f"q.{c.strip()}" for c in _ISSUE_COLS.split(","))
    rows = conn.execute(
        f"SELECT {cols}, e.name, e.name_line, e.name_col, c.result FROM code_quality_issues q "
        "JOIN code_elements e ON e.id = q.symbol_id LEFT JOIN semantic_analysis_cache c ON "
        "c.symbol_id = q.symbol_id AND c.content_hash = q.content_hash AND c.analysis_kind = ? "
        "WHERE q.project_id = ? AND q.status = "
        "'open' AND q.metric IS NOT NULL AND q.file_path = ? AND e.name_line BETWEEN ? AND ? "
        "AND e.content_hash = q.content_hash "
        "ORDER BY e.name_line, e.name_col, q.id",
        (FINDING_KIND, project_id, file_path, first, last),
    )
    return [IssueSite(IssueRow(*r[:12]), r[12], r[13], r[14], _finding(r[15])) for r in rows]


def _finding(result: str | None) -> tuple[str, str] | None:
    if not result:
        return None
    try:
        data = json.loads(result)
        return str(data["why_hard"]), str(data["what_to_split"])
    except (ValueError, KeyError, TypeError):
        return None


def store_finding(
    conn: Connection, symbol_id: int, content_hash: str, why_hard: str, split: str, model: str
) -> None:
    """The LLM's finding on a function at this content, replacing an older one."""
    now = int(time.time())
    conn.execute(
        "DELETE FROM semantic_analysis_cache WHERE symbol_id = ? AND analysis_kind = ?",
        (symbol_id, FINDING_KIND),
    )
    conn.execute(
        "INSERT INTO semantic_analysis_cache(symbol_id, content_hash, analysis_kind, result, "
        "confidence, model, created_at, last_used_at) VALUES (?, ?, ?, ?, 0.8, ?, ?, ?)",
        (symbol_id, content_hash, FINDING_KIND,
         json.dumps({"why_hard": why_hard, "what_to_split": split}), model, now, now),
    )  # fmt: skip


def finding_of(conn: Connection, symbol_id: int, content_hash: str) -> tuple[str, str] | None:
    row = conn.execute(
        "SELECT result FROM semantic_analysis_cache WHERE symbol_id = ? AND content_hash = ? "
        "AND analysis_kind = ?",
        (symbol_id, content_hash, FINDING_KIND),
    ).fetchone()
    return _finding(row[0]) if row else None
