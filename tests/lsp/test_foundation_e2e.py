"""The real server over stdio on a real git repository: index, symbols, calls, lenses, saves."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from mira_ls.store import connect
from tests.lsp.conftest import StartServer, eventually, server_env, wait_for_progress_end
from tests.support.repo import Repo

CORE = '''"""Core helpers."""


def helper(x):
    """Double a value."""
    return x * 2


class Greeter:
    """Says hello."""

    def greet(self, name):
        return helper(name) + self.suffix()

    def suffix(self):
        return "!"


def main():
    g = Greeter()
    later()
    return helper(1)
'''

APP = """from pkg.core import helper


def run():
    return helper(3)
"""


def make_repo(root: Path) -> Repo:
    repo = Repo(root)
    repo.commit("initial", {"pkg/__init__.py": "", "pkg/core.py": CORE, "pkg/app.py": APP})
    return repo


def db_rows(db: Path, sql: str, *args: object) -> list[tuple]:
    conn = connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def pos_of(text: str, needle: str, offset: int = 0) -> types.Position:
    """Position of needle (plus offset characters) in text."""
    idx = text.index(needle) + offset
    line = text.count("\n", 0, idx)
    col = idx - (text.rfind("\n", 0, idx) + 1)
    return types.Position(line=line, character=col)


async def test_index_symbols_calls_lenses(start_server: StartServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "ws")
    client = await start_server(repo.root)
    end = await wait_for_progress_end(client, "indexing")
    assert "3 files" in (end.message or ""), end.message

    core_uri = (repo.root / "pkg/core.py").as_uri()
    syms = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=core_uri))
    )
    top = {s.name: s for s in syms}
    assert set(top) == {"helper", "Greeter", "main"}
    assert top["Greeter"].kind == types.SymbolKind.Class
    assert [c.name for c in top["Greeter"].children] == ["greet", "suffix"]
    assert top["Greeter"].children[0].kind == types.SymbolKind.Method

    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="help"))
    assert found[0].name == "helper"
    fuzzy = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="grt"))
    assert "greet" in [s.name for s in fuzzy] or "Greeter" in [s.name for s in fuzzy]

    items = await client.text_document_prepare_call_hierarchy_async(
        types.CallHierarchyPrepareParams(
            text_document=types.TextDocumentIdentifier(uri=core_uri),
            position=pos_of(CORE, "def helper", 4),
        )
    )
    assert items and items[0].name == "helper"
    incoming = await client.call_hierarchy_incoming_calls_async(
        types.CallHierarchyIncomingCallsParams(item=items[0])
    )
    assert sorted(c.from_.name for c in incoming) == ["greet", "main", "run"]

    mains = await client.text_document_prepare_call_hierarchy_async(
        types.CallHierarchyPrepareParams(
            text_document=types.TextDocumentIdentifier(uri=core_uri),
            position=pos_of(CORE, "def main"),
        )
    )
    # the cursor is on 'def', not the name: no item; on the name there is one
    assert not mains
    mains = await client.text_document_prepare_call_hierarchy_async(
        types.CallHierarchyPrepareParams(
            text_document=types.TextDocumentIdentifier(uri=core_uri),
            position=pos_of(CORE, "def main", 4),
        )
    )
    outgoing = await client.call_hierarchy_outgoing_calls_async(
        types.CallHierarchyOutgoingCallsParams(item=mains[0])
    )
    assert {c.to.name for c in outgoing} >= {"helper", "Greeter"}

    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=core_uri))
    )
    titles = {ln.range.start.line: ln.command.title for ln in lenses if ln.command}
    assert titles[pos_of(CORE, "def helper", 4).line] == "3 callers"

    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=core_uri),
            position=pos_of(CORE, "def helper", 4),
        )
    )
    assert hover is not None
    md = hover.contents.value
    assert "def helper(x)" in md and "Double a value." in md and "3 callers" in md

    # Hovering a call site shows the callee.
    app_uri = (repo.root / "pkg/app.py").as_uri()
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=app_uri),
            position=pos_of(APP, "helper(3)"),
        )
    )
    assert hover is not None and "def helper(x)" in hover.contents.value


async def test_incremental_saves(start_server: StartServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "ws")
    db = tmp_path / "db" / "mira.db"
    client = await start_server(repo.root)
    await wait_for_progress_end(client, "indexing")
    q = (
        "SELECT qualified_name, id, content_hash, signature_hash FROM code_elements "
        "WHERE file_path = 'pkg/core.py' ORDER BY qualified_name"
    )
    before = {r[0]: r[1:] for r in db_rows(db, q)}
    assert "pkg.core.helper" in before

    # 1. body edit: only helper's content_hash changes; every id stays.
    edited = CORE.replace("return x * 2", "return x * 3")
    (repo.root / "pkg/core.py").write_text(edited)
    uri = (repo.root / "pkg/core.py").as_uri()
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )

    async def body_updated() -> dict | None:
        now = {r[0]: r[1:] for r in db_rows(db, q)}
        return now if now["pkg.core.helper"][1] != before["pkg.core.helper"][1] else None

    after = await eventually(body_updated)
    assert after is not None, "the save was not indexed"
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"pkg.core.helper", "pkg.core"}  # the module's span holds the body too
    assert all(before[k][0] == after[k][0] for k in before)  # ids stable
    assert after["pkg.core.helper"][2] == before["pkg.core.helper"][2]  # same signature

    # 2. signature edit + a new function that makes an unresolved call resolvable.
    edited2 = edited.replace("def helper(x):", "def helper(x, y=0):") + (
        "\n\ndef later():\n    return 0\n"
    )
    (repo.root / "pkg/core.py").write_text(edited2)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    edges_q = (
        "SELECT e.callee_name, c.qualified_name, e.callee_id FROM call_graph e "
        "JOIN code_elements c ON c.id = e.caller_id WHERE e.callee_name IN ('helper', 'later')"
    )

    async def resolved() -> list | None:
        rows = db_rows(db, edges_q)
        return rows if rows and all(r[2] is not None for r in rows) else None

    rows = await eventually(resolved)
    assert rows is not None, db_rows(db, edges_q)
    helper_id = before["pkg.core.helper"][0]
    later_id = db_rows(db, "SELECT id FROM code_elements WHERE qualified_name='pkg.core.later'")
    by_caller = {(r[0], r[1]): r[2] for r in rows}
    assert by_caller[("helper", "pkg.app.run")] == helper_id  # callers still resolved
    assert by_caller[("helper", "pkg.core.main")] == helper_id
    assert by_caller[("later", "pkg.core.main")] == later_id[0][0]  # newly resolvable
    sig_after = db_rows(db, "SELECT signature_hash FROM code_elements WHERE id = ?", helper_id)
    assert sig_after[0][0] != before["pkg.core.helper"][2]

    # 3. removal: the symbol and its outgoing edges go; callers' edges become unresolved.
    edited3 = edited2.replace('    def suffix(self):\n        return "!"\n', "")
    (repo.root / "pkg/core.py").write_text(edited3)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )

    async def removed() -> bool:
        return not db_rows(
            db, "SELECT 1 FROM code_elements WHERE qualified_name='pkg.core.Greeter.suffix'"
        )

    assert await eventually(removed)
    dangling = db_rows(db, "SELECT callee_id FROM call_graph WHERE callee_name='suffix'")
    assert dangling == [(None,)]


async def test_two_servers_share_one_database(start_server: StartServer, tmp_path: Path) -> None:
    a = make_repo(tmp_path / "a")
    b = Repo(tmp_path / "b")
    b.commit("b", {"lib.py": "def only_in_b():\n    return 1\n"})
    env = server_env(tmp_path)
    ca = await start_server(a.root, env=env)
    cb = await start_server(b.root, env=env)
    await wait_for_progress_end(ca, "indexing")
    await wait_for_progress_end(cb, "indexing")
    ra = await ca.workspace_symbol_async(types.WorkspaceSymbolParams(query="only_in_b"))
    rb = await cb.workspace_symbol_async(types.WorkspaceSymbolParams(query="only_in_b"))
    assert [s.name for s in rb] == ["only_in_b"]
    assert ra == []  # each server answers for its own workspace
    projects = db_rows(tmp_path / "db" / "mira.db", "SELECT root_path FROM projects ORDER BY 1")
    assert [Path(p[0]).name for p in projects] == ["a", "b"]


async def test_unwritable_database_is_explained(start_server: StartServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "ws")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the database directory should be")
    client = await start_server(
        repo.root, env=server_env(tmp_path, MIRA_DB=str(blocker / "mira.db"))
    )
    uri = (repo.root / "pkg/core.py").as_uri()
    syms = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert {s.name for s in syms} == {"helper", "Greeter", "main"}  # still serves the buffer
    texts = [m.message for m in client.messages]
    assert any("database" in t and "MIRA_DB" in t for t in texts), texts


async def test_invalid_settings_fall_back(start_server: StartServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "ws")
    client = await start_server(
        repo.root, init_options={"mira": {"budget": {"dailyUsd": "lots"}, "index": {"jedi": 3}}}
    )
    await wait_for_progress_end(client, "indexing")
    texts = [m.message for m in client.messages]
    assert any("mira.budget.dailyUsd" in t and "using 5.0" in t for t in texts), texts
    assert any("mira.index.jedi" in t for t in texts), texts


async def test_commands_tolerate_missing_arguments(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "ws")
    client = await start_server(repo.root, editor="neovim")
    await wait_for_progress_end(client, "indexing")
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.reindex")
    )
    assert result["started"] is True
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mira.callers", arguments=[])
    )
    assert result == []
    await wait_for_progress_end(client, "indexing", count=2)


async def test_renames_keep_symbol_ids(start_server: StartServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "ws")
    db = tmp_path / "db" / "mira.db"
    client = await start_server(repo.root)
    await wait_for_progress_end(client, "indexing")
    q = "SELECT id FROM code_elements WHERE qualified_name = ?"
    run_id = db_rows(db, q, "pkg.app.run")[0][0]

    # 1. Outside the editor: the watcher reports a delete and a create of the same content.
    (repo.root / "pkg/app.py").rename(repo.root / "pkg/entry.py")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(
                    uri=(repo.root / "pkg/app.py").as_uri(), type=types.FileChangeType.Deleted
                ),
                types.FileEvent(
                    uri=(repo.root / "pkg/entry.py").as_uri(), type=types.FileChangeType.Created
                ),
            ]
        )
    )

    async def moved() -> list | None:
        rows = db_rows(db, q, "pkg.entry.run")
        return rows or None

    rows = await eventually(moved)
    assert rows == [(run_id,)], "the renamed file's symbol kept its id"
    assert db_rows(db, q, "pkg.app.run") == []

    # 2. In the editor: workspace/didRenameFiles.
    (repo.root / "pkg/entry.py").rename(repo.root / "pkg/main_entry.py")
    client.workspace_did_rename_files(
        types.RenameFilesParams(
            files=[
                types.FileRename(
                    old_uri=(repo.root / "pkg/entry.py").as_uri(),
                    new_uri=(repo.root / "pkg/main_entry.py").as_uri(),
                )
            ]
        )
    )

    async def moved_again() -> list | None:
        return db_rows(db, q, "pkg.main_entry.run") or None

    assert await eventually(moved_again) == [(run_id,)]


async def test_jedi_resolves_in_its_own_process(start_server: StartServer, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit(
        "init",
        {
            "shop/__init__.py": "",
            "shop/cart.py": "class Cart:\n    def total(self):\n        return 1\n\n\n"
            "def make():\n    return [Cart()][0]\n",  # beyond the index's own rules
            "shop/app.py": "from shop.cart import make\n\n\ndef checkout():\n"
            "    cart = make()\n    return cart.total()\n",
        },
    )
    db = tmp_path / "db" / "mira.db"
    client = await start_server(repo.root)
    await wait_for_progress_end(client, "indexing")
    q = (
        "SELECT e.resolved_by, c.qualified_name FROM call_graph e "
        "JOIN code_elements c ON c.id = e.callee_id WHERE e.callee_name = 'total'"
    )

    async def by_jedi() -> list | None:
        return db_rows(db, q) or None

    assert await eventually(by_jedi, timeout=60) == [("jedi", "shop.cart.Cart.total")]
