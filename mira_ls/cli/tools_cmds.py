"""``mira-ls tools list|show|approve|reject|add|edit|learn``: synthesized tools, which the
model gets only once you approve them."""

from __future__ import annotations

import argparse
from typing import Any

from mira_ls.cli import common
from mira_ls.cli.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tools", help="synthesized tools: proposals, approval, runs")
    tsub = p.add_subparsers(dest="tools_command", metavar="ACTION", required=True)

    action = common.action_adder(tsub, cmd_tools)

    a = action("list", "proposed, approved, rejected and withdrawn tools", with_id=False)
    a.add_argument("--root", help="only this workspace's (default: every project)")
    action("show", "one tool: definition, versions, recent runs")
    action("approve", "let the model use a tool (at its current version)")
    a = action("reject", "never offer or propose this tool")
    a.add_argument("--reason", help="why, kept with the tool")
    a = action("add", "propose a command tool: tools add [OPTIONS] NAME -- PROGRAM ARG...",
               with_id=False)  # fmt: skip
    a.add_argument("name", metavar="NAME")
    a.add_argument("--root", help="the workspace it runs in (default: the one around the cwd)")
    a.add_argument("--description", default="", help="what it is for (the model reads it)")
    a.add_argument("--path", action="append", default=[], metavar="PARAM",
                   help="a {PARAM} of the command that is a workspace path (checked)")  # fmt: skip
    a.add_argument("--timeout", type=float, help="seconds (default: tools.commandTimeoutSeconds)")
    a.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- PROGRAM ARG...")
    a = action("edit", "change a tool's definition (a new version, to approve again)")
    a.add_argument("--description")
    a.add_argument("--path", action="append", default=None, metavar="PARAM")
    a.add_argument("--timeout", type=float)
    a.add_argument("--why", help="what motivated the change (kept in its history)")
    a.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- PROGRAM ARG...")
    a = action("learn", "look for repeated tool calls now and propose tools", with_id=False)
    a.add_argument("--root", help="the workspace (default: the one around the cwd)")


def _argv(raw: list[str]) -> list[str]:
    """The command after ``--`` (options go before NAME or ID: what follows it is the
    command's own)."""
    if raw[:1] == ["--"]:
        raw = raw[1:]
    if raw and raw[0].startswith("-"):
        raise common.UsageError(
            f"unexpected {raw[0]!r}: options go before NAME/ID, the command after --"
        )
    return raw


def cmd_tools(args: argparse.Namespace) -> int:
    from mira_ls.cli.task_cmds import project_of
    from mira_ls.learning import synthesis as syn

    data: Any
    with common.open_db(args) as store:
        try:
            if args.action == "list":
                project = project_of(store, args.root, required=False) if args.root else None
                data = syn.listed(store, project.id if project else None)
                text = "\n".join(syn.line_of(t) for t in data) or (
                    "no tools yet: they are proposed when the model repeats the same tool "
                    "calls in several answers, or added with `mira-ls tools add`"
                )
                common.emit(args, data, text)
            elif args.action == "learn":
                project = project_of(store, args.root, required=True)
                assert project is not None
                s = common.settings(args).tools
                made = syn.learn(store, project.id, s.min_occurrences)
                data = [{"id": p.tool_id, "name": p.name, "occurrences": p.occurrences}
                        for p in made]  # fmt: skip
                common.emit(args, data, "\n".join(p.note() for p in made) or "nothing new")
            elif args.action == "add":
                argv = _argv(args.argv)
                if not argv:
                    raise common.UsageError("give the command after --: tools add NAME -- PROG ARG")
                project = project_of(store, args.root, required=True)
                assert project is not None
                row = syn.propose_command(store, project.id, args.name, args.description,
                                          argv, args.path, args.timeout)  # fmt: skip
                data = syn.as_json(store, row)
                common.emit(args, data, f"Proposed {row.name} (id {row.id}); it runs only once "
                            f"approved: mira-ls tools approve {row.id}")  # fmt: skip
            elif args.action == "edit":
                new_argv = _argv(args.argv) or None
                if not (new_argv or args.description or args.path is not None or args.timeout):
                    raise common.UsageError(
                        "say what to change: --description, --timeout, --path or -- ARGV"
                    )
                row = syn.edit(store, args.id, description=args.description, argv=new_argv,
                               paths=args.path, timeout_s=args.timeout,
                               motivation=args.why)  # fmt: skip
                data = syn.as_json(store, row, full=True)
                common.emit(args, data, syn.text_of(data) + f"\nVersion {row.version} is a "
                            f"proposal again: mira-ls tools approve {row.id}")  # fmt: skip
            elif args.action == "show":
                data = syn.as_json(store, syn.get(store, args.id), full=True)
                common.emit(args, data, syn.text_of(data))
            else:
                out = (syn.approve(store, args.id) if args.action == "approve"
                       else syn.reject(store, args.id, args.reason))  # fmt: skip
                common.emit(args, out, out["message"])
        except syn.ToolError as exc:
            raise CliError(str(exc)) from None
    return 0
