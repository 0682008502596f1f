"""Every chat command is one operation: events in order, model, effort, tokens, the cost
the budget recorded, cache hits, failures with the sentence the user saw, `mira-ls ops`.
A build is one too."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from mira_ls.build.model import BuildCommand
from mira_ls.build.pipeline import run_build
from mira_ls.config import BuildSettings
from mira_ls.features import chat
from mira_ls.llm.errors import LlmError
from mira_ls.store import operations as op_store
from mira_ls.tasks import operations
from tests.support.cli import run_cli
from tests.support.llm_world import World
from tests.support.openai_server import Answer, Error

pytest_plugins = ["tests.llm_fixtures"]


def _ask(
    world: World, state: chat.ChatState, ask: str, sink: chat.Sink | None = None
) -> chat.ChatResult:
    prep = chat.Prepared("chat", ask[:60], world.question("def main", ask))
    return chat.run(state, world.session(), prep, sink or chat.Sink())


def op_listed(world: World) -> list[dict[str, Any]]:
    return operations.listed(world.store, project_id=world.project_id)


def _statuses(op: op_store.OperationRow) -> list[str]:
    return [e.data["status"] for e in op.events]


def _budget_rows(world: World, op_id: str) -> list[tuple[str, int]]:
    return (
        world.store.conn()
        .execute(
            "SELECT b.status, b.cost_micro FROM operation_requests r JOIN budget_tracking b "
            "ON b.request_id = r.request_id WHERE r.operation_id = ?",
            (op_id,),
        )
        .fetchall()
    )


def test_a_chat_is_one_operation_with_its_events_cost_and_cache_hit(world: World) -> None:
    world.srv.script(
        Answer(text="main returns forty two.", prompt_tokens=900, completion_tokens=40)
    )
    state = chat.ChatState()
    first = _ask(world, state, "What does main return?")
    conn = world.store.conn()
    op = op_store.get(conn, first.id)
    assert op is not None
    assert op.command == "chat" and op.kind == "chat" and op.shown_status == "done"
    assert _statuses(op) == ["pending", "running", "streaming", "done"]
    assert [e.seq for e in op.events] == [0, 1, 2, 3]
    assert op.model == "gpt-5.1" and op.reasoning_effort == "medium"
    assert (op.input_tokens, op.output_tokens) == (900, 40)
    assert op.cost_micro == round(first.cost_usd * 1_000_000) > 0
    rows = _budget_rows(world, first.id)
    assert [r[0] for r in rows] == ["settled"]
    assert op.cost_micro == sum(r[1] for r in rows) == op_store.budget_cost(conn, first.id)
    assert not op.from_cache and op.error is None and op.answer_path == first.file
    assert op.session_id == first.session
    # the same question again: answered from the cache, cost 0, linked to the cache-hit row
    second = _ask(world, state, "What does main return?")
    assert second.cached and len(world.srv.chat_requests()) == 1
    hit = op_store.get(conn, second.id)
    assert hit is not None and hit.from_cache and hit.cost_micro == 0
    assert _statuses(hit) == ["pending", "running", "streaming", "done"]
    assert [r[0] for r in _budget_rows(world, second.id)] == ["cache_hit"]


def test_a_failed_chat_keeps_the_sentence_the_user_saw(world: World) -> None:
    world.srv.script(Error(400, "The model `nope` does not exist", code="model_not_found"))
    state = chat.ChatState()
    with pytest.raises(LlmError) as info:
        _ask(world, state, "Anything?")
    ops = op_store.listed(world.store.conn(), project_id=world.project_id)
    assert len(ops) == 1
    op = ops[0]
    assert op.shown_status == "failed" and _statuses(op) == ["pending", "running", "failed"]
    assert op.error == str(info.value) and "nope" in op.error
    assert op.events[-1].data["error"] == op.error
    assert op.cost_micro == op_store.budget_cost(world.store.conn(), op.id) == 0
    assert [r[0] for r in _budget_rows(world, op.id)] == ["error"]


def test_a_cancelled_chat_is_cancelled_with_what_it_cost(world: World) -> None:
    world.srv.script(
        Answer(text="one two three four five six", chunks=["one ", "two ", "three ", "four "],
               chunk_delay_s=0.2, prompt_tokens=100, completion_tokens=6)
    )  # fmt: skip
    seen: list[str] = []
    sink = chat.Sink(lambda text, seq: seen.append(text), lambda: bool(seen))
    result = _ask(world, chat.ChatState(), "Count please", sink)
    assert result.cancelled
    op = op_store.get(world.store.conn(), result.id)
    assert op is not None and op.shown_status == "cancelled"
    assert _statuses(op) == ["pending", "running", "streaming", "cancelled"]
    assert op.cost_micro == op_store.budget_cost(world.store.conn(), op.id) > 0


def test_ops_command_lists_operations_with_events_as_json(world: World) -> None:
    world.srv.script(Answer(text="Forty-two.", prompt_tokens=500, completion_tokens=10))
    result = _ask(world, chat.ChatState(), "What is the answer?")
    env = {"MIRA_DB": str(world.store.path)}
    out = run_cli("ops", "--json", env=env, cwd=world.root)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [d["id"] for d in data] == [result.id]
    d = data[0]
    assert d["kind"] == "chat" and d["status"] == "done" and d["model"] == "gpt-5.1"
    assert d["cost_usd"] == pytest.approx(result.cost_usd)
    assert [e["status"] for e in d["events"]] == ["pending", "running", "streaming", "done"]
    text = run_cli("ops", env=env, cwd=world.root)
    assert (
        text.returncode == 0 and result.id in text.stdout and "What is the answer?" in text.stdout
    )
    bad = run_cli("ops", "--limit", "0", env=env, cwd=world.root)
    assert bad.returncode == 2 and "--limit" in bad.stderr


def test_a_build_is_an_operation_and_a_crashed_step_keeps_its_sentence(
    world: World,
) -> None:
    (world.root / "check.py").write_text(
        "print('app.py:6:5: error: bad [T1]')\nraise SystemExit(1)\n"
    )
    ok = BuildCommand("check", (sys.executable, "check.py"), "generic")
    crash = BuildCommand("crash", (sys.executable, "-c", "import os; os.abort()"), "generic")
    settings = BuildSettings()
    run_build(world.store, world.project_id, world.root, [ok], settings)
    report = run_build(world.store, world.project_id, world.root, [ok, crash], settings)
    failed, done = [o for o in op_listed(world) if o["kind"] == "build"]
    assert (done["status"], done["request"], done["error"]) == ("done", "check", None)
    assert [e["status"] for e in done["events"]] == ["pending", "running", "done"]
    assert done["events"][1]["commands"] == ["check"]
    assert (failed["status"], failed["request"]) == ("failed", "check, crash")
    assert failed["error"] == report.steps[1].message and failed["error"]
    assert [e["status"] for e in failed["events"]] == ["pending", "running", "failed"]
