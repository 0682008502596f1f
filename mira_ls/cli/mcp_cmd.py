"""``mira-ls mcp``: serve the workspace's tools to coding agents over MCP (stdio)."""

from __future__ import annotations

import argparse
import logging
import sys

from mira_ls.cli import common
from mira_ls.cli.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mcp", help="serve the workspace's read-only tools to coding agents (MCP over stdio)"
    )
    p.add_argument(
        "--workspace", metavar="PATH", help="the workspace folder (default: the current one)"
    )
    common.add_common(p)
    p.set_defaults(func=cmd_mcp)


def cmd_mcp(args: argparse.Namespace) -> int:
    from mira_ls.mcp_server import server
    from mira_ls.mcp_server.workspace import Workspace

    logging.getLogger("mira_ls").setLevel(logging.DEBUG if args.debug else logging.INFO)
    root = server.workspace_root(args.workspace)
    if not root.is_dir():
        raise CliError(f"{root} is not a folder; pass --workspace with the workspace folder")
    with common.open_db(args) as store:
        ws = Workspace(store, root, common.settings(args))
        print(f"mira-ls mcp: serving {root} over stdio", file=sys.stderr, flush=True)
        server.run_stdio(ws)
    return 0
