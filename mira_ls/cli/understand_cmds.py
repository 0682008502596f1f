"""``mira-ls quality [PATH]``: functions whose complexity, nesting, length or parameters
pass the thresholds, worst first, weighed by the file's churn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.cli.index_cmds import _StderrProgress
from mira_ls.index import indexer
from mira_ls.store import projects


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quality", help="complex, deeply nested, long or many-parameter functions, worst first"
    )
    p.add_argument(
        "path", nargs="?", default=".", metavar="PATH",
        help="a workspace, or a folder or file inside one (default: the current folder)",
    )  # fmt: skip
    p.add_argument("--all", action="store_true", help="list every function, not only issues")
    p.add_argument("--max-complexity", type=int, default=10, metavar="N")
    p.add_argument("--max-nesting", type=int, default=4, metavar="N")
    p.add_argument("--max-length", type=int, default=60, metavar="LINES")
    p.add_argument("--max-params", type=int, default=5, metavar="N")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_quality)


def cmd_quality(args: argparse.Namespace) -> int:
    from mira_ls.understand import quality

    target = Path(args.path).expanduser().resolve()
    if not target.exists():
        raise CliError(f"{args.path} does not exist; pass a workspace folder or a file in one")
    for flag in ("max_complexity", "max_nesting", "max_length", "max_params"):
        if getattr(args, flag) < 1:
            raise common.UsageError(f"--{flag.replace('_', '-')} must be at least 1")
    settings = common.settings(args)
    with common.open_db(args) as store:
        project = projects.for_path(store.conn(), target)
        root = Path(project.root_path) if project else target
        if not root.is_dir():
            raise CliError(f"{target} is not inside an indexed workspace; index its folder first")
        bar = _StderrProgress(not args.quiet)
        try:
            stats = indexer.index_workspace(store, root, settings.index, progress=bar)
        except indexer.WorkspaceError as exc:
            raise CliError(str(exc)) from exc
        finally:
            bar.close()
        prefix = "" if target == root else target.relative_to(root).as_posix()
        limits = quality.Thresholds(
            args.max_complexity, args.max_nesting, args.max_length, args.max_params
        )
        run = quality.measure_project(store, stats.project_id, root, prefix, limits)
    shown = run.functions if args.all else run.with_issues
    for s in run.skipped:
        print(f"mira-ls: skipped {s}", file=sys.stderr)
    if not args.quiet:
        print(
            f"{len(run.functions)} functions in {run.files} files measured in "
            f"{run.seconds:.2f} s; {len(run.with_issues)} with issues",
            file=sys.stderr,
        )
    lines = []
    for m in shown:
        head = (
            f"{m.path}:{m.line}: {m.symbol} [{m.severity or 'ok'}] complexity {m.complexity}, "
            f"nesting {m.nesting}, {m.length} lines, {m.params} params"
            + (f", {m.churn} commits" if m.churn else "")
        )
        lines.append(head)
        lines.extend(f"    {i.message}" for i in m.issues)
    common.emit(args, [m.as_json() for m in shown], "\n".join(lines) or "no issues found")
    return 0
