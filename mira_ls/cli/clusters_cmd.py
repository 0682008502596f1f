"""``mira-ls clusters PATH [--json] [--name]``: recompute the workspace's domain clusters
(communities of files from calls, imports, co-change and code vectors), named from their
paths or, with ``--name``, by the LLM through the budget."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.store import projects


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "clusters",
        help="recompute the domain clusters of a workspace (files that call, import and "
        "change together)",
        description=(
            "Group the files of an indexed workspace into domains from resolved calls, "
            "imports, co-change (run `mira-ls mine` first) and code vectors when embedded, "
            "and store them for the report and the hover. --name asks the LLM for each "
            "new cluster's name and description (a cluster whose files are unchanged keeps "
            "the name it was given, asking nothing)."
        ),
    )
    p.add_argument(
        "path", nargs="?", default=".", metavar="PATH",
        help="the workspace folder or a path inside it (default: the current folder)",
    )  # fmt: skip
    p.add_argument(
        "--name", action="store_true", help="name and describe the clusters with the LLM"
    )
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_clusters)


def cmd_clusters(args: argparse.Namespace) -> int:
    from mira_ls.llm.errors import LlmError
    from mira_ls.llm.pricing import usd
    from mira_ls.understand import clusters

    target = Path(args.path).expanduser().resolve()
    if not target.exists():
        raise CliError(f"{args.path} does not exist; pass a workspace folder")
    settings = common.settings(args)
    with common.open_db(args) as store:
        project = projects.for_path(store.conn(), target)
        if project is None:
            raise CliError(
                f"{target} is not inside an indexed workspace; run `mira-ls index` on its "
                "folder first (and `mira-ls mine` for co-change)"
            )
        svc = None
        if args.name:
            from mira_ls.features import chat
            from mira_ls.features.session import Session

            svc = chat.ChatState().service(Session(store, settings))
        try:
            run = clusters.compute(store, project.id, svc)
        except LlmError as exc:
            raise CliError(f"clusters not stored: {exc}") from exc
    if not args.quiet:
        sig = ", ".join(f"{k} {v}" for k, v in sorted(run.signals.items())) or "no edges"
        print(
            f"{len(run.clusters)} clusters of {run.linked} linked files ({run.files} indexed) "
            f"in {run.seconds:.2f} s; edges from {sig}",
            file=sys.stderr,
        )
        if run.naming is not None:
            n = run.naming
            print(
                f"named by the LLM: {n.calls} calls, {n.cached_answers} cached answers, "
                f"{n.kept} names kept, {usd(n.cost_micro)}",
                file=sys.stderr,
            )
    lines = []
    for c in run.clusters:
        experts = ", ".join(e.author for e in c.experts)
        lines.append(
            f"{c.name} · {len(c.members)} files · cohesion {c.cohesion:.2f}"
            + (f" · experts: {experts}" if experts else "")
        )
        if c.description:
            lines.append(f"    {c.description}")
        shown = c.members[:10]
        lines.extend(f"    {m}" for m in shown)
        if len(c.members) > len(shown):
            lines.append(f"    ... and {len(c.members) - len(shown)} more")
    common.emit(args, run.as_json(), "\n".join(lines) or "no clusters: no files are linked")
    return 0
