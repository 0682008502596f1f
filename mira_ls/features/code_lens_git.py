"""Code lens "N authors, last by NAME, DATE" above top-level symbols, from cached blame."""

from __future__ import annotations

from typing import Any

from mira_ls.features.hover_git import date
from mira_ls.git import blame
from mira_ls.store.code import SymbolRow


def author_lens_title(sb: blame.SymbolBlame) -> str | None:
    if sb.last is None:
        return "not committed yet" if sb.uncommitted_lines else None
    n = len(sb.owners)
    return (
        f"{n} author{'s' if n != 1 else ''}, last by {sb.last.author_name}, "
        f"{date(sb.last.authored_at)}"
    )


def author_lens_titles(
    store: Any, project_id: int, file_path: str, symbols: list[SymbolRow]
) -> dict[int, str]:
    """symbol id -> lens title for top-level symbols of a blamed file (empty otherwise)."""
    conn = store.conn() if hasattr(store, "conn") else store
    ranges = blame.file_ranges(conn, project_id, file_path)
    if not ranges:
        return {}
    out: dict[int, str] = {}
    for s in symbols:
        if s.parent_id is not None:
            continue
        sb = blame.summarize(ranges, s.start_line, s.end_line)
        title = author_lens_title(sb) if sb is not None else None
        if title:
            out[s.id] = title
    return out
