"""The LLM commands (features/chat.py does the work): answers stream as mira/chatChunk and
$/progress, then open as a markdown file."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from mira_ls.features import (
    chat,
)
from mira_ls.features.session import ProjectRoot
from mira_ls.jobs import JobContext
from mira_ls.llm.errors import LlmError
from mira_ls.server.base import Handlers, MiraServer, command_arg, uri_to_path
from mira_ls.server.progress import ThreadSafeProgress
from mira_ls.store import StoreError

log = logging.getLogger(__name__)
handlers = Handlers()
register = handlers.register


def _analyse_later(ls: MiraServer, session_id: str | None = None) -> None:
    """The new messages' analysis in the background, once a full batch waits, and the
    session's rolling summaries, once a block of 10 messages is complete (one queued run
    of each, however many asked)."""
    from mira_ls.features import memory as memory_feature
    from mira_ls.memory.analysis import ANALYSIS_KEY
    from mira_ls.memory.summaries import SUMMARY_KEY

    if memory_feature.analysis_due(ls.session):

        def job(ctx: JobContext) -> dict[str, Any]:
            return memory_feature.analyse(ls.session, ls.chat.service(ls.session), ctx.cancelled)

        ls.submit("llm", "message analysis", job, key=ANALYSIS_KEY)
    if session_id and memory_feature.summaries_due(ls.session, session_id):

        def summaries(ctx: JobContext) -> dict[str, Any]:
            svc = ls.chat.service(ls.session)
            return memory_feature.summarise(ls.session, svc, ctx.cancelled)

        ls.submit("llm", "conversation summaries", summaries, key=SUMMARY_KEY)


async def _chat_command(ls: MiraServer, op: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """Run one chat command on the "llm" lane: chunks as mira/chatChunk and $/progress, the answer
    as a markdown file shown with window/showDocument (showMessage when unsupported)."""
    arg = command_arg(args)
    aid = uuid.uuid4().hex[:12]
    seq_box = [0]

    def notify(text: str, seq: int, done: bool) -> None:
        ls.send_soon(
            ls.protocol.notify,
            "mira/chatChunk",
            {"id": aid, "seq": seq, "text": text, "done": done},
        )

    def job(ctx: JobContext) -> chat.ChatResult | chat.ChatFailure:
        try:
            svc = ls.chat.service(ls.session)
            prep = chat.prepare(ls.chat, ls.session, op, arg, ls.document, ls.encoding, svc.secrets)
        except chat.NeedInput as exc:
            return chat.error_result(exc, aid)
        progress = ThreadSafeProgress(ls, f"Mira: {prep.title}")
        progress.begin("asking the model")
        tail: list[str] = []

        def chunk(text: str, seq: int) -> None:
            seq_box[0] = seq
            notify(text, seq, False)
            tail.append(text)
            shown = "".join(tail)[-80:].replace("\n", " ").strip()
            progress.report(0, 0, shown)

        sink = chat.Sink(chunk, lambda: ctx.cancelled() or progress.cancelled())
        try:
            result = chat.run(ls.chat, ls.session, prep, sink, aid)
        except (LlmError, chat.NeedInput) as exc:
            log.warning("mira.%s failed: %s", op, svc.scrub(str(exc)))
            progress.end(svc.scrub(str(exc))[:200])
            return chat.error_result(exc, aid)
        finally:
            notify("", seq_box[0] + 1, True)
        if tail:  # the last throttled report would otherwise hide the end of the answer
            progress.report(0, 0, "".join(tail)[-80:].replace("\n", " ").strip(), force=True)
        progress.end(result.cost)
        _analyse_later(ls, result.session)
        return result

    handle = ls.submit("llm", f"the mira.{op} command", job)
    if handle is None:
        return chat.error_result(chat.NeedInput("mira-ls is shutting down."), aid).as_json()
    result = await ls.result_of(handle)
    if isinstance(result, chat.ChatFailure):
        kind = (
            types.MessageType.Warning
            if result.kind in ("input", "budget")
            else types.MessageType.Error
        )
        ls.window_show_message(types.ShowMessageParams(type=kind, message=result.error))
        return result.as_json()
    for note in result.notes:
        if note.startswith("Mira withdrew the tool"):
            ls.show(note, types.MessageType.Warning, once=False)
    await ls.show_document(
        result.uri,
        fallback=f"{result.text[:1500]}\n\n({result.cost}; full answer: {result.file})",
    )
    caps = ls.client_capabilities.window
    if result.edit_files and caps is not None and caps.show_message is not None:
        task = asyncio.ensure_future(_offer_fix(ls, result, arg.get("uri")))
        ls.chat.tasks.add(task)
        task.add_done_callback(ls.chat.tasks.discard)
    return result.as_json()


async def _offer_fix(ls: MiraServer, result: chat.ChatResult, uri: str | None) -> None:
    if await ls.ask(result.consent(), "Apply", "Dismiss"):
        await cmd_apply_fix(ls, {"id": result.id, "uri": uri})


def _root_of(ls: MiraServer, uri: str) -> Path | None:
    path = uri_to_path(uri)
    loc = ls.session.locate(path) if path else None
    return loc.project.root if loc else None


@handlers.command("mira.chat")
async def cmd_chat(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _chat_command(ls, "chat", args)


@handlers.command("mira.explain")
async def cmd_explain(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _chat_command(ls, "explain", args)


@handlers.command("mira.fixError")
async def cmd_fix_error(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _chat_command(ls, "fix_error", args)


@handlers.command("mira.reviewChanges")
async def cmd_review(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _chat_command(ls, "review", args)


@handlers.command("mira.applyFix")
async def cmd_apply_fix(ls: MiraServer, *args: Any) -> dict[str, Any]:
    a = command_arg(args)
    aid = a.get("id") if isinstance(a.get("id"), str) else ""
    if not aid:
        msg = (
            'Apply fix needs the id of a proposed fix ({"id": ...}): use the link under a '
            "mira.fixError answer."
        )
        ls.show(msg, types.MessageType.Warning, once=False)
        return {"applied": False, "error": msg}
    uri = a.get("uri") if isinstance(a.get("uri"), str) else None
    if uri is None and ls.chat.cursor is not None:
        uri = ls.chat.cursor.uri
    edit = chat.workspace_edit(ls.chat, aid, lambda u: _root_of(ls, u), uri, ls.encoding)
    project = _project_of(ls, uri) if uri else None
    if edit is None or project is None:
        msg = "No applicable fix with that id; run mira.fixError again."
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=msg))
        return {"applied": False, "error": msg}
    if ls.session.store is not None and a.get("force") is not True:
        changed = await asyncio.to_thread(
            chat.changed_since_offer, ls.session.store, aid, lambda rel: _text_of(ls, project, rel)
        )
        if changed and not await _confirm_changed(ls, changed):
            msg = (
                f"Not applied: {', '.join(changed)} changed since Mira proposed the fix; run "
                'mira.fixError again, or apply it anyway with {"force": true}.'
            )
            ls.show(msg, types.MessageType.Warning, once=False)
            return {"applied": False, "error": msg}
    r = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=edit, label="Mira: apply fix")
    )
    applied = bool(r and r.applied)
    if applied:
        try:
            await asyncio.to_thread(chat.fix_applied, ls.session, aid, project.project_id)
        except StoreError as exc:
            log.warning("could not record the applied fix %s: %s", aid, exc)
    return {"applied": applied}


def _project_of(ls: MiraServer, uri: str) -> ProjectRoot | None:
    path = uri_to_path(uri)
    loc = ls.session.locate(path) if path else None
    return loc.project if loc else None


def _text_of(ls: MiraServer, project: ProjectRoot, rel: str) -> str | None:
    """A file's text now: the editor's buffer when open, else the disk."""
    found = ls.document((project.root / rel).as_uri())
    return found[1] if found else None


async def _confirm_changed(ls: MiraServer, changed: list[str]) -> bool:
    """Ask before a fix replaces files edited since it was proposed."""
    return await ls.ask(
        f"{', '.join(changed)} changed since Mira proposed this fix; "
        "applying it replaces the current text. Apply anyway?",
        "Apply anyway",
        "Cancel",
        kind=types.MessageType.Warning,
    )


def _llm_info(
    ls: MiraServer,
    args: tuple[Any, ...],
    fn: Callable[[Any], dict[str, Any]],
    text: Callable[[dict[str, Any]], str],
) -> dict[str, Any]:
    """Answer with data; also show it as a message unless {quiet: true} (a status bar poll)."""
    quiet = command_arg(args).get("quiet") is True
    try:
        data = fn(ls.chat.service(ls.session))
    except (chat.NeedInput, StoreError) as exc:
        if not quiet:
            ls.show(str(exc), types.MessageType.Warning)
        return {"error": str(exc)}
    if not quiet:
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Info, message=text(data))
        )
    return data


@handlers.command("mira.budget")
def cmd_budget(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return _llm_info(ls, args, chat.budget_report, chat.budget_text)


@handlers.command("mira.resumeBudget")
def cmd_resume_budget(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return _llm_info(
        ls, args, lambda svc: chat.resume_budget(svc).as_json(), lambda d: str(d["message"])
    )


@handlers.command("mira.cacheStats")
def cmd_cache_stats(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return _llm_info(ls, args, lambda svc: svc.cache.stats().as_dict(), chat.cache_text)


@handlers.command("mira.clearCache")
def cmd_clear_cache(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return _llm_info(
        ls,
        args,
        lambda svc: {"removed": svc.cache.clear()},
        lambda d: f"LLM cache cleared: {d['removed']} answers removed.",
    )
