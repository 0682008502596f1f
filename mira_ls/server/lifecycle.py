"""initialize/initialized/shutdown, settings from initializationOptions and
workspace/configuration, file watchers and workspace folders."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from lsprotocol import types

from mira_ls import config, paths
from mira_ls.features import tasks as task_feature
from mira_ls.jobs import JobContext
from mira_ls.server.base import Handlers, MiraServer, uri_to_path
from mira_ls.server.build import restore_diagnostics
from mira_ls.server.code import schedule_day_check, schedule_index
from mira_ls.server.understand import schedule_quality_open
from mira_ls.store import StoreError, open_store
from mira_ls.vectors import stores as vector_stores

log = logging.getLogger(__name__)
handlers = Handlers()
register = handlers.register


@handlers.feature(types.INITIALIZE)
def on_initialize(ls: MiraServer, params: types.InitializeParams) -> None:
    opts = params.initialization_options
    ls.init_options = opts if isinstance(opts, dict) else {}
    settings, problems = config.load(init_options=ls.init_options)
    ls.session.settings = settings
    logging.getLogger("mira_ls").setLevel(settings.log_level.upper())
    for problem in problems:
        ls.show(problem, types.MessageType.Warning)
    db_path = paths.database_path(settings.database_path)
    try:
        ls.session.store = open_store(db_path)
    except StoreError as exc:
        ls.session.store = None
        ls.show(f"mira-ls runs without its database: {exc}")
    roots: list[Path] = []
    for folder in params.workspace_folders or []:
        p = uri_to_path(folder.uri)
        if p is not None:
            roots.append(p)
    if not roots and params.root_uri:
        p = uri_to_path(params.root_uri)
        if p is not None:
            roots.append(p)
    if not roots and params.root_path:
        roots.append(Path(params.root_path))
    for r in roots:
        try:
            ls.session.add_root(r)
        except StoreError as exc:
            ls.show(str(exc))


@handlers.feature(types.INITIALIZED)
async def on_initialized(ls: MiraServer, params: types.InitializedParams) -> None:
    ls.loop = asyncio.get_running_loop()
    await _pull_configuration(ls)
    await _register_watchers(ls)
    if ls.session.store is not None:
        for root in list(ls.session.roots):
            what = f"restoring build errors of {root.root}"
            ls.submit("build", what, restore_diagnostics, ls, root)
            schedule_day_check(ls, root.root)
        ls.submit("mine", "what changed for the current task", _task_on_start, ls)
        ls.submit("embed", "reading the vector index into memory", _warm_vectors, ls)
    if ls.session.settings.index.on_start and ls.session.store is not None:
        for root in list(ls.session.roots):
            schedule_index(ls, root.root)


def _warm_vectors(ctx: JobContext, ls: MiraServer) -> None:
    """sqlite-vec's sign bits into memory once, so searches (mira.search, the LLM's
    search_code, past fixes in the hover) skip vec0's scan from then on."""
    store = ls.session.store
    if store is not None and not ctx.cancelled():
        vector_stores.warm(store, ls.session.settings)


@handlers.feature(types.SHUTDOWN)
def on_shutdown(ls: MiraServer, params: None) -> None:
    ls.shutdown_requested = True
    ls.stop_background()
    try:  # the current task's snapshot: the next start says what changed since
        task_feature.on_server_stop(ls.session)
    except Exception:
        log.exception("could not snapshot the current task")


def _task_on_start(ctx: JobContext, ls: MiraServer) -> None:
    for message in task_feature.on_server_start(ls.session):
        ls.show(message, types.MessageType.Info, once=False)


@handlers.feature(types.EXIT)
def on_exit(ls: MiraServer, params: None) -> None:
    """Leave at once. Editors give the server well under a second before they kill it
    (Eglot: "exited with status 9"), and a normal interpreter exit joins every thread
    (the stdin reader blocks until the client closes the pipe) and child process. The
    jobs were cancelled and their processes killed; every write is a short SQLite
    transaction, so nothing is left half-written."""
    ls.stop_background()
    logging.shutdown()  # flush the log file
    os._exit(0 if ls.shutdown_requested else 1)


async def _pull_configuration(ls: MiraServer) -> None:
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return
    try:
        result = await asyncio.wait_for(
            ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=config.SECTION)])
            ),
            5,
        )
    except Exception as exc:
        log.debug("workspace/configuration failed: %s", exc)
        return
    section = result[0] if result else None
    if not isinstance(section, dict):
        return
    settings, problems = config.load(init_options=ls.init_options, workspace=section)
    if settings.database_path != ls.session.settings.database_path:
        settings.database_path = ls.session.settings.database_path  # fixed at start
    ls.session.settings = settings
    for problem in problems:
        ls.show(problem, types.MessageType.Warning)


async def _register_watchers(ls: MiraServer) -> None:
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps else None
    if not (watched and watched.dynamic_registration):
        return
    reg = types.Registration(
        id="mira-watch",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern="**/*")]
        ),
    )
    try:
        await asyncio.wait_for(
            ls.client_register_capability_async(types.RegistrationParams([reg])), 5
        )
    except Exception as exc:
        log.debug("could not register file watchers: %s", exc)


@handlers.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_config_change(ls: MiraServer, params: types.DidChangeConfigurationParams) -> None:
    if isinstance(params.settings, dict) and params.settings:
        settings, problems = config.load(init_options=ls.init_options, workspace=params.settings)
        settings.database_path = ls.session.settings.database_path
        ls.session.settings = settings
        for p in problems:
            ls.show(p, types.MessageType.Warning)
    else:
        await _pull_configuration(ls)
    schedule_quality_open(ls)  # switched on or off, or new thresholds


@handlers.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def on_folders(ls: MiraServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    for folder in params.event.removed:
        p = uri_to_path(folder.uri)
        if p is not None:
            ls.session.remove_root(p)
    for folder in params.event.added:
        p = uri_to_path(folder.uri)
        if p is not None and ls.session.store is not None:
            root = ls.session.add_root(p)
            schedule_index(ls, root.root)
            what = f"restoring build errors of {root.root}"
            ls.submit("build", what, restore_diagnostics, ls, root)
            schedule_day_check(ls, root.root)
