"""A fix an answer proposes is an artifact with its diff against the file at the time;
applying it records a file modification with before/after hashes; saving the original text
again records the revert; the build error it was made for coming back in a later run is held
against it. A patch aimed outside the workspace stores nothing."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from mira_ls.build.model import BuildCommand
from mira_ls.build.pipeline import run_build
from mira_ls.config import BuildSettings
from mira_ls.features import chat
from mira_ls.store import artifacts as art_store
from mira_ls.store import build_errors as error_store
from mira_ls.tasks import artifacts, operations
from tests.support.llm_world import APP, World
from tests.test_llm_patch_guard import diff_answer, fix_error, plant

pytest_plugins = ["tests.llm_fixtures"]


def test_a_proposed_fix_is_an_artifact_and_applying_and_reverting_it_are_recorded(
    world: World,
) -> None:
    result = fix_error(world, diff_answer("app.py", "    return x * 2", "    return x * 3"))
    assert result.edit_files == ["app.py"]
    conn = world.store.conn()
    (art,) = art_store.of_operation(conn, result.id)
    fixed = APP.replace("x * 2", "x * 3")
    assert (art.kind, art.file_path, art.status) == ("patch", "app.py", "proposed")
    assert art.original_content == APP and art.original_hash == artifacts.sha(APP)
    assert art.content == fixed and art.content_hash == artifacts.sha(fixed)
    assert "-    return x * 2\n+    return x * 3" in (art.diff or "")
    assert (art.lines_added, art.lines_removed) == (1, 1)
    # the file is as the fix expects: nothing to ask; then the editor applies it
    assert chat.changed_since_offer(world.store, result.id, lambda rel: APP) == []
    assert artifacts.applied(world.store, result.id, world.project_id) == 1
    (mod,) = art_store.modifications(conn, world.project_id, "app.py")
    assert (mod.source, mod.artifact_id, mod.operation_id) == ("artifact", art.id, result.id)
    assert (mod.old_hash, mod.new_hash) == (artifacts.sha(APP), artifacts.sha(fixed))
    assert art_store.of_operation(conn, result.id)[0].status == "applied"
    assert artifacts.applied(world.store, result.id, world.project_id) == 0  # once only
    # saving the fixed text is no revert; saving the original text again is
    assert artifacts.saved(world.store, world.project_id, "app.py", fixed) == []
    assert artifacts.saved(world.store, world.project_id, "app.py", APP) == [art.id]
    mods = art_store.modifications(conn, world.project_id, "app.py")
    assert [m.source for m in mods] == ["artifact", "user"]
    assert (mods[1].old_hash, mods[1].new_hash) == (artifacts.sha(fixed), artifacts.sha(APP))
    assert art_store.of_operation(conn, result.id)[0].status == "reverted"


def test_a_file_changed_since_the_fix_is_named_before_applying(world: World) -> None:
    result = fix_error(world, diff_answer("app.py", "    return x * 2", "    return x * 3"))
    assert chat.changed_since_offer(world.store, result.id, lambda rel: APP + "# edited\n") == [
        "app.py"
    ]
    assert chat.changed_since_offer(world.store, result.id, lambda rel: None) == ["app.py"]


def test_a_patch_aimed_at_a_file_outside_the_workspace_stores_no_artifact(world: World) -> None:
    plant(world)
    result = fix_error(world, diff_answer("../outside.py", "VALUE = 1", "VALUE = 2"))
    assert result.edit_files == [] and "outside the workspace" in (result.edit_refused or "")
    assert art_store.of_operation(world.store.conn(), result.id) == []
    assert (world.root.parent / "outside.py").read_text() == "VALUE = 1\n"


CHECKER = """import pathlib, sys
text = pathlib.Path("app.py").read_text()
if "x * 4" not in text:
    line = text.splitlines().index("    return " + text.split("return ")[1].splitlines()[0]) + 1
    print(f"app.py:{line}:5: error: expected 63, got 42 [T1]")
    sys.exit(1)
"""


def _build(world: World) -> int:
    (world.root / "checker.py").write_text(CHECKER)
    cmd = BuildCommand("check", (sys.executable, "checker.py"), "generic")
    report = run_build(world.store, world.project_id, world.root, [cmd], BuildSettings())
    return report.steps[0].run_id


def fixes(world: World) -> list[dict[str, Any]]:
    ops = operations.listed(world.store, project_id=world.project_id)
    return [o for o in ops if o["kind"] == "fix_error"]


def _apply(world: World, answer_id: str) -> None:
    (art,) = art_store.of_operation(world.store.conn(), answer_id)
    (world.root / "app.py").write_text(art.content)
    assert artifacts.applied(world.store, answer_id, world.project_id) == 1


@pytest.mark.parametrize(("new", "fixed"), [("x * 3", False), ("x * 4", True)])
def test_an_error_that_comes_back_after_the_fix_is_held_against_it(
    world: World, new: str, fixed: bool
) -> None:
    first = _build(world)
    (err,) = error_store.list_errors(world.store.conn(), world.project_id)
    assert (err.file_path, err.line, err.message) == ("app.py", 6, "expected 63, got 42")
    result = fix_error(world, diff_answer("app.py", "    return x * 2", f"    return {new}"))
    _build(world)  # the fix is not applied yet: the error being there again says nothing
    _apply(world, result.id)
    later = _build(world)
    assert later > first
    (op,) = fixes(world)
    assert op["id"] == result.id and op["status"] == "done"
    notes = [e for e in op["events"] if e["status"] == "not_fixed"]
    line = operations.line_of(op)
    if fixed:
        assert notes == [] and "did not fix" not in line
        return
    (art,) = art_store.of_operation(world.store.conn(), result.id)
    assert [(n["artifact_id"], n["error_id"], n["run_id"], n["file"]) for n in notes] == [
        (art.id, err.id, later, "app.py")
    ]
    assert (
        f"did not fix it: 'expected 63, got 42' came back in build run {later} after the fix "
        "of app.py was applied"
    ) in line
    _build(world)  # held once, not at every later run
    (op,) = fixes(world)
    assert len([e for e in op["events"] if e["status"] == "not_fixed"]) == 1
