"""The single writer of the code index: one file's fresh extract against its stored rows.

Shared by the full index (``indexer``) and the incremental update (``incremental``); rows
are collected per file and written by ``WriteCtx.flush()`` inside the caller's
transaction.
"""

from __future__ import annotations

import pickle
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mira_ls.index.resolve import (
    NEEDS_JEDI,
    NEEDS_PROJECT,
    SETTLED,
    TARGET_KINDS,
    StagedCalls,
    pack_staged,
)
from mira_ls.index.worker import FileResult
from mira_ls.paths import text_path
from mira_ls.search.terms import expand
from mira_ls.store import code as cs
from mira_ls.store import search as search_store
from mira_ls.store.connection import Connection
from mira_ls.store.invalidation import invalidate_symbols


class WorkspaceError(Exception):
    """The workspace cannot be indexed at all (str(exc) says why and what to do)."""


@dataclass
class FileUpdate:
    """What an incremental update did to one file.

    status: 'unchanged' (same bytes), 'indexed', 'removed', 'skipped_binary',
    'skipped_large', 'error', 'unsupported' (not a language we index), 'missing'."""

    rel_path: str
    status: str
    unchanged: int = 0
    body_changed: int = 0
    signature_changed: int = 0
    added: int = 0
    removed: int = 0
    changed_content_hashes: list[str] = field(default_factory=list)
    changed_symbol_ids: list[int] = field(default_factory=list)
    error: str | None = None
    search_rewritten: int = 0  # keyword-index rows written (a body edit: one)


class WriteCtx:
    """The single writer's state inside one transaction.

    Rows are collected per file and written by ``flush()`` in an order that keeps foreign
    keys valid: new symbols (parents first), updates and moves, then deletions, then edges,
    flags, imports and cache invalidation. With ``stage=True`` (full index) calls that need
    project-wide resolution are staged instead of stored, and stored once resolved."""

    def __init__(
        self,
        conn: Connection,
        project_id: int,
        *,
        fresh: bool,
        stage: bool = False,
        jedi: bool = True,
    ) -> None:
        self.conn = conn
        self.project_id = project_id
        self.fresh = fresh
        self.stage = stage
        self.jedi = jedi
        self.now = int(time.time())
        self._next_id: int | None = None
        self.sym_inserts: list[tuple[Any, ...]] = []
        self.sym_updates: list[tuple[Any, ...]] = []
        self.sym_moves: list[tuple[Any, ...]] = []
        self.sym_deletes: list[int] = []
        self.edge_delete_callers: list[int] = []
        self.edge_shifts: list[tuple[int, int]] = []
        self.edge_lines: list[tuple[int, int]] = []
        self.edge_inserts: list[tuple[Any, ...]] = []
        # Kept by the caller once the transaction commits (flush() leaves it alone).
        self.staged_files: list[StagedCalls] = []
        self.sig_ids: list[int] = []
        self.added_names: list[str] = []
        self.imports_new: list[tuple[Any, ...]] = []
        self.imports_replace: list[int] = []
        self.invalid_ids: list[int] = []
        self.invalid_hashes: list[str] = []
        self.pending_files: set[int] = set()
        self.fts_inserts: list[search_store.SymbolText] = []
        self.fts_replaces: list[search_store.SymbolText] = []

    def mark(self) -> int:
        """Where ``discard`` returns to (rows are collected until ``flush``)."""
        return len(self.staged_files)

    def discard(self, mark: int) -> None:
        """Forget what was collected since ``mark``, after the caller rolled its rows back."""
        for lst in (
            self.sym_inserts, self.sym_updates, self.sym_moves, self.sym_deletes,
            self.edge_delete_callers, self.edge_shifts, self.edge_lines, self.edge_inserts,
            self.sig_ids, self.added_names, self.imports_new, self.imports_replace,
            self.invalid_ids, self.invalid_hashes, self.fts_inserts, self.fts_replaces,
        ):  # fmt: skip
            lst.clear()
        self.pending_files.clear()
        del self.staged_files[mark:]
        self._next_id = None

    def take_id(self) -> int:
        return self.take_ids(1)

    def take_ids(self, n: int) -> int:
        """The first of ``n`` consecutive new symbol ids."""
        if self._next_id is None:
            self._next_id = cs.next_symbol_id(self.conn)
        sid = self._next_id
        self._next_id += n
        return sid

    def flush(self) -> set[int]:
        """Write everything collected; returns ids of files with edges needing resolution."""
        conn = self.conn
        flagged: list[int] = []
        if self.sym_inserts:
            cs.insert_symbols(conn, self.sym_inserts, bulk=self.stage)
        if self.fts_inserts:
            search_store.insert_symbol_rows(conn, self.fts_inserts)
        if self.sym_updates:
            cs.update_symbols(conn, self.sym_updates)
        if self.fts_replaces:
            search_store.replace_symbol_rows(conn, self.fts_replaces)
        if self.sym_moves:
            cs.move_symbols(conn, self.sym_moves)
        if self.sym_deletes:
            flagged.extend(cs.delete_symbols(conn, self.sym_deletes))
        if self.edge_delete_callers:
            cs.delete_edges_from(conn, self.edge_delete_callers)
        if self.edge_shifts:
            cs.shift_edges(conn, self.edge_shifts)
        if self.edge_lines:
            cs.set_edge_lines(conn, self.edge_lines)
        if self.edge_inserts:
            cs.insert_edges(conn, self.edge_inserts)
        if self.sig_ids:
            flagged.extend(cs.flag_callers_of(conn, self.sig_ids))
        if self.added_names and not self.fresh:
            flagged.extend(cs.flag_unresolved_named(conn, self.project_id, self.added_names))
        for file_id in self.imports_replace:
            cs.replace_imports(conn, self.project_id, file_id, [])
        if self.imports_new:
            cs.insert_import_rows(conn, self.imports_new)
        if self.invalid_ids or self.invalid_hashes:
            invalidate_symbols(conn, self.invalid_ids, self.invalid_hashes)
        pending = set(self.pending_files)
        if flagged:
            pending |= cs.file_ids_of_symbols(conn, flagged)
        for lst in (
            self.sym_inserts,
            self.sym_updates,
            self.sym_moves,
            self.sym_deletes,
            self.edge_delete_callers,
            self.edge_shifts,
            self.edge_inserts,
            self.sig_ids,
            self.added_names,
            self.imports_new,
            self.imports_replace,
            self.invalid_ids,
            self.invalid_hashes,
            self.fts_inserts,
            self.fts_replaces,
        ):
            lst.clear()
        self.pending_files.clear()
        return pending


