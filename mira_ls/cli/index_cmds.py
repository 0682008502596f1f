"""``mira-ls index PATH``, ``mira-ls symbols QUERY``, ``mira-ls callers NAME``.

They work without an editor on the same database the server uses.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.index import indexer
from mira_ls.index.resolve_external import project_external
from mira_ls.store import code as cs
from mira_ls.store import locks, projects
from mira_ls.store.connection import Connection
from mira_ls.understand import graph

# Why files were left out, as a person reads it (keys: walk.Listing and indexer statuses).
_SKIP_REASONS = {
    "skipped_large": "over index.maxFileBytes",
    "skipped_binary": "binary",
    "vendored": "vendored (node_modules, .venv, ...)",
    "excluded": "excluded by index.exclude or ignore rules",
    "unreadable": "unreadable",
    "not_a_file": "not regular files",
    "error": "failed to parse",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="index a workspace (incremental when run again)")
    p.add_argument("path", metavar="PATH", help="workspace folder")
    p.add_argument(
        "--jedi", action="store_true", help="also resolve Python calls with jedi (slower)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another mira-ls is indexing this workspace, wait up to SECONDS for it "
        "(default: say so and stop)",
    )
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("symbols", help="search indexed symbols by name (fuzzy)")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--limit", type=int, default=50, help="at most N results (default 50)")
    p.add_argument("--root", help="only this workspace (default: the one around the cwd)")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_symbols)

    p = sub.add_parser("callers", help="who calls NAME (a name or a qualified name)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--root", help="only this workspace (default: the one around the cwd)")
    p.add_argument(
        "--all", action="store_true", help="also list unresolved call sites with that name"
    )
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_callers)


class _StderrProgress:
    """One line on stderr, rewritten at most a few times a second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int, message: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < (0.2 if self.tty else 2.0) and done < total:
            return
        self.last = now
        pct = f"{100 * done // total:3d}% " if total else ""
        if self.tty:
            sys.stderr.write(f"\r\x1b[K{pct}{message}")
        else:
            sys.stderr.write(f"{pct}{message}\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def cmd_index(args: argparse.Namespace) -> int:
    root = Path(args.path).expanduser()
    if not root.exists():
        raise CliError(f"{root} does not exist; pass the folder of a workspace to index")
    if not root.is_dir():
        raise CliError(f"{root} is not a folder; pass the folder of a workspace to index")
    settings = common.settings(args)
    progress = _StderrProgress(not args.quiet)
    with common.open_db(args) as store:
        started = time.time()
        try:
            stats = indexer.index_workspace(
                store,
                root,
                settings.index,
                progress=progress,
                trust_git=settings.git.trust_repository_config,
                wait_s=max(0.0, args.wait),
                on_wait=lambda msg: print(msg, file=sys.stderr, flush=True),
            )
        except (indexer.WorkspaceError, locks.Busy) as exc:
            raise CliError(str(exc)) from exc
        finally:
            progress.close()
        jedi_resolved = None
        if args.jedi:
            t = time.perf_counter()
            jedi_resolved = indexer.resolve_python_with_jedi(store, stats.project_id, root)
            summary = cs.index_summary(store.conn(), stats.project_id)
            stats.resolved, stats.unresolved = summary["resolved"], summary["unresolved"]
            stats.seconds += time.perf_counter() - t
        external = project_external(store.conn(), stats.project_id)
        graph_s = None
        if not stats.cancelled:  # the semantic graph follows the index (of what changed)
            changed = bool(stats.parsed or stats.removed)
            graph_s = graph.after_index(store, stats.project_id, changed, started)
            if jedi_resolved:  # jedi placed calls of files that did not change too
                t = time.perf_counter()
                graph.refresh(store, stats.project_id, parts=("calls",))
                graph_s = (graph_s or 0.0) + time.perf_counter() - t
    data = stats.as_json()
    # calls out of the project (builtins, stdlib, packages) are counted apart
    data["external"] = external
    data["unresolved"] = stats.unresolved - external
    lines = [
        f"{stats.files} files, {stats.symbols} symbols, {stats.edges} call edges "
        f"({stats.resolved} resolved, {external} external, {stats.unresolved - external}"
        f" unresolved) in {stats.seconds:.2f} s",
    ]
    for lang, v in stats.languages.items():
        lines.append(f"  {lang:<11} {v['files']:>7} files {v['symbols']:>9} symbols")
    common.emit(args, data, "\n".join(lines))
    notes = [f"{stats.parsed} parsed, {stats.unchanged} unchanged, {stats.removed} removed"]
    if stats.resumed is not None:
        notes.insert(0, f"finished an index that was interrupted ({stats.resumed})")
    if stats.skipped:
        notes.append(
            "skipped: "
            + ", ".join(
                f"{v} {_SKIP_REASONS.get(k, k.replace('_', ' '))}"
                for k, v in sorted(stats.skipped.items())
            )
        )
    if jedi_resolved is not None:
        notes.append(f"jedi resolved {jedi_resolved} more calls")
    if graph_s is not None:
        notes.append(f"semantic graph refreshed in {graph_s:.2f} s")
    if not args.quiet:
        print("; ".join(notes), file=sys.stderr)
    for e in stats.errors:
        print(f"not indexed: {e}", file=sys.stderr)
    for p in stats.partial:
        print(p, file=sys.stderr)
    return 0


def _project_id(conn: Connection, root: str | None) -> int | None:
    if root:
        p = projects.by_root(conn, Path(root))
        if p is None:
            raise CliError(f"{root} has not been indexed; run `mira-ls index {root}` first")
        return p.id
    p = projects.for_path(conn, Path.cwd())
    return p.id if p is not None else None


def _symbol_json(s: cs.SymbolRow) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "qualified_name": s.qualified_name,
        "kind": s.kind,
        "path": s.file_path,
        "line": s.start_line,
        "col": s.start_col + 1,
        "name_line": s.name_line,
        "name_col": s.name_col + 1,
        "end_line": s.end_line,
        "signature": s.signature,
        "language": s.language,
    }


