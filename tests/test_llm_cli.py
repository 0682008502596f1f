"""``mira-ls chat|budget|cache`` as real subprocesses against the loopback server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli
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
    base = {
        "MIRA_DB": str(tmp_path / "mira.db"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "MIRA_OPENAI_API_KEY": KEY,
        "MIRA_LLM_BASE_URL": srv.base_url,
        "MIRA_LLM_MAX_RETRIES": "0",
    }
    return run_cli(*args, env={**base, **env}, unset=["OPENAI_API_KEY"], cwd=tmp_path)


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
    assert r.returncode == 2 and "give a question" in r.stderr
    r = run(tmp_path, srv, "chat", "x", "--file", "nope.py")
    assert r.returncode == 1 and "not a file" in r.stderr
    r = run(tmp_path, srv, "chat", "hello", MIRA_BUDGET_DAILY_USD="0")
    assert r.returncode == 1 and "Budget:" in r.stderr and "daily limit $0.00" in r.stderr
    assert run(tmp_path, srv, "cache").returncode == 2


def test_a_key_typed_into_the_question_is_stored_and_shown_nowhere(
    tmp_path: Path, srv: OpenAIServer
) -> None:
    # Not shaped like any known token, so only the configured-key scrub can catch it; its
    # lowercase would survive into the answer file's slug.
    key = "Zq7Kx9Lm2Np4Rs6Tv8Wy0AbCd"
    Repo(tmp_path / "p").commit("init", {"app.py": APP})
    question = f"my key is {key} why does main fail?"
    runs = [
        run(
            tmp_path,
            srv,
            "chat",
            question,
            "--file",
            "p/app.py",
            "--line",
            "5",
            MIRA_OPENAI_API_KEY=key,
        )
        for _ in range(2)  # the second is a cache hit, recorded on its own path
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert len(srv.chat_requests()) == 1
    sent = srv.chat_requests()[0].body["messages"][-1]["content"]
    assert key not in sent and "my key is [REDACTED] why does main fail?" in sent
    for r in runs:
        assert key not in r.stdout + r.stderr and "[REDACTED]" in r.stdout  # the echo
    answers = list((tmp_path / "state").rglob("*.md"))
    assert len(answers) == 2
    for a in answers:
        assert key.lower() not in a.name.lower() and "my-key-is-redacted-why" in a.name
        body = a.read_text()
        assert key not in body and body.startswith("# my key is [REDACTED] why does main")
        assert str(a) in "".join(r.stderr for r in runs)
    conn = sqlite3.connect(tmp_path / "mira.db")
    try:
        titles = [t for (t,) in conn.execute("SELECT title FROM sessions")]
        asked = [
            c for (c,) in conn.execute("SELECT content FROM memory_entries WHERE role = 'user'")
        ]
    finally:
        conn.close()
    assert len(asked) == 2 and all("[REDACTED]" in c for c in asked)
    assert titles and all(key not in (t or "") for t in titles)
    for f in tmp_path.glob("mira.db*"):  # the database, its WAL and shared memory
        assert key.encode() not in f.read_bytes(), f


def test_chat_position_and_question_mistakes_are_sentences(
    tmp_path: Path, srv: OpenAIServer
) -> None:
    Repo(tmp_path / "p").commit("init", {"app.py": APP})  # 6 lines
    usage = [
        (["chat", "q", "--line", "3"], "--line needs --file"),
        (["chat", "q", "--col", "3"], "--col needs --file"),
        (["chat", "q", "--explain"], "--explain needs --file"),
        (["chat", "--line", "3"], "give a question"),
        (["chat", "   "], "give a question"),
        (["chat", "q", "--file", "p/app.py", "--line", "0"], "1-based"),
        (["chat", "q", "--effort", "minimal"], "invalid choice: 'minimal'"),
    ]
    for args, said in usage:
        r = run(tmp_path, srv, *args)
        assert r.returncode == 2 and said in r.stderr and r.stdout == "", (args, r.stderr)
    r = run(tmp_path, srv, "chat", "q", "--file", "p/app.py", "--line", "9")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == "mira-ls: --line 9 is past the end of p/app.py, which has 6 lines\n"
    r = run(tmp_path, srv, "chat", "q", "--file", "p/app.py", "--line", "2", "--col", "30")
    assert r.returncode == 1 and "--col 30 is past the end of line 2 of p/app.py" in r.stderr
    assert srv.chat_requests() == []


def test_reasoning_effort_settings_and_flag(tmp_path: Path, srv: OpenAIServer) -> None:
    # GPT-5's "minimal" in the environment is GPT-5.1's "none", without a warning.
    r = run(tmp_path, srv, "chat", "one", MIRA_LLM_REASONING_EFFORT="minimal")
    assert r.returncode == 0 and "WARNING" not in r.stderr, r.stderr
    assert srv.chat_requests()[-1].body["reasoning_effort"] == "none"
    # An invalid value is reported once, and the default is used.
    r = run(tmp_path, srv, "chat", "two", MIRA_LLM_REASONING_EFFORT="extreme")
    assert r.returncode == 0 and r.stderr.count("MIRA_LLM_REASONING_EFFORT") == 1, r.stderr
    assert "expected one of none, low, medium, high, got 'extreme'" in r.stderr
    assert srv.chat_requests()[-1].body["reasoning_effort"] == "medium"
    r = run(tmp_path, srv, "chat", "three", "--effort", "high", "--model", "gpt-5-mini")
    assert r.returncode == 0, r.stderr
    body = srv.chat_requests()[-1].body
    assert body["reasoning_effort"] == "high" and body["model"] == "gpt-5-mini"