def reconcile(
    ctx: WriteCtx,
    file_id: int,
    rel: str,
    language: str,
    symbols: list[tuple[Any, ...]],
    calls: list[tuple[Any, ...]],
    imports: list[tuple[Any, ...]],
    *,
    is_new: bool,
    staged: bytes | None = None,
    staged_count: int = 0,
    search: Sequence[tuple[str, str, str, str, str]] | None = None,
) -> FileUpdate:
    """Bring one file's stored rows in line with a fresh extract (written at flush).

    ``staged``: the extract's calls needing project-wide resolution, split off by the
    worker (FileResult.staged); ``search``: the keyword index's text per symbol."""
    if is_new:
        return _insert_new(
            ctx, file_id, rel, language, symbols, calls, imports, staged, staged_count, search
        )
    if staged is not None:
        calls = calls + [(*c[:5], None, NEEDS_PROJECT, c[5]) for c in pickle.loads(staged)]
    conn, pid, now = ctx.conn, ctx.project_id, ctx.now
    upd = FileUpdate(rel, "indexed")
    stored = (
        {}
        if is_new
        else {(k.qualified_name, k.kind, k.ordinal): k for k in cs.stored_keys(conn, file_id)}
    )
    ids: list[int] = [0] * len(symbols)
    existing: list[int] = []
    shifts: list[tuple[int, int]] = []
    rewrite: set[int] = set()
    text_new: list[tuple[int, int]] = []  # (index, symbol id) whose search row is written
    text_edited: list[tuple[int, int]] = []
    new_idx: list[int] = []
    for i, s in enumerate(symbols):
        (kind, name, qn, ordinal, parent, sl, sc, el, ec, nl, nc, sig, doc, ch, sh, cx, nt, pc) = s
        parent_id = ids[parent] if parent is not None else None
        old = stored.pop((qn, kind, ordinal), None) if stored else None
        if old is None:
            sid = ctx.take_id()
            ids[i] = sid
            ctx.sym_inserts.append(
                (sid, pid, file_id, rel, language, kind, name, qn, ordinal, parent_id,
                 sl, sc, el, ec, nl, nc, sig, doc, ch, sh, cx, nt, pc, now)
            )  # fmt: skip
            text_new.append((i, sid))
            upd.added += 1
            rewrite.add(i)
            new_idx.append(i)
            if not is_new and kind in TARGET_KINDS:
                ctx.added_names.append(name)
            continue
        ids[i] = old.id
        existing.append(i)
        if old.content_hash == ch:
            upd.unchanged += 1
            place = (parent_id, sl, sc, el, ec, nl, nc)
            old_place = (old.parent_id, old.start_line, old.start_col, old.end_line,
                         old.end_col, old.name_line, old.name_col)  # fmt: skip
            if place != old_place:
                ctx.sym_moves.append((*place, old.id))
                if sc == old.start_col and sl != old.start_line:
                    shifts.append((i, sl - old.start_line))
                elif sc != old.start_col:
                    rewrite.add(i)
            continue
        ctx.sym_updates.append(
            (parent_id, sl, sc, el, ec, nl, nc, sig, doc, ch, sh, cx, nt, pc, now, old.id)
        )
        upd.changed_symbol_ids.append(old.id)
        upd.changed_content_hashes.append(old.content_hash)
        text_edited.append((i, old.id))
        rewrite.add(i)
        if old.signature_hash != sh:
            upd.signature_changed += 1
            ctx.sig_ids.append(old.id)
        else:
            upd.body_changed += 1
    if search is not None:
        _queue_search(ctx, upd, rel, search, text_new, text_edited)
    removed = list(stored.values())
    upd.removed = len(removed)
    if removed:
        ctx.sym_deletes.extend(r.id for r in removed)
        upd.changed_symbol_ids.extend(r.id for r in removed)
        upd.changed_content_hashes.extend(r.content_hash for r in removed)
    if removed:
        rewrite = set(range(len(symbols)))  # local targets of unchanged symbols may go
    elif not is_new and rewrite:
        if upd.added:
            # A new definition can change what other calls of the file mean: every symbol
            # whose calls differ from the stored ones (a receiver's type may now come from
            # an assignment in the new code) and every symbol with a call naming a new
            # definition (as the callee, in the receiver or its type: 'helper()',
            # 'Helper().run()') has its calls placed again; the others keep their edges (a
            # save that adds a function to a big module re-resolved every call in it).
            rewrite = set(range(len(symbols)))
        _keep_same_calls(ctx, rewrite, ids, calls)
        if upd.added:
            added = {symbols[i][1] for i in new_idx}
            rewrite |= {c[0] for c in calls if _names_any(c, added)}
    if not is_new:
        ctx.edge_delete_callers.extend(ids[i] for i in existing if i in rewrite)
        ctx.edge_shifts.extend((d, ids[i]) for i, d in shifts if i not in rewrite)
    _place_calls(ctx, file_id, rel, language, ids, calls, rewrite)
    if not is_new:
        ctx.imports_replace.append(file_id)
    ctx.imports_new.extend((pid, file_id, *imp) for imp in imports)
    if upd.changed_symbol_ids:
        ctx.invalid_ids.extend(upd.changed_symbol_ids)
        ctx.invalid_hashes.extend(upd.changed_content_hashes)
    return upd


