"""`mira-ls mcp` through the official SDK's own client over stdio, on a repository the test
commits: the tools and their schemas, answers equal to the CLI's, refusals, freshness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from mira_ls.llm.tools import SCHEMAS
from tests.support.cli import run_cli
from tests.support.repo import BOB, Repo

CORE = '''\
def parse(text):
    """Split a config line."""
    return text.split("=")


def load(path):
    return parse(open(path).read())
'''

APP = """\
from core import load, parse


def main():
    load("a.cfg")
    return parse("x=1")
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        "MIRA_DB": str(tmp_path / "db" / "mira.db"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
    }
    if "PYTHONPATH" in os.environ:  # a checkout beside the installed one
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "ws")
    r.commit("add core", {"core.py": CORE, ".gitignore": "build/\n"})
    r.commit("add app", {"app.py": APP, "core.py": CORE + "\n# v2\n"})
    r.commit("tidy both", {"core.py": CORE + "\n# v2b\n", "app.py": APP + "\n# tidy\n"})
    r.commit(
        "fix: ValueError when the config line has no equals sign",
        {"core.py": CORE + "\n# v3\n", "app.py": APP + "\n# fixed\n"},
        author=BOB,
    )
    r.write(".env", "OPENAI_API_KEY=sk-test-not-real\n")
    (tmp_path / "outside.txt").write_text("outside secret\n")
    os.symlink(tmp_path / "outside.txt", r.root / "link.txt")
    return r


def _text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


def _cli(tmp_path: Path, *args: str) -> Any:
    proc = run_cli(*args, "--json", env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


async def test_tools_over_stdio(tmp_path: Path, repo: Repo) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mira_ls", "mcp", "--workspace", str(repo.root)],
        env=_env(tmp_path),
        cwd=str(tmp_path),
    )
    errlog = (tmp_path / "server.log").open("w")
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        listed = await session.list_tools()
        by_name = {t.name: t for t in listed.tools}
        assert list(by_name) == [s["function"]["name"] for s in SCHEMAS]
        for s in SCHEMAS:
            tool = by_name[s["function"]["name"]]
            assert tool.input_schema == s["function"]["parameters"]
            assert tool.annotations is not None and tool.annotations.read_only_hint

        async def call(tool: str, **args: Any) -> tuple[str, bool]:
            res = await session.call_tool(tool, args)
            return _text(res), bool(res.is_error)

        # search_symbols: the same symbols as `mira-ls symbols`
        text, err = await call("search_symbols", query="parse")
        assert not err
        cli = _cli(tmp_path, "symbols", "parse", "--root", str(repo.root))
        assert cli and all(r["qualified_name"] in text for r in cli)
        assert "core.parse" in text

        # callers: the same call sites as `mira-ls callers`
        text, err = await call("callers", name="core.parse")
        cli = _cli(tmp_path, "callers", "core.parse", "--root", str(repo.root))
        sites = cli[0]["callers"]
        assert not err and sites
        assert f"Callers of core.parse: {len(sites)}" in text
        for s in sites:
            assert f"{s['caller']} calls it at {s['path']}:{s['line']}" in text

        # experts: the same people as `mira-ls experts`
        text, err = await call("experts", path="core.py")
        cli = _cli(tmp_path, "experts", str(repo.root / "core.py"))
        assert not err and {e["email"] for e in cli} == {
            "alice@example.com",
            "bob@example.com",
        }
        for e in cli:
            assert f"<{e['email']}>: score {e['score']:.0f}, {e['commits']} commits" in text

        # past_fixes: the same commits as `mira-ls fixes`
        error = "ValueError: config line has no equals sign"
        text, err = await call("past_fixes", error_text=error, path="core.py")
        cli = _cli(tmp_path, "fixes", error, "--file", str(repo.root / "core.py"))
        assert not err and cli
        assert all(f["commit"][:10] in text for f in cli)

        # cochange, absolute paths inside the workspace are accepted
        text, err = await call("cochange", path=str(repo.root / "core.py"))
        cli = _cli(tmp_path, "cochange", str(repo.root / "core.py"))
        assert not err and cli and all(p["path"] in text for p in cli)

        # refusals: outside the workspace (directly or via a link), secrets
        text, err = await call("read_file", path="../outside.txt")
        assert err and "outside the workspace" in text
        text, err = await call("read_file", path="link.txt")
        assert err and "outside the workspace" in text and "outside secret" not in text
        text, err = await call("experts", path=str(tmp_path))
        assert err and "outside the workspace" in text
        text, err = await call("read_file", path=".env")
        assert err and text.startswith("Refused: .env") and "sk-test" not in text

        # a file edited during the session is seen by the next call
        text, _ = await call("search_symbols", query="brand_new_helper")
        assert "brand_new_helper" not in text
        repo.write("core.py", CORE + "\n\ndef brand_new_helper():\n    return 1\n")
        text, err = await call("search_symbols", query="brand_new_helper")
        assert not err and "core.brand_new_helper" in text
        # and a new file too
        repo.write("extra/more.py", "def another_one():\n    return 2\n")
        text, err = await call("get_symbol", name="another_one")
        assert not err and "extra/more.py" in text and "return 2" in text
        # and a deleted one is gone
        (repo.root / "extra" / "more.py").unlink()
        text, err = await call("search_symbols", query="another_one")
        assert "another_one" not in text

        text, err = await call("no_such_tool")
        assert err and "no tool named" in text

    errlog.close()


