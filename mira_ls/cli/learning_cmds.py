"""``mira-ls feedback OPERATION --helpful|--unhelpful [--note N]`` and ``mira-ls patterns
list|show|edit|retire|restore|forget`` (reasoning patterns learned from outcomes)."""

from __future__ import annotations

import argparse
import time

from mira_ls.cli import common
from mira_ls.cli.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser("feedback", help="say whether an answer (an operation) helped")
    f.add_argument("operation", metavar="OPERATION", help="the operation id (`mira-ls ops`)")
    g = f.add_mutually_exclusive_group(required=True)
    g.add_argument("--helpful", dest="helpful", action="store_true", default=None)
    g.add_argument("--unhelpful", dest="helpful", action="store_false")
    f.add_argument("--note", help="what was good or wrong about it")
    common.add_common(f, json_flag=True)
    f.set_defaults(func=cmd_feedback)

    p = sub.add_parser("patterns", help="reasoning patterns learned from fixes that worked")
    psub = p.add_subparsers(dest="patterns_command", metavar="ACTION", required=True)

    action = common.action_adder(psub, cmd_patterns)

    a = action("list", "the patterns with their successes and failures", with_id=False)
    a.add_argument("--root", help="only this workspace's (default: every project)")
    action("show", "one pattern with its steps")
    a = action("edit", "change a pattern's name, description or template")
    a.add_argument("--name")
    a.add_argument("--description")
    a.add_argument("--template", help="the example change shown to the model")
    action("retire", "never show this pattern again")
    action("restore", "show a retired pattern again")
    action("forget", "delete a pattern and its counts")


def cmd_feedback(args: argparse.Namespace) -> int:
    from mira_ls.learning import outcomes

    learn = common.settings(args).learning.enabled
    with common.open_db(args) as store:
        try:
            out = outcomes.feedback(store, args.operation, args.helpful, args.note, learn=learn)
        except outcomes.FeedbackError as exc:
            raise CliError(str(exc)) from None
    common.emit(args, out, out["message"])
    return 0


def cmd_patterns(args: argparse.Namespace) -> int:
    from mira_ls.learning import outcomes
    from mira_ls.store import learning as q

    with common.open_db(args) as store:
        if args.action == "list":
            pid = None
            if args.root:
                from mira_ls.cli.task_cmds import project_of

                project = project_of(store, args.root, required=True)
                pid = project.id if project else None
            rows = outcomes.listed(store, pid)
            text = "\n".join(outcomes.line_of(p) for p in rows) or (
                "no patterns yet: they are learned from applied fixes that stay fixed"
            )
            common.emit(args, rows, text)
            return 0
        conn = store.conn()
        found = q.pattern(conn, args.id)
        if found is None:
            raise CliError(f"There is no pattern {args.id}; `mira-ls patterns list` lists them.")
        if args.action == "forget":
            with store.write() as w:
                q.delete(w, args.id)
            common.emit(args, {"id": args.id, "forgotten": True}, f"Forgot pattern {args.id}.")
            return 0
        if args.action in ("edit", "retire", "restore"):
            if args.action == "edit" and not (args.name or args.description or args.template):
                raise common.UsageError("say what to change: --name, --description or --template")
            from mira_ls.llm.redact import redact

            def clean(new: str | None, old: str | None) -> str | None:
                return redact(new if new is not None else old or "") or None

            editing = args.action == "edit"
            with store.write() as w:
                q.edit(  # texts stored redacted, the ones kept too (the row says so)
                    w,
                    args.id,
                    name=clean(args.name, found.name) if editing else None,
                    description=clean(args.description, found.description) if editing else None,
                    template=clean(args.template, found.solution_template) if editing else None,
                    retired={"retire": True, "restore": False}.get(args.action),
                    now=int(time.time()),
                    redacted=editing,
                )
            found = q.pattern(store.conn(), args.id)
            assert found is not None
        data = outcomes.pattern_json(store.conn(), found)
        text = outcomes.line_of(data)
        if data["template"]:
            text += "\n    example:\n" + "\n".join(
                f"      {x}" for x in data["template"].splitlines()
            )
        common.emit(args, data, text)
    return 0
