"""Task sessions and context snapshots on a real git repository the test advances: pause
records branch, HEAD, modified files, open build errors, asked-about symbols, the chat
session and notes; resume says what changed since and puts it all into the chat context."""

from __future__ import annotations

import pytest

from mira_ls.features import chat
from mira_ls.llm.context import assemble, assemble_unplaced
from mira_ls.store import operations as op_store
from mira_ls.store import tasks as task_store
from mira_ls.tasks import core
from mira_ls.tasks.snapshot import branch_and_head
from tests.support.llm_world import APP, World
from tests.support.openai_server import Answer
from tests.support.repo import git

pytest_plugins = ["tests.llm_fixtures"]


def _open_error(world: World) -> None:
    with world.store.write() as c:
        c.execute(
            "INSERT INTO build_runs(id, project_id, name, tool, command, cwd) VALUES "
            "(1, ?, 'mypy', 'mypy', '[\"mypy\"]', '.')",
            (world.project_id,),
        )
        c.execute(
            "INSERT INTO build_errors(id, project_id, error_hash, tool, code, category, "
            "message, normalized_message, file_path, line, col) VALUES (1, ?, 'e1', "
            "'mypy', 'arg-type', 'type', 'Argument 1 to \"helper\" has incompatible type',"
            " 'argument to helper', 'app.py', 10, 12)",
            (world.project_id,),
        )


def _task_section(world: World, needle: str = "def main") -> str:
    where = world.where(needle)
    b = assemble(world.store, where, world.session().parse("app.py", where.text), budget=8000)
    found = [s for s in b.sections if s.kind == "task"]
    return found[0].body if found else ""


def test_pause_and_resume_restore_the_context_and_say_what_changed(world: World) -> None:
    pid, root = world.project_id, world.root
    task = core.create(world.store, pid, "Add retry with backoff", "to the uploader")
    assert _task_section(world) == ""  # no current task, no section
    started = core.start(world.store, pid, root, task.id)
    assert started.message == f"Started task {task.id}: Add retry with backoff."
    assert core.current(world.store, pid) == task.id and started.task.status == "doing"
    # a question about helper while the task is current: its operation belongs to the task
    world.srv.script(Answer(text="It doubles x.", prompt_tokens=400, completion_tokens=10))
    prep = chat.Prepared("explain", "Explain helper", world.question("def helper", "Explain"))
    asked = chat.run(chat.ChatState(), world.session(), prep, chat.Sink())
    op = op_store.get(world.store.conn(), asked.id)
    assert op is not None and op.task_id == task.id
    # where the work stands: an uncommitted edit, an open build error
    (root / "app.py").write_text(APP + "\n\ndef upload():\n    return None\n")
    _open_error(world)
    branch, head = branch_and_head(root)
    assert branch and head == world.repo.head()
    paused = core.pause(world.store, pid, root, task.id, "try jitter next")
    snap = paused.snapshot
    assert (snap.branch, snap.head) == (branch, head)
    assert snap.modified == ["app.py"]
    assert [(e["file"], e["line"], e["code"]) for e in snap.errors] == [("app.py", 10, "arg-type")]
    assert snap.symbols == ["app.helper"] and snap.chat_session == asked.session
    assert snap.notes == "try jitter next"
    assert core.current(world.store, pid) is None and _task_section(world) == ""
    assert "1 open build errors" in paused.message and "1 modified files" in paused.message
    # meanwhile: the edit is committed with a new file, and another file is edited
    files = {"app.py": (root / "app.py").read_text(), "retry.py": "def backoff():\n    pass\n"}
    sha = world.repo.commit("Add upload with retry", files)
    (root / "CLAUDE.md").write_text("Prefer small functions.\nAnd tests.\n")
    resumed = core.start(world.store, pid, root, task.id)
    ch = resumed.changes
    assert ch is not None and not ch.diverged and ch.branch_now == branch
    assert [c["sha"] for c in ch.commits] == [sha]
    assert ch.commits[0]["subject"] == "Add upload with retry"
    assert ch.files == ["app.py", "retry.py"]
    assert ch.newly_modified == ["CLAUDE.md"] and ch.no_longer_modified == ["app.py"]
    assert resumed.message.startswith(f"Resumed task {task.id}: Add retry with backoff.")
    assert "1 commit (" in resumed.message and sha[:8] in resumed.message
    assert "with 1 open build errors" in resumed.message
    session = task_store.current_session(world.store.conn(), task.id)
    assert session is not None and session.files_modified == ["CLAUDE.md", "app.py", "retry.py"]
    # the chat context: you were here, these errors were open, this changed since
    body = _task_section(world)
    assert "Add retry with backoff" in body and "to the uploader" in body
    assert f"branch {branch} at {head[:10]}" in body
    assert "modified files then: app.py" in body
    assert "open build error then: app.py:10 arg-type" in body
    assert "asked about: app.helper" in body and "notes: try jitter next" in body
    assert f"commits {sha[:8]} Add upload with retry" in body
    assert "files changed CLAUDE.md, app.py, retry.py" in body
    unplaced = assemble_unplaced(world.store, world.settings, pid, root, "what next?")
    assert unplaced is not None and "task" in [s.kind for s in unplaced.sections]
    # starting it again changes nothing; starting another task pauses this one
    assert core.start(world.store, pid, root, task.id).already
    other = core.create(world.store, pid, "Something else")
    switched = core.start(world.store, pid, root, other.id)
    assert switched.paused_other == task.id and f"Task {task.id} was paused." in switched.message
    assert core.current(world.store, pid) == other.id
    done = core.finish(world.store, pid, root, other.id)
    assert done.task.status == "done" and core.current(world.store, pid) is None


