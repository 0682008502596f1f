"""The real server over stdio: after the fifth chat of a session (its tenth message) the
rolling summary of those ten is made in the background, as the message analysis is."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from mira_ls.store import connect
from tests.lsp.conftest import StartServer, eventually
from tests.lsp.test_chat_e2e import env_for, make_repo, ready
from tests.support.openai_server import Answer, OpenAIServer, Reply


def reply(body: dict[str, Any]) -> Reply:
    fmt = body.get("response_format")
    if fmt is None:
        return Answer(text="Use pathlib.", prompt_tokens=50, completion_tokens=3)
    if fmt["json_schema"]["name"] == "summary_of_messages":
        data = {"summary": "The user asked five times about paths.", "key_facts": ["pathlib"]}
        return Answer(text=json.dumps(data), prompt_tokens=300, completion_tokens=20)
    return Answer(text=json.dumps({"messages": []}), prompt_tokens=10, completion_tokens=2)


def summaries(db: Path) -> list[tuple[Any, ...]]:
    conn = connect(db)
    try:
        sql = "SELECT window_size, message_count, content FROM rolling_summaries"
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


@pytest.mark.timeout(120)
async def test_the_tenth_message_of_a_session_is_summarised_in_the_background(
    start_server: StartServer, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    with OpenAIServer(reply) as llm:
        client = await start_server(root, env=env_for(tmp_path, llm))
        await ready(client)
        db = tmp_path / "db" / "mira.db"
        for i in range(5):
            result = await client.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="mira.chat", arguments=[{"question": f"Paths, take {i}?"}]
                )
            )
            assert "error" not in result, result
            if i == 3:  # eight messages: nothing to summarise yet
                await asyncio.sleep(0)
                assert summaries(db) == []

        async def made() -> list[tuple[Any, ...]]:
            return summaries(db)

        got = await eventually(made)
        assert got == [(10, 10, "The user asked five times about paths.")]
        asked = [r.body for r in llm.chat_requests() if "response_format" in r.body]
        names = [b["response_format"]["json_schema"]["name"] for b in asked]
        assert names.count("summary_of_messages") == 1
        await client.shutdown_session()
