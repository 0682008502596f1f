"""The real server over stdio: incoming calls of a decorator method (issue 15), asked the
way an editor asks, the hover counting external calls apart, and a new file's method
taking the calls that name it."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.lsp.conftest import StartServer, eventually, wait_for_progress_end
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


CALLER = """\
from web.extra import Extra


def use(e: Extra):
    return e.shine()


def other(thing):
    return thing.shine()
"""

EXTRA = """\
class Extra:
    def shine(self):
        return 1
"""


async def test_a_new_files_method_takes_the_calls_that_name_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"web/__init__.py": "", "web/caller.py": CALLER})
    # jedi off: the index's own resolution is what is tested (jedi would find it later)
    client = await start_server(repo.root, init_options={"mira": {"index": {"jedi": False}}})
    await wait_for_progress_end(client, "indexing")
    # the module the caller imports is created and saved
    path = repo.root / "web/extra.py"
    path.write_text(EXTRA)
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=EXTRA
            )
        )
    )
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )

    async def incoming() -> list[int] | None:
        items = await client.text_document_prepare_call_hierarchy_async(
            types.CallHierarchyPrepareParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=pos_of(EXTRA, "def shine", 4),
            )
        )
        if not items:
            return None
        calls = await client.call_hierarchy_incoming_calls_async(
            types.CallHierarchyIncomingCallsParams(item=items[0])
        )
        lines = sorted(r.start.line + 1 for c in calls or [] for r in c.from_ranges)
        return lines or None

    lines = await eventually(incoming)
    caller = CALLER.splitlines()
    # the typed receiver's call; not the unknown one's
    assert lines is not None and [caller[n - 1].strip() for n in lines] == ["return e.shine()"]


SHAPES = """\
class Base:
    def setup(self):
        return 1

    def run(self):
        return self.setup()


class App(Base):
    def setup(self):
        return super().setup()


class Sibling(Base):
    def go(self):
        return self.setup()


def direct():
    return App().setup()
"""


async def test_incoming_calls_of_an_override_include_those_through_its_base(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", {"pkg/__init__.py": "", "pkg/shapes.py": SHAPES})
    client = await start_server(repo.root, init_options={"mira": {"index": {"jedi": False}}})
    await wait_for_progress_end(client, "indexing")
    uri = (repo.root / "pkg/shapes.py").as_uri()
    items = await client.text_document_prepare_call_hierarchy_async(
        types.CallHierarchyPrepareParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=pos_of(SHAPES, "def setup(self):\n        return super", 4),
        )
    )
    assert items and items[0].detail == "pkg.shapes.App.setup"
    incoming = await client.call_hierarchy_incoming_calls_async(
        types.CallHierarchyIncomingCallsParams(item=items[0])
    )
    got = {
        (c.from_.detail, SHAPES.splitlines()[r.start.line].strip())
        for c in incoming
        for r in c.from_ranges
    }
    assert got == {
        ("pkg.shapes.direct", "return App().setup()"),
        ("pkg.shapes.Base.run (through pkg.shapes.Base.setup)", "return self.setup()"),
    }
