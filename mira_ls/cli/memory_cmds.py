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
    a.add_argument("--pattern", type=int, metavar="ID", help="forget one learned pattern instead")
    a.add_argument("--profile", metavar="FIELD", help="clear one profile field (kept empty)")
    a = action("profile", "your profile, folded from the facts and your messages "
               "(profile set FIELD VALUE | profile unset FIELD)")  # fmt: skip
    a.add_argument("op", nargs="?", choices=["show", "set", "unset"], metavar="set|unset")
    a.add_argument("field", nargs="?", metavar="FIELD",
                   help="verbosity, tech_stack (a,b), coding_preferences.KEY...")  # fmt: skip
    a.add_argument("value", nargs="*", metavar="VALUE")
    a = action("patterns", "learned patterns: repeated behaviours with their evidence "
               "(patterns add TEXT | patterns edit ID TEXT)")  # fmt: skip
    a.add_argument("op", nargs="?", choices=["list", "add", "edit"], metavar="add|edit")
    a.add_argument("rest", nargs="*", metavar="ARG")
    a.add_argument("--type", dest="pattern_type", metavar="TYPE",
                   help="workflow, coding_style, communication, mistake...")  # fmt: skip
    a.add_argument("--when", dest="applies_when", metavar="TEXT", help="when it applies")
    a.add_argument("--all", action="store_true", help="include forgotten patterns")
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
    from mira_ls.memory.profile import ProfileError

    with common.open_db(args) as store:
        try:
            if args.action in ("profile", "patterns") or (
                args.action == "forget" and (args.pattern is not None or args.profile)
            ):
                data, text = _profile_action(args, store)
            else:
                data, text = _action(args, _memory(args, store))
        except (MemoryError_, LlmError, ProfileError) as exc:
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
    assert act == "summarize"
    return _summarize(mem)


def _profile_action(args: argparse.Namespace, store: Store) -> tuple[Any, str]:
    """profile [set|unset], patterns [add|edit], forget --pattern/--profile: no model call
    (the fold is deterministic), so no LLM service is needed."""
    from mira_ls.memory.facts import fact_json
    from mira_ls.memory.profile import Profiles, pattern_json, profile_json
    from mira_ls.store import memory_facts as fq

    prof = Profiles.open(store, enabled=common.settings(args).memory.enabled)
    if args.action == "forget":
        if (
            args.what
            or args.message is not None
            or args.summary is not None
            or (args.pattern is not None and args.profile)
        ):
            raise CliError("Forget one thing at a time: a fact, --message, --summary, "
                           "--pattern or --profile.")  # fmt: skip
        if args.pattern is not None:
            p = prof.forget_pattern(args.pattern)
            return pattern_json(p), f"forgot pattern #{p.id}: {p.description}"
        row = prof.clear(args.profile)
        return (
            profile_json(row),
            f"cleared {args.profile} (`memory profile unset {args.profile}`"
            " lets mira-ls fill it in again)",
        )
    if args.action == "patterns":
        return _patterns(args, prof)
    op = args.op or "show"
    if op == "set":
        if not args.field or not args.value:
            raise common.UsageError("usage: mira-ls memory profile set FIELD VALUE")
        prof.set(args.field, " ".join(args.value))
    elif op == "unset":
        if not args.field or args.value:
            raise common.UsageError("usage: mira-ls memory profile unset FIELD")
        prof.unset(args.field)
    elif args.field or args.value:
        raise common.UsageError("usage: mira-ls memory profile [set FIELD VALUE | unset FIELD]")
    from mira_ls.cli.task_cmds import project_of

    row, pats = prof.fold()
    assert prof.user_id is not None
    project = project_of(store, args.root, required=False)
    facts = fq.visible(store.conn(), prof.user_id, project.id if project else None)
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for f in facts:
        by_cat.setdefault(f.category or "other", []).append(fact_json(f))
    data = {**profile_json(row), "patterns": [pattern_json(p) for p in pats], "facts": by_cat}
    return data, _profile_text(data)


