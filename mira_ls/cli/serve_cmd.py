"""``mira-ls serve``: the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import logging
import sys

from mira_ls.cli.common import CliError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the language server (stdio, or --tcp HOST:PORT)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    p.add_argument("--log-file", help="write the server log here (default: stderr)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_serve)


def _logging(args: argparse.Namespace) -> None:
    handler: logging.Handler
    if args.log_file:
        handler = logging.FileHandler(args.log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)  # stdout carries the protocol
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("mira_ls").setLevel(args.log_level.upper())


def cmd_serve(args: argparse.Namespace) -> int:
    _logging(args)
    from mira_ls import server

    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UsageError(
                f"--tcp expects HOST:PORT with a port from 1 to 65535 (e.g. 127.0.0.1:2087), "
                f"got {args.tcp!r}"
            )
        try:
            server.run_tcp(host.strip("[]"), int(port))
        except OSError as exc:
            raise CliError(f"cannot listen on {args.tcp}: {exc.strerror or exc}") from exc
    else:
        server.run_stdio()
    return 0
