"""shutdown + exit end the server process and its worker processes while work is under way.

Editors kill a server that does not leave soon after ``exit`` (Eglot then reports "Server
exited with status 9"), so the server cancels its jobs and leaves without waiting for them.
Nothing here is timed: the process only has to be gone (bench/exit_time.py measures how
soon)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil

from tests.lsp.conftest import StartServer, wait_for_progress_end
from tests.support.repo import Repo


def _busy_repo(root: Path) -> Repo:
    """Enough Python that indexing, jedi and mining are still running when we leave."""
    repo = Repo(root)
    files = {
        f"pkg/m{i}.py": "".join(
            f"def f{i}_{j}(x):\n    return f{i}_{j - 1}(x) + len(str(x))\n\n\n"
            for j in range(1, 40)
        )
        + f"def f{i}_0(x):\n    return x\n"
        for i in range(60)
    }
    repo.commit("initial", files)
    return repo


async def _gone(pids: list[int], timeout: float = 30) -> list[int]:
    left = pids
    for _ in range(int(timeout / 0.1)):
        left = [p for p in left if psutil.pid_exists(p) and not _zombie(p)]
        if not left:
            return []
        await asyncio.sleep(0.1)
    return left


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_exit_ends_the_server_and_its_workers_during_background_work(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = _busy_repo(tmp_path / "ws")
    client = await start_server(repo.root)
    await wait_for_progress_end(client, "indexing")  # then jedi starts in its process
    server = client._server
    assert server is not None
    children = [c.pid for c in psutil.Process(server.pid).children(recursive=True)]
    await client.shutdown_async(None)
    client.exit(None)
    code = await asyncio.wait_for(server.wait(), 30)
    assert code == 0
    assert await _gone(children) == []


async def test_exit_without_shutdown_still_leaves_with_status_1(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = _busy_repo(tmp_path / "ws")
    client = await start_server(repo.root)
    server = client._server
    assert server is not None
    client.exit(None)  # the LSP says: exit code 1 when shutdown did not come first
    assert await asyncio.wait_for(server.wait(), 30) == 1
