"""``mira-ls config schema|show``: the settings as editors see them, generated from config.py.

The schema feeds the VS Code extension's ``contributes.configuration`` (through
``editors/vscode/scripts/sync-settings.py``), so editor settings never drift from the server.
"""

from __future__ import annotations

import argparse
import json
import os
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mira_ls import config
from mira_ls.cli import common
from mira_ls.config import keys as all_keys

# Settings a workspace must not set for the user: they choose what runs, where the API key
# goes, or how much money may be spent. VS Code honours "machine" scope by ignoring the value
# in workspace settings, so a cloned repository's .vscode/settings.json cannot change them.
USER_ONLY_PREFIXES = (
    "databasePath",
    "llm.baseUrl",
    "build.commands",
    "budget.",
    "git.trustRepositoryConfig",
)

API_KEY_ENV = ("MIRA_OPENAI_API_KEY", "OPENAI_API_KEY")


def _json_type(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return (
            {"type": "array", "items": _json_type(item)} if item is not Any else {"type": "array"}
        )
    if origin is dict:
        return {"type": "object"}
    raise TypeError(f"config key type {tp!r} has no JSON schema mapping; add one here")


def user_only(key: str) -> bool:
    return any(key == p or (p.endswith(".") and key.startswith(p)) for p in USER_ONLY_PREFIXES)


def vscode_properties() -> dict[str, dict[str, Any]]:
    """Every server key as a VS Code configuration property, in config.py order."""
    props: dict[str, dict[str, Any]] = {}
    for order, info in enumerate(all_keys()):
        prop: dict[str, Any] = _json_type(info.type)
        prop["default"] = info.default
        env = config.env_name(info.key)
        prop["description"] = f"{info.doc} Environment variable: {env}."
        if "choices" in info.meta:
            prop["enum"] = list(info.meta["choices"])
        if "min" in info.meta:
            prop["minimum"] = info.meta["min"]
        if "max" in info.meta:
            prop["maximum"] = info.meta["max"]
        if user_only(info.key):
            prop["scope"] = "machine"
        prop["order"] = order
        props[f"{config.SECTION}.{info.key}"] = prop
    return props


@dataclass(frozen=True)
class Effective:
    key: str
    value: Any
    default: Any
    source: str
    env: str


def effective(env: Mapping[str, str]) -> tuple[list[Effective], list[str]]:
    """The settings the server would start with from this environment, and where each came from."""
    settings, problems = config.load(env=env)
    rows: list[Effective] = []
    for info in all_keys():
        name = config.env_name(info.key)
        source = "default"
        if name in env:
            bad = any(
                p.startswith(f"Setting {config.SECTION}.{info.key} from environment variable")
                for p in problems
            )
            source = f"default, {name} is invalid" if bad else f"environment variable {name}"
        if info.key == "databasePath" and env.get("MIRA_DB"):
            source = "environment variable MIRA_DB"
        rows.append(
            Effective(
                f"{config.SECTION}.{info.key}",
                config.get(settings, info.key),
                info.default,
                source,
                name,
            )
        )
    return rows, problems


def register(sub: argparse._SubParsersAction) -> None:
    cfg = sub.add_parser("config", help="settings: editor schema and effective values")
    cfgsub = cfg.add_subparsers(dest="config_command", metavar="ACTION")
    p = cfgsub.add_parser(
        "schema",
        help="print every setting as VS Code contributes.configuration.properties JSON",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.set_defaults(func=cmd_schema)
    p = cfgsub.add_parser(
        "show", help="effective settings for the current environment and where each comes from"
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_show)
    cfg.set_defaults(func=lambda args: (cfg.print_help(), 2)[1])


def cmd_schema(args: argparse.Namespace) -> int:
    args.json = True
    common.emit(args, vscode_properties(), "")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    rows, problems = effective(os.environ)
    key_source = next((n for n in API_KEY_ENV if os.environ.get(n)), None)
    api_key = {"set": key_source is not None, "source": key_source}
    for p in problems:
        common.log.warning("%s", p)
    width = max(len(r.key) for r in rows)
    lines = [
        f"{r.key:<{width}}  {json.dumps(r.value, ensure_ascii=False)}"
        + ("" if r.source == "default" else f"  ({r.source})")
        for r in rows
    ]
    lines.append(
        f"API key: set in {key_source}"
        if key_source
        else "API key: not set (set MIRA_OPENAI_API_KEY or OPENAI_API_KEY)"
    )
    data = {"settings": [asdict(r) for r in rows], "apiKey": api_key, "problems": problems}
    common.emit(args, data, "\n".join(lines))
    return 0
