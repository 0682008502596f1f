"""The real server over stdio: mira.remember with the loopback model's structured answers,
mira.memory as a markdown file, mira.profile and mira.patterns shown and corrected,
mira.forget leaving no row and no vector in the database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import StartServer, server_env, wait_for_progress_end
from tests.support.openai_server import Answer, OpenAIServer, Reply
from tests.support.repo import Repo

KEY = "sk-test-memory-e2e-0123456789abcdefghijklmn"


async def run(client: LanguageClient, command: str, arg: dict[str, Any] | None = None) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=[arg] if arg is not None else [])
    )


def _facts_answer(body: dict[str, Any]) -> Reply:
    assert body["response_format"]["json_schema"]["name"] == "memory_facts"
    fact = {"key": "deploy_target", "value": "fly.io", "category": "tooling",
            "scope": "project", "confidence": 0.8}  # fmt: skip
    return Answer(text=json.dumps({"facts": [fact]}), prompt_tokens=150, completion_tokens=25)


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as c:
        return int(c.execute(sql).fetchone()[0])


@pytest.mark.timeout(120)
async def test_remember_memory_forget(start_server: StartServer, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    Repo(root).commit("initial", {"app.py": "def main():\n    return 1\n"})
    with OpenAIServer(_facts_answer) as llm:
        env = server_env(tmp_path, MIRA_OPENAI_API_KEY=KEY, MIRA_LLM_BASE_URL=llm.base_url,
                         MIRA_LLM_MAX_RETRIES="0", MIRA_LLM_TIMEOUT_SECONDS="5")  # fmt: skip
        db = Path(env["MIRA_DB"])
        client = await start_server(root, env=env)
        await wait_for_progress_end(client, "indexing", timeout=60)
        told = await run(client, "mira.remember", {"text": "We deploy with fly.io."})
        assert "error" not in told, told
        [change] = told["changes"]
        assert (change["key"], change["value"], change["action"]) == (
            "deploy_target", "fly.io", "add",
        )  # fmt: skip
        assert any("remembered #" in m.message for m in client.messages)
        shown = await run(client, "mira.memory")
        assert "**deploy_target**: fly.io" in shown["markdown"]
        path = Path(shown["path"])
        assert path.read_text(encoding="utf-8") == shown["markdown"]
        assert str(tmp_path / "state") in str(path) and not path.is_relative_to(root)
        assert _count(db, "SELECT count(*) FROM memory_fact_vectors") == 1
        prof = await run(client, "mira.profile")
        assert prof["profile"]["tech_stack"] == ["fly.io"], prof
        prof = await run(client, "mira.profile", {"set": {"verbosity": "brief"}})
        assert prof["profile"]["verbosity"] == "brief"
        assert prof["profile"]["edited_fields"] == ["verbosity"]
        added = await run(client, "mira.patterns", {"add": "asks for tests", "type": "workflow"})
        pid = added["pattern"]["id"]
        assert [p["id"] for p in (await run(client, "mira.patterns"))["patterns"]] == [pid]
        forgot = await run(client, "mira.forget", {"pattern": pid})
        assert forgot["forgotten"][0]["id"] == pid
        assert _count(db, "SELECT count(*) FROM learned_patterns") == 0
        cleared = await run(client, "mira.forget", {"profile": "verbosity"})
        assert cleared["profile"]["verbosity"] is None
        bad = await run(client, "mira.profile", {"set": {"colour": "blue"}})
        assert "not a profile field" in bad["error"]
        gone = await run(client, "mira.forget", {"id": change["id"]})
        assert [f["id"] for f in gone["forgotten"]] == [change["id"]]
        assert _count(db, "SELECT count(*) FROM memory_facts") == 0
        assert _count(db, "SELECT count(*) FROM memory_fact_vectors") == 0
        assert _count(db, "SELECT count(*) FROM embeddings") == 0
        again = await run(client, "mira.forget", {"id": change["id"]})
        assert "no remembered fact" in again["error"]
        empty = await run(client, "mira.remember", {})
        assert "Say what to remember" in empty["error"]
        after = await run(client, "mira.memory")
        assert "Nothing yet" in after["markdown"]


def _summary_answer(body: dict[str, Any]) -> Reply:
    fmt = body.get("response_format")
    if fmt is None:
        return Answer(text="A plain answer.")
    assert fmt["json_schema"]["name"] == "summary_of_messages"
    n = body["messages"][1]["content"].count("User:") + body["messages"][1]["content"].count(
        "Assistant:"
    )
    summary = {"summary": f"rebuilt from {n} messages", "key_facts": []}
    return Answer(text=json.dumps(summary), prompt_tokens=200, completion_tokens=20)


@pytest.mark.timeout(120)
async def test_forgetting_a_message_rebuilds_its_summary(
    start_server: StartServer, tmp_path: Path
) -> None:
    import asyncio

    from mira_ls.memory import owner
    from mira_ls.store import Store
    from mira_ls.store import memory as mq

    root = tmp_path / "proj"
    Repo(root).commit("initial", {"app.py": "def main():\n    return 1\n"})
    with OpenAIServer(_summary_answer) as llm:
        env = server_env(tmp_path, MIRA_OPENAI_API_KEY=KEY, MIRA_LLM_BASE_URL=llm.base_url,
                         MIRA_LLM_MAX_RETRIES="0", MIRA_LLM_TIMEOUT_SECONDS="5")  # fmt: skip
        db = Path(env["MIRA_DB"])
        db.parent.mkdir(parents=True)
        store = Store(db)  # a conversation of 20 messages and its 2 summaries, made before
        with store.write() as w:
            uid = mq.local_user_id(w, owner.username())
            mq.create_session(w, "s1", uid, None, None, None, 1_700_000_000)
            ids = [mq.add_entry(w, "s1", "user" if i % 2 == 0 else "assistant", f"turn {i}",
                                3, 1_700_000_000 + i) for i in range(20)]  # fmt: skip
            for first, last in ((ids[0], ids[9]), (ids[10], ids[19])):
                w.execute("INSERT INTO rolling_summaries(session_id, window_size, first_entry_id,"
                          " last_entry_id, message_count, content) VALUES ('s1', 10, ?, ?, 10,"
                          " 'an old summary')", (first, last))  # fmt: skip
        store.close()
        client = await start_server(root, env=env)
        await wait_for_progress_end(client, "indexing", timeout=60)
        gone = await run(client, "mira.forget", {"message": ids[4]})
        assert "error" not in gone, gone
        assert [f["kind"] for f in gone["forgotten"]] == ["message", "summary"]
        for _ in range(200):  # the rebuild runs in the background on the llm lane
            if _count(db, "SELECT count(*) FROM rolling_summaries WHERE message_count = 9"):
                break
            await asyncio.sleep(0.1)
        with sqlite3.connect(db) as c:
            rows = c.execute("SELECT first_entry_id, last_entry_id, content FROM"
                             " rolling_summaries ORDER BY first_entry_id").fetchall()  # fmt: skip
        assert rows == [(ids[0], ids[9], "rebuilt from 9 messages"),
                        (ids[10], ids[19], "an old summary")]  # fmt: skip
        assert not any("turn 4" in json.dumps(r.body) for r in llm.chat_requests())