def _patterns(args: argparse.Namespace, prof: Any) -> tuple[Any, str]:
    from mira_ls.memory.profile import pattern_json, pattern_line

    op = args.op or "list"
    if op == "add":
        if not args.rest:
            raise common.UsageError("usage: mira-ls memory patterns add TEXT [--type T]")
        p = prof.add_pattern(" ".join(args.rest), args.pattern_type or "other",
                             args.applies_when)  # fmt: skip
        return pattern_json(p), f"#{p.id}  {pattern_line(p)}"
    if op == "edit":
        if not args.rest or not args.rest[0].lstrip("#").isdigit():
            raise common.UsageError("usage: mira-ls memory patterns edit ID [TEXT] [--type T]"
                                    " [--when W]")  # fmt: skip
        text = " ".join(args.rest[1:]) or None
        p = prof.edit_pattern(int(args.rest[0].lstrip("#")), text, args.applies_when,
                              args.pattern_type)  # fmt: skip
        return pattern_json(p), f"#{p.id}  {pattern_line(p)}"
    if args.rest:
        raise common.UsageError("usage: mira-ls memory patterns [add TEXT | edit ID TEXT]")
    prof.fold()
    pats = prof.patterns(dismissed=args.all)
    lines = [f"#{p.id}  {pattern_line(p)}  [{p.pattern_type}"
             f"{', edited' if p.user_edited else ''}{', forgotten' if p.dismissed else ''}]"
             for p in pats]  # fmt: skip
    return [pattern_json(p) for p in pats], "\n".join(lines) or (
        "no learned patterns yet: they appear once a behaviour repeats"
    )


def _forget_other(args: argparse.Namespace, mem: Any) -> tuple[Any, str]:
    """A message (with its analysis and vector) or a summary (with its vector)."""
    from mira_ls.memory import recall

    if args.what or (args.message is not None and args.summary is not None):
        raise CliError("Forget one thing at a time: a fact, --message ID or --summary ID.")
    if args.message is not None:
        gone = recall.forget_message(mem.store, args.message,
                                     fold=mem.svc.settings.memory.enabled)  # fmt: skip
        if gone is None:
            raise CliError(f"There is no chat message #{args.message} of yours.")
        msg = gone.message
        data = {"kind": "message", "id": msg.id, "role": msg.role, "session": msg.session_id,
                "summaries": gone.summaries, "facts": gone.facts}  # fmt: skip
        text = f"forgot message #{msg.id} ({msg.role}): {msg.content[:80]}"
        if gone.facts:
            ids = ", ".join(f"#{i}" for i in gone.facts)
            text += f"\nand the facts it alone was the source of: {ids}"
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
    f = run.facts
    if f and (f["extracted"] or f["reused"] or f["failed"] or f["stopped"]):
        n = f["extracted"] + f["reused"] + f["failed"]
        text += (
            f"\nfacts from {n} message{'s' * (n != 1)}: {f['added']} added, "
            f"{f['updated']} updated, {f['deleted']} no longer true, {f['kept']} confirmed, "
            f"{f['failed']} failed; {f['calls']} calls, {f['cost_micro'] / 1e6:.4f} USD"
        )
        if f["stopped"]:
            text += f"\n{f['stopped']}"
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
    for field, label in (("verbosity", "answers wanted"), ("communication_style",
                         "communication"), ("experience_level", "experience"),
                         ("preferred_language", "language")):  # fmt: skip
        if p[field]:
            lines.append(f"{label}: {p[field]}")
    if p["learning_goals"]:
        lines.append("learning: " + ", ".join(p["learning_goals"]))
    if p["edited_fields"]:
        lines.append("set by you: " + ", ".join(p["edited_fields"]))
    for pat in p["patterns"]:
        lines.append(f"pattern #{pat['id']}: {pat['description']} "
                     f"(seen {pat['times_observed']} times)")  # fmt: skip
    return "\n".join(lines) or "no profile yet: tell mira-ls about your tools and preferences"
