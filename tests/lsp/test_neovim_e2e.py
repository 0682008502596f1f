"""Neovim as a real client: headless nvim starts mira-ls from editors/neovim/lsp/mira_ls.lua.

CI installs Debian's neovim (0.7.2); the test skips only when `nvim` is not installed. One
headless run (module fixture) hovers a function in a git repository with two authors and
runs a workspace command through the plugin module; editors/neovim/test/e2e_harness.lua
writes what Neovim saw to a JSON file that the tests below check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.repo import T0, Repo

ROOT = Path(__file__).resolve().parents[2]
NEOVIM_DIR = ROOT / "editors" / "neovim"
HARNESS = NEOVIM_DIR / "test" / "e2e_harness.lua"
# MIRA_TEST_NVIM points at another Neovim (e.g. 0.11+, which starts mira-ls the 0.11 way:
# vim.lsp.enable with lsp/mira_ls.lua on 'runtimepath'); by default the one on PATH.
NVIM = os.environ.get("MIRA_TEST_NVIM") or shutil.which("nvim")

pytestmark = [
    pytest.mark.skipif(
        NVIM is None, reason="nvim is not installed (CI installs it: apt-get install neovim)"
    ),
    pytest.mark.timeout(240),
]

CORE_V1 = '''"""Pricing helpers."""


def total_price(items, tax):
    """Sum of item prices with tax applied."""
    subtotal = sum(i.price for i in items)
    return subtotal * (1 + tax)


def describe(items):
    return f"{len(items)} items"
'''

CORE_V2 = CORE_V1.replace(
    "    return subtotal * (1 + tax)\n",
    '    if tax < 0:\n        raise ValueError("tax must not be negative")\n'
    "    return round(subtotal * (1 + tax), 2)\n",
)

APP = """from shop.pricing import total_price


def checkout(cart):
    return total_price(cart.items, 0.2)
