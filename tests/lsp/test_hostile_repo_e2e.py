"""The real server on a repository whose own config names programs: indexing, mining and
the blame after didOpen run none of them; with the workspace trusted (what the VS Code
extension sends) git runs them, and a hook reading stdin gets end-of-file, not the LSP pipe."""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types

from tests.lsp.conftest import StartServer, eventually, server_env, wait_for_progress_end
from tests.lsp.test_git_e2e import hover_text, open_file
from tests.support.hostile import fired, hostile_repo

MAIN = types.Position(line=0, character=5)  # on `main` in `def main():`


def env(tmp_path: Path) -> dict[str, str]:
    return server_env(tmp_path, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")


async def test_serve_and_did_open_run_nothing_the_repository_config_names(
    start_server: StartServer, tmp_path: Path
) -> None:
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "ws", markers)
    client = await start_server(repo.root, env=env(tmp_path))
    await wait_for_progress_end(client, "indexing")
    end = await wait_for_progress_end(client, "git history")
    assert "commits mined" in (end.message or ""), end.message
    uri = open_file(client, repo.root / "app.py")

    async def with_blame() -> str | None:
        md = await hover_text(client, uri, MAIN)
        return md if "**Last changed**\n" in md else None

    md = await eventually(with_blame)
    assert md and "def main()" in md
    assert fired(markers) == set()


async def test_trusted_workspace_lets_git_run_them_and_a_stdin_reader_does_not_stall(
    start_server: StartServer, tmp_path: Path
) -> None:
    markers = tmp_path / "m"
    # Only the fsmonitor: trusted, a planted long-running filter that ignores git's
    # protocol would hold git until its timeout, as it would for git itself.
    repo = hostile_repo(
        tmp_path / "ws", markers, fsmonitor_reads_stdin=True, only=("core.fsmonitor",)
    )
    client = await start_server(
        repo.root,
        env=env(tmp_path),
        init_options={"mira": {"git": {"trustRepositoryConfig": True}}},
    )
    # The planted fsmonitor reads its stdin to the end: had it inherited the server's
    # stdin (the LSP pipe, open for the whole session), the listing would never finish.
    end = await wait_for_progress_end(client, "indexing")
    assert "symbols" in (end.message or ""), end.message
    assert "fsmonitor" in fired(markers)
    assert (markers / "fsmonitor.stdin").read_bytes() == b""


async def test_trust_pushed_by_did_change_configuration_takes_effect(
    start_server: StartServer, tmp_path: Path
) -> None:
    """The VS Code extension pushes the trust when the user grants it mid-session."""
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "ws", markers, only=("core.fsmonitor",))
    client = await start_server(repo.root, env=env(tmp_path))
    await wait_for_progress_end(client, "indexing")
    await wait_for_progress_end(client, "git history")
    uri = open_file(client, repo.root / "app.py")
    assert fired(markers) == set()  # listing and mining ran untrusted
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"mira": {"git": {"trustRepositoryConfig": True}}}
        )
    )
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )

    async def ran() -> bool | None:
        return True if "fsmonitor" in fired(markers) else None

    assert await eventually(ran)
