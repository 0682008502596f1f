"""``mira.analyze`` through the real server over stdio: it asks first above
analysis.confirmAboveUsd, runs with $/progress, and the hover then says what the analysed
function is for."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.lsp.conftest import StartServer, server_env, wait_for_progress_end
from tests.support.llm_world import KEY
from tests.support.openai_server import OpenAIServer
from tests.support.repo import Repo
from tests.test_understand_analyze import analyst

CORE = '''\
def retry(fn, times):
    """Call fn until it works."""
    for _ in range(times):
        try:
            return fn()
        except OSError:
            pass
    raise RuntimeError("gave up")
'''


async def _analyze(client, *arguments: object) -> dict:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.analyze", arguments=list(arguments))
    )
    assert isinstance(result, dict), result
    return result


async def test_analyze_asks_first_then_the_hover_has_the_purpose(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("Add retry", {"net/retry.py": CORE})
    with OpenAIServer(analyst) as srv:
        env = server_env(
            tmp_path,
            MIRA_OPENAI_API_KEY=KEY,
            MIRA_LLM_BASE_URL=srv.base_url,
            MIRA_LLM_MAX_RETRIES="0",
            MIRA_ANALYSIS_CONFIRM_ABOVE_USD="0",
        )
        client = await start_server(repo.root, env=env)
        asked: list[types.ShowMessageRequestParams] = []
        answers = ["Not now", "Analyse"]

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def on_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem:
            asked.append(params)
            return types.MessageActionItem(title=answers.pop(0))

        await wait_for_progress_end(client, "indexing")
        declined = await _analyze(client)
        assert declined["analysed"] == 0 and declined["message"].startswith("Not analysed")
        assert "at most $" in asked[0].message and srv.chat_requests() == []

        folder = (repo.root / "net").as_uri()
        done = await _analyze(client, {"uri": folder})
        assert done["analysed"] == 2 and done["calls"] == 1 and done["stopped"] is None
        assert "definitions of net" in done["message"]
        await wait_for_progress_end(client, "analysing", count=1)

        uri = (repo.root / "net" / "retry.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=CORE
                )
            )
        )
        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=5),
            )
        )
        assert hover is not None
        value = hover.contents.value  # type: ignore[union-attr]
        assert "**Purpose** Does the work of net.retry.retry." in value

        again = await _analyze(client, {"yes": True})
        assert "analysed already" in again["message"] and len(srv.chat_requests()) == 1
