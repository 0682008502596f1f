"""Start the real server over stdio with pytest-lsp, one per test, on a tmp database."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

StartServer = Callable[..., Awaitable[LanguageClient]]


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "MIRA_DB": str(tmp_path / "db" / "mira.db"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("OPENAI_API_KEY", None)
    env.pop("MIRA_OPENAI_API_KEY", None)
    env.update(extra)
    return env


@pytest_asyncio.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[StartServer]:
    clients: list[LanguageClient] = []

    async def start(
        root: Path,
        *,
        editor: str = "visual_studio_code",
        init_options: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        position_encodings: list[str] | None = None,
        capabilities: types.ClientCapabilities | None = None,
        client_info: types.ClientInfo | None = None,
    ) -> LanguageClient:
        cfg = ClientServerConfig(
            server_command=[sys.executable, "-m", "mira_ls", "serve", "--log-level", "debug"],
            server_env=env or server_env(tmp_path),
        )
        client = await cfg.start()
        clients.append(client)
        caps = capabilities or client_capabilities(editor)
        if position_encodings is not None:  # what general.positionEncodings offers
            caps.general = caps.general or types.GeneralClientCapabilities()
            caps.general.position_encodings = list(position_encodings)
        client.init_result = await client.initialize_session(  # type: ignore[attr-defined]
            types.InitializeParams(
                capabilities=caps,
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
                initialization_options=init_options,
                client_info=client_info,
            )
        )
        return client

    yield start
    for c in clients:
        try:
            await asyncio.wait_for(c.shutdown_session(), 10)
        except Exception:  # the test itself reports what went wrong
            pass
        await c.stop()


def ended(client: LanguageClient, title_part: str) -> list[types.WorkDoneProgressEnd]:
    """End reports of progress whose begin title contains title_part."""
    out = []
    for reports in client.progress_reports.values():
        begins = [r for r in reports if isinstance(r, types.WorkDoneProgressBegin)]
        if begins and title_part in begins[0].title:
            out.extend(r for r in reports if isinstance(r, types.WorkDoneProgressEnd))
    return out


async def wait_for_progress_end(
    client: LanguageClient, title_part: str, *, count: int = 1, timeout: float = 60
) -> types.WorkDoneProgressEnd:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = ended(client, title_part)
        if len(done) >= count:
            return done[-1]
        await asyncio.sleep(0.05)
    titles = [
        r.title
        for rs in client.progress_reports.values()
        for r in rs
        if isinstance(r, types.WorkDoneProgressBegin)
    ]
    pytest.fail(f"no end of progress {title_part!r} within {timeout} s; saw {titles}")


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 20) -> Any:
    """Retry an async check until it returns something truthy (background work settles)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    return last
