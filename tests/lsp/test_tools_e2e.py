"""The real server over stdio: tool calls the model repeats become a proposal that
mira.tools.list shows, mira.tools.approve lets the model use, mira.tools.reject takes back;
a command tool that keeps failing is withdrawn and the editor is told (window/showMessage)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.conftest import StartServer, server_env, wait_for_progress_end
from tests.lsp.test_tasks_e2e import APP, KEY, run
from tests.support.cli import run_cli
from tests.support.openai_server import Answer, OpenAIServer, ToolCall
from tests.support.repo import Repo

CALLS = [
    ToolCall("search_symbols", {"query": "upload"}),
    ToolCall("get_symbol", {"name": "app.upload"}),
    ToolCall("callers", {"name": "app.upload"}),
]


@pytest.mark.timeout(180)
async def test_tools_proposed_approved_rejected_withdrawn(
    start_server: StartServer, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    Repo(root).commit("initial", {"app.py": APP})
    with OpenAIServer() as llm:
        env = server_env(tmp_path, MIRA_OPENAI_API_KEY=KEY, MIRA_LLM_BASE_URL=llm.base_url,
                         MIRA_LLM_MAX_RETRIES="0", MIRA_LLM_TIMEOUT_SECONDS="5")  # fmt: skip
        client = await start_server(root, env=env)
        await wait_for_progress_end(client, "indexing", timeout=60)
        for i in range(3):
            llm.script(*[Answer(text="", tool_calls=[c]) for c in CALLS], Answer(text="ok"))
            answer = await run(client, "mira.chat", {"question": f"who calls upload {i}?"})
            assert "error" not in answer, answer
        assert any("Mira proposes them as one tool" in n for n in answer["notes"])
        (tool,) = (await run(client, "mira.tools.list"))["tools"]
        assert tool["status"] == "proposed" and not tool["offered"]
        out = await run(client, "mira.tools.approve", {"id": tool["id"]})
        assert out["tool"]["status"] == "approved" and "Approved" in out["message"]
        llm.script(Answer(text="", tool_calls=[ToolCall(tool["name"], {"query": "upload"})]),
                   Answer(text="done"))  # fmt: skip
        await run(client, "mira.chat", {"question": "use it"})
        reply = [m for m in llm.chat_requests()[-1].body["messages"] if m["role"] == "tool"]
        assert "Callers of app.upload" in reply[0]["content"]
        out = await run(client, "mira.tools.reject", {"id": tool["id"], "reason": "noisy"})
        assert out["tool"]["status"] == "rejected" and out["tool"]["note"] == "noisy"
        bad = await run(client, "mira.tools.approve", {"id": "x"})
        assert 'needs {"id": N}' in bad["error"]
        missing = await run(client, "mira.tools.approve", {"id": 999})
        assert "There is no tool 999" in missing["error"]

        db = {"MIRA_DB": env["MIRA_DB"]}
        added = run_cli("tools", "add", "--root", str(root), "--json", "failing", "--",
                        sys.executable, "-c", "raise SystemExit(2)", env=db)  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert run_cli("tools", "approve", "2", env=db).returncode == 0
        llm.script(Answer(text="", tool_calls=[ToolCall("failing", {})] * 3), Answer(text="x"))
        answer = await run(client, "mira.chat", {"question": "run failing"})
        assert any(n.startswith("Mira withdrew the tool failing") for n in answer["notes"])
        told = [m for m in client.messages if "Mira withdrew the tool failing" in m.message]
        assert told and told[0].type == types.MessageType.Warning
