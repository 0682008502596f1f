"""The real server over stdio: mining after indexing, hover sections, the author lens, the
co-change diagnostic appearing and clearing, re-mining when HEAD moves."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import StartServer, eventually, wait_for_progress_end
from tests.support.repo import Repo, fixtures
from tests.test_git_features import A_SRC, history

git_isolation, _store, _repo = fixtures()

# history(): commits in Nov-Dec 2023, more than a year ago, so recency adds 0 and the
# scores are exact: Alice 40*5/5 + 30*18/18 = 70, Bob 40*3/5 + 30*5/18 = 32.3.
LOAD = types.Position(line=3, character=5)  # on the name of `def load(path):`


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def open_file(client: LanguageClient, path: Path) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=path.read_text()
            )
        )
    )
    return uri


async def hover_text(client: LanguageClient, uri: str, pos: types.Position) -> str:
    h = await client.text_document_hover_async(
        types.HoverParams(text_document=doc(uri), position=pos)
    )
    return h.contents.value if h is not None else ""


# In these few-file histories the partner changes in most commits: lift
# cochange.diagnosticMaxShare (a changelog guard) so the diagnostic can be seen.
DIAG_OPTIONS = {"mira": {"cochange": {"diagnosticMaxShare": 1.0}}}


async def ready(
    start_server: StartServer, root: Path, init_options: dict | None = None
) -> LanguageClient:
    client = await start_server(root, init_options=init_options)
    await wait_for_progress_end(client, "indexing")
    end = await wait_for_progress_end(client, "git history")
    assert "commits mined (scratch)" in (end.message or ""), end.message
    return client


async def test_hover_sections_and_author_lens(start_server: StartServer, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    h = history(repo)
    client = await ready(start_server, repo.root)
    uri = open_file(client, repo.root / "a.py")

    async def with_blame() -> str | None:
        md = await hover_text(client, uri, LOAD)
        return md if "**Last changed**\n" in md else None

    md = await eventually(with_blame)
    assert md, await hover_text(client, uri, LOAD)
    assert "def load(path)" in md  # the code section is still there, git sections follow
    assert "**Experts**\n- Alice Smith · 70 · last commit 2023-12-04\n" in md
    assert "- Bob Jones · 32 · last commit 2023-12-14" in md
    assert f"**Last changed**\n- `{h['fix'][:7]}` Bob Jones, " in md
    assert ": Fix crash when file is empty\n- lines by Alice Smith 2, Bob Jones 1" in md
    assert "**Changes with**\n- `b.py` · 6 of 8 commits" in md
    assert (
        f"**Past fixes here**\n- Fix crash when file is empty (`{h['fix'][:7]}`, 2023-11-24)" in md
    )

    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=doc(uri))
    )
    titles = [ln.command.title for ln in lenses if ln.command and "author" in ln.command.title]
    assert titles == [
        "2 authors, last by Bob Jones, 2023-11-24",
        "1 author, last by Alice Smith, 2023-11-15",
    ]


async def test_no_history_no_empty_sections(start_server: StartServer, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    history(repo)
    repo.write("fresh.py", "def fresh():\n    return 1\n")
    client = await ready(start_server, repo.root)
    uri = open_file(client, repo.root / "fresh.py")
    await asyncio.sleep(0.5)  # let the background blame record "not committed yet"
    md = await hover_text(client, uri, types.Position(line=0, character=5))
    assert "def fresh()" in md
    for title in ("**Experts**", "**Last changed**", "**Changes with**", "**Past fixes here**"):
        assert title not in md, md


async def test_cochange_diagnostic_appears_and_clears(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    history(repo)
    client = await ready(start_server, repo.root, DIAG_OPTIONS)
    a_uri = open_file(client, repo.root / "a.py")
    b_uri = open_file(client, repo.root / "b.py")

    def diags(uri: str) -> list[str]:
        return [d.message for d in client.diagnostics.get(uri, []) if d.source == "mira-ls"]

    repo.append("a.py", "\nNEW = 1\n")
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=doc(a_uri)))

    async def appeared() -> list[str]:
        return diags(a_uri)

    assert await eventually(appeared) == ["usually changed together with `b.py` (6 of 8 commits)"]
    d = client.diagnostics[a_uri][0]
    assert d.severity == types.DiagnosticSeverity.Information and d.range.start.line == 0
    assert diags(b_uri) == []

    repo.append("b.py", "B_NEW = 1\n")
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=doc(b_uri)))

    async def cleared() -> bool:
        return diags(a_uri) == []

    assert await eventually(cleared)

    # The partner back to HEAD: the reminder returns; the file back to HEAD: gone again.
    repo.git("checkout", "--", "b.py")
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=doc(b_uri)))
    assert await eventually(appeared)
    repo.git("checkout", "--", "a.py")
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=doc(a_uri)))
    assert await eventually(cleared)


async def test_mining_again_when_head_moves(start_server: StartServer, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    history(repo)
    client = await ready(start_server, repo.root)
    uri = open_file(client, repo.root / "a.py")
    repo.commit("Another pair change", touch=["a.py", "b.py"], at=1_702_000_000)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(
                    uri=(repo.root / ".git" / "refs" / "heads" / "main").as_uri(),
                    type=types.FileChangeType.Changed,
                )
            ]
        )
    )
    end = await wait_for_progress_end(client, "git history", count=2)
    assert "1 commits mined (incremental)" in (end.message or ""), end.message

    async def updated() -> str | None:
        md = await hover_text(client, uri, LOAD)
        return md if "7 of 9 commits" in md else None

    assert await eventually(updated)


async def test_git_can_be_switched_off(start_server: StartServer, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    history(repo)
    client = await start_server(repo.root, init_options={"mira": {"git": {"enabled": False}}})
    await wait_for_progress_end(client, "indexing")
    uri = open_file(client, repo.root / "a.py")
    await asyncio.sleep(0.5)
    md = await hover_text(client, uri, LOAD)
    assert "def load(path)" in md and "**Experts**" not in md
    assert not [
        r
        for rs in client.progress_reports.values()
        for r in rs
        if isinstance(r, types.WorkDoneProgressBegin) and "git history" in r.title
    ]


def test_source_is_as_scripted() -> None:
    assert A_SRC.splitlines()[3] == "def load(path):"
