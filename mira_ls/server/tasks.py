"""mira.operations and mira.task.*: features/tasks.py does the work; this converts the
argument and answer, and runs what may ask the model on the "llm" lane."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types

from mira_ls.features import tasks as task_feature
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
