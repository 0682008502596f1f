"""``mira.search`` through the real server over stdio, with no LLM endpoint configured."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.lsp.conftest import StartServer, server_env, wait_for_progress_end
from tests.support.openai_server import OpenAIServer
from tests.support.repo import Repo

HTTP = '''\
"""Headers."""


def parseHTTPHeader(raw):
    return raw.partition(":")


def parse_http_header(raw):
    return parseHTTPHeader(raw)
'''


async def run_search(client, *arguments: object) -> dict:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.search", arguments=list(arguments))
    )
    assert isinstance(result, dict), result
    return result


async def test_search_returns_ranked_locations(start_server: StartServer, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("Add the header parser", {"net/http.py": HTTP})
    client = await start_server(repo.root)
    await wait_for_progress_end(client, "indexing")

    # What a client with a picker sends (VS Code's quick pick, Neovim's quickfix list).
    result = await run_search(client, {"query": "parseHTTPHeader", "open": False})
    first = result["results"][0]
    assert first["symbol"] == "net.http.parseHTTPHeader" and first["kind"] == "function"
    assert first["via"] == "keyword" and first["path"] == "net/http.py"
    assert first["line"] == 4 and first["col"] == 5 and first["collection"] == "code"
    scores = [r["score"] for r in result["results"]]
    assert all(isinstance(x, float) for x in scores) and scores == sorted(scores, reverse=True)
    assert "path" not in result and client.shown_documents == []
    assert first["uri"] == (repo.root.resolve() / "net" / "http.py").as_uri()
    assert first["range"]["start"] == {"line": 3, "character": 4}
    assert first["range"]["end"] == {"line": 3, "character": 4 + len("parseHTTPHeader")}
    assert {r["symbol"] for r in result["results"]} >= {"net.http.parse_http_header"}

    words = await run_search(client, {"query": "parse http header", "limit": 1, "open": False})
    assert len(words["results"]) == 1
    assert client.shown_documents == []

    # For clients without a picker: a markdown list of links, shown with showDocument.
    opened = await run_search(client, {"query": "parse http header", "open": True})
    path = Path(opened["path"])
    assert path.is_relative_to(tmp_path / "state") and not path.is_relative_to(repo.root)
    assert client.shown_documents[-1].uri == path.as_uri()
    text = path.read_text(encoding="utf-8")
    assert "`net.http.parseHTTPHeader` (function)" in text and "#L4)" in text


NAIVE = '''"""Totals."""


def naïve_total(items):
    return sum(items)
'''


def helix_capabilities() -> types.ClientCapabilities:
    """What Helix 25.07 offers that matters here: showDocument, progress, UTF-8 first."""
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(
            position_encodings=[
                types.PositionEncodingKind.Utf8,
                types.PositionEncodingKind.Utf32,
                types.PositionEncodingKind.Utf16,
            ]
        ),
        window=types.WindowClientCapabilities(
            work_done_progress=True,
            show_document=types.ShowDocumentClientCapabilities(support=True),
        ),
        workspace=types.WorkspaceClientCapabilities(
            execute_command=types.ExecuteCommandClientCapabilities(dynamic_registration=False),
            workspace_folders=True,
        ),
    )


async def test_a_client_without_a_picker_gets_a_markdown_file_of_links(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Helix shows nothing of a command's answer: the results open as a markdown list of
    links (file URI with #L<line>), ranges in the negotiated encoding (UTF-8 for Helix)."""
    repo = Repo(tmp_path / "ws")
    repo.commit("Add totals", {"net/http.py": HTTP, "calc/totals.py": NAIVE})
    client = await start_server(
        repo.root,
        capabilities=helix_capabilities(),
        client_info=types.ClientInfo(name="helix", version="25.7.1"),
    )
    assert client.init_result.capabilities.position_encoding == "utf-8"  # type: ignore[attr-defined]
    await wait_for_progress_end(client, "indexing")

    # `:lsp-workspace-command mira.search {"query":"naïve_total"}`
    result = await run_search(client, {"query": "naïve_total"})
    first = result["results"][0]
    assert first["symbol"] == "calc.totals.naïve_total" and first["via"] == "keyword"
    assert first["range"]["start"] == {"line": 3, "character": 4}
    assert first["range"]["end"] == {"line": 3, "character": 4 + len("naïve_total".encode())}
    path = Path(result["path"])
    assert result["opened"] is True and client.shown_documents[-1].uri == path.as_uri()
    assert path.suffix == ".md" and path.is_relative_to(tmp_path / "state" / "mira-ls")
    text = path.read_text(encoding="utf-8")
    uri = (repo.root.resolve() / "calc" / "totals.py").as_uri()
    assert f"1. `calc.totals.naïve_total` (function): [calc/totals.py:4]({uri}#L4) — keyword" in (
        text.splitlines()
    ), text

    # `:lsp-workspace-command mira.search "parse http header"`: a bare JSON string.
    words = await run_search(client, "parse http header")
    assert words["query"] == "parse http header" and len(words["results"]) >= 2
    listed = Path(words["path"]).read_text(encoding="utf-8")
    http = (repo.root.resolve() / "net" / "http.py").as_uri()
    assert f"]({http}#L4) — keyword" in listed and f"]({http}#L8) — keyword" in listed
    assert client.shown_documents[-1].uri == Path(words["path"]).as_uri()

    # Nothing found: a sentence, not an empty file.
    shown = len(client.shown_documents)
    none = await run_search(client, {"query": "zyxwvut"})
    assert none["results"] == [] and "path" not in none
    assert len(client.shown_documents) == shown
    assert any("Nothing matches 'zyxwvut'" in m.message for m in client.messages)


