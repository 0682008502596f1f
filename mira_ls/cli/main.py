"""The ``mira-ls`` command: each subcommand group lives in its own module and registers here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mira_ls import __version__
from mira_ls.cli import common

log = logging.getLogger("mira_ls")

# Each module exposes register(subparsers); the order is the order of --help.
_GROUPS = (
    "mira_ls.cli.serve_cmd",
    "mira_ls.cli.index_cmds",
    "mira_ls.cli.hover_cmd",
    "mira_ls.cli.search_cmd",
    "mira_ls.cli.embed_cmd",
    "mira_ls.cli.build_cmds",
    "mira_ls.cli.db_cmds",
    "mira_ls.cli.llm_cmds",
    "mira_ls.cli.git_cmds",
    "mira_ls.cli.config_cmds",
    "mira_ls.cli.report_cmd",
    "mira_ls.cli.task_cmds",
    "mira_ls.cli.mcp_cmd",
    "mira_ls.cli.understand_cmds",
    "mira_ls.cli.clusters_cmd",
    "mira_ls.cli.patterns_cmd",
    "mira_ls.cli.graph_cmd",
    "mira_ls.cli.memory_cmds",
    "mira_ls.cli.docs_cmds",
    "mira_ls.cli.learning_cmds",
    "mira_ls.cli.tools_cmds",
)


# The module of each command, so running one imports only its group (the build pipeline,
# the git miner, the report... are not what `mira-ls index` needs; importing every group
# cost about half of a small project's index time). --help and unknown commands build all.
COMMAND_GROUPS = {
    "serve": "mira_ls.cli.serve_cmd",
    "index": "mira_ls.cli.index_cmds",
    "symbols": "mira_ls.cli.index_cmds",
    "callers": "mira_ls.cli.index_cmds",
    "hover": "mira_ls.cli.hover_cmd",
    "search": "mira_ls.cli.search_cmd",
    "embed": "mira_ls.cli.embed_cmd",
    "build": "mira_ls.cli.build_cmds",
    "errors": "mira_ls.cli.build_cmds",
    "resolutions": "mira_ls.cli.build_cmds",
    "db": "mira_ls.cli.db_cmds",
    "chat": "mira_ls.cli.llm_cmds",
    "budget": "mira_ls.cli.llm_cmds",
    "cache": "mira_ls.cli.llm_cmds",
    "mine": "mira_ls.cli.git_cmds",
    "cochange": "mira_ls.cli.git_cmds",
    "xray": "mira_ls.cli.git_cmds",
    "experts": "mira_ls.cli.git_cmds",
    "fixes": "mira_ls.cli.git_cmds",
    "config": "mira_ls.cli.config_cmds",
    "report": "mira_ls.cli.report_cmd",
    "ops": "mira_ls.cli.task_cmds",
    "analyze": "mira_ls.cli.understand_cmds",
    "task": "mira_ls.cli.task_cmds",
    "mcp": "mira_ls.cli.mcp_cmd",
    "quality": "mira_ls.cli.understand_cmds",
    "clusters": "mira_ls.cli.clusters_cmd",
    "design-patterns": "mira_ls.cli.patterns_cmd",
    "graph": "mira_ls.cli.graph_cmd",
    "memory": "mira_ls.cli.memory_cmds",
    "docs": "mira_ls.cli.docs_cmds",
    "feedback": "mira_ls.cli.learning_cmds",
    "patterns": "mira_ls.cli.learning_cmds",
    "tools": "mira_ls.cli.tools_cmds",
}


def build_parser(groups: Sequence[str] = _GROUPS) -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="mira-ls",
        description="A programming context oracle for any LSP editor.",
    )
    parser.add_argument("--version", action="version", version=f"mira-ls {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in groups:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    group = COMMAND_GROUPS.get(argv[0]) if argv else None
    parser = build_parser((group,) if group else _GROUPS)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return common.run(args)
