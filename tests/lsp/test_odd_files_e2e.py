"""The real server on a workspace with a file name that is not UTF-8 and a pathologically
nested file: both are indexed (the latter partially, with the reason), the other files'
symbols are served, and requests are answered while the nested file is re-indexed."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from lsprotocol import types

from tests.lsp.conftest import StartServer, eventually, wait_for_progress_end
from tests.support.repo import Repo

DEPTH = 50_000
OTHER = "def other_helper(x):\n    return x + 1\n\n\ndef caller():\n    return other_helper(2)\n"


def _nested(marker: str) -> str:
    return (
        f"# {marker}\ndef g(x):\n    return x\n\n\ny = " + "g(" * DEPTH + "1" + ")" * DEPTH + "\n"
    )


def _file_row(db: Path, name: str) -> tuple[str | None, str] | None:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT error, content_hash FROM repository_files WHERE file_path = ?", (name,)
        ).fetchone()
    finally:
        conn.close()


async def test_odd_files_are_indexed_and_never_block_requests(
    start_server: StartServer, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "other.py").write_text(OTHER)
    (root / "nest.py").write_text(_nested("first"))
    (root / os.fsdecode(b"caf\xe9.py")).write_text("def in_latin1():\n    return 3\n")
    Repo(root).commit("odd files")
    db = tmp_path / "db" / "mira.db"

    client = await start_server(root)
    end = await wait_for_progress_end(client, "indexing", timeout=120)
    assert "3 files" in (end.message or ""), end.message
    row = _file_row(db, "nest.py")
    assert row is not None and row[0] is not None and "indexed partially" in row[0]
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="in_latin1"))
    assert [s.name for s in found][:1] == ["in_latin1"]
    assert found[0].location.uri == (root / os.fsdecode(b"caf\xe9.py")).as_uri()  # caf%E9.py
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="other_helper"))
    assert [s.name for s in found][:1] == ["other_helper"]

    # Save the nested file (changed on disk), and hover on another file at once.
    nest_uri, other_uri = (root / "nest.py").as_uri(), (root / "other.py").as_uri()
    before = row[1]
    (root / "nest.py").write_text(_nested("second"))
    for uri, text in ((nest_uri, _nested("second")), (other_uri, OTHER)):
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=nest_uri))
    )
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=other_uri),
            position=types.Position(line=0, character=5),
        )
    )
    assert hover is not None and "other_helper" in hover.contents.value

    async def reindexed() -> tuple[str | None, str] | None:
        r = _file_row(db, "nest.py")
        return r if r is not None and r[1] != before else None

    row = await eventually(reindexed, timeout=60)
    assert row is not None, "the saved nested file was not re-indexed"
    assert row[0] is not None and "indexed partially" in row[0]