def test_resume_after_a_rebase_says_head_no_longer_contains_the_pause(world: World) -> None:
    pid, root = world.project_id, world.root
    task = core.create(world.store, pid, "Rebased work")
    core.start(world.store, pid, root, task.id)
    world.repo.commit("Work in progress", {"wip.py": "x = 1\n"})
    core.pause(world.store, pid, root, task.id)
    git(root, "reset", "--hard", "HEAD~1")
    sha = world.repo.commit("Other work", {"other.py": "y = 2\n"})
    ch = core.start(world.store, pid, root, task.id).changes
    assert ch is not None and ch.diverged
    assert [c["sha"] for c in ch.commits] == [sha]
    assert "no longer contains" in ch.sentence()


def test_pausing_a_task_that_is_not_started_is_a_sentence(world: World) -> None:
    task = core.create(world.store, world.project_id, "Idle")
    with pytest.raises(core.TaskError, match="not started"):
        core.pause(world.store, world.project_id, world.root, task.id)
    with pytest.raises(core.TaskError, match="no task 999"):
        core.start(world.store, world.project_id, world.root, 999)


def test_a_pause_names_the_definitions_edited_during_the_task(world: World) -> None:
    pid, root = world.project_id, world.root
    with world.store.write() as c:  # the workspace was indexed well before the task began
        c.execute(
            "UPDATE code_elements SET created_at = created_at - 600, "
            "updated_at = updated_at - 600 WHERE project_id = ?",
            (pid,),
        )
    task = core.create(world.store, pid, "Triple it")
    core.start(world.store, pid, root, task.id)
    (root / "app.py").write_text(
        APP.replace("x * 2", "x * 3") + "\n\ndef upload():\n    return None\n"
    )
    world.reindex()  # what a save does
    snap = core.pause(world.store, pid, root, task.id).snapshot
    assert snap.edited == ["app.helper", "app.upload"]  # not main, Greeter: unchanged
    core.start(world.store, pid, root, task.id)
    assert "edited: app.helper, app.upload" in _task_section(world)
