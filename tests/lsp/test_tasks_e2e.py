"""The real server over stdio: create a task, decompose it with the loopback model, start,
pause, resume after the repository moved on, ask with the task in the context, and list
the operations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import StartServer, eventually, server_env, wait_for_progress_end
from tests.support.openai_server import Answer, OpenAIServer
from tests.support.repo import Repo

KEY = "sk-test-tasks-e2e-0123456789abcdefghijklmn"
APP = '''"""App."""


def upload(data):
    """Send data."""
    return len(data)
'''


async def run(client: LanguageClient, command: str, arg: dict[str, Any] | None = None) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=[arg] if arg is not None else [])
    )


@pytest.mark.timeout(120)
async def test_create_decompose_pause_resume_and_operations(
    start_server: StartServer, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    repo = Repo(root)
    repo.commit("initial", {"app.py": APP})
    with OpenAIServer() as llm:
        env = server_env(tmp_path, MIRA_OPENAI_API_KEY=KEY, MIRA_LLM_BASE_URL=llm.base_url,
                         MIRA_LLM_MAX_RETRIES="0", MIRA_LLM_TIMEOUT_SECONDS="5")  # fmt: skip
        client = await start_server(root, env=env)
        await wait_for_progress_end(client, "indexing", timeout=60)
        created = await run(client, "mira.task.create", {"title": "Add retry to upload"})
        tid = created["task"]["id"]
        assert created["task"]["status"] == "todo"
        plan = {"subtasks": [
            {"key": "a", "parent": None, "title": "Wrap upload in a retry loop",
             "rationale": "transient errors", "files": ["app.py"], "symbols": ["upload"]},
            {"key": "b", "parent": "a", "title": "Add backoff", "rationale": "be gentle",
             "files": [], "symbols": ["backoff"]},
        ]}  # fmt: skip
        llm.script(Answer(text=json.dumps(plan), prompt_tokens=300, completion_tokens=80))
        dec = await run(client, "mira.task.decompose", {"id": tid})
        assert "error" not in dec, dec
        a, b = dec["subtasks"]
        assert a["parent_id"] == tid and b["parent_id"] == a["id"]
        upload = next(x for x in a["targets"] if x["name"] == "upload")
        assert upload["resolved"] and upload["path"] == "app.py" and upload["line"] == 4
        assert not b["targets"][0]["resolved"]  # backoff is not in the index: kept as text
        listed = await run(client, "mira.task.list")
        assert [t["id"] for t in listed["tasks"]] == [tid, a["id"], b["id"]]
        # start, pause with a note, the repository moves on, resume
        started = await run(client, "mira.task.update", {"id": tid, "status": "doing"})
        assert started["message"].startswith(f"Started task {tid}")
        paused = await run(client, "mira.task.pause", {"id": tid, "notes": "loop done"})
        assert paused["snapshot"]["notes"] == "loop done"
        sha = repo.commit("Retry upload three times", {"app.py": APP + "\nRETRIES = 3\n"})
        resumed = await run(client, "mira.task.update", {"id": tid, "status": "doing"})
        assert f"Resumed task {tid}" in resumed["message"] and sha[:8] in resumed["message"]
        assert resumed["changes"]["files"] == ["app.py"]
        assert (await run(client, "mira.task.list"))["current"] == tid
        # a question now carries the task, its note and what changed since the pause
        llm.script(Answer(text="Use exponential backoff.", prompt_tokens=500, completion_tokens=9))
        answer = await run(client, "mira.chat", {"question": "What should I do next?"})
        assert "error" not in answer, answer
        user = llm.chat_requests()[-1].body["messages"][-1]["content"]
        assert "The task being worked on" in user and "Add retry to upload" in user
        assert "notes: loop done" in user and f"{sha[:8]} Retry upload three times" in user
        ops = (await run(client, "mira.operations"))["operations"]
        assert [(o["kind"], o["status"], o["task_id"]) for o in ops] == [
            ("chat", "done", tid),
            ("decompose", "done", tid),
        ]
        assert [e["status"] for e in ops[0]["events"]] == [
            "pending",
            "running",
            "streaming",
            "done",
        ]
        assert ops[0]["cost_usd"] == pytest.approx(answer["cost_usd"])
        only = (await run(client, "mira.operations", {"task": tid, "limit": 1}))["operations"]
        assert [o["id"] for o in only] == [ops[0]["id"]]
        # mistakes answer with a sentence
        missing = await run(client, "mira.task.decompose", {})
        assert "needs the id of a task" in missing["error"]
        nope = await run(client, "mira.task.update", {"id": 999, "status": "done"})
        assert "no task 999" in nope["error"]


@pytest.mark.timeout(120)
async def test_the_server_stopping_snapshots_the_current_task_and_the_next_start_says_what_changed(
    start_server: StartServer, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    repo = Repo(root)
    repo.commit("initial", {"app.py": APP})
    env = server_env(tmp_path)
    first = await start_server(root, env=env)
    await wait_for_progress_end(first, "indexing", timeout=60)
    tid = (await run(first, "mira.task.create", {"title": "Keep going"}))["task"]["id"]
    await run(first, "mira.task.start", {"id": tid})
    await first.shutdown_session()
    sha = repo.commit("Work done while the editor was closed", {"app.py": APP + "\nX = 1\n"})
    second = await start_server(root, env=env)

    async def told() -> list[str]:
        return [m.message for m in second.messages if f"task {tid} (Keep going)" in m.message]

    shown = await eventually(told)
    assert "is current" in shown[0] and "1 commit (" in shown[0] and sha[:8] in shown[0]
    details = await run(second, "mira.task.show", {"id": tid})
    assert details["current"] and details["snapshot"]["reason"] == "server stopped"
    assert [c["sha"] for c in details["session"]["commits_since_pause"]] == [sha]
