"""A chat answer's fenced code block that names a file is an artifact (kind ``code``) with its
diff against the file now, offered like a fix, though it carries no position: each definition
it holds replaces the file's definition of that name (re-indented, decorators and signature
included, missing imports added), a block holding the whole file replaces it (kind
``file``); a fragment that cannot be located is kept with no diff and the reason, never
applied; a file outside the workspace stores nothing. Answers come from the real loopback
OpenAI server."""

from __future__ import annotations

import pytest

from mira_ls.features import chat
from mira_ls.llm import patch
from mira_ls.store import artifacts as art_store
from mira_ls.tasks import artifacts
from tests.support.llm_world import APP, World
from tests.support.openai_server import Answer
from tests.test_llm_patch_guard import documents, plant

pytest_plugins = ["tests.llm_fixtures"]

NEW_HELPER = 'def helper(x):\n    """Triple a value."""\n    return x * 3\n'


def ask(world: World, answer: str, state: chat.ChatState | None = None) -> chat.ChatResult:
    world.srv.script(Answer(text=answer))
    session = world.session()
    state = state or chat.ChatState()
    arg = {
        "uri": (world.root / "app.py").as_uri(),
        "position": {"line": 5, "character": 4},
        "question": "Make helper triple its value",
    }
    prep = chat.prepare(state, session, "chat", arg, documents(session), "utf-16")
    return chat.run(state, session, prep, chat.Sink())


@pytest.mark.parametrize(
    "fence",
    ["```python app.py\n", "```python path=app.py\n", "```py:app.py\n", "```python\n# app.py\n"],
)
def test_the_ways_an_answer_names_the_file_of_a_block(fence: str) -> None:
    (b,) = patch.code_blocks(f"Here:\n\n{fence}{NEW_HELPER}```\nDone.")
    assert (b.path, b.text) == ("app.py", NEW_HELPER)


def test_a_block_without_a_path_or_a_diff_is_no_code_block() -> None:
    assert patch.code_blocks(f"```python\n{NEW_HELPER}```\n```diff app.py\n@@\n```") == []


def test_a_definition_in_a_chat_answer_is_an_artifact_and_applies(world: World) -> None:
    state = chat.ChatState()
    result = ask(world, f"Change it so:\n\n```python app.py\n{NEW_HELPER}```\n", state)
    assert result.edit_files == ["app.py"] and result.edit_refused is None
    assert any("mira.applyFix" in n for n in result.notes)
    expected = APP.replace(
        '"""Double a value."""\n    return x * 2', '"""Triple a value."""\n    return x * 3'
    )
    conn = world.store.conn()
    (art,) = art_store.of_operation(conn, result.id)
    assert (art.kind, art.file_path, art.status) == ("code", "app.py", "proposed")
    assert art.original_content == APP and art.content == expected
    assert "-    return x * 2\n" in (art.diff or "") and "+    return x * 3\n" in (art.diff or "")
    assert (art.lines_added, art.lines_removed) == (2, 2)
    # the same offer applyFix applies: a whole-file edit of app.py
    edit = chat.workspace_edit(
        state,
        result.id,
        lambda u: world.root,
        (world.root / "app.py").as_uri(),
        "utf-16",
    )
    assert edit is not None and edit.changes is not None
    ((uri, (te,)),) = edit.changes.items()
    assert uri == (world.root / "app.py").as_uri() and te.new_text == expected
    assert artifacts.applied(world.store, result.id, world.project_id) == 1
    (mod,) = art_store.modifications(conn, world.project_id, "app.py")
    assert (mod.source, mod.artifact_id) == ("artifact", art.id)
    assert (mod.old_hash, mod.new_hash) == (artifacts.sha(APP), artifacts.sha(expected))


def test_a_whole_file_block_replaces_the_file(world: World) -> None:
    whole = APP.replace("hi ", "hello ")
    result = ask(world, f"```python\n# app.py\n{whole}```")
    (art,) = art_store.of_operation(world.store.conn(), result.id)
    assert art.content == whole and (art.lines_added, art.lines_removed) == (1, 1)
    assert art.kind == "file"


def test_a_fragment_is_kept_without_a_diff_and_a_file_outside_is_not_offered(
    world: World,
) -> None:
    result = ask(world, "```python app.py\n    return x * 3\n```")
    assert result.edit_files == []
    assert result.edit_refused == (
        "No edit is offered: the code block for app.py is neither the whole file nor one "
        "definition in it (`return x * 3` is outside any definition)."
    )
    # not dropped: kept as an artifact with the block, the file then, no diff, the reason
    (art,) = art_store.of_operation(world.store.conn(), result.id)
    assert (art.kind, art.file_path, art.status, art.diff) == ("code", "app.py", "proposed", None)
    assert art.content == "    return x * 3\n" and art.original_content == APP
    assert not art.placed and "not placed" in (art.title or "")
    assert "outside any definition" in (art.title or "")
    assert any(f"kept as artifact {art.id} without a diff" in n for n in result.notes)
    # never applied, never asked about
    assert artifacts.applied(world.store, result.id, world.project_id) == 0
    assert artifacts.changed_since(world.store, result.id, lambda p: "changed") == []
    assert art_store.modifications(world.store.conn(), world.project_id, "app.py") == []
    plant(world)
    result = ask(world, "```python ../outside.py\nVALUE = 2\n```")
    assert result.edit_files == [] and "outside the workspace" in (result.edit_refused or "")
    assert art_store.of_operation(world.store.conn(), result.id) == []
    assert (world.root.parent / "outside.py").read_text() == "VALUE = 1\n"


