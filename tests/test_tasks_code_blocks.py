"""A chat answer's fenced code block that names a file is an artifact (kind ``code``) with its
diff against the file now, offered like a fix: one definition it opens is replaced, a block
holding the whole file replaces it, a fragment that could go anywhere or a file outside the
workspace is not offered. Answers come from the real loopback OpenAI server."""

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


def test_a_fragment_or_a_file_outside_is_not_offered(world: World) -> None:
    result = ask(world, "```python app.py\n    return x * 3\n```")
    assert result.edit_files == []
    assert result.edit_refused == (
        "No edit is offered: the code block for app.py is neither the whole file nor one "
        "definition in it."
    )
    plant(world)
    result = ask(world, "```python ../outside.py\nVALUE = 2\n```")
    assert result.edit_files == [] and "outside the workspace" in (result.edit_refused or "")
    assert art_store.of_operation(world.store.conn(), result.id) == []
    assert (world.root.parent / "outside.py").read_text() == "VALUE = 1\n"
