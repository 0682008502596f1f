"""``mira-ls design-patterns PATH [--validate] [--yes] [--json]``: the design pattern
candidates found structurally in an indexed workspace (free), and with ``--validate`` the
LLM's verdict on those without one cached (asks above ``analysis.confirmAboveUsd``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.store import projects


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "design-patterns",
        help="design patterns of a workspace: structural candidates, validated by the LLM",
        description=(
            "Find design pattern candidates (singleton, factory, builder, observer, strategy,"
            " adapter, decorator, repository) from the index of a workspace, and with "
            "--validate ask the LLM whether each one without a cached verdict is the pattern "
            "(several per call, through the budget; asks first above "
            "analysis.confirmAboveUsd unless --yes). Verdicts are cached by the members' "
            "content hashes: an unchanged candidate is never asked again."
        ),
    )
    p.add_argument(
        "path", nargs="?", default=".", metavar="PATH",
        help="the workspace folder or a path inside it (default: the current folder)",
    )  # fmt: skip
    p.add_argument("--validate", action="store_true", help="ask the LLM about new candidates")
    p.add_argument(
        "--yes", action="store_true", help="do not ask when above analysis.confirmAboveUsd"
    )
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_design_patterns)


def cmd_design_patterns(args: argparse.Namespace) -> int:
    from mira_ls.cli.embed_cmd import _confirm
    from mira_ls.llm.errors import LlmError
    from mira_ls.llm.pricing import usd
    from mira_ls.store import design_patterns as dp
    from mira_ls.understand import patterns

    target = Path(args.path).expanduser().resolve()
    if not target.exists():
        raise CliError(f"{args.path} does not exist; pass a workspace folder")
    settings = common.settings(args)
    stopped = None
    with common.open_db(args) as store:
        project = projects.for_path(store.conn(), target)
        if project is None:
            raise CliError(
                f"{target} is not inside an indexed workspace; run `mira-ls index` on its "
                "folder first"
            )
        root = Path(project.root_path)
        plan = patterns.plan(store, settings, root, project.id, estimate=args.validate)
        done = None
        if args.validate and plan.prompts:
            from mira_ls.features import chat
            from mira_ls.features.session import Session

            limit = settings.analysis.confirm_above_usd
            if not args.quiet:
                print(
                    f"{len(plan.pending)} candidates to validate in {len(plan.prompts)} calls, "
                    f"at most {usd(plan.cost_micro)} with {settings.llm.model}",
                    file=sys.stderr,
                )
            if plan.cost_micro > limit * 1_000_000 and not args.yes:
                q = f"Validating may cost up to {usd(plan.cost_micro)}. Continue? [y/N] "
                if not _confirm(q):
                    raise CliError(
                        f"not validated: the estimate {usd(plan.cost_micro)} is above "
                        f"analysis.confirmAboveUsd ({usd(round(limit * 1_000_000))}); run "
                        "again with --yes to go ahead"
                    )
            svc = chat.ChatState().service(Session(store, settings))
            done = patterns.Validated()
            try:
                patterns.validate(store, svc, project.id, plan, into=done)
            except LlmError as exc:
                stopped = str(exc)
        stored = dp.patterns(store.conn(), project.id)
    lines = []
    for sp in stored:
        head = sp.members[0] if sp.members else ("?", "", "?", 0)
        conf = f" {sp.confidence:.2f}" if sp.status != "candidate" else ""
        lines.append(f"{sp.pattern} ({sp.status}{conf}): {head[0]} {head[2]}:{head[3]}")
        if sp.description:
            lines.append(f"    {sp.description}")
        for qn, role, fp, line in sp.members[1:4]:
            lines.append(f"    {role}: {qn} {fp}:{line}")
    if not args.quiet:
        n = {s: sum(1 for sp in stored if sp.status == s) for s in ("validated", "candidate")}
        msg = f"{len(stored)} patterns: {n['validated']} validated, {n['candidate']} candidates"
        if done is not None:
            msg += f"; {done.calls} calls, {done.cached_answers} cached answers, "
            msg += usd(done.cost_micro)
        print(msg, file=sys.stderr)
    common.emit(args, patterns.as_json(plan, done), "\n".join(lines) or "no candidates found")
    if stopped:
        raise CliError(f"validation stopped: {stopped}")
    return 0
