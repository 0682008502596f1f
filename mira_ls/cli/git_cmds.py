"""``mira-ls mine``, ``cochange``, ``experts`` and ``fixes``: git intelligence from the shell."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from mira_ls.cli import common
from mira_ls.dates import day
from mira_ls.git import expertise, xray
from mira_ls.git.fixes import rank_fixes
from mira_ls.git.miner import mine
from mira_ls.git.repo import GitError
from mira_ls.store import Store, git_cochange, git_history, projects
from mira_ls.understand import graph

TEXT_ROWS = 15  # authors listed in text output


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mine", help="mine a repository's git history into the database")
    p.add_argument("path", metavar="PATH", help="the workspace folder (a git work tree)")
    p.add_argument(
        "--no-symbols",
        action="store_true",
        help="skip finding the symbols past fixes touched (faster)",
    )
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_mine)

    p = sub.add_parser("cochange", help="files that usually change together with FILE")
    p.add_argument("file", metavar="FILE")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_cochange)

    p = sub.add_parser(
        "xray", help="which definitions of FILE change, by whom, and with what (symbol level)"
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--refresh", action="store_true", help="compute again even if cached")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_xray)

    p = sub.add_parser("experts", help="who knows a file or directory")
    p.add_argument("path", metavar="PATH", help="a file or directory inside a mined project")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_experts)

    p = sub.add_parser("fixes", help="past fixes most like an error message")
    p.add_argument("text", metavar="TEXT", help="the error text")
    p.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="F",
        help="a file the error is in (repeatable); also picks the project",
    )
    p.add_argument("--project", metavar="PATH", help="the project (default: from --file or .)")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_fixes)


def _progress(message: str, pct: int | None) -> None:
    suffix = f" ({pct}%)" if pct is not None else ""
    print(f"mining: {message}{suffix}", file=sys.stderr, flush=True)


def cmd_mine(args: argparse.Namespace) -> int:
    root = Path(args.path).expanduser()
    if not root.is_dir():
        raise common.CliError(f"{root} is not a directory; give the folder of a git work tree.")
    settings = common.settings(args)
    with common.open_db(args) as store:
        with store.write() as c:
            project = projects.get_or_create(c, root)
        stats = mine(
            store, project.id, root, settings, progress=_progress, symbols=not args.no_symbols
        )
        if stats.status == "ok" and stats.new_commits:
            graph.refresh_cochange(store, project.id)  # the semantic graph's changes_with
    if stats.status in ("error", "not_a_repo"):
        raise common.CliError(stats.message)
    ignored = ", ".join(f"{k} {v}" for k, v in sorted(stats.ignored.items())) or "none"
    if stats.status == "empty":
        text = stats.message
    elif stats.status == "up_to_date":
        head = stats.head[:12] if stats.head else "?"
        text = f"up to date at {head} ({stats.total_commits} commits)"
        if stats.message:
            text += f"; {stats.message}"
    else:
        text = (
            f"mined {stats.new_commits} commits ({stats.mode}) in {stats.seconds:.2f} s; "
            f"{stats.total_commits} stored; ignored: {ignored}; fixes found: {stats.fixes}"
        )
    common.emit(args, dataclasses.asdict(stats), text)
    return 0


def _locate(store: Store, path_arg: str) -> tuple[int, str, Path]:
    """(project id, repo-relative POSIX path, project root) for a path on disk."""
    p = Path(path_arg).expanduser().resolve()
    project = projects.for_path(store.conn(), p)
    if project is None:
        raise common.CliError(
            f"No mined project contains {p}; run `mira-ls mine <workspace folder>` first."
        )
    root = Path(project.root_path)
    rel = "" if p == root else p.relative_to(root).as_posix()
    if git_history.get_attachment(store.conn(), project.id) is None:
        raise common.CliError(f"{root} has not been mined yet; run `mira-ls mine {root}` first.")
    return project.id, rel, root


def cmd_cochange(args: argparse.Namespace) -> int:
    with common.open_db(args) as store:
        pid, rel, _ = _locate(store, args.file)
        rows = git_cochange.partners(store.conn(), pid, rel)
        commits = git_history.file_commit_count(store.conn(), pid, rel)
    data = [
        {
            "path": r.path,
            "shared": r.shared,
            "commits": r.commits,
            "partner_commits": r.partner_commits,
            "confidence": round(r.confidence, 4),
            "reverse_confidence": round(r.reverse_confidence, 4),
            "jaccard": round(r.jaccard, 4),
            "dice": round(r.dice, 4),
            "last_at": r.last_at,
        }
        for r in rows
    ]
    if not rows:
        text = (
            f"{rel}: no co-change partners ({commits} counted commits)."
            if commits
            else f"{rel}: no counted commits in the mined history."
        )
    else:
        width = max(len(r.path) for r in rows)
        lines = [f"{rel} ({commits} commits) usually changes with:"]
        for r in rows:
            last = day(r.last_at) if r.last_at else "-"
            lines.append(
                f"  {r.path:<{width}}  {r.shared:>4} of {r.commits:<4} "
                f"confidence {r.confidence:.2f}  jaccard {r.jaccard:.2f}  last {last}"
            )
        text = "\n".join(lines)
    common.emit(args, data, text)
    return 0


def _xray_progress(message: str, pct: int | None) -> None:
    suffix = f" ({pct}%)" if pct is not None else ""
    print(f"{message}{suffix}", file=sys.stderr, flush=True)


def cmd_xray(args: argparse.Namespace) -> int:
    with common.open_db(args) as store:
        pid, rel, root = _locate(store, args.file)
        if not (root / rel).is_file():
            raise common.CliError(f"{rel} is not a file in {root}.")
        try:
            x = xray.ensure_xray(
                store, pid, root, rel, progress=_xray_progress, refresh=args.refresh
            )
        except GitError as exc:
            raise common.CliError(str(exc)) from exc
    doc = xray.to_json(x)
    changed = sorted((d for d in x.definitions if d.changes), key=lambda d: (-d.changes, d.line))
    if not x.definitions:
        text = f"{rel}: no definitions found (not a language the index parses, or empty)."
    else:
        lines = [
            f"{rel}: {x.commits} counted commits, {len(x.definitions)} definitions, "
            f"{len(changed)} changed"
        ]
        width = max((len(d.symbol) for d in changed[:TEXT_ROWS]), default=0)
        for d in changed[:TEXT_ROWS]:
            who = ", ".join(f"{a.name} {a.changes}" for a in d.authors[:2])
            last = day(d.last_at) if d.last_at else "-"
            lines.append(f"  {d.symbol:<{width}}  {d.changes:>4} changes  last {last}  {who}")
            for c in d.couplings[:2]:
                where = "" if c.path == rel else f" in {c.path}"
                lines.append(
                    f"  {'':<{width}}    with {c.symbol}{where}: {c.shared} of {d.changes}"
                )
        text = "\n".join(lines)
    common.emit(args, doc, text)
    return 0


def cmd_experts(args: argparse.Namespace) -> int:
    now = int(time.time())
    with common.open_db(args) as store:
        pid, rel, _ = _locate(store, args.path)
        scope, ranked, frag = expertise.experts(store.conn(), pid, rel, now)
    data = [
        {
            "author": e.author,
            "email": e.email,
            "score": round(e.score, 2),
            "commits": e.commits,
            "lines_added": e.lines_added,
            "last_at": e.last_at,
            "share": round(e.share, 4),
        }
        for e in ranked
    ]
    label = rel or "."
    if not ranked:
        text = f"{label}: no counted commits in the mined history."
    else:
        width = max(len(e.author) for e in ranked)
        lines = [f"{label} ({scope}, {len(ranked)} authors, fragmentation {frag:.2f}):"]
        for e in ranked[:TEXT_ROWS]:
            lines.append(
                f"  {e.author:<{width}}  score {e.score:5.1f}  {e.commits:>4} commits  "
                f"+{e.lines_added:<6} share {e.share:4.0%}  last {day(e.last_at)}"
            )
        if len(ranked) > TEXT_ROWS:
            lines.append(f"  ... {len(ranked) - TEXT_ROWS} more (--json lists all)")
        text = "\n".join(lines)
    common.emit(args, data, text)
    return 0


def cmd_fixes(args: argparse.Namespace) -> int:
    anchor = args.project or (args.file[0] if args.file else ".")
    with common.open_db(args) as store:
        pid, _, root = _locate(store, anchor)
        files = []
        for f in args.file:
            fp = Path(f).expanduser()
            fp = fp.resolve() if fp.exists() or fp.is_absolute() else (Path.cwd() / fp).resolve()
            try:
                files.append(fp.relative_to(root).as_posix())
            except ValueError:
                files.append(Path(f).as_posix())
        from mira_ls.vectors import git as git_vectors

        # Meaning blended in when the project's fixes are embedded (`mira-ls embed`):
        # the error text is embedded here (through the budget) if it is not stored yet.
        vectors, note = git_vectors.fix_vectors(
            store, common.settings(args), pid, args.text, may_embed=True
        )
        matches = rank_fixes(store.conn(), pid, args.text, files, vectors=vectors)
    if note:
        print(note, file=sys.stderr)
    data = [
        {
            "commit": m.commit,
            "subject": m.subject,
            "score": round(m.score, 4),
            "category": m.category,
            "files": m.files,
            "at": m.at,
        }
        for m in matches
    ]
    if not matches:
        text = "No past fix looks like this error."
    else:
        lines = []
        for m in matches:
            lines.append(
                f"{m.score:.2f}  {m.commit[:10]}  {day(m.at)}  [{m.category}]  {m.subject}"
            )
            if m.files:
                lines.append(f"      {', '.join(m.files[:5])}{' ...' if len(m.files) > 5 else ''}")
        text = "\n".join(lines)
    common.emit(args, data, text)
    return 0
