"""Quality issues without the LLM: complexity, nesting, length and parameters per function,
weighed by how often the file changes.

Each metric over its threshold is one ``code_quality_issues`` row with a severity (how far
over, one step worse in a hotspot: a file among the most changed ones in the mined git
history) and a sentence saying what is hard and what to do. Files whose bytes on disk are
not what was indexed are skipped (the caller indexes first), so lines stay right.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.config import QualitySettings
from mira_ls.confined import OutsideWorkspace, resolve_inside
from mira_ls.store import Store, git_history
from mira_ls.store import code as code_store
from mira_ls.store import quality as q
from mira_ls.understand.metrics import FunctionShape, measure

log = logging.getLogger(__name__)

SEVERITIES = ("info", "low", "medium", "high", "critical")
HOTSPOT_MIN_COMMITS = 3


@dataclass(frozen=True)
class Thresholds:
    complexity: int = 10
    nesting: int = 4
    length: int = 60
    params: int = 5

    @classmethod
    def from_settings(cls, qs: QualitySettings) -> Thresholds:
        """The ``mira.quality.max*`` settings (what the CLI's flags default to)."""
        return cls(qs.max_complexity, qs.max_nesting, qs.max_length, qs.max_params)


@dataclass
class Measured:
    """One function's metrics, with the issues it has."""

    path: str
    line: int
    symbol: str
    symbol_id: int
    complexity: int
    nesting: int
    length: int
    params: int
    churn: int | None
    hotspot: bool
    issues: list[q.IssueRow] = field(default_factory=list)

    @property
    def severity(self) -> str | None:
        if not self.issues:
            return None
        return max((i.severity for i in self.issues), key=SEVERITIES.index)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "symbol": self.symbol,
            "complexity": self.complexity,
            "nesting": self.nesting,
            "length": self.length,
            "params": self.params,
            "churn": self.churn,
            "hotspot": self.hotspot,
            "severity": self.severity,
            "issues": [
                {"metric": i.metric, "value": i.value, "threshold": i.threshold,
                 "severity": i.severity, "message": i.message}
                for i in self.issues
            ],
        }  # fmt: skip


@dataclass
class QualityRun:
    functions: list[Measured]
    files: int
    skipped: list[str]  # "path: why"
    seconds: float

    @property
    def with_issues(self) -> list[Measured]:
        ranked = [m for m in self.functions if m.issues]
        ranked.sort(
            key=lambda m: (-SEVERITIES.index(m.severity or "info"), -m.complexity, m.path, m.line)
        )
        return ranked


_TYPE = {
    "complexity": "complexity",
    "nesting": "complexity",
    "length": "long_function",
    "params": "other",
}
_WHAT = {
    "complexity": ("has cyclomatic complexity {v} (threshold {t})",
                   "split its branches into smaller functions or a table of cases"),
    "nesting": ("nests control structures {v} levels deep (threshold {t})",
                "return early or move the inner loops into functions of their own"),
    "length": ("is {v} lines long (threshold {t})",
               "extract the steps it performs into named functions"),
    "params": ("takes {v} parameters (threshold {t})",
               "group the ones that travel together into one object"),
}  # fmt: skip


def severity(value: int, threshold: int, hotspot: bool) -> str:
    ratio = value / max(threshold, 1)
    level = 1 if ratio <= 1.5 else 2 if ratio <= 2.5 else 3  # low, medium, high
    return SEVERITIES[min(level + hotspot, len(SEVERITIES) - 1)]


def _sentence(name: str, metric: str, value: int, threshold: int, churn: int | None,
              hotspot: bool) -> str:  # fmt: skip
    what, advice = _WHAT[metric]
    text = f"{name} {what.format(v=value, t=threshold)}"
    if hotspot:
        text += (
            f"; its file changed in {churn} commits, among the most changed, so it is "
            "hard to change safely where it changes most"
        )
    return f"{text}: {advice}."


def in_hotspot(issue: q.IssueRow) -> bool:
    """Whether an issue was found in a hotspot: its severity is one step above what its
    value alone gives."""
    return issue.severity != severity(issue.value, issue.threshold, False)


def hotspot_floor(commits: list[int]) -> int:
    """Commits from which a file counts as a hotspot: the top quarter of changed files,
    and never fewer than HOTSPOT_MIN_COMMITS."""
    if not commits:
        return 1 << 30
    ranked = sorted(commits, reverse=True)
    return max(ranked[max(len(ranked) // 4 - 1, 0)], HOTSPOT_MIN_COMMITS)


def _issues(m: Measured, c: q.Callable, limits: Thresholds) -> list[q.IssueRow]:
    out = []
    for metric in ("complexity", "nesting", "length", "params"):
        value, threshold = getattr(m, metric), getattr(limits, metric)
        if value <= threshold:
            continue
        out.append(
            q.IssueRow(
                c.id, c.file_path, _TYPE[metric], severity(value, threshold, m.hotspot),
                _sentence(c.qualified_name.rsplit(".", 1)[-1], metric, value, threshold,
                          m.churn, m.hotspot),
                c.name_line, c.end_line, c.content_hash, metric, value, threshold, m.churn,
            )
        )  # fmt: skip
    return out


def measure_project(
    store: Store,
    project_id: int,
    root: Path,
    prefix: str = "",
    limits: Thresholds | None = None,
) -> QualityRun:
    """Measure the functions under ``prefix`` and store their issues (replacing the
    previous ones of the files measured)."""
    t0 = time.perf_counter()
    limits = limits or Thresholds()
    conn = store.conn()
    funcs = q.callables(conn, project_id, prefix)
    by_file: dict[str, list[q.Callable]] = {}
    for c in funcs:
        by_file.setdefault(c.file_path, []).append(c)
    stats = git_history.all_file_stats(conn, project_id)
    churn = {p: n for p, n, _ in stats}
    floor = hotspot_floor([n for _, n, _ in stats])
    files = code_store.files_of_project(conn, project_id)
    measured: list[Measured] = []
    skipped: list[str] = []
    done: list[str] = []
    backfill: list[tuple[int, int, int]] = []
    for path, items in by_file.items():
        row = files.get(path)
        try:
            data = resolve_inside(root, path).read_bytes()
        except (OSError, OutsideWorkspace) as exc:
            skipped.append(f"{path}: {exc}")
            continue
        if row is None or hashlib.sha256(data).hexdigest() != row.content_hash:
            skipped.append(f"{path}: changed since it was indexed")
            continue
        if all(c.nesting is not None and c.params is not None for c in items):
            shapes = {c.id: FunctionShape(c.nesting or 0, c.params or 0) for c in items}
        else:  # indexed before the index measured shapes: parse once, keep what it says
            by_line = measure(data, items[0].language)
            shapes = {c.id: by_line.get(c.name_line) or FunctionShape(0, 0) for c in items}
            backfill.extend((s.nesting, s.params, i) for i, s in shapes.items())
        n = churn.get(path)
        hot = n is not None and n >= floor
        for c in items:
            shape = shapes[c.id]
            length = c.end_line - c.start_line + 1
            m = Measured(path, c.name_line, c.qualified_name, c.id, c.complexity,
                         shape.nesting, length, shape.params, n, hot)  # fmt: skip
            m.issues = _issues(m, c, limits)
            measured.append(m)
        done.append(path)
    now = int(time.time())
    with store.write() as w:
        if backfill:
            q.store_shapes(w, backfill)
        q.replace_issues(w, project_id, done, [i for m in measured for i in m.issues], now)
    return QualityRun(measured, len(done), skipped, time.perf_counter() - t0)
