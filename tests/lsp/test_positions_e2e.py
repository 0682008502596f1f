"""The real server over stdio: ranges built from stored (code-point) columns of files other
than the request's reach the client in the negotiated position encoding (UTF-16 by default,
UTF-8 when the client offers it first): workspace/symbol, call hierarchy, the co-change
diagnostic. Lines hold emoji (two UTF-16 units, four UTF-8 bytes) and accented letters (one
UTF-16 unit, two UTF-8 bytes) before and inside the names."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import StartServer, eventually, wait_for_progress_end
from tests.support.repo import Repo, fixtures

git_isolation, _store, _repo = fixtures()

UNI = '''"""Ünïcode 😀 helpers."""


def café(): return "😀"


def caller():
    x = "😀😀"; y = café()
    return y
'''

USE = """from pkg.uni import café


def user():
    s = "é😀"; return café()
"""

TS = """const s = "😀😀"; function fé() { return 1 }
function g() { const t = "😀"; return fé() }
"""

A_FIRST = "# Ünïcode 😀 notes: café\n"


def units(text: str, encoding: str) -> int:
    """Length of text in the encoding's units, computed here independently of the server."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


def span(source: str, needle: str, encoding: str, occurrence: int = 1) -> types.Range:
    """The range of the n-th occurrence of needle (on one line) in the client's units."""
    idx = -1
    for _ in range(occurrence):
        idx = source.index(needle, idx + 1)
    line = source.count("\n", 0, idx)
    text = source.split("\n")[line]
    col = idx - (source.rfind("\n", 0, idx) + 1)
    start = units(text[:col], encoding)
    return types.Range(
        types.Position(line, start), types.Position(line, start + units(needle, encoding))
    )


def make_repo(root: Path) -> Repo:
    """Sources with non-ASCII text before symbols and call sites, and a.py whose first line
    is non-ASCII with b.py its strong co-change partner (6 of 6 commits)."""
    repo = Repo(root)
    repo.write("pkg/__init__.py", "")
    repo.write("pkg/uni.py", UNI)
    repo.write("pkg/use.py", USE)
    repo.write("web/m.ts", TS)
    repo.write("a.py", A_FIRST)
    repo.write("b.py", "B = 0\n")
    repo.commit("Add files")
    for i in range(2, 7):
        repo.append("a.py", f"A{i} = {i}\n")
        repo.append("b.py", f"B{i} = {i}\n")
        repo.commit(f"Grow a and b {i}")
    return repo


async def ready(start_server: StartServer, root: Path, offered: list[str]) -> LanguageClient:
    client = await start_server(
        root,
        position_encodings=offered,
        # The partner changes in most commits of this tiny history: lift the changelog guard.
        init_options={"mira": {"cochange": {"diagnosticMaxShare": 1.0}}},
    )
    await wait_for_progress_end(client, "indexing")
    await wait_for_progress_end(client, "git history")
    return client


ENCODINGS = [
    pytest.param(["utf-16"], "utf-16", id="utf-16"),
    pytest.param(["utf-8", "utf-16"], "utf-8", id="utf-8"),
]


@pytest.mark.parametrize(("offered", "encoding"), ENCODINGS)
async def test_ranges_in_negotiated_encoding(
    start_server: StartServer, tmp_path: Path, offered: list[str], encoding: str
) -> None:
    repo = make_repo(tmp_path / "ws")
    client = await ready(start_server, repo.root, offered)
    assert client.init_result.capabilities.position_encoding == encoding  # type: ignore[attr-defined]
    uni_uri = (repo.root / "pkg/uni.py").as_uri()
    use_uri = (repo.root / "pkg/use.py").as_uri()
    ts_uri = (repo.root / "web/m.ts").as_uri()

    # workspace/symbol: no file is open, so every line is read from disk.
    async def symbols(query: str) -> dict[str, types.Location]:
        found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query=query))
        return {s.name: s.location for s in found or [] if isinstance(s.location, types.Location)}

    cafe = (await eventually(lambda: symbols("café")))["café"]
    assert (cafe.uri, cafe.range) == (uni_uri, span(UNI, "café", encoding))
    fe = (await symbols("fé"))["fé"]  # after two emoji on its line
    assert (fe.uri, fe.range) == (ts_uri, span(TS, "fé", encoding))

    # Call hierarchy on café, asked from its definition (client units in, client units out).
    at = span(UNI, "café", encoding).start
    items = await client.text_document_prepare_call_hierarchy_async(
        types.CallHierarchyPrepareParams(
            text_document=types.TextDocumentIdentifier(uri=uni_uri), position=at
        )
    )
    assert items is not None and len(items) == 1
    item = items[0]
    line = UNI.split("\n")[3]
    assert item.name == "café" and item.uri == uni_uri
    assert item.selection_range == span(UNI, "café", encoding)
    assert item.range == types.Range(types.Position(3, 0), types.Position(3, units(line, encoding)))

    incoming = await client.call_hierarchy_incoming_calls_async(
        types.CallHierarchyIncomingCallsParams(item=item)
    )
    got = {c.from_.name: (c.from_.uri, list(c.from_ranges)) for c in incoming or []}
    assert got == {
        "caller": (uni_uri, [span(UNI, "café", encoding, occurrence=2)]),
        "user": (use_uri, [span(USE, "café", encoding, occurrence=2)]),
    }
    user_item = next(c.from_ for c in incoming or [] if c.from_.name == "user")
    assert user_item.selection_range == span(USE, "user", encoding)

    # Outgoing from the TS function g: the call site after an emoji, in g's own file.
    g_at = span(TS, "g", encoding).start
    g_items = await client.text_document_prepare_call_hierarchy_async(
        types.CallHierarchyPrepareParams(
            text_document=types.TextDocumentIdentifier(uri=ts_uri), position=g_at
        )
    )
    assert g_items and g_items[0].name == "g"
    outgoing = await client.call_hierarchy_outgoing_calls_async(
        types.CallHierarchyOutgoingCallsParams(item=g_items[0])
    )
    assert [(c.to.name, c.to.selection_range, list(c.from_ranges)) for c in outgoing or []] == [
        ("fé", span(TS, "fé", encoding), [span(TS, "fé", encoding, occurrence=2)])
    ]

    # The co-change diagnostic spans a.py's whole (non-ASCII) first line.
    a_path = repo.root / "a.py"
    a_uri = a_path.as_uri()
    repo.append("a.py", "NEW = 1\n")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=a_uri, language_id="python", version=1, text=a_path.read_text("utf-8")
            )
        )
    )
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=a_uri))
    )

    async def cochange() -> list[types.Diagnostic]:
        return [d for d in client.diagnostics.get(a_uri, []) if d.code == "cochange"]

    (diag,) = await eventually(cochange)
    first = A_FIRST.rstrip("\n")
    assert diag.range == types.Range(
        types.Position(0, 0), types.Position(0, units(first, encoding))
    )
