"""An error's identity across runs, and one run's parsed errors grouped by it.

error_hash = SHA-256(tool, code, normalized message, file basename): the line, the
directory and volatile details do not count, so an error that moves keeps its row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mira_ls.build.categories import category_for
from mira_ls.build.locations import basename
from mira_ls.build.model import ParsedError
from mira_ls.build.normalize import normalize_message
from mira_ls.store.build_errors import ErrorRecord, OccurrenceRecord


def error_hash(tool: str, code: str, normalized_message: str, file_path: str | None) -> str:
    key = "\x1f".join((tool, code, normalized_message, basename(file_path)))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class RunErrors:
    """One run's errors: a record per distinct error, every occurrence, and the counts."""

    records: list[ErrorRecord]
    occurrences: list[OccurrenceRecord]
    error_count: int
    warning_count: int

    @property
    def hashes(self) -> set[str]:
        return {r.error_hash for r in self.records}


def group(parsed: list[ParsedError]) -> RunErrors:
    records: dict[str, ErrorRecord] = {}
    occurrences: list[OccurrenceRecord] = []
    errors = warnings = 0
    norm_cache: dict[str, str] = {}
    for p in parsed:
        norm = norm_cache.get(p.message)
        if norm is None:
            norm = norm_cache[p.message] = normalize_message(p.message)
        h = error_hash(p.tool, p.code, norm, p.file_path)
        if h not in records:
            records[h] = ErrorRecord(
                error_hash=h,
                tool=p.tool,
                code=p.code,
                category=category_for(p.tool, p.code, p.message),
                severity=p.severity,
                message=p.message,
                normalized_message=norm,
                file_path=p.file_path,
                line=p.line,
                col=p.col,
                end_line=p.end_line,
                end_col=p.end_col,
            )
        occurrences.append(
            OccurrenceRecord(
                error_hash=h,
                file_path=p.file_path,
                line=p.line,
                col=p.col,
                end_line=p.end_line,
                end_col=p.end_col,
                message=p.message,
                related=list(p.related),
                hint=p.hint,
            )
        )
        if p.severity == "error":
            errors += 1
        elif p.severity == "warning":
            warnings += 1
    return RunErrors(list(records.values()), occurrences, errors, warnings)
