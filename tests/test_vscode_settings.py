"""The VS Code extension's settings are generated from mira_ls/config.py and must stay so."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from mira_ls import config
from mira_ls.config import keys as all_keys

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"
SCRIPT = VSCODE / "scripts" / "sync-settings.py"
CLIENT_SECTIONS = ("server", "ui", "trace")
# Sent by the extension from VS Code's workspace trust, never contributed as a setting.
EXTENSION_DECIDED = {"mira.git.trustRepositoryConfig"}

pytestmark = pytest.mark.timeout(120)


def _props(path: Path = VSCODE / "package.json") -> dict[str, dict]:
    return json.loads(path.read_text(encoding="utf-8"))["contributes"]["configuration"][
        "properties"
    ]


def _sync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--python", sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_package_json_is_in_sync_with_config_keys() -> None:
    proc = _sync("--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_server_key_is_contributed_with_its_default_and_rules() -> None:
    props = _props()
    expected = {f"mira.{k.key}": k for k in all_keys() if f"mira.{k.key}" not in EXTENSION_DECIDED}
    server_props = {
        k: v
        for k, v in props.items()
        if not any(k.startswith(f"mira.{s}.") for s in CLIENT_SECTIONS)
    }
    assert set(server_props) == set(expected)
    json_types = {bool: "boolean", int: "integer", float: "number", str: "string"}
    for name, info in expected.items():
        prop = server_props[name]
        assert prop["default"] == json.loads(json.dumps(info.default)), name
        origin = typing.get_origin(info.type)
        want = {list: "array", dict: "object"}.get(origin) or json_types[info.type]
        assert prop["type"] == want, name
        assert info.doc in prop["description"], name
        assert config.env_name(info.key) in prop["description"], name
        if "choices" in info.meta:
            assert prop["enum"] == list(info.meta["choices"]), name
        if "min" in info.meta:
            assert prop["minimum"] == info.meta["min"], name
        if "max" in info.meta:
            assert prop["maximum"] == info.meta["max"], name


def test_client_settings_do_not_collide_with_server_keys() -> None:
    for k in all_keys():
        assert k.key.split(".")[0] not in CLIENT_SECTIONS, k.key
    client = [k for k in _props() if any(k.startswith(f"mira.{s}.") for s in CLIENT_SECTIONS)]
    assert "mira.server.path" in client
    assert "mira.server.pythonPath" in client


def test_sync_script_detects_and_repairs_drift(tmp_path: Path) -> None:
    pkg = tmp_path / "package.json"
    shutil.copy(VSCODE / "package.json", pkg)
    data = json.loads(pkg.read_text())
    props = data["contributes"]["configuration"]["properties"]
    props["mira.budget.dailyUsd"]["default"] = 99
    del props["mira.llm.model"]
    props["mira.removed.key"] = {"type": "string", "default": "", "description": "gone"}
    pkg.write_text(json.dumps(data, indent=2) + "\n")

    check = _sync("--check", "--package-json", str(pkg))
    assert check.returncode == 1
    assert "differ from mira_ls/config.py" in check.stderr
    assert "dailyUsd" in check.stdout

    fix = _sync("--package-json", str(pkg))
    assert fix.returncode == 0, fix.stderr
    fixed = _props(pkg)
    assert fixed["mira.budget.dailyUsd"]["default"] == 5.0
    assert fixed["mira.llm.model"]["default"] == "gpt-5.1"
    assert "mira.removed.key" not in fixed
    assert fixed["mira.server.path"] == _props()["mira.server.path"]
    assert pkg.read_text() == (VSCODE / "package.json").read_text()
    assert _sync("--check", "--package-json", str(pkg)).returncode == 0


def test_workspace_trust_key_is_never_contributed(tmp_path: Path) -> None:
    """The server's git.trustRepositoryConfig comes from VS Code's workspace trust (the
    extension sends it); as a setting, a repository's .vscode/settings.json could set it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_settings", SCRIPT)
    assert spec is not None and spec.loader is not None
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    fake = tmp_path / "python"
    schema = {
        "mira.git.trustRepositoryConfig": {"type": "boolean", "default": False},
        "mira.git.enabled": {"type": "boolean", "default": True},
    }
    fake.write_text(f"#!/bin/sh\necho '{json.dumps(schema)}'\n")
    fake.chmod(0o755)
    got = sync.server_schema(str(fake))
    assert set(got) == {"mira.git.enabled"}
    assert "mira.git.trustRepositoryConfig" not in _props()