def test_exits_when_stdin_closes(tmp_path: Path, repo: Repo) -> None:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mira_ls", "mcp", "--workspace", str(repo.root)],
        input=json.dumps(init) + "\n",
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # stdout carries protocol only: one JSON-RPC answer per line
    assert lines and all(json.loads(line)["jsonrpc"] == "2.0" for line in lines)
    first = json.loads(lines[0])
    assert first["id"] == 1 and first["result"]["serverInfo"]["name"] == "mira-ls"


async def test_resources_and_prompts(tmp_path: Path, repo: Repo) -> None:
    from mcp.shared.exceptions import MCPError

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mira_ls", "mcp", "--workspace", str(repo.root)],
        env=_env(tmp_path),
        cwd=str(tmp_path),
    )
    errlog = (tmp_path / "server.log").open("w")
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        listed = await session.list_resources()
        uris = [r.uri for r in listed.resources]
        assert "mira://context/core.py" in uris and "mira://context/app.py" in uris
        assert not any(".env" in u for u in uris) and listed.next_cursor is None
        templates = await session.list_resource_templates()
        assert [t.uri_template for t in templates.resource_templates] == ["mira://context/{path}"]

        # the context bundle of core.parse: its source, who calls it, who knows the file
        res = await session.read_resource("mira://context/core.py?line=2")
        text = res.contents[0].text  # type: ignore[union-attr]
        assert 'return text.split("=")' in text
        assert "app.main" in text  # a caller
        assert "Bob Jones" in text and "Alice Smith" in text  # experts
        with pytest.raises(MCPError, match="secrets"):
            await session.read_resource("mira://context/.env")
        with pytest.raises(MCPError, match="outside the workspace"):
            await session.read_resource("mira://context/../outside.txt")

        prompts = await session.list_prompts()
        assert [p.name for p in prompts.prompts] == ["explain", "fix_error", "review"]

        got = await session.get_prompt("explain", {"path": "core.py", "line": "2"})
        body = got.messages[0].content.text  # type: ignore[union-attr]
        assert "Explain `core.parse`" in body and 'return text.split("=")' in body

        got = await session.get_prompt(
            "fix_error",
            {"error": "ValueError: config line has no equals sign", "path": "core.py"},
        )
        body = got.messages[0].content.text  # type: ignore[union-attr]
        assert "Fix this error at core.py:1" in body
        assert "fix: ValueError when the config line has no equals sign" in body  # past fix

        repo.write("app.py", APP + "\n\ndef added_in_review():\n    return 3\n")
        got = await session.get_prompt("review", {})
        body = got.messages[0].content.text  # type: ignore[union-attr]
        assert "+def added_in_review():" in body and "Review these uncommitted changes" in body
        assert "sk-test" not in body and "outside secret" not in body

        with pytest.raises(MCPError, match="needs the argument 'path'"):
            await session.get_prompt("explain", {})
    errlog.close()


async def test_progress_while_the_first_index_runs(tmp_path: Path, repo: Repo) -> None:
    """A call made before the first index is done waits for it, saying how far it is."""
    import anyio

    env = _env(tmp_path) | {
        "MIRA_TEST_HOLD_AT": "mcp:prepare:index",
        "MIRA_TEST_PAUSE_DIR": str(tmp_path),
    }
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mira_ls", "mcp", "--workspace", str(repo.root)],
        env=env,
        cwd=str(tmp_path),
    )
    said: list[str] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        said.append(message or "")

    errlog = (tmp_path / "server.log").open("w")
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        held = tmp_path / "mcp_prepare_index"
        result: list[Any] = []

        async def ask() -> None:
            result.append(
                await session.call_tool("search_symbols", {"query": "parse"}, None, progress)
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            with anyio.fail_after(60):
                while not (held.exists() and said):
                    await anyio.sleep(0.05)
            assert not result  # the call waits for the index
            assert any(m.startswith("indexing ") and str(repo.root) in m for m in said)
            (tmp_path / "mcp_prepare_index.go").write_text("")
        assert "core.parse" in _text(result[0]) and not result[0].is_error
    errlog.close()
