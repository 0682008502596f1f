"""The real server over stdio, asking the loopback OpenAI server: chat, budget, errors, keys."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from mira_ls.store import connect
from tests.lsp.conftest import StartServer, eventually, server_env, wait_for_progress_end
from tests.support.openai_server import Answer, Error, OpenAIServer
from tests.support.repo import Repo

KEY = "sk-test-e2e-DO-NOT-LEAK-0123456789abcdefghij"

APP = '''"""App."""


def helper(x):
    """Double a value."""
    return x * 2


def main():
    return helper(21)
'''


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


def make_repo(root: Path) -> Repo:
    repo = Repo(root)
    repo.commit("initial", {"app.py": APP, "CLAUDE.md": "Prefer small functions.\n"})
    return repo


def env_for(tmp_path: Path, srv: OpenAIServer, **extra: str) -> dict[str, str]:
    return server_env(
        tmp_path,
        MIRA_OPENAI_API_KEY=KEY,
        MIRA_LLM_BASE_URL=srv.base_url,
        MIRA_LLM_MAX_RETRIES="1",
        MIRA_LLM_TIMEOUT_SECONDS="5",
        **extra,
    )


def collect_chunks(client: LanguageClient) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = []

    @client.feature("mira/chatChunk")
    def on_chunk(params: Any) -> None:
        chunks.append(
            params
            if isinstance(params, dict)
            else {k: getattr(params, k) for k in ("id", "seq", "text", "done")}
        )

    return chunks


async def ready(client: LanguageClient) -> None:
    await wait_for_progress_end(client, "indexing", timeout=60)


def pos_of(text: str, needle: str) -> dict[str, int]:
    idx = text.index(needle)
    line = text[:idx].count("\n")
    return {"line": line, "character": idx - (text.rfind("\n", 0, idx) + 1)}


@pytest.mark.timeout(120)
async def test_chat_streams_chunks_and_progress_then_shows_the_answer_file(
    start_server: StartServer, tmp_path: Path, llm: OpenAIServer
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    llm.script(
        Answer(
            text="main returns helper(21), which doubles it to 42.",
            prompt_tokens=900,
            completion_tokens=40,
        )
    )
    client = await start_server(root, env=env_for(tmp_path, llm))
    chunks = collect_chunks(client)
    await ready(client)
    uri = (root / "app.py").as_uri()
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="mira.chat",
            arguments=[
                {"question": "What does main return?", "uri": uri, "position": pos_of(APP, "main")}
            ],
        )
    )
    assert "error" not in result, result
    text = "main returns helper(21), which doubles it to 42."
    # chunks in order, joined they are the answer, then one done marker
    await eventually(lambda: asyncio.sleep(0, result=any(c["done"] for c in chunks)))
    ours = [c for c in chunks if c["id"] == result["id"]]
    assert [c["seq"] for c in ours] == list(range(1, len(ours) + 1))
    assert "".join(c["text"] for c in ours if not c["done"]) == text
    assert ours[-1]["done"] is True and len(ours) > 3
    # progress: begin, at least one report with the streamed text, end with the cost
    end = await wait_for_progress_end(client, "Mira:", timeout=10)
    assert "cost $" in (end.message or "")
    reports = [
        r
        for rs in client.progress_reports.values()
        for r in rs
        if isinstance(r, types.WorkDoneProgressReport)
    ]
    assert any("42" in (r.message or "") for r in reports)
    # the answer file is shown and holds the answer and its cost; it is not in the workspace
    assert client.shown_documents and client.shown_documents[-1].uri == result["uri"]
    path = Path(result["file"])
    assert root not in path.parents and (tmp_path / "state") in path.parents
    body = path.read_text()
    assert text in body and "cost $" in body
    # what went to the model: the symbol's source, its callee, the guidelines, our effort
    sent = llm.chat_requests()[-1]
    assert sent.body["reasoning_effort"] == "medium" and sent.body["model"] == "gpt-5.1"
    user = sent.body["messages"][-1]["content"]
    assert "def main():" in user and "helper" in user and "Prefer small functions" in user
    assert sent.body["stream_options"] == {"include_usage": True}
    assert result["cost_usd"] == pytest.approx((900 * 1.25 + 40 * 10) / 1e6, abs=1e-6)


@pytest.mark.timeout(120)
async def test_budget_command_reports_spend_limits_and_cache(
    start_server: StartServer, tmp_path: Path, llm: OpenAIServer
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    llm.script(Answer(text="Forty-two.", prompt_tokens=1000, completion_tokens=100))
    client = await start_server(root, env=env_for(tmp_path, llm, MIRA_BUDGET_DAILY_USD="2"))
    await ready(client)
    ask = types.ExecuteCommandParams(
        command="mira.chat",
        arguments=[{"question": "What is six times seven?", "newSession": True}],
    )
    first = await client.workspace_execute_command_async(ask)
    second = await client.workspace_execute_command_async(ask)
    assert first["text"] == second["text"] == "Forty-two."
    assert not first["cached"] and second["cached"] and second["cost_usd"] == 0
    assert len(llm.chat_requests()) == 1
    report = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.budget")
    )
    spent = (1000 * 1.25 + 100 * 10) / 1e6
    assert report["day"]["spent_usd"] == pytest.approx(spent)
    assert report["day"]["limit_usd"] == 2 and report["month"]["limit_usd"] == 150
    assert (
        report["day"]["reset_at"] > 0 and report["month"]["reset_at"] >= report["day"]["reset_at"]
    )
    assert report["cache"] == {
        "hits": 1,
        "misses": 1,
        "hit_rate": 0.5,
        "saved_usd": pytest.approx(spent),
    }
    assert any("Today $" in m.message for m in client.messages)
    # A status bar poll asks quietly: the same data, no message.
    shown = len(client.messages)
    quiet = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.budget", arguments=[{"quiet": True}])
    )
    assert quiet["day"] == report["day"] and len(client.messages) == shown


@pytest.mark.timeout(120)
async def test_401_and_429_reach_the_client_as_sentences_and_the_key_never_leaks(
    start_server: StartServer,
    tmp_path: Path,
    llm: OpenAIServer,
    capfd: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    llm.script(Error(401, f"Incorrect API key provided: {KEY}.", code="invalid_api_key"))
    env = env_for(tmp_path, llm)
    client = await start_server(root, env=env)
    await ready(client)
    r1 = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="mira.chat", arguments=[{"question": "hello?", "newSession": True}]
        )
    )
    assert r1["kind"] == "auth"
    assert "MIRA_OPENAI_API_KEY" in r1["error"] and "401" in r1["error"]
    llm.script(
        Error(429, "Rate limit reached", headers={"retry-after-ms": "10"}),
        Error(429, "Rate limit reached", headers={"retry-after-ms": "10"}),
    )
    r2 = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="mira.explain",
            arguments=[{"uri": (root / "app.py").as_uri(), "position": pos_of(APP, "helper")}],
        )
    )
    assert r2["kind"] == "rate_limit" and "429" in r2["error"], r2
    shown = [m.message for m in client.messages]
    assert any("rejected the API key" in m for m in shown)
    assert any("rate-limiting" in m for m in shown)
    # The key went to the endpoint (as a bearer token) and nowhere else.
    assert llm.chat_requests()[0].headers["authorization"] == f"Bearer {KEY}"
    everything = (
        json.dumps([m.message for m in client.messages])
        + json.dumps([r1, r2], default=str)
        + json.dumps([str(x) for x in client.log_messages])
    )
    assert KEY not in everything
    db = tmp_path / "db" / "mira.db"
    conn = connect(db)
    try:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                assert KEY not in repr(row), table
    finally:
        conn.close()
    await client.shutdown_session()
    await asyncio.sleep(0.2)
    server_log = capfd.readouterr().err  # the server's stderr log, at debug level
    assert "rate-limiting" in server_log or "429" in server_log
    assert "mira_ls" in server_log and KEY not in server_log
    answers = list((tmp_path / "state").rglob("*.md"))
    assert all(KEY not in p.read_text() for p in answers)


FIX_ANSWER = """`helper` doubles where it should triple.

