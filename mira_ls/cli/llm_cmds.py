"""``mira-ls chat``, ``mira-ls budget`` and ``mira-ls cache stats|clear``.

``chat`` streams the answer to stdout and nothing else (the same bytes on a cache hit);
whether it was cached, what it cost and any budget notes go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mira_ls import confined
from mira_ls.cli import common
from mira_ls.cli.common import CliError, UsageError
from mira_ls.config import REASONING_EFFORTS
from mira_ls.git.repo import GitError, run_git

if TYPE_CHECKING:
    from mira_ls.features import chat
    from mira_ls.features.session import Located, Session
    from mira_ls.store import Store

# The LLM stack (openai SDK, tokenizer) is imported by the commands that use it, so other
# commands start without it.

UTF32 = "utf-32"  # CLI columns are code points


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="ask the LLM about the workspace (answer on stdout)")
    p.add_argument(
        "question",
        nargs="?",
        help="the question (omit with --file/--line to explain the symbol there)",
    )
    p.add_argument("--file", help="file the question is about (context comes from it)")
    p.add_argument("--line", type=int, help="1-based line in --file")
    p.add_argument("--col", type=int, help="1-based column in --file (characters, default 1)")
    p.add_argument("--explain", action="store_true", help="explain the symbol at --file/--line")
    p.add_argument("--model", help="model for this answer (default: mira.llm.model)")
    p.add_argument(
        "--effort",
        choices=REASONING_EFFORTS,
        help="reasoning effort for this answer",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--continue",
        dest="cont",
        action="store_true",
        help="follow up on the latest conversation (its history goes along)",
    )
    g.add_argument("--session", help="follow up on this conversation id")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_chat)

    b = sub.add_parser("budget", help="LLM spending today and this month (UTC), cache savings")
    b.add_argument("--days", type=int, default=0, help="also list the last N daily summaries")
    b.add_argument(
        "--resume",
        action="store_true",
        help="lift a hold on spending (set when a call cost more than was reserved for it)",
    )
    common.add_common(b, json_flag=True)
    b.set_defaults(func=cmd_budget)

    c = sub.add_parser("cache", help="LLM answer cache: stats or clear")
    csub = c.add_subparsers(dest="cache_command", metavar="stats|clear")
    cs = csub.add_parser("stats", help="entries, size, hit rate and savings, per model")
    common.add_common(cs, json_flag=True)
    cs.set_defaults(func=cmd_cache_stats)
    cc = csub.add_parser("clear", help="remove cached answers")
    cc.add_argument("--expired", action="store_true", help="only remove expired answers")
    common.add_common(cc, json_flag=True)
    cc.set_defaults(func=cmd_cache_clear)
    c.set_defaults(func=lambda args: _usage(c))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _project_root(path: Path) -> Path:
    """The git top level of a path, else its directory."""
    start = path if path.is_dir() else path.parent
    try:
        out = run_git(start, "rev-parse", "--show-toplevel", check=False, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.decode().strip())
    except GitError:
        pass
    return start


def _confined_file(given: str) -> Path:
    """``--file`` as an absolute path inside its workspace; a link that leads out of the
    workspace is refused (what is read here goes to the model), as the editor path does."""
    shown = Path(given).absolute()
    # The workspace is found from where the name is, not from where a link points.
    root = _project_root(shown.parent.resolve())
    try:
        return confined.resolve_inside(root, shown.parent.resolve() / shown.name)
    except confined.OutsideWorkspace as exc:
        raise CliError(str(exc)) from None


def _session(args: argparse.Namespace, store: Store, anchor: Path | None) -> Session:
    from mira_ls.features.session import ProjectRoot, Session
    from mira_ls.store import projects as project_store

    session = Session(store, common.settings(args))
    if anchor is None:
        return session
    known = project_store.for_path(store.conn(), anchor)
    if known is not None:
        session.roots.append(ProjectRoot(known.id, Path(known.root_path)))
    else:
        session.add_root(_project_root(anchor))
    return session


def _documents(session: Session) -> chat.Documents:
    from mira_ls.features import chat

    def load(uri: str) -> tuple[Located, str] | None:
        path = chat.uri_to_path(uri)
        loc = session.locate(path) if path else None
        if loc is None or path is None:
            return None
        try:
            return loc, path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return None

    return load


def _check_position(shown: str, file: Path, line: int, col: int) -> None:
    """A position past the end of the file is a mistake worth a sentence, not a clamp."""
    try:
        lines = file.read_bytes().decode("utf-8", "replace").splitlines()
    except OSError as exc:
        raise CliError(f"cannot read {shown}: {exc.strerror or exc}") from None
    if line > max(len(lines), 1):
        n = len(lines)
        raise CliError(
            f"--line {line} is past the end of {shown}, which has {n} line{'s' * (n != 1)}"
        )
    width = len(lines[line - 1]) if lines else 0
    if col > width + 1:
        raise CliError(
            f"--col {col} is past the end of line {line} of {shown}, "
            f"which has {width} character{'s' * (width != 1)}"
        )


def _chat_target(args: argparse.Namespace, question: str) -> Path | None:
    """The file the question is about, once the flags make sense together (else UsageError)."""
    if not question and not args.file:
        raise UsageError(
            'give a question, e.g. mira-ls chat "why does X fail?" [--file F '
            "--line L], or --file F --line L to explain the symbol there"
        )
    if not args.file and (args.line is not None or args.col is not None or args.explain):
        flag = (
            "--line" if args.line is not None else "--col" if args.col is not None else "--explain"
        )
        raise UsageError(f"{flag} needs --file: the file the position is in")
    if (args.line is not None and args.line < 1) or (args.col is not None and args.col < 1):
        raise UsageError("--line and --col are 1-based")
    file = _confined_file(args.file) if args.file else None
    if file is not None and not file.is_file():
        raise CliError(f"{args.file} is not a file")
    if file is not None:
        _check_position(args.file, file, args.line or 1, args.col or 1)
    return file


def _chat_arg(args: argparse.Namespace, question: str, file: Path | None) -> dict[str, Any]:
    """The command's arguments as an editor would send them."""
    arg: dict[str, Any] = {}
    if question and not args.explain:
        arg["question"] = question
    if file is not None:
        arg["uri"] = file.as_uri()
        arg["position"] = {"line": (args.line or 1) - 1, "character": (args.col or 1) - 1}
    if args.session:
        arg["session"] = args.session
    if args.model:
        arg["model"] = args.model
    if args.effort:
        arg["effort"] = args.effort
    arg["newSession"] = not (args.cont or args.session)
    return arg


