"""Document and file events, dispatched to the index, git and build wiring."""

from __future__ import annotations

import asyncio
import logging
import threading
from urllib.parse import unquote

from lsprotocol import types

from mira_ls.features import chat, watched
from mira_ls.features.session import Located
from mira_ls.index.languages import language_for_path
from mira_ls.server.base import Handlers, MiraServer, uri_to_path
from mira_ls.server.build import start_build
from mira_ls.server.code import apply_file_changes, rename_file_job, update_file_job
from mira_ls.server.git import after_save, schedule_blame, schedule_mining
from mira_ls.server.understand import QUALITY, schedule_background_analysis, schedule_quality
from mira_ls.store import StoreError

log = logging.getLogger(__name__)
handlers = Handlers()
register = handlers.register


@handlers.feature(types.TEXT_DOCUMENT_DID_OPEN)
def on_open(ls: MiraServer, params: types.DidOpenTextDocumentParams) -> None:
    path = uri_to_path(params.text_document.uri)
    loc = ls.session.locate(path) if path else None
    if loc is not None:
        saves = ls.save_process() if language_for_path(loc.rel_path) is not None else None
        if saves is not None and not saves.started:
            threading.Thread(target=saves.start, name="mira-save-start", daemon=True).start()
        schedule_blame(ls, loc)
        schedule_quality(ls, [(unquote(params.text_document.uri), loc)])
        if language_for_path(loc.rel_path) is not None:
            schedule_background_analysis(ls, loc.project, [loc.rel_path])


@handlers.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def on_change(ls: MiraServer, params: types.DidChangeTextDocumentParams) -> None:
    """The first edit of a file: the save indexer parses it as it is on disk now, so its
    save re-parses only the edit. Not at didOpen: a dozen files opened at once would be a
    second of parsing beside the first requests, for files most of which are only read."""
    uri = params.text_document.uri
    if not ls.first_edit(uri):
        return
    path = uri_to_path(uri)
    loc = ls.session.locate(path) if path else None
    saves = ls.save_process() if loc is not None and language_for_path(loc.rel_path) else None
    if loc is not None and saves is not None:
        args = (loc.project.project_id, loc.project.root, loc.rel_path)
        threading.Thread(
            target=saves.edited, args=(*args, ls.session.settings.index), daemon=True
        ).start()


@handlers.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def on_close(ls: MiraServer, params: types.DidCloseTextDocumentParams) -> None:
    """Quality diagnostics are for open documents only."""
    ls.forget_edits(params.text_document.uri)
    ls.publish_diagnostics(unquote(params.text_document.uri), QUALITY, [])


@handlers.feature(types.TEXT_DOCUMENT_DID_SAVE)
def on_save(ls: MiraServer, params: types.DidSaveTextDocumentParams) -> None:
    path = uri_to_path(params.text_document.uri)
    loc = ls.session.locate(path) if path else None
    if loc is None:
        return
    if language_for_path(loc.rel_path) is not None:
        # First: the saved symbols are what the user looks for next (workspace/symbol, lens).
        key = ("update", loc.project.project_id, loc.rel_path)
        ls.submit("index", f"updating {loc.rel_path}", update_file_job, ls, loc, key=key)
    after_save(ls, loc)
    found = ls.document(params.text_document.uri)
    try:  # an applied fix undone by hand is recorded against it
        if found is not None:
            chat.file_saved(ls.session, loc, found[1])
    except StoreError as exc:
        log.warning("could not check %s against applied fixes: %s", loc.rel_path, exc)
    if ls.session.settings.build.on_save and ls.session.store is not None:
        task = asyncio.ensure_future(start_build(ls, loc.project, None, on_save=True))
        ls.tasks.add(task)
        task.add_done_callback(ls.tasks.discard)


@handlers.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def on_watched(ls: MiraServer, params: types.DidChangeWatchedFilesParams) -> None:
    changes: list[tuple[str, Located]] = []
    for change in params.changes:
        path = uri_to_path(change.uri)
        loc = ls.session.locate(path) if path else None
        if loc is None:
            continue
        what = watched.classify(loc.rel_path)
        if what == "head":
            schedule_mining(ls, loc.project.root)  # a commit, checkout or reset
            continue
        if what is None:
            continue
        kind = "deleted" if change.type == types.FileChangeType.Deleted else "changed"
        changes.append((kind, loc))
    if changes:
        ls.submit("index", "updating changed files", apply_file_changes, ls, changes)


@handlers.feature(
    types.WORKSPACE_DID_RENAME_FILES,
    types.FileOperationRegistrationOptions(
        filters=[types.FileOperationFilter(pattern=types.FileOperationPattern(glob="**/*"))]
    ),
)
def on_renamed(ls: MiraServer, params: types.RenameFilesParams) -> None:
    for f in params.files:
        old_path, new_path = uri_to_path(f.old_uri), uri_to_path(f.new_uri)
        old = ls.session.locate(old_path) if old_path else None
        new = ls.session.locate(new_path) if new_path else None
        if old is None or new is None:
            continue
        ls.submit("index", f"renaming {old.rel_path}", rename_file_job, ls, old, new)
