"""The real server over stdio runs real builds: mira.runBuild -> diagnostics; a fixed error
is recorded; when it comes back, "Apply past fix" returns an edit that, applied by the test
client and rebuilt, removes it. Detected commands ask first; a missing tool is named."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any, Union

import psutil
from lsprotocol import types
from pytest_lsp import LanguageClient

from mira_ls.store import connect
from tests.lsp.conftest import (
    StartServer,
    ended,
    eventually,
    server_env,
    wait_for_progress_end,
)
from tests.support.repo import Repo

BIN = Path(sys.executable).parent
RUFF_CFG = '[tool.ruff]\n[tool.ruff.lint]\nselect = ["F"]\n'
BAD = "import os\n\n\ndef f():\n    return 1\n"
GOOD = "\n\ndef f():\n    return 1\n"


def ruff_settings(**build: Any) -> dict[str, Any]:
    cmd = [str(BIN / "ruff"), "check", "--output-format", "json", "."]
    return {
        "mira": {
            "index": {"onStart": False},
            "build": {"commands": [{"name": "ruff", "command": cmd, "parser": "ruff"}], **build},
        }
    }


async def run_build(client: LanguageClient, count: int, arg: dict | None = None) -> str:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.runBuild", arguments=[arg or {}])
    )
    assert result["started"], result
    end = await wait_for_progress_end(client, "mira-ls: build", count=count)
    return end.message or ""


async def diagnostics_for(client: LanguageClient, uri: str, want: bool) -> list:
    async def check() -> Any:
        diags = client.diagnostics.get(uri)
        if diags is None:
            return None
        return (list(diags),) if bool(diags) == want else None  # a tuple: truthy when empty

    got = await eventually(check, timeout=20)
    assert got is not None, f"diagnostics for {uri}: {client.diagnostics.get(uri)}"
    return got[0]


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    """What an editor does with a WorkspaceEdit's text edits (ASCII text: columns = chars)."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln))

    def off(p: types.Position) -> int:
        return offsets[min(p.line, len(lines))] + p.character

    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        text = text[: off(e.range.start)] + e.new_text + text[off(e.range.end) :]
    return text


def read_code_actions_correctly(client: LanguageClient) -> None:
    """lsprotocol's client-side parser takes any code action that has a "command" for a bare
    Command (its _code_action_hook); a real editor does not. Parse by the field's type."""
    conv = client.protocol._converter

    def hook(obj: Any, _: Any) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return conv.structure(obj, types.Command)
        return conv.structure(obj, types.CodeAction)

    conv.register_structure_hook(Union[types.Command, types.CodeAction], hook)  # noqa: UP007


async def code_actions(client: LanguageClient, uri: str, line: int) -> list[types.CodeAction]:
    read_code_actions_correctly(client)
    got = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(line, 0), types.Position(line, 0)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    return [a for a in got or [] if isinstance(a, types.CodeAction)]


