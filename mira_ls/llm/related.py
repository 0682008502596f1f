"""The "related code" section of a question asked without a position: what search finds.

Hybrid search when the workspace is embedded (the query's vector goes through the budget
like any call and is stored, so asking again is free), keyword search otherwise; the top
hits' code is read from disk, never from files that may not be sent.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mira_ls.config import Settings
from mira_ls.llm.context import Section, Unplaced, _fence, _language
from mira_ls.llm.redact import redact
from mira_ls.llm.workspace_files import FileRefused, read_lines
from mira_ls.search import hybrid
from mira_ls.store import Store

log = logging.getLogger(__name__)

SHOWN_WITH_CODE = 3
LISTED = 8
MAX_LINES = 40
PRIORITY = 2  # after the question's own material, before guidelines and history


def related_code(a: Unplaced) -> list[Section]:
    """A question provider (context.assemble_unplaced): the search hits, the first few with
    their code."""
    section = related_code_section(a.store, a.settings, a.project_id, a.root, a.question, a.secrets)
    return [section] if section is not None else []


def related_code_section(
    store: Store,
    settings: Settings,
    project_id: int,
    root: Path,
    question: str,
    secrets: tuple[str, ...] = (),
) -> Section | None:
    answer = hybrid.search(
        store, settings, question, collection="code", project_ids=[project_id], limit=LISTED
    )
    hits = [r for r in answer.results if r.path and r.line and r.kind != "module"]
    if not hits:
        return None
    parts: list[str] = []
    for i, r in enumerate(hits):
        assert r.path is not None and r.line is not None
        head = f"- `{r.symbol}` ({r.kind}, {r.path}:{r.line}, found by {r.via})"
        parts.append(head)
        if i >= SHOWN_WITH_CODE:
            continue
        end = min(r.end_line or r.line, r.line + MAX_LINES - 1)
        try:  # confined to the workspace; secret-looking and ignored files are refused
            body = read_lines(root, r.path, r.line, end, secrets=secrets)
        except FileRefused as exc:
            log.debug("related code: %s", exc)
            continue
        parts.append(_fence(_language(r.path), body))
    return Section(
        "related",
        "Code related to the question (search results)",
        redact("\n".join(parts), secrets),
        PRIORITY,
    )
