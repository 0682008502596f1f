"""Diagnostics for build errors: what the latest complete run of each build command reported,
per file, with the tool as source and "seen N times since DATE" as related information.

A file whose errors are gone in the next run gets an empty list, which clears it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types

from mira_ls.dates import day
from mira_ls.features.positions import LineMap
from mira_ls.features.session import ProjectRoot, Session
from mira_ls.store import build_errors as error_store
from mira_ls.store import build_runs as run_store
from mira_ls.store.build_errors import ErrorRow, OccurrenceRow

SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}
_WORD = re.compile(r"\w+")

TextOf = Callable[[str], str | None]  # project-relative path -> live text (None: unreadable)


def seen_text(err: ErrorRow) -> str:
    n = err.occurrence_count
    return f"seen {n} time{'s' * (n != 1)} since {day(err.first_seen_at)}"


def latest_run_ids(session: Session, project_id: int) -> list[int]:
    if session.store is None:
        return []
    return [r.id for r in run_store.latest_complete_runs(session.store.conn(), project_id)]


def latest_occurrences(
    session: Session,
    project_id: int,
    file_path: str | None = None,
    lines: tuple[int, int] | None = None,
) -> list[tuple[OccurrenceRow, ErrorRow]]:
    """The errors the latest complete run of each command reported (in one file, or all;
    on lines first..last when given)."""
    if session.store is None:
        return []
    runs = latest_run_ids(session, project_id)
    if not runs:
        return []
    return error_store.occurrences(session.store.conn(), runs, file_path, lines)


def occurrence_range(lm: LineMap, occ: OccurrenceRow) -> types.Range:
    """The range a tool reported; without columns, the line's text; without an end, the word."""
    line = max(occ.line or 1, 1)
    text = lm.line(line - 1)
    start = occ.col - 1 if occ.col else len(text) - len(text.lstrip())
    if occ.end_line and occ.end_col and (occ.end_line, occ.end_col - 1) >= (line, start):
        return lm.range(line, start, occ.end_line, occ.end_col - 1)
    if occ.col:
        m = _WORD.match(text, start)
        end = m.end() if m else min(start + 1, len(text))
    else:
        end = len(text.rstrip())
    return lm.range(line, start, line, max(end, start))


def to_diagnostic(
    occ: OccurrenceRow, err: ErrorRow, lm: LineMap, uri: str, uri_of: Callable[[str], str]
) -> types.Diagnostic:
    rng = occurrence_range(lm, occ)
    related = [types.DiagnosticRelatedInformation(types.Location(uri, rng), seen_text(err))]
    for path, line in occ.related:
        pos = types.Position(max(line - 1, 0), 0)
        related.append(
            types.DiagnosticRelatedInformation(
                types.Location(uri_of(path), types.Range(pos, pos)), "related location"
            )
        )
    message = occ.message if not occ.hint else f"{occ.message}\n{occ.hint}"
    return types.Diagnostic(
        range=rng,
        message=message,
        severity=SEVERITY.get(err.severity),
        code=err.code or None,
        source=err.tool,
        related_information=related,
        data={"errorHash": err.error_hash, "errorId": err.id, "runId": occ.run_id},
    )


def diagnostics_by_file(
    session: Session,
    project: ProjectRoot,
    encoding: str,
    text_of: TextOf,
    *,
    unchanged_since_run: bool = False,
) -> dict[str, list[types.Diagnostic]]:
    """File URI -> diagnostics, for every file the latest runs named.

    ``unchanged_since_run``: only files not modified since the run that reported them started
    (what a restarted server shows again: an edited file's reported lines may have moved, and
    its errors come back with the next build)."""
    root = project.root

    def uri_of(path: str) -> str:
        return (Path(path) if path.startswith("/") else root / path).as_uri()

    started: dict[int, int] = {}
    if unchanged_since_run and session.store is not None:
        runs = run_store.latest_complete_runs(session.store.conn(), project.project_id)
        started = {r.id: r.started_at for r in runs}
    mtimes: dict[str, int | None] = {}

    def unchanged(path: str, run_id: int) -> bool:
        if path not in mtimes:
            try:
                p = Path(path) if path.startswith("/") else root / path
                mtimes[path] = int(p.stat().st_mtime)
            except OSError:
                mtimes[path] = None  # gone: nothing to show
        m = mtimes[path]
        return m is not None and m <= started.get(run_id, -1)

    grouped: dict[str, list[tuple[OccurrenceRow, ErrorRow]]] = {}
    for occ, err in latest_occurrences(session, project.project_id):
        if occ.file_path and (not unchanged_since_run or unchanged(occ.file_path, occ.run_id)):
            grouped.setdefault(occ.file_path, []).append((occ, err))
    out: dict[str, list[types.Diagnostic]] = {}
    for path, items in grouped.items():
        lm = LineMap(text_of(path), encoding)
        uri = uri_of(path)
        out[uri] = [to_diagnostic(o, e, lm, uri, uri_of) for o, e in items]
    return out