async def test_without_show_document_the_first_results_are_a_message(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("Add the header parser", {"net/http.py": HTTP})
    caps = helix_capabilities()
    assert caps.window is not None
    caps.window.show_document = None
    client = await start_server(repo.root, capabilities=caps)
    await wait_for_progress_end(client, "indexing")
    result = await run_search(client, {"query": "parse http header"})
    assert result["opened"] is False and client.shown_documents == []
    said = [m.message for m in client.messages if m.message.startswith("mira-ls found")]
    assert said and result["path"] in said[-1]
    assert "net/http.py:4 net.http.parseHTTPHeader (keyword)" in said[-1]


async def test_search_without_a_query_says_what_it_needs(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("one", {"a.py": "def f():\n    pass\n"})
    client = await start_server(repo.root)
    await wait_for_progress_end(client, "indexing")
    result = await run_search(client)  # Helix's picker sends no arguments
    assert result["results"] == []
    assert "needs a query" in result["notes"][0]
    assert any("needs a query" in m.message for m in client.messages)
    bad = await run_search(client, {"query": "f", "kind": "everything"})
    assert "kind must be one of" in bad["notes"][0]


async def test_embed_asks_first_then_runs_with_progress_and_search_uses_vectors(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("Add the header parser", {"net/http.py": HTTP})
    with OpenAIServer() as srv:
        env = server_env(
            tmp_path,
            MIRA_LLM_BASE_URL=srv.base_url,
            MIRA_LLM_EMBEDDING_DIMENSIONS="64",
            MIRA_LLM_MAX_RETRIES="0",
            MIRA_VECTORS_CONFIRM_ABOVE_USD="0",
        )
        client = await start_server(repo.root, env=env)
        asked: list[types.ShowMessageRequestParams] = []
        answers = ["Not now", "Embed"]

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def on_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem:
            asked.append(params)
            return types.MessageActionItem(title=answers.pop(0))

        await wait_for_progress_end(client, "indexing")
        await wait_for_progress_end(client, "git history")  # its one commit is embedded too
        before = await run_search(client, {"query": "parse http header"})
        assert any("mira-ls embed" in n for n in before["notes"])  # said why vectors are off

        declined = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mira.embed", arguments=[])
        )
        assert declined["embedded"] == 0 and "Not embedded" in declined["message"]
        assert "about $" in asked[0].message and srv.embedding_requests() == []

        done = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mira.embed", arguments=[])
        )
        # the module, the function, and the commit (the git collection)
        assert done["embedded"] == 4 and done["points"] == 4 and done["stopped"] is None
        assert done["git"] == {"embedded": 1, "points": 1}
        await wait_for_progress_end(client, "embedding", count=1)

        result = await run_search(client, {"query": "parse http header"})
        assert result["notes"] == []
        assert {r["via"] for r in result["results"]} >= {"both"}
        commits = await run_search(client, {"query": "header parser", "kind": "git"})
        assert commits["notes"] == [] and commits["results"][0]["via"] == "both"
        again = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mira.embed", arguments=[{"yes": True}])
        )
        assert "embedded already" in again["message"]
        assert len(asked) == 2