def test_a_changed_signature_is_found_by_its_name_and_offered(world: World) -> None:
    block = 'def helper(x, factor=3):\n    """Scale a value."""\n    return x * factor\n'
    result = ask(world, f"```python app.py\n{block}```")
    assert result.edit_files == ["app.py"]
    (art,) = art_store.of_operation(world.store.conn(), result.id)
    assert art.kind == "code" and art.placed
    assert art.content == APP.replace(
        'def helper(x):\n    """Double a value."""\n    return x * 2\n', block
    )
    assert "-def helper(x):\n" in (art.diff or "") and "+def helper(x, factor=3):\n" in (
        art.diff or ""
    )


def test_blocks_placed_and_not_placed_in_one_answer(world: World) -> None:
    method = 'def greet(self, name):\n    return "hello " + name\n'
    answer = f"```python app.py\n{method}```\n\n```python app.py\ndef missing():\n    pass\n```\n"
    result = ask(world, answer)
    assert result.edit_files == ["app.py"] and result.edit_refused is None
    arts = art_store.of_operation(world.store.conn(), result.id)
    ((placed,), (kept,)) = [a for a in arts if a.placed], [a for a in arts if not a.placed]
    # the method, given without its class's indentation, replaces Greeter.greet in place
    assert placed.placed and placed.content == APP.replace('"hi " + name', '"hello " + name')
    assert not kept.placed and kept.original_content == APP and kept.diff is None
    assert kept.title == (
        "code for app.py, not placed: app.py has no definition named missing for the code block"
    )
    assert artifacts.applied(world.store, result.id, world.project_id) == 1
    after = {a.id: a.status for a in art_store.of_operation(world.store.conn(), result.id)}
    assert after == {placed.id: "applied", kept.id: "proposed"}


FILE = """\"\"\"Mod.\"\"\"
import os


class A:
    def __init__(self):
        self.x = 1

    @property
    def size(
        self,
    ) -> int:
        return 1


class B:
    def __init__(self):
        self.y = 2


def helper(x):
    return x * 2


def main():
    return helper(21)
"""


def _place(block: str, text: str = FILE) -> patch.Placing:
    return patch.place(text, block, "mod.py")


def test_place_replaces_each_definition_with_its_decorators_and_signature() -> None:
    block = "@property\ndef size(self) -> int:\n    return 2\n"
    got = _place(block)
    assert got.text == FILE.replace(
        "    @property\n    def size(\n        self,\n    ) -> int:\n        return 1\n",
        "    @property\n    def size(self) -> int:\n        return 2\n",
    )
    two = "def helper(x):\n    return x * 3\n\n\ndef main():\n    return helper(14)\n"
    got = _place(two)
    assert not got.whole
    assert got.text == FILE.replace("x * 2", "x * 3").replace("helper(21)", "helper(14)")


def test_place_adds_the_imports_a_fragment_needs_once() -> None:
    block = "import os\nimport math\n\n\ndef helper(x):\n    return math.floor(x)\n"
    got = _place(block)
    assert got.text == FILE.replace("import os\n", "import os\nimport math\n").replace(
        "return x * 2", "return math.floor(x)"
    )
    # no imports in the file: after its docstring
    got = patch.place(APP, "import math\n\ndef helper(x):\n    return math.pi\n", "app.py")
    assert got.text is not None and got.text.startswith('"""App."""\nimport math\n')


def test_place_says_why_a_fragment_cannot_be_placed() -> None:
    assert _place("def __init__(self):\n    self.z = 3\n").reason == (
        "mod.py defines __init__ 2 times and the code block does not say which one it replaces"
    )
    assert _place("def nowhere():\n    pass\n").reason == (
        "mod.py has no definition named nowhere for the code block"
    )
    assert "`x = compute()` is outside any definition" in (
        _place("x = compute()\n\ndef main():\n    pass\n").reason or ""
    )
    assert _place("   \n").reason == "the code block for mod.py is empty"


def test_place_does_not_take_a_fragment_for_the_whole_file() -> None:
    """Most of the file's lines, but not its every definition: a fragment (class A and B
    stay)."""
    block = (
        "class A:\n    def __init__(self):\n        self.x = 10\n\n"
        "    @property\n    def size(self) -> int:\n        return 1\n\n\n"
        "def helper(x):\n    return x * 2\n\n\ndef main():\n    return helper(2)\n"
    )
    got = _place(block)
    assert not got.whole and got.text is not None
    assert "class B:" in got.text and "self.x = 10" in got.text and "helper(2)" in got.text
    assert got.text.count("class A:") == 1


def test_place_a_braced_function_includes_its_closing_brace() -> None:
    js = "function a() {\n  return 1;\n}\n\nfunction b() {\n  return 2;\n}\n"
    got = patch.place(js, "function a() {\n  return 3;\n}\n", "m.js")
    assert got.text == js.replace("return 1", "return 3")


def test_place_a_files_only_definition_keeps_its_docstring_and_imports() -> None:
    text = '"""Doc."""\nimport os\n\n\ndef f():\n    return 1\n'
    got = patch.place(text, "def f():\n    return 2\n", "f.py")
    assert not got.whole and got.text == text.replace("return 1", "return 2")
    whole = '"""Doc, new."""\nimport os\n\n\ndef f():\n    return 2\n'
    got = patch.place(text, whole, "f.py")
    assert got.whole and got.text == whole
