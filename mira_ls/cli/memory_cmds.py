"""``mira-ls memory list|add|forget|profile``: what mira-ls remembers, seen and corrected."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("memory", help="facts mira-ls remembers: list, add, forget, profile")
    msub = m.add_subparsers(dest="memory_command", metavar="ACTION", required=True)

    def action(name: str, help_: str) -> argparse.ArgumentParser:
        a = msub.add_parser(name, help=help_)
        a.add_argument("--root", help="the workspace (default: the one around the cwd)")
        common.add_common(a, json_flag=True)
        a.set_defaults(func=cmd_memory, action=name)
        return a

    a = action("list", "the remembered facts (yours and this workspace's)")
    a.add_argument("--all", action="store_true", help="include facts no longer true")
    a = action("add", "tell mira-ls something to remember (the LLM extracts the facts)")
    a.add_argument("text", metavar="TEXT")
    a = action("forget", "forget a fact by its id or words from it (or --message/--summary ID)")
    a.add_argument("what", metavar="ID_OR_TEXT", nargs="?")
    a.add_argument("--message", type=int, metavar="ID", help="forget one chat message instead")
    a.add_argument("--summary", type=int, metavar="ID", help="forget one rolling summary instead")
    action("profile", "your profile, folded from the facts")
    action("analyze", "analyse chat messages not analysed yet (salience, intent, topics)")
    action("summarize", "summarise each complete block of 10 chat messages (and of 100)")


def _memory(args: argparse.Namespace, store: Store) -> Any:
    from mira_ls.cli.task_cmds import project_of
    from mira_ls.features import chat
    from mira_ls.features.session import Session
    from mira_ls.memory.facts import Memory

    project = project_of(store, args.root, required=False)
    svc = chat.ChatState().service(Session(store, common.settings(args)))
    return Memory.open(store, svc, project.id if project else None)


def cmd_memory(args: argparse.Namespace) -> int:
    from mira_ls.llm.errors import LlmError
    from mira_ls.memory.facts import MemoryError_

    with common.open_db(args) as store:
        try:
            data, text = _action(args, _memory(args, store))
        except (MemoryError_, LlmError) as exc:
            raise CliError(str(exc)) from None
    common.emit(args, data, text)
    return 0


def _action(args: argparse.Namespace, mem: Any) -> tuple[Any, str]:
    from mira_ls.memory.facts import fact_json

    act = args.action
    if act == "list":
        facts = mem.facts(deprecated=args.all)
        lines = [_line(f) for f in facts]
        return [fact_json(f) for f in facts], "\n".join(lines) or (
            "nothing remembered yet: `mira-ls memory add TEXT`"
        )
    if act == "add":
        r = mem.remember(args.text)
        print(f"cost {r.cost_micro / 1e6:.4f} USD, {r.calls} calls", file=sys.stderr)
        data = [dict(fact_json(c.fact), action=c.action, previous=c.previous) for c in r.changes]
        return data, r.message
    if act == "forget" and (args.message is not None or args.summary is not None):
        return _forget_other(args, mem)
    if act == "forget":
        if not args.what:
            raise CliError("Say what to forget: a fact's id or words from it, --message ID or "
                           "--summary ID.")  # fmt: skip
        gone = mem.forget(args.what)
        n = len(gone)
        text = f"forgot {n} fact{'s' * (n != 1)}: " + "; ".join(_line(f) for f in gone)
        return [fact_json(f) for f in gone], text
    if act == "analyze":
        return _analyze(mem)
    if act == "summarize":
        return _summarize(mem)
    p = mem.profile()
    return p, _profile_text(p)


def _forget_other(args: argparse.Namespace, mem: Any) -> tuple[Any, str]:
    """A message (with its analysis and vector) or a summary (with its vector)."""
    from mira_ls.memory import recall

    if args.what or (args.message is not None and args.summary is not None):
        raise CliError("Forget one thing at a time: a fact, --message ID or --summary ID.")
    if args.message is not None:
        gone = recall.forget_message(mem.store, args.message)
        if gone is None:
            raise CliError(f"There is no chat message #{args.message} of yours.")
        msg = gone.message
        data = {"kind": "message", "id": msg.id, "role": msg.role, "session": msg.session_id,
                "summaries": gone.summaries}  # fmt: skip
        text = f"forgot message #{msg.id} ({msg.role}): {msg.content[:80]}"
        if gone.summaries:
            n = len(gone.summaries)
            text += (f"\nand the {n} summar{'ies' if n != 1 else 'y'} made from it (what is left "
                     "of the block is summarised again: `mira-ls memory summarize`)")  # fmt: skip
        return data, text
    s = recall.forget_summary(mem.store, args.summary)
    if s is None:
        raise CliError(f"There is no summary #{args.summary} of yours.")
    data = {"kind": "summary", "id": s.id, "messages": s.message_count}
    return data, f"forgot summary #{s.id} of {s.message_count} messages: {s.content[:80]}"


def _analyze(mem: Any) -> tuple[Any, str]:
    """In the foreground, through the job runner (the same job the server runs)."""
    from mira_ls.jobs import Lane, Runner
    from mira_ls.memory.analysis import ANALYSIS_KEY, job

    runner = Runner([Lane("llm")])
    try:
        handle = runner.submit("llm", job, mem.store, mem.svc, key=ANALYSIS_KEY)
        if handle is None:  # pragma: no cover - a fresh runner takes every job
            raise CliError("The job runner refused the analysis.")
        run = handle.future.result()
    finally:
        runner.stop()
    text = (
        f"{run.analysed} analysed, {run.reused} reused, {run.failed} failed, "
        f"{run.embedded} embedded; {run.calls} calls, {run.cost_micro / 1e6:.4f} USD"
    )
    if run.stopped:
        text += f"\n{run.stopped}"
    return run.as_json(), text


def _summarize(mem: Any) -> tuple[Any, str]:
    """In the foreground, through the job runner (the same job the server runs)."""
    from mira_ls.jobs import Lane, Runner
    from mira_ls.memory.summaries import SUMMARY_KEY, job

    if not mem.svc.settings.memory.enabled:
        return {"enabled": False}, "Memory is off (memory.enabled is false): nothing summarised."
    runner = Runner([Lane("llm")])
    try:
        handle = runner.submit("llm", job, mem.store, mem.svc, key=SUMMARY_KEY)
        if handle is None:  # pragma: no cover - a fresh runner takes every job
            raise CliError("The job runner refused the summaries.")
        run = handle.future.result()
    finally:
        runner.stop()
    text = run.text()
    if run.stopped and run.stopped not in run.errors:
        text += f"\n{run.stopped}"
    return run.as_json(), text


def _line(f: Any) -> str:
    tail = " (no longer true)" if f.deprecated else ""
    scope = "user" if f.project_id is None else "project"
    return (
        f"#{f.id}  {f.key}: {f.value}  [{f.category or 'other'}, {scope}, {f.confidence:.2f}]{tail}"
    )


def _profile_text(p: dict[str, Any]) -> str:
    lines = []
    if p["tech_stack"]:
        lines.append("stack: " + ", ".join(p["tech_stack"]))
    lines += [f"prefers ({k}): {v}" for k, v in p["coding_preferences"].items()]
    if p["communication_style"]:
        lines.append(f"communication: {p['communication_style']}")
    if p["preferred_language"]:
        lines.append(f"language: {p['preferred_language']}")
    return "\n".join(lines) or "no profile yet: tell mira-ls about your tools and preferences"
