"""The MCP wiring: the SDK's low-level server over stdio, with the ToolBox's tools.

Tool names, descriptions and JSON schemas are the LLM tool layer's (``llm/tools.py``
``SCHEMAS``); a call goes to ``ToolBox.call``, so an agent gets what mira-ls's own model
gets: the same refusals (outside the workspace, secrets, ignored files), the same
redaction and the same size cap. Only protocol goes to stdout; logs go to stderr.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import anyio
import mcp.types as mt
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from mira_ls import __version__
from mira_ls.llm.tools import SCHEMAS
from mira_ls.mcp_server.workspace import Workspace

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "mira-ls knows this workspace: its symbols and call graph, git history (experts, "
    "co-change, past fixes) and build errors. Every tool is read-only; paths are "
    "workspace-relative (absolute paths inside the workspace are accepted)."
)


def tool_list() -> list[mt.Tool]:
    """The ToolBox's tools as MCP tools (read-only, idempotent, closed world)."""
    out = []
    for s in SCHEMAS:
        fn = s["function"]
        out.append(
            mt.Tool(
                name=fn["name"],
                description=fn["description"],
                input_schema=fn["parameters"],
                annotations=mt.ToolAnnotations(
                    read_only_hint=True, idempotent_hint=True, open_world_hint=False
                ),
            )
        )
    return out


def build(ws: Workspace) -> Server[Any]:
    tools = tool_list()

    async def list_tools(ctx: Any, params: mt.PaginatedRequestParams | None) -> mt.ListToolsResult:
        return mt.ListToolsResult(tools=tools)

    def _call(name: str, args: dict[str, Any]) -> mt.CallToolResult:
        ws.ready.wait()
        try:
            ws.refresh()
        except Exception:
            log.exception("refreshing the index failed; answering from what is stored")
        reply = ws.box.call(name, args)
        return mt.CallToolResult(
            content=[mt.TextContent(type="text", text=reply.text)], is_error=reply.is_error
        )

    async def call_tool(ctx: Any, params: mt.CallToolRequestParams) -> mt.CallToolResult:
        args = dict(params.arguments or {})
        said = None
        while not ws.ready.is_set():  # the first index of a big workspace: say how far
            if ws.status != said:
                said = ws.status
                try:
                    await ctx.session.report_progress(0, None, said)
                except Exception:  # a client that asked for no progress
                    log.debug("progress not sent", exc_info=True)
            await anyio.sleep(0.2)
        return await anyio.to_thread.run_sync(_call, params.name, args)

    return Server(
        "mira-ls",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def run_stdio(ws: Workspace) -> None:
    """Serve until the client closes stdin; start-up work runs beside the session."""

    def report(msg: str) -> None:
        ws.status = msg
        log.info("%s", msg)

    threading.Thread(target=ws.prepare, args=(report,), daemon=True, name="prepare").start()
    server = build(ws)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def workspace_root(arg: str | None) -> Path:
    return Path(arg or ".").expanduser().resolve()
