"""Quality diagnostics over LSP: with mira.quality.diagnostics on, a complex function in an
open file gets a Hint (Information when severe) on its name, in the client's position
encoding, beside the build's diagnostics of the same file; code actions "Explain" and
"Ask Mira to refactor" carry the right commands; a save that splits it clears it; off by
default, switched on and off again by the workspace configuration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import StartServer, eventually, server_env, wait_for_progress_end
from tests.lsp.test_build_e2e import code_actions, run_build
from tests.support.openai_server import Answer, OpenAIServer
from tests.support.repo import Repo

BIN = Path(sys.executable).parent
SOURCE = "mira-ls quality"
BRANCHES = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(11))
# line 0 is not ASCII (and counts differently in UTF-16); router's name is on line 4
PY = f"# Prüfung: naïve café ☕ 🎉\nimport os\n\n\ndef router(x):\n{BRANCHES}    return -1\n"
SIMPLE = "# Prüfung: naïve café ☕ 🎉\nimport os\n\n\ndef router(x):\n    return x\n"
# the name follows an astral character on its own line: UTF-16 counts it twice
TS_HEAD = 'const s = "🎉é"; export function '
TS_IFS = " ".join(f"if (x === {i}) return {i};" for i in range(25))
TS = f"// ok\n{TS_HEAD}route(x: number): number {{ {TS_IFS} return s.length; }}\n"


def settings(**quality: Any) -> dict[str, Any]:
    cmd = [str(BIN / "ruff"), "check", "--output-format", "json", "--select", "F", "."]
    return {
        "mira": {
            "build": {"commands": [{"name": "ruff", "command": cmd, "parser": "ruff"}]},
            "quality": quality,
        }
    }


def open_doc(client: LanguageClient, path: Path, language: str) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language, version=1, text=path.read_text()
            )
        )
    )
    return uri


def of(client: LanguageClient, uri: str, source: str) -> list[types.Diagnostic]:
    return [d for d in client.diagnostics.get(uri) or [] if d.source == source]


async def until(client: LanguageClient, uri: str, source: str, count: int) -> list:
    async def check() -> Any:
        got = of(client, uri, source)
        return (got,) if len(got) == count else None

    found = await eventually(check, timeout=30)
    assert found is not None, f"{source} diagnostics of {uri}: {client.diagnostics.get(uri)}"
    return found[0]


def rng(d: types.Diagnostic) -> tuple[int, int, int, int]:
    r = d.range
    return (r.start.line, r.start.character, r.end.line, r.end.character)


async def test_diagnostics_on_the_name_beside_the_build_with_code_actions(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"a.py": PY, "b.ts": TS})
    a = repo.root / "a.py"
    client = await start_server(repo.root, init_options=settings(diagnostics=True))
    await wait_for_progress_end(client, "mira-ls: indexing")
    uri = open_doc(client, a, "python")
    ts_uri = open_doc(client, repo.root / "b.ts", "typescript")

    (d,) = await until(client, uri, SOURCE, 1)
    assert rng(d) == (4, 4, 4, 10)  # "router" on line 4, after a non-ASCII line
    assert d.severity == types.DiagnosticSeverity.Hint  # complexity 12 of 10: low
    assert d.code == "complexity"
    assert d.message == (
        "router has cyclomatic complexity 12 (threshold 10): split its branches into "
        "smaller functions or a table of cases."
    )
    (t,) = await until(client, ts_uri, SOURCE, 1)
    col = len(TS_HEAD) + 1  # code points + 1: the emoji is two UTF-16 units
    assert rng(t) == (1, col, 1, col + len("route"))
    assert t.severity == types.DiagnosticSeverity.Information  # 26 of 10: high
    assert t.message.startswith("route has cyclomatic complexity 26 (threshold 10)")

    # the build's diagnostics of the same file join the quality one, neither replaced
    await run_build(client, 1)
    (ruff,) = await until(client, uri, "ruff", 1)
    assert ruff.code == "F401"
    assert len(of(client, uri, SOURCE)) == 1

    actions = await code_actions(client, uri, 4)
    assert [x.title for x in actions] == ["Explain router", "Ask Mira to refactor"]
    explain, refactor = actions
    assert explain.command.command == "mira.explain"
    assert list(explain.command.arguments) == [
        {"uri": uri, "position": {"line": 4, "character": 4}}
    ]
    assert explain.diagnostics[0].source == SOURCE
    assert refactor.command.command == "mira.fixError"
    (arg,) = refactor.command.arguments
    assert arg["uri"] == uri and arg["diagnostic"]["source"] == SOURCE
    assert arg["diagnostic"]["message"] == d.message  # what to split, for the model
    assert arg["diagnostic"]["range"]["start"] == {"line": 4, "character": 4}
    # on the import's line: the build's actions only
    assert [x.title for x in await code_actions(client, uri, 1)] == ["Ask Mira to fix"]

    # split and saved: the save's re-index measures again and clears it; ruff's stays
    a.write_text(SIMPLE)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=SIMPLE)],
        )
    )
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    await until(client, uri, SOURCE, 0)
    assert [x.code for x in of(client, uri, "ruff")] == ["F401"]
    assert await code_actions(client, uri, 4) == []

    # closed: quality diagnostics are for open files
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=ts_uri))
    )
    await until(client, ts_uri, SOURCE, 0)


async def test_off_by_default_then_switched_by_configuration(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"a.py": PY})
    client = await start_server(repo.root, init_options=settings())
    await wait_for_progress_end(client, "mira-ls: indexing")
    uri = open_doc(client, repo.root / "a.py", "python")
    await run_build(client, 1)
    await until(client, uri, "ruff", 1)
    assert of(client, uri, SOURCE) == []
    assert [x.title for x in await code_actions(client, uri, 4)] == []

    def pushed(**quality: Any) -> None:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"mira": {"quality": quality}})
        )

    pushed(diagnostics=True, maxComplexity=11)
    (d,) = await until(client, uri, SOURCE, 1)
    assert "complexity 12 (threshold 11)" in d.message
    titles = [x.title for x in await code_actions(client, uri, 4)]
    assert titles == ["Explain router", "Ask Mira to refactor"]
    pushed(diagnostics=False)
    await until(client, uri, SOURCE, 0)
    assert [x.code for x in of(client, uri, "ruff")] == ["F401"]


async def test_env_switch_and_utf8_positions(start_server: StartServer, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"b.ts": TS})
    env = server_env(tmp_path, MIRA_QUALITY_DIAGNOSTICS="true")
    client = await start_server(repo.root, env=env, position_encodings=["utf-8"])
    await wait_for_progress_end(client, "mira-ls: indexing")
    uri = open_doc(client, repo.root / "b.ts", "typescript")
    (t,) = await until(client, uri, SOURCE, 1)
    col = len(TS_HEAD.encode("utf-8"))
    assert rng(t) == (1, col, 1, col + len("route"))


REFACTOR_ANSWER = """`router` is one long chain of cases; the first one moves into a guard.

