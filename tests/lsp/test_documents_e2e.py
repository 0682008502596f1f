"""The real server over stdio: mira.addDocument chunks a Markdown file and embeds it through
the loopback OpenAI-compatible server (vectors in the database, none in vector_points); the
same file again is unchanged; a bad file is a sentence; a relative path is the workspace's."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import StartServer, server_env, wait_for_progress_end
from tests.support.openai_server import OpenAIServer
from tests.support.repo import Repo

KEY = "sk-test-documents-e2e-0123456789abcdefghijklm"

GUIDE = "# Deploying\n\nWe deploy with fly.io.\n\n## Rollback\n\nRun fly releases rollback.\n"


async def run(client: LanguageClient, arg: dict[str, Any]) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.addDocument", arguments=[arg])
    )


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as c:
        return c.execute(sql).fetchall()


@pytest.mark.timeout(120)
async def test_add_document(start_server: StartServer, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    Repo(root).commit("initial", {"app.py": "def main():\n    return 1\n", "docs/deploy.md": GUIDE})
    with OpenAIServer() as llm:
        env = server_env(tmp_path, MIRA_OPENAI_API_KEY=KEY, MIRA_LLM_BASE_URL=llm.base_url,
                         MIRA_LLM_MAX_RETRIES="0", MIRA_LLM_TIMEOUT_SECONDS="5")  # fmt: skip
        db = Path(env["MIRA_DB"])
        client = await start_server(root, env=env)
        await wait_for_progress_end(client, "indexing", timeout=60)
        added = await run(client, {"path": "docs/deploy.md"})
        assert "error" not in added, added
        assert (added["action"], added["chunks"], added["embedded"]) == ("added", 2, 2)
        assert added["path"] == str((root / "docs" / "deploy.md").resolve())
        assert any("Added #" in m.message for m in client.messages)
        assert _rows(db, "SELECT section FROM document_chunks ORDER BY chunk_index") == [
            ("Deploying",), ("Deploying > Rollback",),
        ]  # fmt: skip
        assert _rows(db, "SELECT count(*) FROM search_documents") == [(2,)]
        assert _rows(db, "SELECT count(*) FROM document_chunks WHERE embedding_id IS NULL") == [
            (0,)
        ]
        assert _rows(db, "SELECT count(*) FROM vector_points") == [(0,)]
        # the document sits in the workspace: filed under its project
        assert _rows(db, "SELECT p.root_path FROM documents d JOIN projects p"
                         " ON p.id = d.project_id") == [(str(root.resolve()),)]  # fmt: skip
        again = await run(client, {"uri": (root / "docs" / "deploy.md").as_uri()})
        assert again["action"] == "unchanged"
        empty = root / "empty.md"
        empty.write_text("")
        bad = await run(client, {"path": str(empty)})
        assert "is empty" in bad["error"]
        missing = await run(client, {})
        assert "Say which file to add" in missing["error"]
        assert _rows(db, "SELECT count(*) FROM documents") == [(1,)]
