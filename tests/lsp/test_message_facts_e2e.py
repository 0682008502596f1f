"""The real server over stdio: after a chat, the background message analysis is followed by
the fact extraction from the user's messages (a fact with its source message), and
mira.forget {"message": N} forgets the fact that message alone was the source of."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.lsp.conftest import StartServer, server_env, wait_for_progress_end
from tests.lsp.test_memory_e2e import KEY, run
from tests.support.openai_server import Answer, OpenAIServer, Reply
from tests.support.repo import Repo


def _model(body: dict[str, Any]) -> Reply:
    fmt = body.get("response_format")
    if fmt is None:
        return Answer(text="A plain answer.")
    name = fmt["json_schema"]["name"]
    prompt = body["messages"][1]["content"]
    found = re.findall(r"Message id (\d+)(?: \((\w+)\))?:\n([^\n]*)", prompt)
    if name == "message_analysis":
        items = [{"id": int(i), "salience": 0.9 if "fly.io" in t else 0.2,
                  "intent": "preference" if "fly.io" in t else "question", "topics": [],
                  "mood": "neutral"} for i, _, t in found]  # fmt: skip
        return Answer(text=json.dumps({"messages": items}), prompt_tokens=200, completion_tokens=40)
    if name == "memory_message_facts":
        fact = {"key": "deploy_platform", "value": "fly.io", "category": "project",
                "scope": "project", "confidence": 0.7}  # fmt: skip
        items = [{"id": int(i), "facts": [fact] if "fly.io" in t else []} for i, _, t in found]
        return Answer(text=json.dumps({"messages": items}), prompt_tokens=200, completion_tokens=40)
    summary = {"summary": "a summary", "key_facts": []}
    return Answer(text=json.dumps(summary), prompt_tokens=200, completion_tokens=20)


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as c:
        return [tuple(r) for r in c.execute(sql).fetchall()]


@pytest.mark.timeout(120)
async def test_a_fact_from_a_chat_message_and_forgetting_that_message(
    start_server: StartServer, tmp_path: Path
) -> None:
    from mira_ls.memory import owner
    from mira_ls.store import Store
    from mira_ls.store import memory as mq

    root = tmp_path / "proj"
    Repo(root).commit("initial", {"app.py": "def main():\n    return 1\n"})
    with OpenAIServer(_model) as llm:
        env = server_env(tmp_path, MIRA_OPENAI_API_KEY=KEY, MIRA_LLM_BASE_URL=llm.base_url,
                         MIRA_LLM_MAX_RETRIES="0", MIRA_LLM_TIMEOUT_SECONDS="5")  # fmt: skip
        db = Path(env["MIRA_DB"])
        db.parent.mkdir(parents=True)
        store = Store(db)  # an earlier conversation: a batch of messages waits for analysis
        with store.write() as w:
            uid = mq.local_user_id(w, owner.username())
            mq.create_session(w, "s1", uid, None, None, None, 1_700_000_000)
            texts = ["We deploy with fly.io."] + [f"turn {i}" for i in range(1, 20)]
            ids = [mq.add_entry(w, "s1", "user" if i % 2 == 0 else "assistant", t, 3,
                                1_700_000_000 + i) for i, t in enumerate(texts)]  # fmt: skip
        store.close()
        client = await start_server(root, env=env)
        await wait_for_progress_end(client, "indexing", timeout=60)
        answer = await run(client, "mira.chat", {"question": "Hi?", "newSession": True})
        assert "error" not in answer, answer
        for _ in range(300):  # analysis, then extraction, in the background on the llm lane
            if _rows(db, "SELECT count(*) FROM memory_facts")[0][0]:
                break
            await asyncio.sleep(0.1)
        assert _rows(db, "SELECT key, value, source, source_entry_id FROM memory_facts") == [
            ("deploy_platform", "fly.io", "inferred", ids[0])
        ]
        gone = await run(client, "mira.forget", {"message": ids[0]})
        assert "error" not in gone, gone
        assert {"kind": "fact", "id": 1} in gone["forgotten"]
        assert _rows(db, "SELECT count(*) FROM memory_facts") == [(0,)]
        assert _rows(db, "SELECT count(*) FROM memory_fact_vectors") == [(0,)]
