"""Quality issues in the editor (``mira.quality.diagnostics``, off by default): one
diagnostic per function over a threshold, on its name, with the sentences saying what is
hard and what to split; Hint, or Information when severe (high, critical) or in a hotspot.
Code actions on them: "Explain" (mira.explain at the function) and "Ask Mira to refactor"
(mira.fixError with the diagnostic: the answer's patch goes through fixError's path).

Publishing measures the file first (storing its issues, as ``mira-ls quality`` does);
code actions only read what is stored, for functions whose indexed text is what was
measured.
"""

from __future__ import annotations

from itertools import groupby

from lsprotocol import types

from mira_ls.features.build_actions import ask_mira
from mira_ls.features.positions import LineMap
from mira_ls.features.session import Located, Session
from mira_ls.index.languages import language_for_path
from mira_ls.store import quality as qs
from mira_ls.understand import quality

SOURCE = "mira-ls quality"
EXPLAIN_COMMAND = "mira.explain"
SEVERE = ("high", "critical")


def _diagnostic(sites: list[qs.IssueSite], lm: LineMap) -> types.Diagnostic:
    """One function's issues (same symbol) as one diagnostic on its name."""
    first = sites[0]
    issues = [s.issue for s in sites]
    worst = max(issues, key=lambda i: quality.SEVERITIES.index(i.severity))
    hot = any(quality.in_hotspot(i) for i in issues)
    info = hot or worst.severity in SEVERE
    col = first.name_col
    message = "\n".join(i.message for i in issues)
    if first.finding is not None:  # the LLM's, from mira-ls quality --findings
        why, split = first.finding
        message += f"\nWhy it is hard to change: {why}\nWhat to split: {split}"
    return types.Diagnostic(
        range=lm.range(first.name_line, col, first.name_line, col + len(first.name)),
        message=message,
        severity=types.DiagnosticSeverity.Information if info else types.DiagnosticSeverity.Hint,
        source=SOURCE,
        code=worst.metric,
        data={
            "symbolId": first.issue.symbol_id,
            "severity": worst.severity,
            "hotspot": hot,
            "metrics": {i.metric: {"value": i.value, "threshold": i.threshold} for i in issues},
        },
    )


def _diagnostics(sites: list[qs.IssueSite], text: str, encoding: str) -> list[types.Diagnostic]:
    lm = LineMap(text, encoding)
    by_symbol = groupby(sites, key=lambda s: s.issue.symbol_id)
    return [_diagnostic(list(group), lm) for _, group in by_symbol]


def file_diagnostics(
    session: Session, loc: Located, text: str, encoding: str
) -> list[types.Diagnostic] | None:
    """Measure one open file and return its quality diagnostics ([] when the setting is off
    or nothing passes a threshold); None when the file cannot be measured now (not indexed
    yet, or changed on disk since), so what is shown stays until it can."""
    store = session.store
    if not session.settings.quality.diagnostics or store is None:
        return []
    if language_for_path(loc.rel_path) is None:
        return []
    pid = loc.project.project_id
    limits = quality.Thresholds.from_settings(session.settings.quality)
    run = quality.measure_project(store, pid, loc.project.root, loc.rel_path, limits)
    if run.skipped or not run.files:
        return None
    return _diagnostics(qs.issue_sites(store.conn(), pid, loc.rel_path), text, encoding)


def code_actions(
    session: Session, loc: Located, text: str, first_line: int, last_line: int, encoding: str
) -> list[types.CodeAction]:
    """ "Explain" and "Ask Mira to refactor" for the quality diagnostics on lines
    first_line..last_line (1-based) of the live text."""
    store = session.store
    if not session.settings.quality.diagnostics or store is None:
        return []
    sites = qs.issue_sites(
        store.conn(), loc.project.project_id, loc.rel_path, (first_line, last_line)
    )
    if not sites:
        return []
    uri = (loc.project.root / loc.rel_path).as_uri()
    lm = LineMap(text, encoding)
    out: list[types.CodeAction] = []
    for _, group in groupby(sites, key=lambda s: s.issue.symbol_id):
        items = list(group)
        diag = _diagnostic(items, lm)
        start, title = diag.range.start, f"Explain {items[0].name}"
        out.append(
            types.CodeAction(
                title=title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diag],
                command=types.Command(
                    title=title,
                    command=EXPLAIN_COMMAND,
                    arguments=[
                        {"uri": uri, "position": {"line": start.line, "character": start.character}}
                    ],
                ),
            )
        )
        out.append(ask_mira(uri, diag, "Ask Mira to refactor"))
    return out