def _place_calls(
    ctx: WriteCtx,
    file_id: int,
    rel: str,
    language: str,
    ids: list[int],
    calls: list[tuple[Any, ...]],
    rewrite: set[int],
) -> None:
    """The edges of the symbols in ``rewrite``: placed locally, settled, staged for the
    project-wide pass (full index) or stored pending (incremental)."""
    pid = ctx.project_id
    pending = False
    to_stage: list[tuple[Any, ...]] = []
    for caller, name, receiver, line, col, target, need, rtype in calls:
        if caller not in rewrite:
            continue
        if target is not None:
            ctx.edge_inserts.append(
                (pid, ids[caller], ids[target], name, receiver, line, col, "scope", 0, rtype, None)
            )
        elif need != NEEDS_PROJECT:
            # No project rule can place it: stored settled (or waiting for jedi) right away.
            wait = NEEDS_JEDI if need == NEEDS_JEDI and ctx.jedi else SETTLED
            ctx.edge_inserts.append(
                (pid, ids[caller], None, name, receiver, line, col, None, wait, rtype, None)
            )
        elif ctx.stage:
            to_stage.append((caller, name, receiver, line, col, rtype))
        else:
            pending = True
            ctx.edge_inserts.append(
                (pid, ids[caller], None, name, receiver, line, col, None, 1, rtype, None)
            )
    if pending:
        ctx.pending_files.add(file_id)
    if to_stage:
        ctx.staged_files.append(
            StagedCalls(file_id, rel, language, ids, pack_staged(to_stage), len(to_stage))
        )