async def test_build_diagnostics_resolution_and_apply_past_fix(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"pyproject.toml": RUFF_CFG, "a.py": BAD})
    a = repo.root / "a.py"
    uri = a.as_uri()
    client = await start_server(repo.root, init_options=ruff_settings())

    # 1. the build publishes the error
    summary = await run_build(client, 1)
    assert summary == "ruff: 1 errors, 0 warnings"
    (d,) = await diagnostics_for(client, uri, True)
    assert (d.code, d.source, d.severity) == ("F401", "ruff", types.DiagnosticSeverity.Error)
    assert d.message == "`os` imported but unused"
    assert (d.range.start.line, d.range.start.character) == (0, 7)
    assert (d.range.end.line, d.range.end.character) == (0, 9)
    assert d.related_information[0].message.startswith("seen 1 time since ")
    # no past resolution exists yet: only the LLM can be asked
    (ask,) = await code_actions(client, uri, 0)
    assert ask.title == "Ask Mira to fix" and ask.command is not None
    assert ask.command.command == "mira.fixError"
    assert ask.command.arguments[0]["diagnostic"]["message"] == "`os` imported but unused"

    # 2. fixed: the next build clears it and records the resolution
    a.write_text(GOOD)
    assert "1 fixed" in await run_build(client, 2)
    assert await diagnostics_for(client, uri, False) == []

    # 3. the error is back, two lines lower
    a.write_text("# one\n# two\n" + BAD)
    await run_build(client, 3)
    (d,) = await diagnostics_for(client, uri, True)
    assert d.range.start.line == 2
    assert d.related_information[0].message.startswith("seen 2 times since ")

    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(2, 8)
        )
    )
    assert hover is not None
    md = hover.contents.value
    assert "seen 2 times" in md and "Best past fix" in md and "-import os" in md

    actions = await code_actions(client, uri, 2)
    titles = [x.title for x in actions]
    assert titles[0].startswith("Apply past fix (from ") and titles[1] == "Show past resolutions"
    fix = actions[0]
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    assert fix.diagnostics and fix.diagnostics[0].code == "F401"
    edits = fix.edit.changes[uri]
    fixed = apply_text_edits(a.read_text(), edits)
    assert fixed == "# one\n# two\n" + GOOD
    a.write_text(fixed)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert "1 fixed" in await run_build(client, 4, {"uri": uri})
    assert await diagnostics_for(client, uri, False) == []

    # 4. "Show past resolutions" opens a markdown file in the state dir, not the workspace
    show = actions[1].command
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=show.command, arguments=show.arguments)
    )
    path = Path(result["path"])
    assert path.is_relative_to(tmp_path / "state") and path.suffix == ".md"
    assert client.shown_documents[-1].uri == path.as_uri()
    text = path.read_text()
    assert text.startswith("# Past resolutions: ruff F401")
    assert "same error" in text and "-import os" in text
    assert not any(p.suffix == ".md" for p in repo.root.rglob("*"))


async def test_a_fix_that_no_longer_applies_offers_no_edit(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"pyproject.toml": RUFF_CFG, "a.py": BAD})
    a = repo.root / "a.py"
    client = await start_server(repo.root, init_options=ruff_settings())
    await run_build(client, 1)
    a.write_text(GOOD)
    await run_build(client, 2)
    # the same error again, but the code around it is different now
    a.write_text("import os\nimport json\n\nprint(json)\n")
    await run_build(client, 3)
    await diagnostics_for(client, a.as_uri(), True)
    actions = await code_actions(client, a.as_uri(), 0)
    assert [x.title for x in actions] == ["Show past resolutions", "Ask Mira to fix"]
    assert not [m for m in client.messages if m.type == types.MessageType.Error]


async def test_detected_commands_are_confirmed_once(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"pyproject.toml": RUFF_CFG, "a.py": BAD})
    env = server_env(tmp_path, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    client = await start_server(
        repo.root, env=env, init_options={"mira": {"index": {"onStart": False}}}
    )
    asked: list[types.ShowMessageRequestParams] = []
    answers = ["Cancel", "Run"]

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def on_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem:
        asked.append(params)
        return types.MessageActionItem(title=answers.pop(0))

    declined = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.runBuild", arguments=[])
    )  # Helix: no args
    assert not declined["started"]
    assert "ruff: ruff check --output-format json ." in asked[0].message
    assert [x.title for x in asked[0].actions] == ["Run", "Cancel"]
    assert await eventually(
        lambda: _async([m for m in client.messages if "was not run" in m.message])
    )

    await run_build(client, 1)
    assert len(asked) == 2
    await diagnostics_for(client, (repo.root / "a.py").as_uri(), True)
    await run_build(client, 2)  # remembered: no third question
    assert len(asked) == 2
    conn = connect(tmp_path / "db" / "mira.db")
    try:
        assert conn.execute("SELECT build_confirmed FROM projects").fetchall() == [(1,)]
    finally:
        conn.close()


async def _async(value: Any) -> Any:
    return value


