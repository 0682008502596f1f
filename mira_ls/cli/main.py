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
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="mira-ls",
        description="A programming context oracle for any LSP editor.",
    )
    parser.add_argument("--version", action="version", version=f"mira-ls {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _GROUPS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return common.run(args)