def cmd_chat(args: argparse.Namespace) -> int:
    question = (args.question or "").strip()
    file = _chat_target(args, question)
    from mira_ls.features import chat
    from mira_ls.llm.errors import LlmError

    store = common.open_db(args)
    with store:
        session = _session(args, store, file or Path.cwd())
        arg = _chat_arg(args, question, file)
        state = chat.ChatState()
        try:
            svc = state.service(session)
            op = "explain" if (args.explain or not question) else "chat"
            prep = chat.prepare(state, session, op, arg, _documents(session), UTF32, svc.secrets)
        except chat.NeedInput as exc:
            raise CliError(str(exc)) from None
        if args.cont:
            prep.question.with_history = True
        if prep.question.project_id is None:
            prep.question.use_tools = False
        streamed: list[str] = []

        def chunk(text: str, seq: int) -> None:
            streamed.append(text)
            if not args.json:
                sys.stdout.write(text)
                sys.stdout.flush()

        try:
            result = chat.run(state, session, prep, chat.Sink(chunk))
        except LlmError as exc:
            if streamed and not args.json:
                sys.stdout.write("\n")
            raise CliError(str(exc)) from None
    text = result.text
    if args.json:
        common.emit(args, {k: v for k, v in result.as_json().items() if k != "uri"}, "")
    elif not text.endswith("\n"):
        sys.stdout.write("\n")
    print(("cached: " if result.cached else "") + result.cost, file=sys.stderr)
    if result.remembered:
        print(result.remembered, file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"answer saved to {result.file}", file=sys.stderr)
    return 0 if result.complete else 1


def cmd_budget(args: argparse.Namespace) -> int:
    from mira_ls.features import chat
    from mira_ls.features.session import Session
    from mira_ls.llm.pricing import usd
    from mira_ls.store import budget as budget_store

    store = common.open_db(args)
    with store:
        svc = chat.ChatState().service(Session(store, common.settings(args)))
        if args.resume:
            print(chat.resume_budget(svc).message, file=sys.stderr)
        report = chat.budget_report(svc)
        days = budget_store.summaries(store.conn(), "day", args.days) if args.days else []
        months = budget_store.summaries(store.conn(), "month", 12) if args.days else []
    if args.days:
        report["days"] = [
            {
                "day": d,
                "spent_usd": t.cost_micro / 1e6,
                "requests": t.requests,
                "cache_hits": t.cache_hits,
                "input_tokens": t.input_tokens,
                "output_tokens": t.output_tokens,
                "saved_usd": t.saved_micro / 1e6,
            }
            for d, t in days
        ]
        report["months"] = [
            {
                "month": m,
                "spent_usd": t.cost_micro / 1e6,
                "requests": t.requests,
                "cache_hits": t.cache_hits,
                "saved_usd": t.saved_micro / 1e6,
            }
            for m, t in months
        ]
    lines = [chat.budget_text(report)]
    for d, t in days:
        lines.append(
            f"{d}  {usd(t.cost_micro):>10}  {t.requests:>5} requests  "
            f"{t.cache_hits:>4} cached  {t.input_tokens:>9} in  "
            f"{t.output_tokens:>8} out  saved {usd(t.saved_micro)}"
        )
    common.emit(args, report, "\n".join(lines))
    return 0


def cmd_cache_stats(args: argparse.Namespace) -> int:
    from mira_ls.features import chat
    from mira_ls.features.session import Session
    from mira_ls.llm.pricing import usd

    store = common.open_db(args)
    with store:
        stats = chat.ChatState().service(Session(store, common.settings(args))).cache.stats()
    data = stats.as_dict()
    lines = [chat.cache_text(data)]
    for m in data["by_model"]:
        lines.append(
            f"  {m['model']}: {m['entries']} entries, {m['bytes']} bytes, "
            f"{m['hits']} hits / {m['misses']} misses ({m['hit_rate']:.0%}), saved "
            f"{usd(round(m['saved_usd'] * 1e6))}"
        )
    common.emit(args, data, "\n".join(lines))
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    from mira_ls.features import chat
    from mira_ls.features.session import Session

    store = common.open_db(args)
    with store:
        cache = chat.ChatState().service(Session(store, common.settings(args))).cache
        removed = cache.cleanup_expired() if args.expired else cache.clear()
    what = "expired answers" if args.expired else "answers"
    common.emit(args, {"removed": removed}, f"removed {removed} cached {what}")
    return 0
