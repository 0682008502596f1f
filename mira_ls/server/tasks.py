"""mira.operations and mira.task.*: features/tasks.py does the work; this converts the
argument and answer, and runs what may ask the model on the "llm" lane."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types

from mira_ls.features import chat
from mira_ls.features import tasks as task_feature
from mira_ls.jobs import JobContext
from mira_ls.llm.errors import LlmError
from mira_ls.server.base import Handlers, MiraServer, command_arg
from mira_ls.store import StoreError

log = logging.getLogger(__name__)
handlers = Handlers()
register = handlers.register


async def _answer(ls: MiraServer, fn: Any, *args: Any, show: bool = False) -> dict[str, Any]:
    """Run a feature function off the event loop; a sentence instead of a crash."""
    try:
        out: dict[str, Any] = await asyncio.to_thread(fn, *args)
    except (task_feature.TaskInputError, StoreError) as exc:
        ls.show(str(exc), types.MessageType.Warning, once=False)
        return {"error": str(exc)}
    except Exception as exc:
        log.exception("task command failed")
        msg = f"mira-ls could not do that: {exc}. Details are in the server log."
        ls.show(msg, once=False)
        return {"error": msg}
    if show and out.get("message"):
        ls.show(str(out["message"]), types.MessageType.Info, once=False)
    return out


@handlers.command("mira.operations")
async def cmd_operations(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{task?, limit?} -> {operations: [{id, kind, status, model, effort, cost_usd, cached,
    events: [{seq, status, at}], error, ...}]}, newest first."""
    return await _answer(ls, task_feature.operations, ls.session, command_arg(args))


@handlers.command("mira.feedback")
async def cmd_feedback(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{operation, helpful, note?} -> {operation, helpful, note, artifacts, patterns,
    message}: the user's word on an answer, kept against the operation and what it made."""
    return await _answer(ls, task_feature.feedback, ls.session, command_arg(args), show=True)


@handlers.command("mira.task.create")
async def cmd_task_create(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{title, description?, parent?} -> {task, message}."""
    return await _answer(ls, task_feature.task_create, ls.session, command_arg(args))


@handlers.command("mira.task.list")
async def cmd_task_list(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{status?} -> {tasks: [{id, parent_id, title, status, current, targets, ...}], current}."""
    return await _answer(ls, task_feature.task_list, ls.session, command_arg(args))


@handlers.command("mira.task.show")
async def cmd_task_show(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _answer(ls, task_feature.task_show, ls.session, command_arg(args))


@handlers.command("mira.task.update")
async def cmd_task_update(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{id, title?, description?, status?, pause?, notes?}; status "doing" starts or resumes
    (the answer says what changed since the pause), pause: true records a snapshot."""
    return await _answer(ls, task_feature.task_update, ls.session, command_arg(args), show=True)


@handlers.command("mira.task.start")
async def cmd_task_start(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _answer(ls, task_feature.task_start, ls.session, command_arg(args), show=True)


@handlers.command("mira.task.pause")
async def cmd_task_pause(ls: MiraServer, *args: Any) -> dict[str, Any]:
    return await _answer(ls, task_feature.task_pause, ls.session, command_arg(args), show=True)


@handlers.command("mira.task.decompose")
async def cmd_task_decompose(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{id} -> {task, subtasks, operation, cost_usd, message}, on the "llm" lane."""
    arg = command_arg(args)

    def job(ctx: JobContext) -> dict[str, Any]:
        try:
            svc = ls.chat.service(ls.session)
            return task_feature.task_decompose(ls.session, svc, arg)
        except (LlmError, chat.NeedInput, task_feature.TaskInputError, StoreError) as exc:
            return {"error": str(exc)}

    handle = ls.submit("llm", "the mira.task.decompose command", job)
    if handle is None:
        return {"error": "mira-ls is shutting down."}
    out: dict[str, Any] = await ls.result_of(handle)
    if "error" in out:
        ls.show(str(out["error"]), types.MessageType.Warning, once=False)
    else:
        ls.show(str(out["message"]), types.MessageType.Info, once=False)
    return out
