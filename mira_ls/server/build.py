"""Build intelligence over LSP: mira.runBuild with confirmation and $/progress, build
diagnostics, code actions and past resolutions."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from mira_ls.build import consent
from mira_ls.build import detect as build_detect
from mira_ls.build import pipeline as build_pipeline
from mira_ls.features import (
    answer_feedback,
    build_actions,
    build_diagnostics,
    quality_diagnostics,
)
from mira_ls.features.session import ProjectRoot
from mira_ls.jobs import JobContext, ProgressSink
from mira_ls.server.base import Handlers, MiraServer, command_arg, guarded, uri_to_path

log = logging.getLogger(__name__)
handlers = Handlers()
register = handlers.register


CONFIRM_TIMEOUT_S = 600.0


def _text_of(ls: MiraServer, root: Path) -> Callable[[str], str | None]:
    """Project-relative (or absolute) path -> live buffer text, else the file on disk."""

    def text_of(rel: str) -> str | None:
        p = Path(rel) if rel.startswith("/") else root / rel
        found = ls.document(p.as_uri())
        return found[1] if found else None

    return text_of


async def _confirm_build(
    ls: MiraServer, project: ProjectRoot, plan: build_detect.CommandPlan
) -> bool:
    """Detected commands run the repository's code: ask once per project (CONVENTIONS)."""
    store = ls.session.store
    if store is None:
        return False
    if not consent.needs_consent(store, project.project_id, plan):
        return True
    caps = ls.client_capabilities.window
    if caps is None or caps.show_message is None:
        msg = consent.cannot_ask(project.root.name, str(project.root), plan)
        ls.show(msg, types.MessageType.Warning)
        return False
    question = consent.question(project.root.name, plan)
    if not await ls.ask(question, "Run", "Cancel", timeout_s=CONFIRM_TIMEOUT_S):
        ls.show(consent.declined(project.root.name), types.MessageType.Info)
        return False
    consent.remember(store, project.project_id)
    return True


async def start_build(
    ls: MiraServer, project: ProjectRoot, names: list[str] | None, on_save: bool = False
) -> dict[str, Any]:
    settings = ls.session.settings.build
    plan = build_detect.plan_commands(project.root, settings.commands, names)
    for problem in plan.problems:
        ls.show(problem, types.MessageType.Warning)
    shown = [
        {"name": c.name, "command": list(c.argv), "parser": c.parser, "source": c.source}
        for c in plan.commands
    ]
    result: dict[str, Any] = {"root": str(project.root), "commands": shown, "started": False}
    if not plan.commands:
        if not on_save:
            ls.show(
                plan.empty_reason(
                    project.root.name,
                    "set mira.build.commands (a list of {name, command: [argv...], parser})",
                ),
                types.MessageType.Warning if plan.configured else types.MessageType.Info,
                once=False,
            )
        return result
    if plan.detected and not await _confirm_build(ls, project, plan):
        return result
    # One build per project at a time; saved again while it runs: it runs once more after.
    key = ("build", project.root)
    queued = ls.jobs.has_key("build", key)
    handle = ls.submit(
        "build",
        f"building {project.root.name}",
        _build_job,
        ls,
        project,
        plan.commands,
        on_save,
        key=key,
        progress=f"mira-ls: build {project.root.name}",
    )
    if queued:
        result["queued"] = True
    else:
        result["started"] = handle is not None
    return result


def _publish_build(
    ls: MiraServer, project: ProjectRoot, by_uri: dict[str, list[types.Diagnostic]]
) -> None:
    """Publish a project's build diagnostics under the URIs the client uses for open
    documents, and clear them where the latest runs no longer report anything."""
    source = f"build:{project.root}"
    client_uri: dict[str, str] = {}
    for uri in list(ls.workspace.text_documents):
        path = uri_to_path(uri)
        if path is not None:
            client_uri[path.resolve().as_uri()] = uri
    wanted = {client_uri.get(u, u): d for u, d in by_uri.items()}
    for uri in set(ls.uris_with(source)) | set(wanted):
        ls.publish_diagnostics(uri, source, wanted.get(uri, []))


