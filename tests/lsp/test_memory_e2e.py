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
