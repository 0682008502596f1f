"""A message-analysis run (`mira-ls memory analyze`, the job the server queues after chats)
is one operation: events in order, the model and effort it ran at, its tokens, a cost equal
to its budget_tracking rows (the analysis calls and the embeddings), and a failed run keeps
the sentence the user saw. `mira-ls ops --json` lists it."""

from __future__ import annotations

import json
from typing import Any

from mira_ls.store import operations as op_store
from tests.support.cli import run_cli
from tests.support.llm_world import KEY, World
from tests.support.openai_server import Error
from tests.test_memory_analysis import scripted, talk, through_runner

pytest_plugins = ["tests.llm_fixtures"]


def _ops(world: World) -> list[op_store.OperationRow]:
    """The analysis runs (the fact extraction after one is its own operation, memory_facts)."""
    return [o for o in op_store.listed(world.store.conn()) if o.command == "memory_analysis"]


def _statuses(op: op_store.OperationRow) -> list[str]:
    return [e.data["status"] for e in op.events]


def _linked(world: World, op_id: str) -> list[tuple[str, str, int]]:
    return [
        tuple(r)
        for r in world.store.conn().execute(
            "SELECT b.operation, b.status, b.cost_micro FROM operation_requests r "
            "JOIN budget_tracking b ON b.request_id = r.request_id WHERE r.operation_id = ? "
            "ORDER BY b.operation",
            (op_id,),
        )
    ]


def _cli_env(world: World) -> dict[str, str]:
    return {
        "MIRA_DB": str(world.store.path),
        "MIRA_OPENAI_API_KEY": KEY,
        "MIRA_LLM_BASE_URL": world.srv.base_url,
        "MIRA_LLM_MAX_RETRIES": "0",
    }


def test_an_analysis_run_is_one_operation_costing_its_budget_rows(world: World) -> None:
    scripted(world)
    talk(world, [("I always want pytest, never unittest.", "Noted: pytest."),
                 ("How do I run one test?", "Use pytest -k NAME.")])  # fmt: skip
    run = through_runner(world)
    assert run.analysed == 4 and run.embedded == 4
    ops = _ops(world)
    assert len(ops) == 1
    op = ops[0]
    assert (op.command, op.kind, op.shown_status) == ("memory_analysis", "analyze", "done")
    assert _statuses(op) == ["pending", "running", "done"]
    assert [e.seq for e in op.events] == [0, 1, 2]
    assert op.events[1].data["model"] == "gpt-5.1" and op.events[1].data["effort"] == "none"
    assert op.model == "gpt-5.1" and op.reasoning_effort == "none"
    assert (op.input_tokens, op.output_tokens) == (300, 60)
    assert op.request == "analyse 4 chat messages" and op.project_id == world.project_id
    assert op.error is None and not op.from_cache
    # its cost is what the budget recorded for its calls: the analysis and the embeddings
    linked = _linked(world, op.id)
    assert [(r[0], r[1]) for r in linked] == [
        ("embed_memory", "settled"),
        ("memory_analysis", "settled"),
    ]
    total = (
        world.store.conn()
        .execute("SELECT sum(cost_micro) FROM budget_tracking WHERE operation != 'memory_facts'")
        .fetchone()
    )
    assert op.cost_micro == sum(r[2] for r in linked) == total[0] > 0
    assert op.cost_micro == op_store.budget_cost(world.store.conn(), op.id) == run.cost_micro
    # nothing left to analyse: no further operation
    through_runner(world)
    assert len(_ops(world)) == 1


def test_memory_analyze_is_listed_by_ops_json(world: World) -> None:
    scripted(world)
    talk(world, [("We deploy with fly.io.", "Noted.")])
    env = _cli_env(world)
    out = run_cli("memory", "analyze", "--json", env=env, cwd=world.root,
                  unset=["OPENAI_API_KEY"])  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["analysed"] == 2
    listed = run_cli("ops", "--json", env=env, cwd=world.root)
    assert listed.returncode == 0, listed.stderr
    data: list[dict[str, Any]] = json.loads(listed.stdout)
    data = [d for d in data if d["kind"] == "memory_analysis"]
    assert len(data) == 1
    d = data[0]
    assert (d["kind"], d["status"], d["model"], d["effort"]) == (
        "memory_analysis", "done", "gpt-5.1", "none",
    )  # fmt: skip
    assert [e["status"] for e in d["events"]] == ["pending", "running", "done"]
    cost = op_store.budget_cost(world.store.conn(), d["id"])
    assert d["cost_usd"] == cost / 1_000_000 and cost > 0
    text = run_cli("ops", env=env, cwd=world.root)
    assert "memory_analysis" in text.stdout and "analyse 2 chat messages" in text.stdout


def test_a_failed_analysis_keeps_the_sentence_the_user_saw(world: World) -> None:
    world.srv.default = lambda body: Error(
        400, "The model `gpt-5.1` does not exist", code="model_not_found"
    )
    talk(world, [("Remember we ship on Fridays.", "Okay.")])
    env = _cli_env(world)
    out = run_cli("memory", "analyze", env=env, cwd=world.root, unset=["OPENAI_API_KEY"])
    assert out.returncode == 0, out.stderr
    shown = out.stdout.strip().splitlines()[-1]  # the sentence the run stopped with
    assert "does not exist" in shown
    (op,) = _ops(world)
    assert op.shown_status == "failed" and _statuses(op) == ["pending", "running", "failed"]
    assert op.error == shown and op.events[-1].data["error"] == shown
    assert op.cost_micro == op_store.budget_cost(world.store.conn(), op.id) == 0
    assert [r[1] for r in _linked(world, op.id)] == ["error"]
    listed = json.loads(run_cli("ops", "--json", env=env, cwd=world.root).stdout)
    assert listed[0]["status"] == "failed" and listed[0]["error"] == shown


def test_an_answer_invalid_twice_fails_the_run_with_its_sentence_and_cost(world: World) -> None:
    scripted(world, bad=2)
    talk(world, [("Remember we ship on Fridays.", "Okay.")])
    run = through_runner(world)
    (op,) = _ops(world)
    assert op.shown_status == "failed" and op.error == run.errors[0]
    assert "did not match the expected format twice" in op.error
    # both attempts were answered, and billed: the operation costs what the budget says
    assert [r[:2] for r in _linked(world, op.id)] == [("memory_analysis", "settled")] * 2
    assert op.cost_micro == op_store.budget_cost(world.store.conn(), op.id) > 0


def test_the_servers_analysis_after_chats_is_an_operation_too(world: World) -> None:
    from mira_ls.features import memory as memory_feature

    scripted(world)
    talk(world, [("Use ruff for linting.", "Okay, ruff.")])
    got = memory_feature.analyse(world.session(), world.service())
    assert got["analysed"] == 2
    (op,) = _ops(world)
    assert op.command == "memory_analysis" and _statuses(op) == ["pending", "running", "done"]
    assert op.cost_micro == op_store.budget_cost(world.store.conn(), op.id) > 0
