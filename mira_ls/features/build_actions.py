"""Code actions on build errors: "Apply past fix" when a recorded resolution's hunks apply to
the current text, and "Show past resolutions" (a markdown summary the server opens).

Nothing is offered for a fix whose context no longer matches: the action is absent, not
an error. Everything here reads the database and the live buffers; nothing runs a build.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from mira_ls import paths
from mira_ls.build import patches, report
from mira_ls.build import resolutions as ranking
from mira_ls.build.resolutions import RankedFix
from mira_ls.dates import day
from mira_ls.features.build_diagnostics import (
    TextOf,
    latest_occurrences,
    to_diagnostic,
)
from mira_ls.features.positions import LineMap
from mira_ls.features.session import Located, ProjectRoot, Session
from mira_ls.llm.patch_guard import guard_for_recorded
from mira_ls.store import build_errors as error_store
from mira_ls.store.build_errors import OccurrenceRow

SHOW_COMMAND = "mira.showResolutions"


def _uri(root: Path, path: str) -> str:
    return (Path(path) if path.startswith("/") else root / path).as_uri()


def fix_title(fix: RankedFix) -> str:
    when = day(fix.at)
    return (
        f"Apply past fix (from {fix.commit[:7]}, {when})"
        if fix.commit
        else (f"Apply past fix (from {when})")
    )


def _text_edits(
    edits: list[patches.FileEdit], text_of: TextOf, encoding: str
) -> dict[str, list[types.TextEdit]] | None:
    by_path: dict[str, list[types.TextEdit]] = {}
    for e in edits:
        text = text_of(e.path)
        if text is None:
            return None
        lines = text.splitlines(keepends=True)
        lm = LineMap(text, encoding)
        start = types.Position(e.start, 0)
        if e.end >= len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
            end = lm.position(len(lines), len(lines[-1]))  # the last line has no newline
        else:
            end = types.Position(e.end, 0)
        by_path.setdefault(e.path, []).append(types.TextEdit(types.Range(start, end), e.new_text))
    return by_path


def applicable_fix(
    session: Session, loc: Located, occ: OccurrenceRow, fix: RankedFix, text_of: TextOf
) -> list[patches.FileEdit] | None:
    """Edits re-applying a past resolution's diff to today's text, if it applies."""
    res = fix.resolution
    if res is None or not res.diff or session.store is None:
        return None
    anchor = None
    if res.before_run_id is not None and occ.line:
        past = error_store.occurrence_of(session.store.conn(), res.before_run_id, res.error_id)
        if past is not None and past.file_path and past.line:
            anchor = (
                past.file_path,
                past.line,
                occ.line if past.file_path == loc.rel_path else past.line,
            )
    return patches.plan(res.diff, text_of, anchor)


def code_actions(
    session: Session,
    loc: Located,
    text: str,
    first_line: int,
    last_line: int,
    encoding: str,
    text_of: TextOf,
) -> list[types.CodeAction]:
    """Actions for build errors on lines first_line..last_line (1-based) of the live text."""
    if session.store is None:
        return []
    pid = loc.project.project_id
    root = loc.project.root
    guard = guard_for_recorded(root)

    def live_text(path: str) -> str | None:
        """A stored diff is applied only to files a patch may touch (llm/patch_guard.py)."""
        if guard.refusal(path) is not None:
            return None
        return text if path == loc.rel_path else text_of(path)

    found = latest_occurrences(session, pid, loc.rel_path, (first_line, last_line))
    if not found:
        return []
    lm = LineMap(text, encoding)
    uri = _uri(root, loc.rel_path)
    conn = session.store.conn()
    ranked: dict[int, list[RankedFix]] = {}
    history = ranking.git_history_blended(session.store, session.settings)  # no endpoint call
    actions: list[types.CodeAction] = []
    offered: set[tuple[int, str]] = set()
    shown: set[int] = set()
    asked: dict[int, types.CodeAction] = {}  # one "Ask Mira to fix" per error, offered last
    for occ, err in found:
        fixes = ranked.get(err.id)
        if fixes is None:
            fixes = ranked[err.id] = ranking.rank(conn, pid, err, historical=history)
        diag = to_diagnostic(occ, err, lm, uri, lambda p: _uri(root, p))
        asked.setdefault(err.id, ask_mira(uri, diag))
        if not fixes:
            continue
        for fix in fixes:  # the best past fix that applies to today's text, if any
            edits = applicable_fix(session, loc, occ, fix, live_text)
            changes = _text_edits(edits, live_text, encoding) if edits else None
            if changes is None:
                continue
            key = (occ.line or 0, repr(edits))
            if key not in offered:
                offered.add(key)
                actions.append(
                    types.CodeAction(
                        title=fix_title(fix),
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diag],
                        is_preferred=fix.match == "same error"
                        and not any(a.is_preferred for a in actions),
                        edit=types.WorkspaceEdit(
                            changes={_uri(root, p): t for p, t in changes.items()}
                        ),
                    )
                )
            break
        if err.id not in shown:
            shown.add(err.id)
            actions.append(
                types.CodeAction(
                    title="Show past resolutions",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diag],
                    command=types.Command(
                        title="Show past resolutions",
                        command=SHOW_COMMAND,
                        arguments=[{"errorHash": err.error_hash, "uri": uri}],
                    ),
                )
            )
    return actions + list(asked.values())


ASK_COMMAND = "mira.fixError"


def ask_mira(uri: str, diag: types.Diagnostic, title: str = "Ask Mira to fix") -> types.CodeAction:
    """ "Ask Mira to fix": sends the error with its context to the LLM (mira.fixError),
    whose answer's patch is offered through the fix path."""

    def pos(p: types.Position) -> dict[str, int]:
        return {"line": p.line, "character": p.character}

    plain = {
        "range": {"start": pos(diag.range.start), "end": pos(diag.range.end)},
        "message": diag.message,
        "code": diag.code,
        "source": diag.source,
    }
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diag],
        command=types.Command(
            title=title,
            command=ASK_COMMAND,
            arguments=[{"uri": uri, "diagnostic": plain}],
        ),
    )


def write_resolutions(
    session: Session, project: ProjectRoot, error_hash: str, limit: int = 10
) -> Path | None:
    """Write the markdown summary of an error's past fixes under the state dir; its path."""
    if session.store is None:
        return None
    conn = session.store.conn()
    err = error_store.by_hash(conn, project.project_id, error_hash)
    if err is None:
        return None
    fixes = ranking.rank(
        conn,
        project.project_id,
        err,
        limit=limit,
        historical=ranking.git_history_blended(session.store, session.settings),
    )
    out_dir = paths.answers_dir() / "resolutions"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{project.root.name or 'project'}-{error_hash[:12]}.md"
    out.write_text(report.render(project.root, err, fixes), encoding="utf-8")
    return out