```diff
--- a/app.py
+++ b/app.py
@@ -4,3 +4,3 @@
 def helper(x):
     \"\"\"Double a value.\"\"\"
-    return x * 2
+    return x * 3
```
"""


@pytest.mark.timeout(120)
async def test_fix_error_offers_an_edit_and_commands_cope_without_arguments(
    start_server: StartServer, tmp_path: Path, llm: OpenAIServer
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    client = await start_server(root, env=env_for(tmp_path, llm))
    edits: list[types.ApplyWorkspaceEditParams] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    await ready(client)
    # Helix's picker sends no arguments: a sentence, not a crash
    bare = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.chat")
    )
    assert bare["kind"] == "input" and "question" in bare["error"]
    assert any("mira.chat needs a question" in m.message for m in client.messages)
    bare_fix = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.fixError")
    )
    assert "diagnostic" in bare_fix["error"]
    # after a hover, the bare command explains the hovered symbol
    uri = (root / "app.py").as_uri()
    await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(**pos_of(APP, "helper")),
        )
    )
    llm.script(Answer(text="helper doubles x."))
    explained = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.chat")
    )
    assert explained["operation"] == "explain" and explained["text"] == "helper doubles x."
    assert "Explain `app.helper`" in llm.chat_requests()[-1].body["messages"][-1]["content"]
    # fixError with a diagnostic: the answer's diff applies, so an edit is offered
    llm.script(Answer(text=FIX_ANSWER))
    line = APP.splitlines().index("    return x * 2")
    diag = {
        "range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 16}},
        "message": "expected 63, got 42",
        "source": "pytest",
        "code": "assert",
    }
    fixed = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="mira.fixError", arguments=[{"uri": uri, "diagnostic": diag}]
        )
    )
    assert fixed["edit_files"] == ["app.py"], fixed
    sent = llm.chat_requests()[-1].body["messages"][-1]["content"]
    assert "expected 63, got 42" in sent and "def helper(x):" in sent
    applied = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="mira.applyFix", arguments=[{"id": fixed["id"], "uri": uri}]
        )
    )
    assert applied == {"applied": True}
    change = edits[-1].edit.changes[uri][0]
    assert change.new_text == APP.replace("x * 2", "x * 3")
    assert change.range.start == types.Position(0, 0)


@pytest.mark.timeout(120)
async def test_cancelling_the_progress_stops_the_stream_and_settles_the_cost(
    start_server: StartServer, tmp_path: Path, llm: OpenAIServer
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    llm.script(Answer(text=" ".join(f"w{i}" for i in range(40)), chunk_delay_s=0.25))
    client = await start_server(root, env=env_for(tmp_path, llm))
    chunks = collect_chunks(client)
    await ready(client)
    task = asyncio.ensure_future(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="mira.chat", arguments=[{"question": "Count slowly.", "newSession": True}]
            )
        )
    )
    await eventually(lambda: asyncio.sleep(0, result=len(chunks) >= 2))
    tokens = [
        t
        for t, rs in client.progress_reports.items()
        if any(isinstance(r, types.WorkDoneProgressBegin) and "Mira:" in r.title for r in rs)
    ]
    assert tokens
    client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=tokens[0])
    )
    result = await asyncio.wait_for(task, 10)
    assert result["cancelled"] and not result["complete"]
    assert result["chunks"] < 40 and "cancelled" in result["cost"]
    conn = connect(tmp_path / "db" / "mira.db")
    try:
        row = conn.execute(
            "SELECT status, cost_micro, reserved_micro FROM budget_tracking"
        ).fetchone()
        cached = conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0]
    finally:
        conn.close()
    assert row[0] == "cancelled" and row[1] == row[2] > 0 and cached == 0


@pytest.mark.timeout(120)
async def test_malformed_command_arguments_get_sentences_not_internal_errors(
    start_server: StartServer, tmp_path: Path, llm: OpenAIServer
) -> None:
    root = tmp_path / "proj"
    make_repo(root)
    client = await start_server(root, env=env_for(tmp_path, llm))
    await ready(client)
    uri = (root / "app.py").as_uri()
    diag = {"range": {"start": {"line": "x", "character": 0}, "end": {"line": 1, "character": 0}}}
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("mira.explain", {"uri": uri, "position": {"line": None, "character": 0}}, "position.line"),
        ("mira.chat", {"uri": uri, "position": {"line": "3", "character": 0}}, "position.line"),
        ("mira.chat", {"uri": uri, "position": {"line": 1, "character": -1}}, "character"),
        ("mira.chat", {"uri": uri, "position": [1, 2]}, "position must be"),
        ("mira.chat", {"uri": uri, "range": {"start": {"line": 0, "character": 0}}}, "range"),
        ("mira.chat", {"question": 42}, "question must be text"),
        ("mira.chat", {"question": "q", "uri": 7}, "uri must be a file URI"),
        ("mira.chat", {"question": "q", "newSession": "yes"}, "newSession"),
        ("mira.chat", {"question": "q", "effort": "extreme"}, "effort must be one of none, low"),
        ("mira.chat", {"question": "q", "effort": "minimal"}, "effort must be one of"),
        ("mira.chat", {"question": "q", "model": 5}, "model must be a model name"),
        ("mira.fixError", {"uri": uri, "diagnostic": {**diag, "message": "boom"}}, "range.start"),
        ("mira.fixError", {"uri": uri, "diagnostic": "boom"}, "diagnostic must be"),
        ("mira.reviewChanges", {"effort": 3}, "effort must be"),
    ]
    for command, arg, said in cases:
        shown = len(client.messages)
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=[arg])
        )
        assert result["kind"] == "input" and said in result["error"], (command, arg, result)
        assert result["error"].endswith(".")
        new = [m for m in client.messages[shown:] if m.message == result["error"]]
        assert new and new[0].type == types.MessageType.Warning, (command, arg)
    assert llm.chat_requests() == []


@pytest.mark.timeout(120)
def _last_answer_request(llm: OpenAIServer) -> dict[str, Any]:
    """The last request that asked for an answer to show: the background work chats start
    (message analysis, rolling summaries) asks for schema-checked JSON, and may come later."""
    return next(r.body for r in reversed(llm.chat_requests()) if "response_format" not in r.body)


async def test_commands_take_model_and_effort_per_request(
    start_server: StartServer, tmp_path: Path, llm: OpenAIServer
) -> None:
    root = tmp_path / "proj"
    repo = make_repo(root)
    client = await start_server(root, env=env_for(tmp_path, llm))
    await ready(client)
    uri = (root / "app.py").as_uri()
    line = APP.splitlines().index("    return x * 2")
    diag = {
        "range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 16}},
        "message": "expected 63, got 42",
    }
    repo.write("app.py", APP.replace("x * 2", "x * 4"))
    repo.write("notes.md", "NEW_UNTRACKED_NOTE\n")
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("mira.chat", {"question": "Why?", "newSession": True}, "gpt-5-mini", "low"),
        ("mira.explain", {"uri": uri, "position": pos_of(APP, "helper")}, "gpt-5.1", "none"),
        ("mira.fixError", {"uri": uri, "diagnostic": diag}, "gpt-5.1", "high"),
        ("mira.reviewChanges", {}, "gpt-5", "none"),  # GPT-5 calls its lowest effort minimal
    ]
    for command, arg, model, effort in cases:
        llm.script(Answer(text=f"answer to {command}"))
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command=command, arguments=[{**arg, "model": model, "effort": effort}]
            )
        )
        assert "error" not in result, (command, result)
        sent = _last_answer_request(llm)
        expected = "minimal" if model == "gpt-5" and effort == "none" else effort
        assert (sent["model"], sent["reasoning_effort"]) == (model, expected), command
        assert result["model"] == model
    # the review went with the tracked change and the new untracked file
    review = _last_answer_request(llm)["messages"][-1]["content"]
    assert "+    return x * 4" in review and "+NEW_UNTRACKED_NOTE" in review
    # without the fields, the settings hold
    llm.script(Answer(text="default"))
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.chat", arguments=[{"question": "And now?"}])
    )
    sent = _last_answer_request(llm)
    assert (sent["model"], sent["reasoning_effort"]) == ("gpt-5.1", "medium")
