"""Shared CLI plumbing: logging to stderr, the store, errors as one sentence, exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mira_ls import config, paths
from mira_ls.store import Store, StoreError, open_store

log = logging.getLogger("mira_ls")


class CliError(Exception):
    """Shown as one line on stderr, exit code 1."""


class UsageError(CliError):
    """The command line itself is wrong (a malformed argument): one line, exit code 2."""


def action_adder(actions: Any, func: Any) -> Callable[..., argparse.ArgumentParser]:
    """An ``add(name, help, with_id=True)`` for the subcommands of one command group
    (``tools``, ``patterns``): each takes an ID unless told not to, the common flags and
    ``--json``, and runs ``func`` with ``args.action`` set to its name."""

    def add(name: str, help_: str, *, with_id: bool = True) -> argparse.ArgumentParser:
        a = actions.add_parser(name, help=help_)
        if with_id:
            a.add_argument("id", type=int, metavar="ID")
        add_common(a, json_flag=True)
        a.set_defaults(func=func, action=name)
        return a

    return add


def add_common(p: argparse.ArgumentParser, *, json_flag: bool = False) -> None:
    p.add_argument("--db", help="database file (default: MIRA_DB or the platform data dir)")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print one JSON document")


def settings(args: argparse.Namespace) -> config.Settings:
    """The command's settings, loaded once and kept on its parsed arguments, so each invalid
    value is reported once however many parts of the command ask (opening the database
    asks too)."""
    s: config.Settings | None = getattr(args, "loaded_settings", None)
    if s is None:
        s, problems = config.load()
        for p in problems:
            log.warning("%s", p)
        args.loaded_settings = s
    return s


def open_db(args: argparse.Namespace) -> Store:
    s = settings(args)
    path = Path(args.db) if getattr(args, "db", None) else paths.database_path(s.database_path)
    return open_store(path)


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


def run(args: argparse.Namespace) -> int:
    debug = getattr(args, "debug", False)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except (CliError, StoreError) as exc:
        if debug:
            raise
        print(f"mira-ls: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        print("mira-ls: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if debug:
            raise
        print(
            f"mira-ls: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr
        )
        return 1
