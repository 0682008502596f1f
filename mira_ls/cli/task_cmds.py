"""``mira-ls ops`` (every LLM operation with its events and cost) and ``mira-ls task ...``."""

from __future__ import annotations

import argparse
from pathlib import Path

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.store import Store, projects
from mira_ls.store.projects import Project


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ops", help="LLM operations (chat, explain, fixes, decompositions)")
    p.add_argument("--task", type=int, metavar="ID", help="only the operations of this task")
    p.add_argument("--limit", type=int, default=50, help="at most N (default 50)")
    p.add_argument("--root", help="the workspace (default: the one around the cwd)")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_ops)


def project_of(store: Store, root: str | None, *, required: bool) -> Project | None:
    """The project named by --root, else the one around the cwd."""
    conn = store.conn()
    if root:
        p = projects.by_root(conn, Path(root))
        if p is None:
            raise CliError(f"{root} has not been indexed; run `mira-ls index {root}` first")
        return p
    p = projects.for_path(conn, Path.cwd())
    if p is None and required:
        raise CliError(
            f"{Path.cwd()} is not inside an indexed workspace; run `mira-ls index .` there "
            "first, or pass --root"
        )
    return p


def cmd_ops(args: argparse.Namespace) -> int:
    from mira_ls.tasks import operations

    if args.limit < 1:
        raise common.UsageError("--limit must be at least 1")
    with common.open_db(args) as store:
        project = None if args.task is not None else project_of(store, args.root, required=False)
        ops = operations.listed(
            store,
            project_id=project.id if project else None,
            task_id=args.task,
            limit=args.limit,
        )
    common.emit(args, ops, "\n".join(operations.line_of(o) for o in ops))
    return 0
