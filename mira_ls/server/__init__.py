"""The language server: pygls wiring only. One module per area wires that area's LSP messages
to its feature functions; importing them registers the handlers on the one server object."""

from mira_ls.server import (  # noqa: F401
    build,
    code,
    documents,
    git,
    lifecycle,
    llm,
    report,
    search,
)
from mira_ls.server.base import MiraServer, server

__all__ = ["MiraServer", "run_stdio", "run_tcp", "server"]


def run_stdio() -> None:
    server.start_io()


def run_tcp(host: str, port: int) -> None:
    server.start_tcp(host, port)
