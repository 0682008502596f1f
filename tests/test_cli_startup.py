"""Startup: a command imports only its own group of the CLI (and not numpy through the
sqlite-vec package), and the command table stays true to what each group registers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mira_ls.cli import main as cli_main
from mira_ls.store import backend
from tests.index_helpers import write_files

# What `mira-ls index` has no use for.
NOT_FOR_INDEX = (
    "mira_ls.build.pipeline",
    "mira_ls.git.miner",
    "mira_ls.report.data",
    "mira_ls.llm.service",
    "mira_ls.server.base",
    "numpy",
    "sqlite_vec",
)


def registered(group: str) -> set[str]:
    parser = cli_main.build_parser((group,))
    sub = next(a for a in parser._actions if a.dest == "command")
    return set(sub.choices)  # type: ignore[arg-type]


def test_every_command_is_listed_with_the_group_that_registers_it() -> None:
    listed: dict[str, set[str]] = {}
    for command, group in cli_main.COMMAND_GROUPS.items():
        listed.setdefault(group, set()).add(command)
    assert set(listed) == set(cli_main._GROUPS)
    for group in cli_main._GROUPS:
        assert registered(group) == listed[group], group


def test_index_imports_only_what_it_needs(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"m.py": "def a():\n    return b()\n\ndef b():\n    return 1\n"})
    code = (
        "import json, sys\n"
        "from mira_ls.cli.main import main\n"
        "rc = main(sys.argv[1:])\n"
        "print(json.dumps({'rc': rc, 'modules': sorted(sys.modules)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "index", str(root), "--db", str(tmp_path / "m.db"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    lines = out.strip().splitlines()
    stats, result = json.loads("\n".join(lines[:-1])), json.loads(lines[-1])
    assert result["rc"] == 0 and stats["symbols"] == 3 and stats["resolved"] == 1
    loaded = set(result["modules"])
    assert not [m for m in NOT_FOR_INDEX if m in loaded]
    assert "mira_ls.index.indexer" in loaded


def test_sqlite_vec_still_loads_without_importing_its_package() -> None:
    b = backend()
    assert b.vec_version is not None and b.vec_version.startswith("v")