```diff
--- a/a.py
+++ b/a.py
@@ -5,3 +5,3 @@
 def router(x):
-    if x == 0:
-        return 0
+    if not x:
+        return 0
```
"""


@pytest.mark.timeout(120)
async def test_explain_and_refactor_ask_the_llm_and_offer_the_patch(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"a.py": PY})
    with OpenAIServer() as llm:
        env = server_env(
            tmp_path,
            MIRA_OPENAI_API_KEY="sk-test-quality-0123456789",
            MIRA_LLM_BASE_URL=llm.base_url,
            MIRA_LLM_MAX_RETRIES="1",
            MIRA_QUALITY_DIAGNOSTICS="true",
        )
        client = await start_server(repo.root, env=env)
        await wait_for_progress_end(client, "mira-ls: indexing")
        uri = open_doc(client, repo.root / "a.py", "python")
        await until(client, uri, SOURCE, 1)
        explain, refactor = await code_actions(client, uri, 4)

        llm.script(Answer(text="router maps x to itself for 0..10."))
        said = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command=explain.command.command, arguments=list(explain.command.arguments)
            )
        )
        assert said["operation"] == "explain", said
        assert "Explain `a.router`" in llm.chat_requests()[-1].body["messages"][-1]["content"]

        llm.script(Answer(text=REFACTOR_ANSWER))
        fixed = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command=refactor.command.command, arguments=list(refactor.command.arguments)
            )
        )
        assert fixed["edit_files"] == ["a.py"], fixed  # fixError's patch path: applicable
        sent = llm.chat_requests()[-1].body["messages"][-1]["content"]
        assert "Refactor the function at a.py:5" in sent
        assert "split its branches into smaller functions" in sent
        assert "def router(x):" in sent  # the function itself is in the context
