"""``mira-ls search QUERY``: ranked code (and commit) search from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mira_ls.cli import common
from mira_ls.cli.common import CliError, UsageError
from mira_ls.search import hybrid
from mira_ls.search.model import SearchResult
from mira_ls.store import projects
from mira_ls.store.connection import Connection

KINDS = ("code", "git", "all")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="search code and commits by words (identifiers split: 'parse http header')",
    )
    p.add_argument("query", metavar="QUERY")
    p.add_argument(
        "--kind",
        default="code",
        help="code (symbols, the default), git (commit messages) or all",
    )
    p.add_argument("--limit", type=int, default=20, help="at most N results (default 20)")
    p.add_argument("--root", help="only this workspace (default: the one around the cwd)")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_search)


def _project_ids(conn: Connection, root: str | None) -> list[int] | None:
    if root:
        p = projects.by_root(conn, Path(root))
        if p is None:
            raise CliError(f"{root} has not been indexed; run `mira-ls index {root}` first")
        return [p.id]
    p = projects.for_path(conn, Path.cwd())
    return [p.id] if p is not None else None


def line_of(r: SearchResult) -> str:
    """One result as a person reads it (paths first, so terminals can open them)."""
    if r.collection == "git":
        files = ", ".join(r.files[:3]) + (f" (+{len(r.files) - 3})" if len(r.files) > 3 else "")
        return f"{(r.commit or '')[:10]}  {r.symbol}" + (f"  [{files}]" if files else "")
    return f"{r.path}:{r.line}:{r.col + 1}  {r.kind:<11} {r.symbol}  [{r.via}]"


def cmd_search(args: argparse.Namespace) -> int:
    if args.kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}, not {args.kind!r}")
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if not args.query.strip():
        raise UsageError("give some words to search for")
    settings = common.settings(args)
    with common.open_db(args) as store:
        pids = _project_ids(store.conn(), args.root)
        answer = hybrid.search(
            store, settings, args.query, collection=args.kind, project_ids=pids, limit=args.limit
        )
    results = answer.results
    for note in answer.notes:
        print(note, file=sys.stderr)
    common.emit(args, [r.as_json() for r in results], "\n".join(line_of(r) for r in results))
    if not results and not args.json:
        print(f"nothing matches {args.query!r}", file=sys.stderr)
    return 0
