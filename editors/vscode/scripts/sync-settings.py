#!/usr/bin/env python3
"""Regenerate package.json's server settings from `mira-ls config schema`.

The server's keys are defined once, in mira_ls/config.py. This script replaces every
`mira.*` property of `contributes.configuration.properties` with the schema the server
prints, keeping the extension's own settings (`mira.server.*`, `mira.ui.*`, `mira.trace.*`)
as they are, first. Run it after adding a key to config.py; `--check` only reports drift
(exit 1) and is what the tests run.

Usage: python3 editors/vscode/scripts/sync-settings.py [--check] [--python PYTHON]
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
from pathlib import Path

PACKAGE_JSON = Path(__file__).resolve().parent.parent / "package.json"
CLIENT_SECTIONS = ("server", "ui", "trace")  # keep in step with src/settings.ts
# Server keys VS Code decides itself and that no settings file may set: the extension sends
# workspace trust as git.trustRepositoryConfig (src/settings.ts TRUST_KEY), so it is not
# contributed as a setting.
EXTENSION_DECIDED = ("mira.git.trustRepositoryConfig",)


def is_client_key(key: str) -> bool:
    rel = key.removeprefix("mira.")
    return any(rel == s or rel.startswith(s + ".") for s in CLIENT_SECTIONS)


def server_schema(python: str) -> dict[str, dict]:
    proc = subprocess.run(
        [python, "-m", "mira_ls", "config", "schema"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(
            f"sync-settings: `{python} -m mira_ls config schema` failed "
            f"(exit {proc.returncode}): {proc.stderr.strip()}\n"
            "Install the server into this Python first (pip install -e .)."
        )
    schema = json.loads(proc.stdout)
    clashes = sorted(k for k in schema if is_client_key(k))
    if clashes:
        sys.exit(
            "sync-settings: server keys collide with the extension's own settings "
            f"({', '.join(CLIENT_SECTIONS)}): {', '.join(clashes)}. Rename them in config.py."
        )
    return {k: v for k, v in schema.items() if k not in EXTENSION_DECIDED}


def synced(package: dict, schema: dict[str, dict]) -> dict:
    configuration = package.setdefault("contributes", {}).setdefault(
        "configuration", {"title": "Mira", "properties": {}}
    )
    old = configuration.get("properties", {})
    client = {k: v for k, v in old.items() if is_client_key(k)}
    configuration["properties"] = {**client, **schema}
    return package


def render(package: dict) -> str:
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report drift, change nothing")
    ap.add_argument("--python", default=sys.executable, help="Python with mira-ls installed")
    ap.add_argument("--package-json", type=Path, default=PACKAGE_JSON)
    args = ap.parse_args(argv)

    before = args.package_json.read_text(encoding="utf-8")
    after = render(synced(json.loads(before), server_schema(args.python)))
    if before == after:
        print(f"{args.package_json}: settings are in sync with mira_ls/config.py")
        return 0
    if args.check:
        diff = difflib.unified_diff(
            before.splitlines(), after.splitlines(), "package.json", "expected", lineterm="", n=2
        )
        print("\n".join(list(diff)[:80]))
        print(
            f"{args.package_json}: settings differ from mira_ls/config.py; run "
            "python3 editors/vscode/scripts/sync-settings.py",
            file=sys.stderr,
        )
        return 1
    args.package_json.write_text(after, encoding="utf-8")
    print(f"{args.package_json}: settings updated from mira_ls/config.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
