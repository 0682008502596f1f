"""Incremental updates of the code index: a file saved, deleted, renamed or changed outside.

One parse, then a diff against the stored rows by identity (qualified_name, kind,
ordinal): see ``writer.reconcile``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path, PurePosixPath

from mira_ls.config import IndexSettings
from mira_ls.confined import is_inside
from mira_ls.index import walk
from mira_ls.index.languages import language_for_path
from mira_ls.index.resolve import resolve_pending
from mira_ls.index.symbols import Parsed, extract, module_name
from mira_ls.index.worker import FileResult, is_binary, process_bytes, read_source
from mira_ls.index.writer import (
    FileUpdate,
    WorkspaceError,
    WriteCtx,
    remove_file_rows,
    store_result,
)
from mira_ls.paths import text_path
from mira_ls.search.terms import expand
from mira_ls.store import Store, projects
from mira_ls.store import code as cs
from mira_ls.store import search as search_store
from mira_ls.testhooks import pause_point

log = logging.getLogger(__name__)


class ParseCache:
    """The last parse of recently updated files (per process, held by the caller, e.g. the
    server's session): the next save of a file re-parses only what was edited."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[tuple[int, str], Parsed] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, project_id: int, rel: str) -> Parsed | None:
        with self._lock:
            hit = self._items.get((project_id, rel))
            if hit is not None:
                self._items.move_to_end((project_id, rel))
            return hit

    def put(self, project_id: int, rel: str, parsed: Parsed | None) -> None:
        with self._lock:
            if parsed is None:
                self._items.pop((project_id, rel), None)
                return
            self._items[(project_id, rel)] = parsed
            self._items.move_to_end((project_id, rel))
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _norm_rel(rel_path: str) -> str:
    return PurePosixPath(str(rel_path).replace(os.sep, "/")).as_posix()


def update_file(
    store: Store,
    project_id: int,
    root: Path,
    rel_path: str,
    data: bytes | None = None,
    *,
    settings: IndexSettings | None = None,
    cache: ParseCache | None = None,
) -> FileUpdate:
    """Re-index one file after a save or an outside change (``data``: the saved bytes when
    the caller has them; else the file is read). Cheap when nothing changed: one hash.
    ``cache``: keeps this file's parse so its next update re-parses only the edit."""
    settings = settings or IndexSettings()
    rel = _norm_rel(rel_path)
    root = Path(root)
    path = root / rel
    language = language_for_path(rel)
    if language is None:
        return FileUpdate(rel, "unsupported")
    if not is_inside(root, path):  # a link to a file outside the workspace is never indexed
        log.info("not indexing %s: it leads outside the workspace", rel)
        return remove_file(store, project_id, rel)
    mtime: int | None = None
    if data is None:
        status, read, size, mtime, err = read_source(path, settings.max_file_bytes)
        if status == "missing":
            upd = remove_file(store, project_id, rel)
            return upd
        if status != "ok" or read is None:
            return _record_unindexable(store, project_id, rel, language, status, size, mtime, err)
        data = read
    else:
        try:
            st = os.stat(path)
            mtime = st.st_mtime_ns if st.st_size == len(data) else None
        except OSError:
            mtime = None
        if len(data) > settings.max_file_bytes:
            return _record_unindexable(
                store, project_id, rel, language, "skipped_large", len(data), mtime, ""
            )
    conn = store.conn()
    old = cs.get_file(conn, project_id, rel)
    previous = cache.get(project_id, rel) if cache is not None else None
    old_hash = old.content_hash if old and old.status == "indexed" else None
    res = process_bytes(
        rel, data, mtime, old_hash, language, previous, keep_parse=cache is not None
    )
    if cache is not None and res.parsed is not None:
        cache.put(project_id, rel, res.parsed)
    if res.status == "unchanged":
        if (
            old is not None
            and mtime is not None
            and (old.mtime_ns != mtime or old.size_bytes != len(data))
        ):
            with store.write() as c:
                cs.touch_files(c, [(len(data), mtime, old.id)])
        return FileUpdate(rel, "unchanged")
    with store.write(eager=True) as c:  # the saved symbols: what the user looks for next
        old = cs.get_file(c, project_id, rel)
        ctx = WriteCtx(c, project_id, fresh=False, jedi=settings.jedi)
        upd = store_result(ctx, res, old)
        pending = ctx.flush()
    if pending:
        # A transaction of its own: the saved symbols are visible while their calls resolve
        # (tens of ms in a big file). The edges wait flagged in the database, so a kill
        # between the two leaves them for the next index run, which resolves what is pending.
        pause_point("update:resolve")
        with store.write() as c:
            resolve_pending(c, project_id, jedi_next=settings.jedi, file_ids=sorted(pending))
    return upd


def prime_parse(
    cache: ParseCache, project_id: int, root: Path, rel_path: str, settings: IndexSettings
) -> None:
    """Parse a file as it is on disk into ``cache`` (nothing is stored): its first update
    then re-parses only the edit."""
    rel = _norm_rel(rel_path)
    language = language_for_path(rel)
    path = Path(root) / rel
    if language is None or cache.get(project_id, rel) is not None or not is_inside(root, path):
        return
    status, data, _, _, _ = read_source(path, settings.max_file_bytes)
    if status == "ok" and data is not None and not is_binary(data):
        cache.put(project_id, rel, extract(data, text_path(rel), language).parsed)


def _record_unindexable(
    store: Store,
    project_id: int,
    rel: str,
    language: str,
    status: str,
    size: int,
    mtime: int | None,
    error: str,
) -> FileUpdate:
    res = FileResult(
        rel, status if status != "ok" else "error", "", size, mtime, language, error=error or None
    )
    with store.write() as c:
        old = cs.get_file(c, project_id, rel)
        ctx = WriteCtx(c, project_id, fresh=False)
        upd = store_result(ctx, res, old)
        pending = ctx.flush()
        if pending:
            resolve_pending(c, project_id, file_ids=sorted(pending))
    return upd


def remove_file(store: Store, project_id: int, rel_path: str) -> FileUpdate:
    """A file was deleted: its rows go; edges into its symbols are re-resolved."""
    rel = _norm_rel(rel_path)
    with store.write() as c:
        row = cs.get_file(c, project_id, rel)
        if row is None:
            return FileUpdate(rel, "missing")
        ctx = WriteCtx(c, project_id, fresh=False)
        upd = remove_file_rows(ctx, row)
        pending = ctx.flush()
        if pending:
            resolve_pending(c, project_id, file_ids=sorted(pending))
    return upd


def rename_file(store: Store, project_id: int, old: str, new: str) -> FileUpdate:
    """A file moved: its rows follow it (ids kept), then its content is reconciled."""
    old_rel, new_rel = _norm_rel(old), _norm_rel(new)
    conn = store.conn()
    project = projects.by_id(conn, project_id)
    if project is None:
        raise WorkspaceError(f"Project {project_id} is not in the database; index it first.")
    root = Path(project.root_path)
    old_lang, new_lang = language_for_path(old_rel), language_for_path(new_rel)
    with store.write() as c:
        row = cs.get_file(c, project_id, old_rel)
        if row is not None and old_lang is not None and old_lang == new_lang:
            cs.rename_file_rows(
                c,
                project_id,
                row.id,
                new_rel,
                module_name(old_rel, old_lang),
                module_name(new_rel, new_lang),
            )
            cs.flag_file_edges(c, row.id)
            cs.set_module_name(c, row.id, module_name(new_rel, new_lang).rsplit(".", 1)[-1])
            search_store.rename_symbol_rows(c, row.id, expand)
            resolve_pending(c, project_id, file_ids=[row.id])
            moved = True
        else:
            moved = False
    if not moved and cs.get_file(conn, project_id, old_rel) is not None:
        remove_file(store, project_id, old_rel)
    if new_lang is None:
        return FileUpdate(new_rel, "unsupported")
    return update_file(store, project_id, root, new_rel)


def scan_changes(
    store: Store,
    project_id: int,
    root: Path,
    *,
    settings: IndexSettings | None = None,
    trust_git: bool = False,
) -> list[str]:
    """Paths whose bytes differ from the stored ones, plus new and deleted files.

    Cheap: size and mtime decide; the file is hashed only when the size is the same but
    the mtime moved (a touch without a change is not reported)."""
    settings = settings or IndexSettings()
    root = Path(root).resolve()
    listing = walk.list_files(root, settings.exclude, trusted=trust_git)
    stored = cs.files_of_project(store.conn(), project_id)
    out: list[str] = []
    listed: set[str] = set()
    for cand in listing.files:
        listed.add(cand.rel)
        old = stored.get(cand.rel)
        if old is None:
            out.append(cand.rel)
            continue
        if old.size_bytes == cand.size and old.mtime_ns == cand.mtime_ns:
            continue
        if old.size_bytes != cand.size or not old.content_hash:
            out.append(cand.rel)
            continue
        status, data, _, _, _ = read_source(root / cand.rel, settings.max_file_bytes)
        if status != "ok" or data is None:
            out.append(cand.rel)
            continue
        if hashlib.sha256(data).hexdigest() != old.content_hash:
            out.append(cand.rel)
    out.extend(p for p in stored if p not in listed)
    return sorted(out)