def restore_diagnostics(ctx: JobContext, ls: MiraServer, project: ProjectRoot) -> None:
    """At start, show again the latest builds' errors in files not edited since: the editor
    had them before the restart, and the next build may be a while away."""
    by_uri = build_diagnostics.diagnostics_by_file(
        ls.session, project, ls.encoding, _text_of(ls, project.root), unchanged_since_run=True
    )
    if by_uri:
        _publish_build(ls, project, by_uri)


def _report_progress(progress: ProgressSink, done: int, total: int, msg: str) -> None:
    progress.report(done, total, msg, force=True)


def _build_job(
    ctx: JobContext,
    ls: MiraServer,
    project: ProjectRoot,
    commands: list[Any],
    on_save: bool = False,
) -> None:
    store = ls.session.store
    if store is None:
        return
    progress = ctx.progress
    progress.begin(", ".join(c.name for c in commands))
    try:
        report = build_pipeline.run_build(
            store,
            project.project_id,
            project.root,
            commands,
            ls.session.settings.build,
            progress=functools.partial(_report_progress, progress),
            cancel=ctx.cancelled,
            trust_git=ls.session.settings.git.trust_repository_config,
            learn=ls.session.settings.learning.enabled,
        )
    except BaseException:
        progress.end("build failed")
        raise
    by_uri = build_diagnostics.diagnostics_by_file(
        ls.session, project, ls.encoding, _text_of(ls, project.root)
    )
    _publish_build(ls, project, by_uri)
    progress.end(report.summary())
    for step in report.steps:
        if step.message and step.status not in ("cancelled",):
            kind = (
                types.MessageType.Error
                if step.status in ("error", "timeout")
                else types.MessageType.Warning
            )
            ls.show(step.message, kind, once=on_save)


@handlers.command("mira.runBuild")
async def cmd_run_build(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """Run the build of the project of {uri} (all workspace folders without one); {names}
    picks commands by name. Nothing runs on open: only here, or on save when enabled."""
    if ls.session.store is None:
        return {"started": False, "message": "mira-ls has no database; see the earlier error."}
    a = command_arg(args)
    names = a.get("names")
    names = [n for n in names if isinstance(n, str)] if isinstance(names, list) else None
    projects: list[ProjectRoot] = list(ls.session.roots)
    uri = a.get("uri")
    if isinstance(uri, str):
        path = uri_to_path(uri)
        loc = ls.session.locate(path) if path else None
        if loc is None:
            ls.show(
                f"{uri} is not inside a workspace folder, so there is no build to run.",
                types.MessageType.Warning,
                once=False,
            )
            return {"started": False, "builds": []}
        projects = [loc.project]
    builds = [await start_build(ls, p, names) for p in projects]
    return {"started": any(b["started"] for b in builds), "builds": builds}


@handlers.command(build_actions.SHOW_COMMAND)
async def cmd_show_resolutions(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """Open the markdown summary of an error's past resolutions ({errorHash, uri})."""
    a = command_arg(args)
    error_hash, uri = a.get("errorHash"), a.get("uri")
    path = uri_to_path(uri) if isinstance(uri, str) else None
    loc = ls.session.locate(path) if path else None
    projects = [loc.project] if loc else list(ls.session.roots)
    if not isinstance(error_hash, str):
        ls.show(
            "Show past resolutions needs the error: use it from a build diagnostic's code actions.",
            types.MessageType.Warning,
            once=False,
        )
        return {"path": None}
    for project in projects:
        out = build_actions.write_resolutions(ls.session, project, error_hash)
        if out is None:
            continue
        await ls.show_document(out.as_uri(), fallback=f"Past resolutions are in {out}")
        return {"path": str(out)}
    ls.show("That build error is no longer in the database.", types.MessageType.Warning, once=False)
    return {"path": None}


@handlers.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
@guarded([], "code actions")
def on_code_action(ls: MiraServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    start = params.range.start
    ls.chat.saw(params.text_document.uri, start.line, start.character)
    found = ls.document(params.text_document.uri)
    if found is None:  # outside the workspace: an answer file can be rated
        path = uri_to_path(params.text_document.uri)
        return answer_feedback.code_actions(ls.session, path) if path is not None else []
    loc, text = found
    first, last = params.range.start.line + 1, params.range.end.line + 1
    actions = build_actions.code_actions(
        ls.session, loc, text, first, last, ls.encoding, _text_of(ls, loc.project.root)
    )
    return actions + quality_diagnostics.code_actions(
        ls.session, loc, text, first, last, ls.encoding
    )