def _queue_search(
    ctx: WriteCtx,
    upd: FileUpdate,
    rel: str,
    search: Sequence[tuple[str, str, str, str, str]],
    new: list[tuple[int, int]],
    edited: list[tuple[int, int]],
) -> None:
    """Keyword-index rows of a file's new and edited symbols. Editing a method changes
    its class's and module's bytes too, but not their own text (children are not part of
    it): only rows whose text differs are rewritten."""
    path_text = expand(rel)
    ctx.fts_inserts.extend((sid, *search[i][:2], path_text, *search[i][2:]) for i, sid in new)
    changed = [(sid, *search[i][:2], path_text, *search[i][2:]) for i, sid in edited]
    differing = search_store.differing_rows(ctx.conn, changed) if changed else []
    ctx.fts_replaces.extend(differing)
    upd.search_rewritten = len(differing) + len(new)


def _insert_new(
    ctx: WriteCtx,
    file_id: int,
    rel: str,
    language: str,
    symbols: list[tuple[Any, ...]],
    calls: list[tuple[Any, ...]],
    imports: list[tuple[Any, ...]],
    staged: bytes | None,
    staged_count: int,
    search: Sequence[tuple[str, str, str, str, str]] | None,
) -> FileUpdate:
    """reconcile for a file with no stored rows (most of a first index): every symbol is
    new, so ids are consecutive and each row is built in one step."""
    pid, now = ctx.project_id, ctx.now
    n = len(symbols)
    b = ctx.take_ids(n)
    ctx.sym_inserts.extend(
        (b + i, pid, file_id, rel, language, kind, name, qn, ordinal,
         None if parent is None else b + parent, sl, sc, el, ec, nl, nc, sig, doc, ch, sh, cx,
         nt, pc, now)
        for i, (kind, name, qn, ordinal, parent, sl, sc, el, ec, nl, nc, sig, doc, ch, sh, cx,
                nt, pc)
        in enumerate(symbols)
    )  # fmt: skip
    if not ctx.fresh:  # calls elsewhere naming a new definition may resolve to it now
        ctx.added_names.extend(s[1] for s in symbols if s[0] in TARGET_KINDS)
    if search is not None:
        path_text = expand(rel)
        ctx.fts_inserts.extend(
            (b + i, n_, q, path_text, sg, dc, bd) for i, (n_, q, sg, dc, bd) in enumerate(search)
        )
    edges = ctx.edge_inserts
    jedi_wait = NEEDS_JEDI if ctx.jedi else SETTLED
    to_stage: list[tuple[Any, ...]] = []
    pending: list[tuple[Any, ...]] = []
    for caller, name, receiver, line, col, target, need, rt in calls:
        if target is not None:
            edges.append(
                (pid, b + caller, b + target, name, receiver, line, col, "scope", 0, rt, None)
            )
        elif need == NEEDS_JEDI:
            edges.append(
                (pid, b + caller, None, name, receiver, line, col, None, jedi_wait, rt, None)
            )
        elif need != NEEDS_PROJECT:
            edges.append(
                (pid, b + caller, None, name, receiver, line, col, None, SETTLED, rt, None)
            )
        else:
            to_stage.append((caller, name, receiver, line, col, rt))
    if staged is not None and not to_stage:
        blob, count = staged, staged_count
    else:
        if staged is not None:
            to_stage.extend(pickle.loads(staged))
        blob, count = pack_staged(to_stage), len(to_stage)
    if count and ctx.stage:
        ctx.staged_files.append(StagedCalls(file_id, rel, language, range(b, b + n), blob, count))
    elif count:
        pending = [
            (pid, b + caller, None, name, receiver, line, col, None, 1, rtype, None)
            for caller, name, receiver, line, col, rtype in pickle.loads(blob)
        ]
        edges.extend(pending)
        ctx.pending_files.add(file_id)
    ctx.imports_new.extend((pid, file_id, *imp) for imp in imports)
    return FileUpdate(rel, "indexed", added=n, search_rewritten=n if search is not None else 0)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _names_any(call: tuple[Any, ...], names: set[str]) -> bool:
    """Whether a call (caller, name, receiver, line, col, target, need, receiver type)
    names one of these as its callee or in its receiver or the receiver's type."""
    if call[1] in names:
        return True
    return any(text and not names.isdisjoint(_IDENT.findall(text)) for text in (call[2], call[7]))


