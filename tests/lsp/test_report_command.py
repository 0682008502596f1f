"""``mira.openReport`` through the real server over stdio: the report is written under the
state dir (never in the workspace) and shown with window/showDocument, or named in a
message for clients without it."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.lsp.conftest import StartServer, wait_for_progress_end
from tests.support.repo import Repo
from tests.test_report_html import SECTION_TITLES, parse_report


def make_repo(root: Path) -> Repo:
    repo = Repo(root)
    repo.commit("one", {"pkg/core.py": "def f(x):\n    if x:\n        return 1\n    return 0\n"})
    return repo


async def run_report(client, *arguments: object) -> dict:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.openReport", arguments=list(arguments))
    )
    assert isinstance(result, dict), result
    return result


async def test_open_report_without_arguments_shows_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "ws")
    client = await start_server(repo.root)
    await wait_for_progress_end(client, "indexing")
    # Helix's command picker sends no arguments at all
    result = await run_report(client)
    assert result["opened"] is True, result
    path = Path(result["path"])
    assert path.is_relative_to(tmp_path / "state" / "mira-ls" / "answers" / "reports")
    assert not path.is_relative_to(repo.root)
    shown = client.shown_documents[-1]
    assert shown.uri == result["uri"] == path.as_uri()
    assert shown.external is True
    dom = parse_report(path.read_text(encoding="utf-8"))
    assert dom.headings == SECTION_TITLES
    assert dom.figs["indexed_files"] == "1"
    assert not list(repo.root.rglob("*.html"))


async def test_open_report_for_a_uri_without_show_document(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "ws")
    client = await start_server(repo.root, editor="emacs")  # no window/showDocument support
    await wait_for_progress_end(client, "indexing")
    uri = (repo.root / "pkg" / "core.py").as_uri()
    result = await run_report(client, {"uri": uri})
    assert result["opened"] is False
    path = Path(result["path"])
    assert path.is_file()
    assert client.shown_documents == []
    assert any(str(path) in m.message for m in client.messages), client.messages
    assert f"{repo.root.resolve()}" in path.read_text(encoding="utf-8")
