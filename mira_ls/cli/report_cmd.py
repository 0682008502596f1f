"""``mira-ls report PATH -o report.html [--json]``: the insight report of a workspace."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.features import report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write the insight report (hotspots, coupling, ownership, builds, budget) as HTML",
        description=(
            "Write one self-contained HTML file (no network needed to view it) from what the "
            "database knows about the workspace. Index and mine it first for a full report."
        ),
    )
    p.add_argument("path", metavar="PATH", help="workspace folder (the project root)")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="HTML file to write (default: a file under the state dir, printed on stdout)",
    )
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_report)


def _output(args: argparse.Namespace, root: Path) -> Path | None:
    """Where the HTML goes: -o, else the default file unless only --json was asked for."""
    if args.output:
        out = Path(args.output).expanduser()
        if out.is_dir():
            raise CliError(f"{out} is a folder; pass a file name such as {out / 'report.html'}")
        return out
    return None if args.json else report.default_path(root)


def cmd_report(args: argparse.Namespace) -> int:
    root = Path(args.path).expanduser()
    if not root.exists():
        raise CliError(f"{root} does not exist; pass the folder of a workspace")
    if not root.is_dir():
        raise CliError(f"{root} is not a folder; pass the folder of a workspace")
    out = _output(args, root)
    settings = common.settings(args)
    with common.open_db(args) as store:
        data = report.collect(store, root, settings)
    if out is not None:
        try:
            report.write(report.render(data), out)
        except OSError as exc:
            raise CliError(
                f"could not write the report to {out} ({exc.strerror or exc}); choose another "
                "file with -o"
            ) from exc
    if args.json:
        common.emit(args, data.as_json(), "")
        if out is not None:
            print(f"report written to {out}", file=sys.stderr)
    else:
        common.emit(args, None, str(out))
    if not data.overview.known:
        print(
            f"note: {data.overview.root} is not in the database yet; run `mira-ls index` "
            "on it for a full report",
            file=sys.stderr,
        )
    return 0