"""


def _make_repo(root: Path) -> Repo:
    repo = Repo(root)
    repo.commit(
        "Add pricing",
        {"shop/__init__.py": "", "shop/pricing.py": CORE_V1, "shop/app.py": APP},
        author=("Alice Martin", "alice@example.com"),
        at=T0,
    )
    repo.commit(
        "Fix rounding of total prices",
        {"shop/pricing.py": CORE_V2},
        author=("Bob Chen", "bob@example.com"),
        at=T0 + 86400 * 3,
    )
    return repo


@pytest.fixture(scope="module")
def nvim_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("nvim")
    repo = _make_repo(tmp / "ws")
    target = repo.root / "shop" / "pricing.py"
    lines = target.read_text().splitlines()
    line = next(i for i, text in enumerate(lines) if text.startswith("def total_price"))
    out_file = tmp / "result.json"
    log_file = tmp / "server.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MIRA_", "OPENAI_"))},
        "MIRA_DB": str(tmp / "db" / "mira.db"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "PYTHONUNBUFFERED": "1",
        "MIRA_E2E_OUT": str(out_file),
        "MIRA_E2E_REPO": str(repo.root),
        "MIRA_E2E_FILE": str(target),
        "MIRA_E2E_LINE": str(line + 1),
        "MIRA_E2E_COL": str(len("def ")),
        "MIRA_E2E_CONFIG": str(NEOVIM_DIR / "lsp" / "mira_ls.lua"),
        "MIRA_E2E_CMD": json.dumps(
            [
                sys.executable,
                "-m",
                "mira_ls",
                "serve",
                "--log-file",
                str(log_file),
                "--log-level",
                "debug",
            ]
        ),
        # After background work settles, keep asking for the hover up to this long until the
        # git sections appear (history mining may finish just after indexing).
        "MIRA_E2E_WANT": "expert",
        "MIRA_E2E_HOVER_WAIT_MS": "8000",
    }
    proc = subprocess.run(
        [
            NVIM,
            "--headless",
            "--clean",
            "--cmd",
            f"set runtimepath^={NEOVIM_DIR}",
            "-c",
            "runtime plugin/mira_ls.lua",
            "-c",
            f"luafile {HARNESS}",
        ],
        env=env,
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=200,
        stdin=subprocess.DEVNULL,
    )
    server_log = log_file.read_text(errors="replace")[-4000:] if log_file.exists() else ""
    assert out_file.exists(), (
        f"nvim wrote no result (exit {proc.returncode}).\nstderr: {proc.stderr[-2000:]}\n"
        f"server log: {server_log}"
    )
    data: dict[str, Any] = json.loads(out_file.read_text())
    data["_target_line"] = line
    data["_repo"] = str(repo.root)
    lsp_log = Path(data.get("lsp_log") or tmp / "none")
    client_log = lsp_log.read_text(errors="replace")[-3000:] if lsp_log.is_file() else ""
    data["_diagnostics"] = (
        f"nvim stderr: {proc.stderr[-1500:]}\nserver log tail: {server_log}\n"
        f"nvim lsp.log tail: {client_log}"
    )
    return data


def test_neovim_starts_the_server_from_the_shipped_config(nvim_run: dict[str, Any]) -> None:
    assert nvim_run["errors"] == [], nvim_run["_diagnostics"]
    assert nvim_run["initialized"] is True
    assert nvim_run["root_dir"] == nvim_run["_repo"]
    assert nvim_run["client_has_callers_command"] is True
    assert nvim_run["server_name"] == "mira-ls"
    assert nvim_run["config_cmd"] == ["mira-ls", "serve"]
    assert "python" in nvim_run["config_filetypes"]
    assert nvim_run["config_has_chunk_handler"] is True
    assert nvim_run["hover_provider"] is True
    assert "mira.reindex" in nvim_run["commands"]
    assert nvim_run["settled"] is True, nvim_run["progress"]
    progress = nvim_run["progress"]
    titles = {p["token"]: p.get("title", "") for p in progress if p["kind"] == "begin"}
    ended = {p["token"] for p in progress if p["kind"] == "end"}
    assert any("index" in titles.get(t, "") for t in ended), progress


def test_plugin_defines_the_user_commands(nvim_run: dict[str, Any]) -> None:
    assert nvim_run["user_commands"] == {
        "MiraChat": True,
        "MiraExplain": True,
        "MiraBuild": True,
        "MiraBudget": True,
    }


def test_hover_on_a_function_shows_its_code_facts(nvim_run: dict[str, Any]) -> None:
    hover = nvim_run["hover"]
    assert hover, nvim_run["_diagnostics"]
    assert "def total_price(items, tax)" in hover
    assert "Sum of item prices with tax applied." in hover
    assert "1 caller" in hover


def test_hover_has_expertise_and_last_change_sections(nvim_run: dict[str, Any]) -> None:
    hover: str = nvim_run["hover"] or ""
    assert "**Experts**" in hover, hover
    assert "**Last changed**" in hover, hover
    experts = hover.split("**Experts**", 1)[1].split("\n\n", 1)[0]
    assert "Alice Martin" in experts and "Bob Chen" in experts, hover
    last = hover.split("**Last changed**", 1)[1].split("\n\n", 1)[0]
    assert "Bob Chen" in last and "Fix rounding of total prices" in last, hover


def test_callers_lens_fills_the_quickfix_list(nvim_run: dict[str, Any]) -> None:
    on_function = [lens for lens in nvim_run["lenses"] if lens["line"] == nvim_run["_target_line"]]
    assert {"line": nvim_run["_target_line"], "title": "1 caller", "command": "mira.callers"} in (
        on_function
    ), nvim_run["lenses"]
    assert nvim_run["quickfix"] == [{"file": "shop/app.py", "lnum": 5, "text": "checkout"}], (
        nvim_run["_diagnostics"]
    )


def test_workspace_command_is_answered(nvim_run: dict[str, Any]) -> None:
    assert nvim_run["command_answered"] is True, nvim_run["_diagnostics"]
    assert nvim_run["command_error"] is None, nvim_run["command_error"]
    result = nvim_run["command_result"]
    if nvim_run["command"] == "mira.budget":
        assert set(result) >= {"day", "month", "cache"}
        assert result["day"]["limit_usd"] == 5.0
        assert nvim_run["budget_line"].startswith("Mira budget: today $0.00 of $5.00")
    else:
        assert nvim_run["command"] == "mira.reindex"
        assert result["started"] is True
        assert any(r.endswith("/ws") for r in result["roots"]), result


def test_plugin_refuses_unadvertised_commands_with_a_sentence(nvim_run: dict[str, Any]) -> None:
    assert nvim_run["unknown_command_error"] == (
        "The running mira-ls does not offer mira.noSuchCommand; "
        "update it (pip install -U from your mira-ls checkout)."
    )
