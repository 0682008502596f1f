"""Keyword-index rows for symbols stored before the index existed (a database from before
migration 016): their files are read and split again; nothing else is rewritten."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mira_ls.config import IndexSettings
from mira_ls.index.languages import language_for_path
from mira_ls.index.worker import process_bytes, read_source
from mira_ls.search.terms import expand
from mira_ls.store import Store
from mira_ls.store import search as search_store


def backfill_search(
    store: Store,
    pid: int,
    root: Path,
    settings: IndexSettings,
    cancel: Callable[[], bool] | None = None,
) -> int:
    """Returns the rows added; the project is marked done once none is missing."""
    added = 0
    conn = store.conn()
    for file_id, rel in search_store.files_missing_rows(conn, pid):
        if cancel is not None and cancel():
            return added
        status, data, _, _, _ = read_source(root / rel, settings.max_file_bytes)
        if status != "ok" or data is None:
            continue
        res = process_bytes(rel, data, None, None, language_for_path(rel, data[:4096]))
        if res.symbols is None or res.search is None:
            continue
        text = {(s[2], s[0], s[3]): t for s, t in zip(res.symbols, res.search, strict=True)}
        path_text = expand(rel)
        rows: list[search_store.SymbolText] = []
        with store.write() as c:
            for sid, qn, kind, ordinal, has_row in search_store.symbols_of_file(c, file_id):
                t = text.get((qn, kind, ordinal))
                if t is not None and not has_row:
                    rows.append((sid, t[0], t[1], path_text, t[2], t[3], t[4]))
            search_store.insert_symbol_rows(c, rows)
        added += len(rows)
    with store.write() as c:
        search_store.set_backfilled(c, pid)
    return added
