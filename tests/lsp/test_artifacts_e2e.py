"""The real server: a fix mira.fixError offers is stored as an artifact; applying it when
the buffer changed since asks first; an applied fix is a file modification, and saving the
original text again records the revert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from mira_ls.store import connect
from tests.lsp.conftest import StartServer, eventually
from tests.lsp.test_chat_e2e import APP, FIX_ANSWER, env_for, make_repo, ready
from tests.support.openai_server import Answer, OpenAIServer


@pytest.fixture
def llm() -> Any:
    with OpenAIServer() as srv:
        yield srv


@pytest.mark.timeout(120)
async def test_apply_asks_when_changed_records_the_modification_and_the_revert(
    start_server: StartServer, tmp_path: Path, llm: OpenAIServer
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    client = await start_server(root, env=env_for(tmp_path, llm))
    asked: list[str] = []
    answers = ["Cancel", "Apply anyway"]

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def on_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        asked.append(params.message)
        if params.message.startswith("Apply Mira's fix?"):
            return None  # the offer after the answer: dismissed, the test applies by command
        return types.MessageActionItem(title=answers.pop(0))

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return types.ApplyWorkspaceEditResult(applied=True)

    await ready(client)
    uri = (root / "app.py").as_uri()
    llm.script(Answer(text=FIX_ANSWER))
    line = APP.splitlines().index("    return x * 2")
    diag = {
        "range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 16}},
        "message": "expected 63, got 42",
    }
    fixed = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="mira.fixError", arguments=[{"uri": uri, "diagnostic": diag}]
        )
    )
    assert fixed["edit_files"] == ["app.py"], fixed
    db = connect(tmp_path / "db" / "mira.db")
    art = db.execute(
        "SELECT status, original_hash, content_hash FROM artifacts WHERE operation_id = ?",
        (fixed["id"],),
    ).fetchone()
    assert art[0] == "proposed"
    # the buffer changes before the fix is applied: the server asks; Cancel applies nothing
    edited = APP + "\n# a later edit\n"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=edited
            )
        )
    )
    apply = types.ExecuteCommandParams(
        command="mira.applyFix", arguments=[{"id": fixed["id"], "uri": uri}]
    )
    first = await client.workspace_execute_command_async(apply)
    assert first["applied"] is False and "app.py changed since" in first["error"]
    assert any(m.startswith("app.py changed since Mira proposed this fix") for m in asked)
    assert db.execute("SELECT count(*) FROM file_modifications").fetchone()[0] == 0
    second = await client.workspace_execute_command_async(apply)
    assert second == {"applied": True}
    mods = db.execute(
        "SELECT source, old_hash, new_hash, operation_id FROM file_modifications ORDER BY id"
    ).fetchall()
    assert mods == [("artifact", art[1], art[2], fixed["id"])]
    assert db.execute("SELECT status FROM artifacts").fetchone()[0] == "applied"
    # the user undoes the fix and saves: the revert is recorded against the artifact
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=APP)],
        )
    )
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )

    async def reverted() -> bool:
        return db.execute("SELECT status FROM artifacts").fetchone()[0] == "reverted"

    assert await eventually(reverted)
    last = db.execute("SELECT source, new_hash FROM file_modifications ORDER BY id DESC").fetchone()
    assert last == ("user", art[1])


@pytest.mark.timeout(120)
async def test_a_fix_applied_a_day_ago_and_still_in_the_file_is_kept_at_the_next_start(
    start_server: StartServer, tmp_path: Path, llm: OpenAIServer
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    client = await start_server(root, env=env_for(tmp_path, llm))

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def on_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        return None

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return types.ApplyWorkspaceEditResult(applied=True)

    await ready(client)
    uri = (root / "app.py").as_uri()
    llm.script(Answer(text=FIX_ANSWER))
    line = APP.splitlines().index("    return x * 2")
    diag = {
        "range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 16}},
        "message": "expected 63, got 42",
    }
    fixed = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="mira.fixError", arguments=[{"uri": uri, "diagnostic": diag}]
        )
    )
    applied = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="mira.applyFix", arguments=[{"id": fixed["id"], "uri": uri}]
        )
    )
    assert applied == {"applied": True}
    db = connect(tmp_path / "db" / "mira.db")
    (content,) = db.execute("SELECT content FROM artifacts").fetchone()
    (root / "app.py").write_text(content)  # the editor wrote the edit, the user saved it
    with db:  # applied two days ago (the server's clock is real)
        db.execute("UPDATE artifacts SET applied_at = applied_at - 2 * 86400")
    # the next start checks it (or an index run of the first server ending after this)
    await start_server(root, env=env_for(tmp_path, llm))

    async def kept() -> Any:
        return db.execute("SELECT outcome FROM fix_outcomes").fetchone()

    assert await eventually(kept) == ("kept",)