def cmd_symbols(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CliError("--limit must be at least 1")
    with common.open_db(args) as store:
        conn = store.conn()
        pid = _project_id(conn, args.root)
        rows = cs.search_symbols(conn, pid, args.query, limit=args.limit)
    text = "\n".join(
        f"{r.file_path}:{r.name_line}:{r.name_col + 1}  {r.kind:<11} {r.qualified_name}"
        for r in rows
    )
    common.emit(args, [_symbol_json(r) for r in rows], text)
    if not rows and not args.json:
        print(f"no symbol matches {args.query!r}", file=sys.stderr)
    return 0


def cmd_callers(args: argparse.Namespace) -> int:
    with common.open_db(args) as store:
        conn = store.conn()
        pid = _project_id(conn, args.root)
        targets = [s for s in cs.find_by_name(conn, pid, args.name) if s.kind != "module"]
        if not targets:
            raise CliError(
                f"no symbol named {args.name!r} is indexed; check the name or run "
                "`mira-ls index PATH` first"
            )
        out: list[dict[str, Any]] = []
        lines: list[str] = []
        for t in targets:
            sites = cs.callers(conn, t.id)
            entry: dict[str, Any] = {
                "symbol": _symbol_json(t),
                "callers": [
                    {
                        "path": s.file_path,
                        "line": s.line,
                        "col": s.col + 1,
                        "caller": s.symbol.qualified_name if s.symbol else None,
                        "resolved_by": s.resolved_by,
                    }
                    for s in sites
                ],
            }
            lines.append(
                f"{t.qualified_name} ({t.kind}, {t.file_path}:{t.name_line}:{t.name_col + 1})"
                f": {len(sites)} caller{'s' * (len(sites) != 1)}"
            )
            lines.extend(
                f"  {s.file_path}:{s.line}:{s.col + 1}  "
                f"{s.symbol.qualified_name if s.symbol else '?'}  [{s.resolved_by}]"
                for s in sites
            )
            out.append(entry)
        unresolved = []
        if args.all:
            last = args.name.replace("::", ".").rsplit(".", 1)[-1]
            unresolved = cs.unresolved_calls_named(conn, pid, last)
            if unresolved:
                lines.append(f"unresolved call sites named {last!r}: {len(unresolved)}")
                lines.extend(
                    f"  {s.file_path}:{s.line}:{s.col + 1}  "
                    f"{s.symbol.qualified_name if s.symbol else '?'}"
                    f"{'  (' + s.receiver + '.)' if s.receiver else ''}"
                    for s in unresolved
                )
    data: Any = out
    if args.all:
        data = {
            "symbols": out,
            "unresolved": [
                {
                    "path": s.file_path,
                    "line": s.line,
                    "col": s.col + 1,
                    "caller": s.symbol.qualified_name if s.symbol else None,
                    "receiver": s.receiver,
                }
                for s in unresolved
            ],
        }
    common.emit(args, data, "\n".join(lines))
    return 0
