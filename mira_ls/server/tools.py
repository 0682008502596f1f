"""mira.tools.*: features/tools.py does the work; this converts the argument and answer."""

from __future__ import annotations

from typing import Any

from mira_ls.features import tools as tools_feature
from mira_ls.server.base import Handlers, MiraServer, command_arg
from mira_ls.server.tasks import _answer

handlers = Handlers()
register = handlers.register


@handlers.command("mira.tools.list")
async def cmd_tools_list(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{all?} -> {tools: [{id, name, kind, status, offered, version, description, parameters,
    definition, executions, successes, failures, success_rate, ...}]}."""
    return await _answer(ls, tools_feature.tools_list, ls.session, command_arg(args))


@handlers.command("mira.tools.approve")
async def cmd_tools_approve(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{id} -> {tool, message}: the model may use the tool from now on."""
    return await _answer(ls, tools_feature.tools_approve, ls.session, command_arg(args), show=True)


@handlers.command("mira.tools.reject")
async def cmd_tools_reject(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{id, reason?} -> {tool, message}: never offered, never proposed again."""
    return await _answer(ls, tools_feature.tools_reject, ls.session, command_arg(args), show=True)
