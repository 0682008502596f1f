"""Background analysis through the real server: a file opened after indexing is analysed
without a command (one chat request to the loopback server), the hover then has its
purpose, and opening it again asks nothing; workspace/symbol finds it by concept."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.lsp.conftest import StartServer, eventually, server_env, wait_for_progress_end
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


def _open(client, uri: str, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=version, text=CORE
            )
        )
    )


async def test_an_opened_file_is_analysed_in_the_background(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("Add retry", {"net/retry.py": CORE, "notes.txt": "x\n"})
    with OpenAIServer(analyst) as srv:
        env = server_env(
            tmp_path,
            MIRA_OPENAI_API_KEY=KEY,
            MIRA_LLM_BASE_URL=srv.base_url,
            MIRA_LLM_MAX_RETRIES="0",
            MIRA_ANALYSIS_BACKGROUND="true",
            MIRA_ANALYSIS_BACKGROUND_HOTSPOTS="0",
        )
        client = await start_server(repo.root, env=env)
        await wait_for_progress_end(client, "indexing")
        assert srv.chat_requests() == []  # nothing is analysed until a file is opened
        uri = (repo.root / "net" / "retry.py").as_uri()
        _open(client, uri)

        async def purpose() -> str | None:
            hover = await client.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=0, character=5),
                )
            )
            value = hover.contents.value if hover else ""  # type: ignore[union-attr]
            return value if "**Purpose**" in value else None

        value = await eventually(purpose)
        assert "**Purpose** Does the work of net.retry.retry." in value
        assert len(srv.chat_requests()) == 1
        body = srv.chat_requests()[0].body
        assert body["response_format"]["type"] == "json_schema"

        found = await client.workspace_symbol_async(
            types.WorkspaceSymbolParams(query="concept:greeting")
        )
        assert found and {s.name for s in found} >= {"retry"}

        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        _open(client, uri, 2)  # unchanged: nothing to ask
        await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=5),
            )
        )
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mira.analyze", arguments=[{"yes": True}])
        )
        assert "analysed already" in result["message"]
        assert len(srv.chat_requests()) == 1
