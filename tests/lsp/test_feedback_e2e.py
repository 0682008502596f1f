"""The real server over stdio: mira.feedback on an answer is kept against its operation and
shown by mira.operations; an unknown operation or a bad argument is a sentence; the code
actions on an answer file send it."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.conftest import StartServer, server_env, wait_for_progress_end
from tests.lsp.test_build_e2e import code_actions
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


@pytest.mark.timeout(120)
async def test_code_actions_on_the_answer_file_send_feedback(
    start_server: StartServer, tmp_path: Path
) -> None:
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
        text = Path(answer["file"]).read_text()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(answer["uri"], "markdown", 1, text)
            )
        )
        got = await code_actions(client, answer["uri"], 0)
        assert [a.title for a in got] == [
            "Mira: this answer helped", "Mira: this answer did not help",
        ]  # fmt: skip
        unhelpful = got[1].command
        assert unhelpful.command == "mira.feedback"
        assert list(unhelpful.arguments or []) == [{"operation": answer["id"], "helpful": False}]
        out = await run(client, unhelpful.command, unhelpful.arguments[0])
        assert out["operation"] == answer["id"] and out["helpful"] is False, out
        ops = (await run(client, "mira.operations"))["operations"]
        (op,) = [o for o in ops if o["id"] == answer["id"]]
        assert op["feedback"]["helpful"] is False
        got = await code_actions(client, answer["uri"], 0)
        assert [a.title for a in got] == [
            "Mira: this answer helped", "Mira: this answer did not help (your current mark)",
        ]  # fmt: skip
        # a markdown file outside the workspace that no answer wrote: no actions
        other = tmp_path / "notes.md"
        other.write_text("# notes\n")
        assert await code_actions(client, other.as_uri(), 0) == []
