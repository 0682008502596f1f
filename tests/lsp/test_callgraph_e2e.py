"""The real server over stdio: incoming calls of a decorator method (issue 15), asked the
way an editor asks, and the hover counting external calls apart."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.lsp.conftest import StartServer, wait_for_progress_end
from tests.lsp.test_foundation_e2e import pos_of
from tests.support.repo import Repo

APP = """\
import os


class App:
    def route(self, rule):
        def deco(f):
            return f
        return deco

    def run(self):
        return os.path.join("a", "b").upper()


class Other:
    def route(self, rule):
        return rule
"""

VIEWS = """\
from web.app import App, Other

app = App()
other = Other()


@app.route("/")
def index():
    return "hi"


@app.route("/about")
def about():
    return len("about")


def elsewhere(unknown):
    other.route("/o")
    unknown.route("/u")
"""


async def test_incoming_calls_of_a_decorator_method(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"web/__init__.py": "", "web/app.py": APP, "web/views.py": VIEWS})
    client = await start_server(repo.root)
    await wait_for_progress_end(client, "indexing")
    uri = (repo.root / "web/app.py").as_uri()
    items = await client.text_document_prepare_call_hierarchy_async(
        types.CallHierarchyPrepareParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=pos_of(APP, "def route", 4),
        )
    )
    assert items and items[0].name == "route"
    incoming = await client.call_hierarchy_incoming_calls_async(
        types.CallHierarchyIncomingCallsParams(item=items[0])
    )
    # both decorators; not Other().route, not the unknown receiver's route
    lines = sorted(r.start.line + 1 for c in incoming for r in c.from_ranges)
    views = VIEWS.splitlines()
    assert [views[n - 1] for n in lines] == ['@app.route("/")', '@app.route("/about")']

    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=pos_of(APP, "def run", 4),
        )
    )
    assert hover is not None
    text = hover.contents.value if isinstance(hover.contents, types.MarkupContent) else ""
    # os.path.join and str.upper: external, never "unresolved"
    assert "0 callees, 2 external" in text, text
    assert "unresolved" not in text
