"""Neovim as a real client: headless nvim starts mira-ls through the plugin's setup().

CI installs Debian's neovim (0.7.2); the test skips only when `nvim` is not installed. One
headless run (module fixture) hovers a function in a git repository with two authors, runs
the callers lens and a workspace command through the plugin module, saves the file (the
plugin then asks for the lenses itself), checks `K`, and asks a chat question answered by the
loopback OpenAI server (on 0.7 the answer file opens in a split through the plugin's
window/showDocument handler); editors/neovim/test/e2e_harness.lua writes what Neovim saw to a
JSON file that the tests below check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.openai_server import Answer, OpenAIServer
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

QUESTION = "What does total_price return?"
ANSWER = "Loopback model: total_price returns the subtotal with tax, rounded to cents."

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
        # Chat against the loopback model; answers go under XDG_STATE_HOME.
        "MIRA_OPENAI_API_KEY": "sk-e2e-neovim",
        "MIRA_E2E_QUESTION": QUESTION,
        "MIRA_E2E_ANSWERS_DIR": str(tmp / "state" / "mira-ls" / "answers"),
    }
    llm = OpenAIServer(reply=lambda body: Answer(text=ANSWER)).start()
    env["OPENAI_BASE_URL"] = llm.base_url
    try:
        proc = _run_nvim(env, repo.root)
    finally:
        llm.stop()
    data = _collect(proc, out_file, log_file, tmp)
    data["_target_line"] = line
    data["_repo"] = str(repo.root)
    data["_llm_requests"] = len(llm.chat_requests())
    return data


def _run_nvim(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert NVIM is not None
    return subprocess.run(
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
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=200,
        stdin=subprocess.DEVNULL,
    )


def _collect(
    proc: subprocess.CompletedProcess[str], out_file: Path, log_file: Path, tmp: Path
) -> dict[str, Any]:
    server_log = log_file.read_text(errors="replace")[-4000:] if log_file.exists() else ""
    assert out_file.exists(), (
        f"nvim wrote no result (exit {proc.returncode}).\nstderr: {proc.stderr[-2000:]}\n"
        f"server log: {server_log}"
    )
    data: dict[str, Any] = json.loads(out_file.read_text())
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
    assert nvim_run["start_method"] in ("vim.lsp.enable", "vim.lsp.start", "vim.lsp.start_client")
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
        "MiraTask": True,
        "MiraSearch": True,
    }


def test_mira_search_fills_the_quickfix_list(nvim_run: dict[str, Any]) -> None:
    """:MiraSearch total price: the ranked results in the quickfix list, opened; the
    server's range (client encoding) becomes the quickfix list's byte column."""
    assert nvim_run["search_title"] == "Mira: search total price", nvim_run["_diagnostics"]
    first = nvim_run["search_quickfix"][0]
    assert (first["file"], first["lnum"], first["col"]) == ("shop/pricing.py", 4, 5), nvim_run[
        "search_quickfix"
    ]
    text = r"shop\.pricing\.total_price \(function\) · keyword · 0\.\d+"
    assert re.fullmatch(text, first["text"]), first["text"]
    assert nvim_run["search_window"] is True
    assert nvim_run["search_cols"] == {"utf16": 9, "utf8": 9}
    assert nvim_run["search_git_item"] == {"text": "0123456789 Fix rounding · keyword · 0.25"}


def test_mira_task_says_the_current_task(nvim_run: dict[str, Any]) -> None:
    assert nvim_run["task_before"] == "Mira: no current task (mira-ls task start ID starts one)"
    assert re.fullmatch(r"Mira task \d+: Retry uploads \(doing\)", nvim_run["task_after"]), (
        nvim_run["task_after"]
    )


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
        # The chat before it cost a fraction of a cent.
        assert re.match(r"Mira budget: today \$0\.\d+ of \$5\.00", nvim_run["budget_line"]), (
            nvim_run["budget_line"]
        )
    else:
        assert nvim_run["command"] == "mira.reindex"
        assert result["started"] is True
        assert any(r.endswith("/ws") for r in result["roots"]), result


def test_plugin_refuses_unadvertised_commands_with_a_sentence(nvim_run: dict[str, Any]) -> None:
    assert nvim_run["unknown_command_error"] == (
        "The running mira-ls does not offer mira.noSuchCommand; "
        "update it (pip install -U from your mira-ls checkout)."
    )


def test_plugin_refreshes_code_lenses_by_itself(nvim_run: dict[str, Any]) -> None:
    """No autocmd in the user's config: after :w the plugin has asked for the lenses, with
    the call each Neovim version has (0.7's codelens.refresh() takes no buffer)."""
    assert {"line": nvim_run["_target_line"], "title": "1 caller"} in nvim_run["plugin_lenses"], (
        nvim_run["plugin_lenses"],
        nvim_run["_diagnostics"],
    )


def test_k_shows_the_lsp_hover(nvim_run: dict[str, Any]) -> None:
    k = nvim_run["k_map"]
    major, minor = (int(x) for x in nvim_run["nvim_version"].split(".")[:2])
    if (major, minor) < (0, 10):
        # The plugin maps K in the buffer (Neovim before 0.10 runs 'keywordprg').
        assert k["buffer"] == 1 and k["desc"] == "mira-ls: hover" and k["has_callback"], k
    else:
        assert k["buffer"] == 1, k  # Neovim's own LSP default


def test_chat_answer_streams_and_its_file_opens(nvim_run: dict[str, Any]) -> None:
    assert nvim_run["chat_answered"] is True, nvim_run["_diagnostics"]
    assert nvim_run["chat_error"] is None, nvim_run["chat_error"]
    assert nvim_run["_llm_requests"] >= 1
    assert ANSWER in (nvim_run["streamed"] or ""), nvim_run["streamed"]
    # 0.7 has no window/showDocument of its own: the plugin's handler opened it in a split.
    if nvim_run["nvim_version"].startswith("0.7."):
        assert nvim_run["has_show_document"] is False
    answer = nvim_run["answer_window"]
    assert answer and answer == nvim_run["chat_file"], (answer, nvim_run["chat_file"])
    assert any(ANSWER in line for line in nvim_run["answer_lines"]), nvim_run["answer_lines"]
