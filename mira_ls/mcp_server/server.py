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
from urllib.parse import quote, unquote

import anyio
import mcp.types as mt
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from mira_ls import __version__
from mira_ls.llm.redact import is_secret_path
from mira_ls.llm.tools import SCHEMAS
from mira_ls.mcp_server import bundles
from mira_ls.mcp_server.workspace import Workspace
from mira_ls.store import code as cs

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


CONTEXT_URI = "mira://context/"
CONTEXT_TEMPLATE = mt.ResourceTemplate(
    name="context",
    title="mira-ls context of a file",
    uri_template=CONTEXT_URI + "{path}",
    description=(
        "What mira.explain sends its model for a workspace file: the symbol at ?line=N "
        "(default: the file as a whole), callers, callees, build errors and their past "
        "fixes, history, co-change partners, experts and project guidelines."
    ),
    mime_type="text/markdown",
)


RESOURCES_PAGE = 500  # resources per resources/list page; the cursor is the next offset


def resource_page(ws: Workspace, cursor: str | None) -> mt.ListResourcesResult:
    """The context bundle of every indexed file (secrets left out), in path order, a page
    at a time: an agent browsing resources sees the files it can ask about."""
    try:
        start = max(0, int(cursor or 0))
    except ValueError:
        raise MCPError(mt.INVALID_PARAMS, f"not a cursor of this server: {cursor!r}") from None
    files = sorted(
        (rel, f)
        for rel, f in cs.files_of_project(ws.store.conn(), ws.project_id).items()
        if not is_secret_path(rel)
    )
    page = files[start : start + RESOURCES_PAGE]
    resources = [
        mt.Resource(
            name=rel,
            title=f"mira-ls context of {rel}",
            uri=CONTEXT_URI + quote(rel),
            description=f"{f.language or 'text'}, {f.line_count} lines: symbols, callers, "
            "history, co-change partners, experts and build errors",
            mime_type="text/markdown",
        )
        for rel, f in page
    ]
    more = start + RESOURCES_PAGE < len(files)
    return mt.ListResourcesResult(
        resources=resources, next_cursor=str(start + RESOURCES_PAGE) if more else None
    )


def _arg(name: str, description: str, required: bool = False) -> mt.PromptArgument:
    return mt.PromptArgument(name=name, description=description, required=required)


PROMPTS = [
    mt.Prompt(
        name="explain",
        title="Explain",
        description="Explain the code of a file at a line, with mira-ls's context.",
        arguments=[
            _arg("path", "workspace-relative path", True),
            _arg("line", "1-based line (default 1)"),
        ],
    ),
    mt.Prompt(
        name="fix_error",
        title="Fix this error",
        description="Fix an error, with past fixes and resolutions of similar errors.",
        arguments=[
            _arg("error", "the error message", True),
            _arg("path", "the file it is in", True),
            _arg("line", "1-based line (default 1)"),
        ],
    ),
    mt.Prompt(
        name="review",
        title="Review my changes",
        description="Review the uncommitted changes (working tree against HEAD).",
        arguments=[],
    ),
]


def _context_uri(uri: str) -> tuple[str, int]:
    """(path, line) of ``mira://context/PATH[?line=N]``."""
    if not uri.startswith(CONTEXT_URI):
        raise bundles.BundleError(f"{uri}: not a mira-ls resource; use {CONTEXT_URI}PATH")
    path, _, query = uri[len(CONTEXT_URI) :].partition("?")
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    return unquote(path), _line(params.get("line"))


def _line(value: Any) -> int:
    if value in (None, ""):
        return 1
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        raise bundles.BundleError(f"line must be a number, got {value!r}") from None


def _bundle(ws: Workspace, name: str, args: dict[str, str]) -> bundles.Bundle:
    if name == "explain":
        return bundles.explain(ws, _required(args, "path"), _line(args.get("line")))
    if name == "fix_error":
        return bundles.fix_error(
            ws, _required(args, "error"), _required(args, "path"), _line(args.get("line"))
        )
    if name == "review":
        return bundles.review_changes(ws)
    raise bundles.BundleError(f"there is no prompt named {name!r}")


def _required(args: dict[str, str], key: str) -> str:
    value = (args.get(key) or "").strip()
    if not value:
        raise bundles.BundleError(f"the prompt needs the argument {key!r}")
    return value


def _fresh(ws: Workspace) -> None:
    ws.ready.wait()
    try:
        ws.refresh()
    except Exception:
        log.exception("refreshing the index failed; answering from what is stored")


def build(ws: Workspace) -> Server[Any]:
    tools = tool_list()

    async def list_tools(ctx: Any, params: mt.PaginatedRequestParams | None) -> mt.ListToolsResult:
        return mt.ListToolsResult(tools=tools)

    def _call(name: str, args: dict[str, Any]) -> mt.CallToolResult:
        _fresh(ws)
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

    def _read(uri: str) -> mt.ReadResourceResult:
        _fresh(ws)
        try:
            path, line = _context_uri(uri)
            b = bundles.explain(ws, path, line)
        except bundles.BundleError as exc:
            raise MCPError(mt.INVALID_PARAMS, str(exc)) from None
        return mt.ReadResourceResult(
            contents=[mt.TextResourceContents(uri=uri, mime_type="text/markdown", text=b.context)]
        )

    def _prompt(name: str, args: dict[str, str]) -> mt.GetPromptResult:
        _fresh(ws)
        try:
            b = _bundle(ws, name, args)
        except bundles.BundleError as exc:
            raise MCPError(mt.INVALID_PARAMS, str(exc)) from None
        msg = mt.PromptMessage(role="user", content=mt.TextContent(type="text", text=b.prompt()))
        return mt.GetPromptResult(description=b.title, messages=[msg])

    def _resources(cursor: str | None) -> mt.ListResourcesResult:
        _fresh(ws)
        return resource_page(ws, cursor)

    async def list_resources(
        ctx: Any, params: mt.PaginatedRequestParams | None
    ) -> mt.ListResourcesResult:
        return await anyio.to_thread.run_sync(_resources, params.cursor if params else None)

    async def list_templates(
        ctx: Any, params: mt.PaginatedRequestParams | None
    ) -> mt.ListResourceTemplatesResult:
        return mt.ListResourceTemplatesResult(resource_templates=[CONTEXT_TEMPLATE])

    async def read_resource(
        ctx: Any, params: mt.ReadResourceRequestParams
    ) -> mt.ReadResourceResult:
        return await anyio.to_thread.run_sync(_read, str(params.uri))

    async def list_prompts(
        ctx: Any, params: mt.PaginatedRequestParams | None
    ) -> mt.ListPromptsResult:
        return mt.ListPromptsResult(prompts=PROMPTS)

    async def get_prompt(ctx: Any, params: mt.GetPromptRequestParams) -> mt.GetPromptResult:
        return await anyio.to_thread.run_sync(_prompt, params.name, dict(params.arguments or {}))

    return Server(
        "mira-ls",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
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
