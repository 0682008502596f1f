"""``mira-ls chat|budget|cache`` as real subprocesses against the loopback server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openai_server import Answer, Error, OpenAIServer
from tests.support.repo import Repo

KEY = "sk-cli-test-KEY-0123456789abcdefghijklmnop"
APP = "def helper(x):\n    return x * 2\n\n\ndef main():\n    return helper(3)\n"


@pytest.fixture
def srv() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


def run(
    tmp_path: Path, srv: OpenAIServer, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        "MIRA_DB": str(tmp_path / "mira.db"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "MIRA_OPENAI_API_KEY": KEY,
        "MIRA_LLM_BASE_URL": srv.base_url,
        "MIRA_LLM_MAX_RETRIES": "0",
        **env,
    }
    full.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "mira_ls", *args],
        env=full,
        text=True,
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_chat_prints_only_the_answer_identically_on_a_cache_hit(
    tmp_path: Path, srv: OpenAIServer
) -> None:
    Repo(tmp_path / "p").commit("init", {"app.py": APP})
    assert run(tmp_path, srv, "index", "p").returncode == 0
    srv.script(
        Answer(text="main returns 6.\nIt calls helper.", prompt_tokens=300, completion_tokens=12)
    )
    first = run(
        tmp_path, srv, "chat", "what does main return?", "--file", "p/app.py", "--line", "5"
    )
    second = run(
        tmp_path, srv, "chat", "what does main return?", "--file", "p/app.py", "--line", "5"
    )
    assert first.returncode == second.returncode == 0, first.stderr
    assert first.stdout == second.stdout == "main returns 6.\nIt calls helper.\n"
    assert "cost $0.0005" in first.stderr and not first.stderr.startswith("cached")
    assert second.stderr.startswith("cached: ") and "cost $0" in second.stderr
    assert len(srv.chat_requests()) == 1
    sent = srv.chat_requests()[0].body["messages"][-1]["content"]
    assert "def main():" in sent and "what does main return?" in sent
    # explain: no question, a position
    srv.script(Answer(text="helper doubles its argument."))
    ex = run(tmp_path, srv, "chat", "--file", "p/app.py", "--line", "1")
    assert ex.returncode == 0 and ex.stdout == "helper doubles its argument.\n"
    assert "Explain `app.helper`" in srv.chat_requests()[-1].body["messages"][-1]["content"]

    budget = run(tmp_path, srv, "budget", "--json", "--days", "3")
    data = json.loads(budget.stdout)
    assert data["day"]["spent_usd"] > 0 and data["cache"]["hits"] == 1
    assert data["days"][0]["requests"] == 3 and data["days"][0]["cache_hits"] == 1
    stats = json.loads(run(tmp_path, srv, "cache", "stats", "--json").stdout)
    assert stats["entries"] == 2 and stats["hits"] == 1 and stats["misses"] == 2
    assert run(tmp_path, srv, "cache", "clear").stdout == "removed 2 cached answers\n"
    text = run(tmp_path, srv, "budget").stdout
    assert text.startswith("Today $") and "this month" in text


def test_chat_errors_are_one_line_on_stderr(tmp_path: Path, srv: OpenAIServer) -> None:
    srv.script(Error(401, f"Incorrect API key provided: {KEY}"))
    r = run(tmp_path, srv, "chat", "hello")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("mira-ls: The LLM endpoint") and KEY not in r.stderr
    assert "Traceback" not in r.stderr
    r = run(tmp_path, srv, "chat")
    assert r.returncode == 1 and "give a question" in r.stderr
    r = run(tmp_path, srv, "chat", "x", "--file", "nope.py")
    assert r.returncode == 1 and "not a file" in r.stderr
    r = run(tmp_path, srv, "chat", "hello", MIRA_BUDGET_DAILY_USD="0")
    assert r.returncode == 1 and "Budget:" in r.stderr and "daily limit $0.00" in r.stderr
    assert run(tmp_path, srv, "cache").returncode == 2
