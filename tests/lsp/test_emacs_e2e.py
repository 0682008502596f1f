"""Emacs as a real client: `emacs --batch` loads editors/emacs/mira-ls.el as a user's init
would, opens a file of a git repository with two authors and runs M-x eglot.

CI installs Debian's emacs-nox (28.2) and elpa-eglot (1.9); the test skips when `emacs` is
missing or has no Eglot. editors/emacs/test/e2e.el asks for the hover of a function until the
git sections show, runs mira.budget and a chat answered by the loopback OpenAI server (the
answer file opens through the window/showDocument support mira-ls.el adds), then writes what
it saw as JSON. How the server process exits is not checked here.
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

from tests.support.openai_server import Answer, OpenAIServer
from tests.support.repo import T0, Repo

ROOT = Path(__file__).resolve().parents[2]
EMACS_DIR = ROOT / "editors" / "emacs"
# MIRA_TEST_EMACS points at another Emacs (e.g. 29+ with Eglot built in); by default the one
# on PATH.
EMACS = shutil.which(os.environ.get("MIRA_TEST_EMACS") or "emacs")
QUESTION = "What does total_price return?"
ANSWER = "Loopback model: total_price returns the subtotal with tax, rounded to cents."


def _eglot_missing() -> str | None:
    """Why the test cannot run, or None."""
    if EMACS is None:
        return "emacs is not installed (CI installs it: apt-get install emacs-nox elpa-eglot)"
    probe = subprocess.run(
        [
            EMACS,
            "--batch",
            "-q",
            "--eval",
            "(progn (unless (require 'eglot nil t) (require 'package) (package-initialize)"
            ' (require \'eglot)) (princ "ok"))',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    if "ok" not in probe.stdout:
        return (
            "Emacs has no Eglot (Emacs 29+ has it built in; on 28: apt-get install elpa-eglot): "
            + probe.stderr.strip()[-300:]
        )
    return None


WHY_NOT = _eglot_missing()

pytestmark = [
    pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or ""),
    pytest.mark.timeout(240),
]

CORE_V1 = '''"""Pricing helpers."""


def total_price(items, tax):
    """Sum of item prices with tax applied."""
    subtotal = sum(i.price for i in items)
    return subtotal * (1 + tax)
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


@pytest.fixture(scope="module")
def emacs_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    assert EMACS is not None
    tmp = tmp_path_factory.mktemp("emacs")
    repo = Repo(tmp / "ws")
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
    target = repo.root / "shop" / "pricing.py"
    line = next(i for i, t in enumerate(target.read_text().splitlines()) if t.startswith("def "))
    out_file = tmp / "result.json"
    log_file = tmp / "server.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MIRA_", "OPENAI_"))},
        "HOME": str(tmp / "home"),
        "MIRA_DB": str(tmp / "db" / "mira.db"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "MIRA_OPENAI_API_KEY": "sk-e2e-emacs",
        "MIRA_E2E_OUT": str(out_file),
        "MIRA_E2E_EL": str(EMACS_DIR / "mira-ls.el"),
        "MIRA_E2E_FILE": str(target),
        "MIRA_E2E_LINE": str(line + 1),
        "MIRA_E2E_COL": str(len("def ")),
        "MIRA_E2E_QUESTION": QUESTION,
        "MIRA_E2E_CMD": json.dumps(
            [sys.executable, "-m", "mira_ls", "serve", "--log-file", str(log_file)]
        ),
    }
    (tmp / "home").mkdir()
    with OpenAIServer(reply=lambda body: Answer(text=ANSWER)) as llm:
        env["OPENAI_BASE_URL"] = llm.base_url
        proc = subprocess.run(
            # -q: no user init file, but the site's (Debian's elpa-eglot) as a user gets it.
            [EMACS, "--batch", "-q", "-l", str(EMACS_DIR / "test" / "e2e.el")],
            env=env,
            cwd=repo.root,
            capture_output=True,
            text=True,
            timeout=200,
            stdin=subprocess.DEVNULL,
        )
        requests = len(llm.chat_requests())
    server_log = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
    assert out_file.exists(), (
        f"emacs wrote no result (exit {proc.returncode}).\nstderr: {proc.stderr[-3000:]}\n"
        f"server log: {server_log}"
    )
    data: dict[str, Any] = json.loads(out_file.read_text())
    data["_repo"] = str(repo.root)
    data["_llm_requests"] = requests
    data["_answers"] = str(tmp / "state" / "mira-ls" / "answers")
    data["_diagnostics"] = f"emacs stderr: {proc.stderr[-2500:]}\nserver log tail: {server_log}"
    return data


def test_eglot_connects_with_the_shipped_file(emacs_run: dict[str, Any]) -> None:
    assert emacs_run["errors"] == [], emacs_run["_diagnostics"]
    assert emacs_run["major_mode"] == "python-mode"
    assert emacs_run["server_class"] == "mira-ls-server"
    assert emacs_run["server_name"] == "mira-ls"
    assert emacs_run["project_root"].rstrip("/") == emacs_run["_repo"]
    assert emacs_run["show_document_advertised"] is True


def test_eglot_hover_shows_code_and_git_sections(emacs_run: dict[str, Any]) -> None:
    hover = emacs_run["hover"] or ""
    assert "def total_price(items, tax)" in hover, emacs_run["_diagnostics"]
    assert "Sum of item prices with tax applied." in hover
    experts = hover.split("**Experts**", 1)[1].split("\n\n", 1)[0]
    assert "Alice Martin" in experts and "Bob Chen" in experts, hover
    last = hover.split("**Last changed**", 1)[1].split("\n\n", 1)[0]
    assert "Bob Chen" in last and "Fix rounding of total prices" in last, hover


def test_command_and_chat_through_eglot(emacs_run: dict[str, Any]) -> None:
    budget = emacs_run["budget"]
    assert budget["day"]["limit_usd"] == 5.0 and "cache" in budget, budget
    assert emacs_run["_llm_requests"] >= 1
    file = emacs_run["chat_file"]
    assert file and file.startswith(emacs_run["_answers"]), (file, emacs_run["_diagnostics"])
    assert emacs_run["chat_buffer_open"] is True
    assert ANSWER in (emacs_run["chat_text"] or "")
    # M-x mira-ls-chat does not block Emacs; its answer file opened as well.
    second = emacs_run["async_chat_file"]
    assert second and second.startswith(emacs_run["_answers"]) and second != file, second
    assert emacs_run["_llm_requests"] >= 2
