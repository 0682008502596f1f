"""Tasks per project and their decomposition by the LLM: a structured answer checked
against the schema, a hierarchy of subtasks with resolved files and symbols, one retry on
an invalid answer, then a failed operation with a sentence and nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mira_ls.llm.structured import StructuredInvalid
from mira_ls.store import operations as op_store
from mira_ls.tasks import core, decompose
from tests.support.cli import run_cli
from tests.support.llm_world import APP, World
from tests.support.openai_server import Answer

pytest_plugins = ["tests.llm_fixtures"]


def _node(
    key: str, parent: str | None, title: str, files: list[str], symbols: list[str]
) -> dict[str, Any]:
    return {"key": key, "parent": parent, "title": title, "rationale": f"because {title}",
            "files": files, "symbols": symbols}  # fmt: skip


PLAN = {
    "subtasks": [
        _node(
            "a",
            None,
            "Make helper configurable",
            ["app.py", "missing.py"],
            ["helper", "NoSuchThing"],
        ),
        _node("a1", "a", "Add a factor parameter", [], ["helper"]),
        _node("b", None, "Greet politely", ["app.py"], ["Greeter.greet"]),
    ]
}


def _count_tasks(world: World) -> int:
    return int(world.store.conn().execute("SELECT count(*) FROM project_tasks").fetchone()[0])


def test_decomposition_creates_the_hierarchy_with_resolved_symbols(world: World) -> None:
    task = core.create(world.store, world.project_id, "Make the app friendlier", "nicer output")
    world.srv.script(Answer(text=json.dumps(PLAN), prompt_tokens=700, completion_tokens=120))
    d = decompose.decompose(world.store, world.service(), world.project_id, task.id)
    # what was asked: a strict json_schema at a low effort, the task and the project's files
    body = world.srv.chat_requests()[-1].body
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == decompose.SCHEMA
    assert body["reasoning_effort"] == "low"
    user = body["messages"][-1]["content"]
    assert "Make the app friendlier" in user and "nicer output" in user and "- app.py" in user
    # the hierarchy: a and b under the task, a1 under a; rationale kept; source llm
    by_title = {t.title: t for t in d.subtasks}
    a, a1, b = (
        by_title[n]
        for n in ("Make helper configurable", "Add a factor parameter", "Greet politely")
    )
    assert a.parent_id == task.id and b.parent_id == task.id and a1.parent_id == a.id
    assert a.rationale == "because Make helper configurable" and a.source == "llm"
    assert all(t.status == "todo" for t in d.subtasks)
    # targets: resolved against the index, unknown names kept as text
    ta = {(x.kind, x.name): x for x in a.targets}
    assert ta[("file", "app.py")].file_path == "app.py"
    assert ta[("file", "missing.py")].file_path is None
    helper = ta[("symbol", "helper")]
    assert helper.file_path == "app.py" and helper.line == 4 and helper.symbol_id is not None
    assert (
        ta[("symbol", "NoSuchThing")].file_path is None
        and ta[("symbol", "NoSuchThing")].symbol_id is None
    )
    greet = next(x for x in b.targets if x.name == "Greeter.greet")
    greet_line = APP.splitlines().index("    def greet(self, name):") + 1
    assert greet.file_path == "app.py" and greet.line == greet_line
    # the operation: decompose, done, cost as the budget recorded it
    op = op_store.get(world.store.conn(), d.operation)
    assert op is not None and op.command == "decompose" and op.shown_status == "done"
    assert op.task_id == task.id and op.cost_micro == d.cost_micro > 0
    assert op.cost_micro == op_store.budget_cost(world.store.conn(), op.id)
    assert [e.data["status"] for e in op.events] == ["pending", "running", "done"]
    # asked again: the cache answers (schema hash in the key), no second call
    again = decompose.decompose(world.store, world.service(), world.project_id, task.id)
    assert again.cached and again.cost_micro == 0 and len(world.srv.chat_requests()) == 1


def test_invalid_json_is_retried_once_then_fails_with_nothing_written(world: World) -> None:
    task = core.create(world.store, world.project_id, "Something vague")
    before = _count_tasks(world)
    world.srv.script(
        Answer(
            text='{"subtasks": [{"key": "a", "title": "no parent field"',
            prompt_tokens=300,
            completion_tokens=20,
        ),
        Answer(
            text=json.dumps({"subtasks": [{"key": "a"}]}), prompt_tokens=300, completion_tokens=20
        ),
    )
    with pytest.raises(StructuredInvalid) as info:
        decompose.decompose(world.store, world.service(), world.project_id, task.id)
    assert "nothing was saved" in str(info.value)
    assert _count_tasks(world) == before
    sent = world.srv.chat_requests()
    assert len(sent) == 2
    retry = sent[1].body["messages"][-1]["content"]
    assert "cannot be used" in retry and "not valid JSON" in retry
    ops = op_store.listed(world.store.conn(), task_id=task.id)
    assert len(ops) == 1 and ops[0].shown_status == "failed" and ops[0].error == str(info.value)
    assert ops[0].cost_micro == op_store.budget_cost(world.store.conn(), ops[0].id) > 0
    assert decompose.validate({"subtasks": [{"key": "a"}]}) is not None


def test_an_invalid_first_answer_is_retried_and_the_second_used(world: World) -> None:
    task = core.create(world.store, world.project_id, "Greet")
    bad = {"subtasks": [_node("x", "nope", "Dangling parent", [], [])]}
    world.srv.script(Answer(text=json.dumps(bad)), Answer(text=json.dumps(PLAN)))
    d = decompose.decompose(world.store, world.service(), world.project_id, task.id)
    assert len(d.subtasks) == 3 and len(world.srv.chat_requests()) == 2
    assert (
        "parent must be null or the key of an earlier subtask"
        in (world.srv.chat_requests()[1].body["messages"][-1]["content"])
    )


def test_task_cli_add_list_show_and_errors(world: World) -> None:
    env = {"MIRA_DB": str(world.store.path)}
    added = run_cli("task", "add", "Add retry to upload", "--description", "with backoff", "--json",
                    env=env, cwd=world.root)  # fmt: skip
    assert added.returncode == 0, added.stderr
    t = json.loads(added.stdout)
    assert t["title"] == "Add retry to upload" and t["status"] == "todo"
    sub = run_cli(
        "task", "add", "Write the test", "--parent", str(t["id"]), env=env, cwd=world.root
    )
    assert sub.returncode == 0 and "added task" in sub.stdout
    listed = run_cli("task", "list", env=env, cwd=world.root)
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("[ ]") and "Add retry to upload" in lines[0]
    assert lines[1].startswith("  [ ]") and "Write the test" in lines[1]
    shown = json.loads(
        run_cli("task", "show", str(t["id"]), "--json", env=env, cwd=world.root).stdout
    )
    assert [s["title"] for s in shown["subtasks"]] == ["Write the test"]
    missing = run_cli("task", "show", "999", env=env, cwd=world.root)
    assert (
        missing.returncode == 1
        and "no task 999" in missing.stderr
        and "Traceback" not in missing.stderr
    )
    empty = run_cli("task", "add", "  ", env=env, cwd=world.root)
    assert empty.returncode == 1 and "needs a title" in empty.stderr
    bad = run_cli("task", "list", "--status", "later", env=env, cwd=world.root)
    assert bad.returncode == 1 and "todo, doing, done" in bad.stderr
