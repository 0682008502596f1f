"""The real server over stdio: hovering a definition's `def`/`class`/`async` keyword or one of
its decorators shows that definition's hover, both for a file as indexed (answered from the
store) and for an edited, unsaved buffer (answered from a parse of the live text). A decorator
name that is itself a known function still shows that function, as any call does."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import StartServer, wait_for_progress_end
from tests.support.repo import Repo

VIEWS = '''"""Views."""


def register(path):
    """Register a view under a path."""
    def wrap(fn):
        return fn
    return wrap


@register("/items")
def items(request):
    """List the items."""
    return []


class Shop:
    """A shop with a catalogue."""

    @property
    def name(self):
        """The shop's display name."""
        return "shop"

    @staticmethod
    @register("/open")
    async def open_now():
        """Whether the shop is open."""
        return True
'''


def pos_of(text: str, needle: str, offset: int = 0) -> types.Position:
    idx = text.index(needle) + offset
    line = text.count("\n", 0, idx)
    return types.Position(line=line, character=idx - (text.rfind("\n", 0, idx) + 1))


async def hover_md(client: LanguageClient, uri: str, pos: types.Position) -> str:
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos)
    )
    assert hover is not None, f"no hover at {pos}"
    assert isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


async def check_headers(client: LanguageClient, uri: str, text: str) -> None:
    # `def` keyword of a decorated function, and its decorator's `@` and argument.
    for pos in (
        pos_of(text, "def items"),
        pos_of(text, '@register("/items")'),
        pos_of(text, '"/items"', 2),
    ):
        md = await hover_md(client, uri, pos)
        assert "def items(request)" in md and "List the items." in md, (pos, md)
    # The decorator's name is a call of a known function: its hover is register's.
    md = await hover_md(client, uri, pos_of(text, 'register("/items")', 2))
    assert "def register(path)" in md and "Register a view" in md, md
    # `class` keyword.
    md = await hover_md(client, uri, pos_of(text, "class Shop"))
    assert "A shop with a catalogue." in md, md
    # A method's `@property`, and each line of a stacked `@staticmethod` / `async def`.
    md = await hover_md(client, uri, pos_of(text, "@property", 3))
    assert "def name(self)" in md and "display name" in md, md
    for pos in (
        pos_of(text, "@staticmethod"),
        pos_of(text, "async def open_now"),
        pos_of(text, "async def open_now", len("async ")),
    ):
        md = await hover_md(client, uri, pos)
        assert "open_now" in md and "Whether the shop is open." in md, (pos, md)
        assert "catalogue" not in md, md  # the method, not its class


async def test_hover_on_keywords_and_decorators(start_server: StartServer, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("views", {"app/__init__.py": "", "app/views.py": VIEWS})
    client = await start_server(repo.root, init_options={"mira": {"git": {"enabled": False}}})
    await wait_for_progress_end(client, "indexing")
    uri = (repo.root / "app/views.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=VIEWS
            )
        )
    )
    # As indexed: the buffer equals the stored file.
    await check_headers(client, uri, VIEWS)
    md = await hover_md(client, uri, pos_of(VIEWS, "def items"))
    assert "**Calls**" in md  # the stored row was found: counts are known

    # Edited and unsaved: lines shift, the live parse answers.
    edited = VIEWS.replace('"""Views."""\n', '"""Views."""\n\nimport os\n\n')
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=edited)],
        )
    )
    await check_headers(client, uri, edited)

    # Blank space and a plain statement inside a body are not a header: no definition hover.
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=pos_of(edited, "return []", 2),
        )
    )
    assert hover is None or "List the items." not in hover.contents.value  # type: ignore[union-attr]


TS = """export function greet(name: string) {
  return name;
}
"""

RS = """#[inline]
pub async fn later() {}
"""


async def test_hover_on_keywords_in_typescript_and_rust(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("sources", {"web/a.ts": TS, "core/b.rs": RS})
    client = await start_server(repo.root, init_options={"mira": {"git": {"enabled": False}}})
    await wait_for_progress_end(client, "indexing")
    for rel, text, language, needles, want in (
        (
            "web/a.ts",
            TS,
            "typescript",
            ["export", "function greet"],
            "function greet(name: string)",
        ),
        ("core/b.rs", RS, "rust", ["#[inline]", "pub async", "async fn"], "pub async fn later()"),
    ):
        uri = (repo.root / rel).as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=1, text=text
                )
            )
        )
        for needle in needles:
            md = await hover_md(client, uri, pos_of(text, needle))
            assert want in md, (rel, needle, md)
