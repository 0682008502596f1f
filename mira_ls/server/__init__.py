"""The language server: pygls wiring only. One module per area wires that area's LSP
messages to its feature functions; ``create_server()`` builds a fresh server with all of
them, so the CLI and tests never share one."""

from mira_ls.server import (
    build,
    code,
    documents,
    lifecycle,
    llm,
    memory,
    report,
    search,
    tasks,
    tools,
    understand,
)
from mira_ls.server.base import MiraServer

__all__ = ["MiraServer", "create_server", "run_stdio", "run_tcp"]

AREAS = (lifecycle, documents, code, build, llm, report, search, tasks, tools, memory, understand)


def create_server() -> MiraServer:
    ls = MiraServer()
    for area in AREAS:
        area.register(ls)
    return ls


def run_stdio() -> None:
    create_server().start_io()


def run_tcp(host: str, port: int) -> None:
    create_server().start_tcp(host, port)
