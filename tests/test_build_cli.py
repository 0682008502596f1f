"""``mira-ls build``, ``errors`` and ``resolutions`` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.repo import Repo

BIN = Path(sys.executable).parent
RUFF_CFG = '[tool.ruff]\n[tool.ruff.lint]\nselect = ["F"]\n'


def mira(
    tmp_path: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    base = {
        "MIRA_DB": str(tmp_path / "db" / "mira.db"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return run_cli(*args, env={**base, **env}, unset=["MIRA_BUILD_COMMANDS"], stdin=stdin)


def test_build_errors_resolutions(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit(
        "initial",
        {
            "pyproject.toml": RUFF_CFG,
            "a.py": "import os\n",
            "tests/test_a.py": "def test_a():\n    assert 1 + 1 == 3\n",
        },
    )
    root = str(repo.root)

    dry = mira(tmp_path, "build", root, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert [c["name"] for c in json.loads(dry.stdout)["commands"]] == ["ruff", "pytest"]

    refused = mira(tmp_path, "build", root, stdin="")
    assert refused.returncode == 1
    assert "run its own code" in refused.stderr and "--yes" in refused.stderr

    ran = mira(tmp_path, "build", root, "--yes", "--json", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    assert ran.returncode == 1, ran.stderr  # the build found errors
    data = json.loads(ran.stdout)
    assert [(s["name"], s["status"], s["error_count"]) for s in data["steps"]] == [
        ("ruff", "failed", 1),
        ("pytest", "failed", 1),
    ]
    assert sorted((e["tool"], e["code"], e["file"], e["line"]) for e in data["errors"]) == [
        ("pytest", "AssertionError", "tests/test_a.py", 2),
        ("ruff", "F401", "a.py", 1),
    ]

    # confirmed once: no --yes needed any more; fix the lint error
    (repo.root / "a.py").write_text("\n")
    again = mira(tmp_path, "build", root, "--name", "ruff")
    assert again.returncode == 0, again.stderr
    assert "ruff: 0 errors, 0 warnings, 1 fixed" in again.stdout

    listed = mira(tmp_path, "errors", root, "--json")
    assert [e["tool"] for e in json.loads(listed.stdout)] == ["pytest"]
    every = json.loads(mira(tmp_path, "errors", root, "--all", "--json").stdout)
    fixed = next(e for e in every if e["tool"] == "ruff")
    assert fixed["status"] == "resolved"

    res = mira(tmp_path, "resolutions", fixed["hash"][:10], "--path", root)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("# Past resolutions: ruff F401")
    assert "-import os" in res.stdout
    res_json = json.loads(
        mira(tmp_path, "resolutions", fixed["hash"], "--path", root, "--json").stdout
    )
    assert res_json["fixes"][0]["match"] == "same error" and res_json["fixes"][0]["score"] == 1.0

    unknown = mira(tmp_path, "resolutions", "ffffffff", "--path", root)
    assert unknown.returncode == 1 and "No build error ffffffff" in unknown.stderr


def test_configured_commands_need_no_confirmation_and_bad_paths_are_refused(
    tmp_path: Path,
) -> None:
    ws = tmp_path / "plain"
    ws.mkdir()
    (ws / "notes.txt").write_text("x\n")
    cmds = json.dumps(
        [
            {
                "name": "echo",
                "command": [sys.executable, "-c", "print('notes.txt:1:1: error: bad [N1]')"],
            }
        ]
    )
    out = mira(tmp_path, "build", str(ws), "--json", MIRA_BUILD_COMMANDS=cmds)
    assert out.returncode == 1, out.stderr
    (err,) = json.loads(out.stdout)["errors"]
    assert (err["tool"], err["code"], err["message"]) == ("echo", "N1", "bad")

    nothing = mira(tmp_path, "build", str(ws))
    assert nothing.returncode == 1 and "No build commands" in nothing.stderr
    assert "MIRA_BUILD_COMMANDS" in nothing.stderr
    invalid = json.dumps([{"command": "make test"}, {"name": "x", "command": [1]}])
    bad = mira(tmp_path, "build", str(ws), MIRA_BUILD_COMMANDS=invalid)
    lines = bad.stderr.splitlines()
    assert bad.returncode == 1 and len(lines) == 3, bad.stderr
    assert "never runs a shell" in lines[0] and "non-empty list" in lines[1]
    assert lines[2] == (
        f"mira-ls: No build commands for {ws}: all 2 configured ones are invalid (see the "
        "problems reported for mira.build.commands). Fix them, or remove the setting to use "
        "the commands detected from the project."
    )
    missing = mira(tmp_path, "build", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "is not a folder" in missing.stderr
