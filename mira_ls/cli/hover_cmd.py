"""``mira-ls hover FILE:LINE:COL``: the hover markdown exactly as the server serves it."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from mira_ls.cli import common
from mira_ls.cli.common import CliError, UsageError
from mira_ls.store import projects as project_store

_SPEC = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hover", help="print the hover for FILE:LINE:COL (1-based)")
    p.add_argument("spec", metavar="FILE:LINE:COL")
    p.add_argument("--line", type=int, help="1-based line (instead of :LINE)")
    p.add_argument("--col", type=int, help="1-based column in characters (instead of :COL)")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_hover)


def parse_spec(args: argparse.Namespace) -> tuple[Path, int, int]:
    m = _SPEC.match(args.spec)
    if m and not Path(args.spec).exists():
        path, line, col = Path(m["file"]), int(m["line"]), int(m["col"] or 1)
    elif Path(args.spec).exists() or args.line is not None:
        path, line, col = Path(args.spec), 1, 1
    else:
        raise UsageError(
            f"{args.spec} is not FILE:LINE:COL (1-based numbers, e.g. src/app.py:12:5) "
            "nor an existing file"
        )
    line = args.line if args.line is not None else line
    col = args.col if args.col is not None else col
    if line < 1 or col < 1:
        raise UsageError(f"LINE and COL are 1-based; got line {line}, column {col}")
    return path, line, col


def cmd_hover(args: argparse.Namespace) -> int:
    from mira_ls.features import hover
    from mira_ls.features.session import ProjectRoot, Session

    path, line, col = parse_spec(args)
    if not path.is_file():
        raise CliError(f"{path} is not a file")
    store = common.open_db(args)
    with store:
        project = project_store.for_path(store.conn(), path)
        if project is None:
            raise CliError(
                f"{path} is in no indexed project; run `mira-ls index DIR` on its workspace first"
            )
        session = Session(
            store, common.settings(args), [ProjectRoot(project.id, Path(project.root_path))]
        )
        loc = session.locate(path)
        assert loc is not None
        if session.settings.git.enabled:
            # The server blames a file when it is opened; do the same so the output matches.
            from mira_ls.git.blame import ensure_blame

            ensure_blame(store, project.id, loc.project.root, loc.rel_path, session.settings)
        text = path.read_bytes().decode("utf-8", "replace")
        lines = text.splitlines()
        if line > max(len(lines), 1):
            raise CliError(f"{path} has {len(lines)} lines; line {line} is past its end")
        md = hover.hover_markdown(session, loc, text, line, col - 1)
    if md is None:
        print(f"mira-ls: {path}:{line}:{col}: no symbol here, so no hover", file=sys.stderr)
        common.emit(args, None, "")
        return 0
    common.emit(args, {"markdown": md}, md)
    return 0