async def test_missing_tool_and_build_on_save(start_server: StartServer, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"pyproject.toml": RUFF_CFG, "a.py": BAD})
    settings = ruff_settings(onSave=True)
    settings["mira"]["build"]["commands"].append(
        {"name": "typecheck", "command": ["mira-no-such-checker", "."], "parser": "mypy"}
    )
    client = await start_server(repo.root, init_options=settings)
    uri = (repo.root / "a.py").as_uri()
    assert client.diagnostics.get(uri) is None  # nothing runs on open
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    end = await wait_for_progress_end(client, "mira-ls: build")
    assert end.message == "ruff: 1 errors, 0 warnings; typecheck: error"
    await diagnostics_for(client, uri, True)

    async def named() -> Any:
        return [m for m in client.messages if "'mira-no-such-checker'" in m.message]

    (msg,) = await eventually(named)
    assert msg.type == types.MessageType.Error
    assert "not installed or not on PATH" in msg.message


async def test_cancelling_the_progress_stops_the_build(
    start_server: StartServer, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    pid_file = tmp_path / "pid"
    hang = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
    settings = {
        "mira": {
            "index": {"onStart": False},
            "build": {
                "commands": [
                    {"name": "slow", "command": [sys.executable, "-c", hang, str(pid_file)]}
                ]
            },
        }
    }
    client = await start_server(ws, init_options=settings)
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.runBuild", arguments=[{}])
    )

    async def started() -> Any:
        return pid_file.exists() and pid_file.read_text()

    pid = int(await eventually(started))
    token = next(
        t
        for t, reports in client.progress_reports.items()
        if any(isinstance(r, types.WorkDoneProgressBegin) and "build" in r.title for r in reports)
    )
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    end = await wait_for_progress_end(client, "mira-ls: build", timeout=15)
    assert end.message == "slow: cancelled"

    def alive() -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    assert not alive()
    conn = connect(tmp_path / "db" / "mira.db")
    try:
        assert conn.execute("SELECT name, status FROM build_runs").fetchall() == [
            ("slow", "cancelled")
        ]
    finally:
        conn.close()


async def test_commands_asked_again_answer_again_and_name_what_they_need(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Helix shows only messages: a command run twice within a minute must answer twice,
    and a command without its arguments must say what it needs."""
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"notes.txt": "nothing to build\n"})
    client = await start_server(repo.root, init_options={"mira": {"index": {"onStart": False}}})

    async def messages_with(text: str, n: int) -> Any:
        found = [m for m in client.messages if text in m.message]
        return found if len(found) >= n else None

    for n in (1, 2):
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mira.runBuild", arguments=[{}])
        )
        assert result["started"] is False
        assert await eventually(
            lambda n=n: messages_with("No build commands for ws: set mira.build.commands", n)
        )
    for command, text in (
        ("mira.applyFix", "Apply fix needs the id of a proposed fix"),
        ("mira.callers", "Callers needs a symbol"),
        ("mira.showResolutions", "Show past resolutions needs the error"),
    ):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=[])
        )
        (msg,) = await eventually(lambda text=text: messages_with(text, 1))
        assert msg.type == types.MessageType.Warning


async def test_a_restarted_server_shows_the_last_build_errors_of_unedited_files(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    two = "import os\nimport sys\n\n\ndef f():\n    return 1\n"
    repo.commit("initial", {"pyproject.toml": RUFF_CFG, "a.py": BAD, "b.py": two})
    a, b = repo.root / "a.py", repo.root / "b.py"
    first = await start_server(repo.root, init_options=ruff_settings())
    await run_build(first, 1)
    (before,) = await diagnostics_for(first, a.as_uri(), True)
    assert len(await diagnostics_for(first, b.as_uri(), True)) == 2
    await first.shutdown_session()
    await first.stop()

    # b.py is edited after the build (not rebuilt): later than the run started, however
    # long the loaded machine took to start it after the commit
    later = max(os.stat(b).st_mtime, time.time()) + 5
    b.write_text("\n" + two)
    os.utime(b, (later, later))
    second = await start_server(repo.root, init_options=ruff_settings())
    (after,) = await diagnostics_for(second, a.as_uri(), True)  # no build ran: restored
    assert (after.code, after.message, after.range) == (before.code, before.message, before.range)
    assert after.data["errorHash"] == before.data["errorHash"]
    assert ended(second, "mira-ls: build") == []
    await asyncio.sleep(1)
    assert not second.diagnostics.get(b.as_uri())  # its lines may have moved: not shown
