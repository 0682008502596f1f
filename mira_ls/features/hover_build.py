"""Hover section for a line with build errors: how often each was seen, and its best past fix."""

from __future__ import annotations

from mira_ls.build import resolutions as ranking
from mira_ls.dates import day
from mira_ls.features.build_diagnostics import latest_occurrences, seen_text
from mira_ls.features.session import Located, Session
from mira_ls.store.code import SymbolRow

DIFF_LINES = 12


def _short_diff(diff: str) -> str:
    """The first hunk, without the file headers, at most DIFF_LINES lines."""
    body = [ln for ln in diff.splitlines() if not ln.startswith(("---", "+++"))]
    out: list[str] = []
    for ln in body:
        if ln.startswith("@@") and out:
            break
        out.append(ln)
    if len(out) > DIFF_LINES:
        out = [*out[:DIFF_LINES], "…"]
    return "\n".join(out)


def build_sections(session: Session, loc: Located, row: SymbolRow | None, line: int) -> list[str]:
    """Markdown blocks for build errors on ``line`` (1-based); none when the line has none."""
    if session.store is None:
        return []
    found = latest_occurrences(session, loc.project.project_id, loc.rel_path, (line, line))
    blocks: list[str] = []
    seen: set[int] = set()
    conn = session.store.conn()
    # Meaning blends into the past fixes only from vectors already stored: a hover never
    # calls the embedding endpoint.
    history = ranking.git_history_blended(session.store, session.settings)
    for occ, err in found:
        if err.id in seen:
            continue
        seen.add(err.id)
        label = f"{err.tool} {err.code}".strip()
        text = [f"**Build error** `{label}` {occ.message.splitlines()[0]} · {seen_text(err)}"]
        best = ranking.rank(conn, loc.project.project_id, err, limit=1, historical=history)
        if best:
            f = best[0]
            src = f"commit `{f.commit[:7]}`, " if f.commit else ""
            desc = f"**Best past fix** ({f.match}, {src}{day(f.at)})"
            if f.subject:
                desc += f": {f.subject}"
            text.append(desc)
            if f.diff:
                text.append(f"```diff\n{_short_diff(f.diff)}\n```")
        blocks.append("\n\n".join(text))
    return blocks
