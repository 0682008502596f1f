"""The real server over stdio: a fix's consent prompt names its file and size and the edit
arrives through workspace/applyEdit; a diff aimed at .git/config is not offered; an
overrun stops spending until mira.resumeBudget."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.conftest import StartServer, eventually
from tests.lsp.test_chat_e2e import APP, env_for, make_repo, ready
from tests.support.openai_server import Answer, OpenAIServer


def fix_answer(path: str, old: str, new: str) -> str:
    return f"Fix:\n\n```diff\n--- a/{path}\n+++ b/{path}\n@@ -1,1 +1,1 @@\n-{old}\n+{new}\n```\n"


@pytest.fixture
def llm():  # type: ignore[no-untyped-def]
    with OpenAIServer() as srv:
        yield srv


async def _async(value: object) -> object:
    return value


@pytest.mark.timeout(180)
async def test_consent_names_the_file_and_a_git_config_diff_is_refused(
    start_server: StartServer, tmp_path: Path, llm: OpenAIServer
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    client = await start_server(root, env=env_for(tmp_path, llm))
    asked: list[types.ShowMessageRequestParams] = []
    edits: list[types.ApplyWorkspaceEditParams] = []

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def on_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem:
        asked.append(params)
        return types.MessageActionItem(title="Apply")

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    await ready(client)
    uri = (root / "app.py").as_uri()
    line = APP.splitlines().index("    return x * 2")
    diag = {
        "range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 16}},
        "message": "expected 63, got 42",
    }
    llm.script(Answer(text=fix_answer(".git/config", "[core]", "[core]\n\tfsmonitor = id")))
    refused = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="mira.fixError", arguments=[{"uri": uri, "diagnostic": diag}]
        )
    )
    assert "edit_files" not in refused and "inside .git" in refused["edit_refused"], refused
    llm.script(Answer(text=fix_answer("app.py", "    return x * 2", "    return x * 3")))
    other = {**diag, "message": "expected 63, got 42 (second run)"}  # not the cached answer
    offered = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="mira.fixError", arguments=[{"uri": uri, "diagnostic": other}]
        )
    )
    assert offered["edit_files"] == ["app.py"], offered
    assert await eventually(lambda: _async(bool(edits)), timeout=30)
    assert len(asked) == 1 and "app.py (+1 \u22121 lines)" in asked[0].message, asked
    change = edits[-1].edit.changes[uri][0]
    assert change.new_text == APP.replace("x * 2", "x * 3")
    assert "[core]" in (root / ".git" / "config").read_text()
    assert "fsmonitor" not in (root / ".git" / "config").read_text()


@pytest.mark.timeout(180)
async def test_an_overrun_holds_spending_until_resume_budget(
    start_server: StartServer, tmp_path: Path, llm: OpenAIServer
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    client = await start_server(root, env=env_for(tmp_path, llm, MIRA_BUDGET_DAILY_USD="100"))
    await ready(client)
    llm.script(
        Answer(
            text="Costly.", prompt_tokens=5_000_000, completion_tokens=2_000_000, ignore_cap=True
        )
    )
    first = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.chat", arguments=[{"question": "one?"}])
    )
    assert any("mira.resumeBudget" in n for n in first["notes"]), first
    sent = len(llm.chat_requests())
    held = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.chat", arguments=[{"question": "two?"}])
    )
    assert held["kind"] == "budget" and "on hold" in held["error"], held
    assert len(llm.chat_requests()) == sent
    status = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.budget", arguments=[{"quiet": True}])
    )
    assert status["hold"]["cost_usd"] == 26.25
    resumed = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.resumeBudget")
    )
    assert resumed["lifted"] == 1 and "Spending resumed" in resumed["message"]
    assert any("Spending resumed" in m.message for m in client.messages)
    llm.script(Answer(text="Fine again."))
    again = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.chat", arguments=[{"question": "three?"}])
    )
    assert again.get("text") == "Fine again.", again
