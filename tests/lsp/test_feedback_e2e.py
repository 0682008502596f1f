"""The real server over stdio: mira.feedback on an answer is kept against its operation and
shown by mira.operations; an unknown operation or a bad argument is a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lsp.conftest import StartServer, server_env, wait_for_progress_end
from tests.lsp.test_tasks_e2e import APP, KEY, run
from tests.support.openai_server import Answer, OpenAIServer
from tests.support.repo import Repo


@pytest.mark.timeout(120)
async def test_feedback_on_an_answer(start_server: StartServer, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    Repo(root).commit("initial", {"app.py": APP})
    with OpenAIServer() as llm:
        env = server_env(tmp_path, MIRA_OPENAI_API_KEY=KEY, MIRA_LLM_BASE_URL=llm.base_url,
                         MIRA_LLM_MAX_RETRIES="0", MIRA_LLM_TIMEOUT_SECONDS="5")  # fmt: skip
        client = await start_server(root, env=env)
        await wait_for_progress_end(client, "indexing", timeout=60)
        llm.script(Answer(text="It returns the length.", prompt_tokens=50, completion_tokens=5))
        answer = await run(client, "mira.chat", {"question": "What does upload return?"})
        assert "error" not in answer, answer
        out = await run(
            client, "mira.feedback", {"operation": answer["id"], "helpful": True, "note": "clear"}
        )
        assert out["operation"] == answer["id"] and out["helpful"] is True, out
        ops = (await run(client, "mira.operations"))["operations"]
        (op,) = [o for o in ops if o["id"] == answer["id"]]
        assert op["feedback"]["helpful"] is True and op["feedback"]["note"] == "clear"
        missing = await run(client, "mira.feedback", {"operation": "nosuchop", "helpful": False})
        assert "There is no operation 'nosuchop'" in missing["error"]
        bad = await run(client, "mira.feedback", {"operation": answer["id"], "helpful": "yes"})
        assert "helpful must be true or false" in bad["error"]