def _keep_same_calls(
    ctx: WriteCtx, rewrite: set[int], ids: list[int], calls: list[tuple[Any, ...]]
) -> None:
    """Drop from ``rewrite`` the changed symbols whose own calls are the same as stored
    (same names, receivers and columns, in order): their edges stay, only lines move.

    Editing one function changes the bytes of its class and module too, but rarely their
    own calls; this keeps a save from re-resolving every module-level call."""
    by_caller: dict[int, list[tuple[Any, ...]]] = {}
    for c in calls:
        if c[0] in rewrite:
            by_caller.setdefault(c[0], []).append(c)
    stored = cs.edges_of_callers(ctx.conn, [ids[i] for i in rewrite])
    for i in list(rewrite):
        new = sorted(by_caller.get(i, []), key=lambda c: (c[3], c[4]))
        old = stored.get(ids[i], [])
        if len(new) != len(old):
            continue
        if any(
            (n[1], n[2], n[4], n[7]) != (o[1], o[2], o[4], o[5])
            for n, o in zip(new, old, strict=True)
        ):
            continue
        rewrite.discard(i)
        ctx.edge_lines.extend((n[3], o[0]) for n, o in zip(new, old, strict=True) if n[3] != o[3])


def clear_file_symbols(ctx: WriteCtx, file_id: int) -> FileUpdate:
    """A file that can no longer be indexed (now binary, too large, unreadable)."""
    conn = ctx.conn
    keys = cs.stored_keys(conn, file_id)
    upd = FileUpdate("", "removed", removed=len(keys))
    if not keys:
        return upd
    upd.changed_symbol_ids = [k.id for k in keys]
    upd.changed_content_hashes = [k.content_hash for k in keys]
    flagged = cs.delete_symbols(conn, upd.changed_symbol_ids)
    cs.replace_imports(conn, ctx.project_id, file_id, [])
    invalidate_symbols(conn, upd.changed_symbol_ids, upd.changed_content_hashes)
    if flagged:
        ctx.pending_files |= cs.file_ids_of_symbols(conn, flagged) - {file_id}
    return upd


def remove_file_rows(ctx: WriteCtx, row: cs.FileRow) -> FileUpdate:
    conn = ctx.conn
    keys = cs.stored_keys(conn, row.id)
    upd = FileUpdate(row.file_path, "removed", removed=len(keys))
    upd.changed_symbol_ids = [k.id for k in keys]
    upd.changed_content_hashes = [k.content_hash for k in keys]
    own = set(upd.changed_symbol_ids)
    flagged = [c for c in cs.flag_callers_of(conn, upd.changed_symbol_ids) if c not in own]
    cs.delete_file(conn, row.id)
    if keys:
        invalidate_symbols(conn, upd.changed_symbol_ids, upd.changed_content_hashes)
    if flagged:
        ctx.pending_files |= cs.file_ids_of_symbols(conn, flagged)
    return upd


def store_result(ctx: WriteCtx, res: FileResult, old: cs.FileRow | None) -> FileUpdate:
    """Record what a worker found about one file (rows written at ctx.flush())."""
    conn = ctx.conn
    if res.status == "missing":
        if old is not None:
            return remove_file_rows(ctx, old)
        return FileUpdate(res.rel, "missing")
    if res.status == "unchanged":
        if old is not None:
            cs.touch_files(conn, [(res.size, res.mtime_ns, old.id)])
        return FileUpdate(res.rel, "unchanged")
    status = "indexed" if res.status == "parsed" else res.status
    if status not in ("indexed", "skipped_binary", "skipped_large", "error"):
        status = "error"
    file_id = cs.upsert_file(
        conn,
        ctx.project_id,
        res.rel,
        content_hash=res.content_hash,
        language=res.language,
        size_bytes=res.size,
        line_count=res.line_count,
        mtime_ns=res.mtime_ns,
        status=status,
        error=res.error if status != "indexed" else res.partial,
        parse_errors=res.parse_errors,
        at=ctx.now,
        non_ascii_lines=res.non_ascii_lines,
    )
    if status != "indexed":
        if old is None:
            return FileUpdate(res.rel, status, error=res.error)
        upd = clear_file_symbols(ctx, file_id)
        upd.rel_path, upd.status, upd.error = res.rel, status, res.error
        return upd
    assert res.symbols is not None and res.calls is not None and res.imports is not None
    upd = reconcile(
        ctx,
        file_id,
        text_path(res.rel),
        res.language or "",
        res.symbols,
        res.calls,
        res.imports,
        is_new=old is None,
        staged=res.staged,
        staged_count=res.staged_count,
        search=res.search,
    )
    upd.rel_path, upd.error = res.rel, res.partial  # indexed, but partially: why
    return upd
