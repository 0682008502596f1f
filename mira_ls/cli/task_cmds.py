"""``mira-ls ops`` (every LLM operation with its events and cost) and ``mira-ls task ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

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

    t = sub.add_parser("task", help="tasks of the workspace: add, list, decompose, start, pause")
    tsub = t.add_subparsers(dest="task_command", metavar="ACTION", required=True)

    def action(name: str, help_: str, *, with_id: bool = True) -> argparse.ArgumentParser:
        a = tsub.add_parser(name, help=help_)
        if with_id:
            a.add_argument("id", type=int, metavar="ID")
        a.add_argument("--root", help="the workspace (default: the one around the cwd)")
        common.add_common(a, json_flag=True)
        a.set_defaults(func=cmd_task, action=name)
        return a

    a = action("add", "add a task", with_id=False)
    a.add_argument("title", metavar="TITLE")
    a.add_argument("--description", help="what the task is about")
    a.add_argument("--parent", type=int, metavar="ID", help="make it a subtask of task ID")
    a = action("list", "the tasks as an outline", with_id=False)
    a.add_argument("--status", action="append", help="only todo, doing, done or dropped")
    action("show", "a task with its subtasks, last snapshot and operations")
    action("decompose", "ask the LLM to split a task into subtasks")
    action("start", "start or resume a task (says what changed since the pause)")
    a = action("pause", "pause a task, recording where the work stands")
    a.add_argument("--notes", help="a note for when you come back")
    a = action("done", "mark a task done")
    a.add_argument("--notes", help="a closing note")


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


def _show_task(d: dict[str, Any]) -> str:
    lines = [f"{d['id']}  [{d['status']}] {d['title']}"]
    if d.get("description"):
        lines.append(f"    {d['description']}")
    if d.get("rationale"):
        lines.append(f"    why: {d['rationale']}")
    for x in d.get("targets", []):
        at = (
            f" -> {x['path']}" + (f":{x['line']}" if x.get("line") else "")
            if x["resolved"]
            else " (not in the index)"
        )
        lines.append(f"    {x['kind']} {x['name']}{at}")
    return "\n".join(lines)


def cmd_task(args: argparse.Namespace) -> int:
    from mira_ls.tasks import core

    with common.open_db(args) as store:
        project = project_of(store, args.root, required=True)
        assert project is not None
        root = Path(project.root_path)
        trusted = common.settings(args).git.trust_repository_config
        try:
            data, text = _task_action(args, store, project.id, root, trusted)
        except core.TaskError as exc:
            raise CliError(str(exc)) from None
    common.emit(args, data, text)
    return 0


def _task_action(
    args: argparse.Namespace, store: Store, pid: int, root: Path, trusted: bool
) -> tuple[Any, str]:
    from mira_ls.tasks import core

    act = args.action
    if act == "add":
        t = core.create(store, pid, args.title, args.description, args.parent)
        return core.task_json(t), f"added task {t.id}: {t.title}"
    if act == "list":
        rows = core.listed(store, pid, args.status)
        cur = core.current(store, pid)
        data = [core.task_json(t, current=t.id == cur) for t in rows]
        return data, "\n".join(
            core.tree_lines(rows, cur)
        ) or "no tasks yet: `mira-ls task add TITLE`"
    if act == "show":
        d = core.details(store, pid, args.id)
        text = [_show_task(d)] + [_show_task(s) for s in d["subtasks"]]
        text.append(f"{d['operations']} operations, {d['cost_usd']:.4f} USD")
        return d, "\n".join(text)
    if act == "decompose":
        return _decompose(args, store, pid)
    if act == "start":
        r = core.start(store, pid, root, args.id, trusted=trusted)
        return r.as_json(), r.message
    if act == "pause":
        p = core.pause(store, pid, root, args.id, args.notes, trusted=trusted)
        return p.as_json(), p.message
    p = core.finish(store, pid, root, args.id, args.notes, trusted=trusted)
    return p.as_json(), f"Task {args.id} is done."


def _decompose(args: argparse.Namespace, store: Store, pid: int) -> tuple[Any, str]:
    from mira_ls.features import chat
    from mira_ls.features.session import Session
    from mira_ls.llm.errors import LlmError
    from mira_ls.tasks import decompose

    svc = chat.ChatState().service(Session(store, common.settings(args)))
    try:
        d = decompose.decompose(store, svc, pid, args.id)
    except LlmError as exc:
        raise CliError(str(exc)) from None
    print(f"{d.message} (operation {d.operation}, cost {d.cost_micro / 1e6:.4f} USD"
          f"{', cached' if d.cached else ''})", file=sys.stderr)  # fmt: skip
    return d.as_json(), "\n".join(_show_task(core_json) for core_json in d.as_json()["subtasks"])
