"""Semantic analysis through the loopback OpenAI server: calls counted at the server,
zero on a re-run, one for an edited symbol (and its file), an invalid answer retried once
then nothing written, concepts indexed."""

from __future__ import annotations

import json

import pytest

from mira_ls.index import indexer
from mira_ls.llm.structured import StructuredInvalid
from mira_ls.store import understanding as us
from mira_ls.understand import semantic
from tests.support.llm_world import APP, World
from tests.support.openai_server import Answer

pytest_plugins = ["tests.llm_fixtures"]


def _answer(batch: list[us.Pending]) -> Answer:
    items = [
        {"id": p.id, "purpose": f"Does the work of {p.qualified_name}.",
         "concepts": ["Greeting", f"concept {p.qualified_name.rsplit('.', 1)[-1]}"],
         "domain": "greetings", "side_effects": []}
        for p in batch
    ]  # fmt: skip
    return Answer(text=json.dumps({"symbols": items}), prompt_tokens=400, completion_tokens=90)


def _chat_calls(world: World) -> int:
    return len(world.srv.chat_requests())


def test_rerun_asks_nothing_and_an_edit_asks_for_that_symbol_only(world: World) -> None:
    svc = world.service()
    plan = semantic.plan(svc, world.root, world.project_id)
    names = sorted(p.qualified_name for p in plan.pending)
    assert names == ["app", "app.Greeter", "app.Greeter.greet", "app.helper", "app.main"]
    assert len(plan.prompts) == 1 and plan.cost_micro > 0
    world.srv.script(_answer(plan.pending))
    done = semantic.run(world.store, svc, world.project_id, plan)
    assert (done.symbols, done.calls, _chat_calls(world)) == (5, 1, 1)
    body = world.srv.chat_requests()[-1].body
    assert body["response_format"]["json_schema"]["schema"] == semantic.SCHEMA
    assert "def helper(x):" in body["messages"][-1]["content"]
    helper = next(p for p in plan.pending if p.qualified_name == "app.helper")
    node = us.node_of(world.store.conn(), helper.id)
    assert node is not None and node.purpose == "Does the work of app.helper."
    assert node.concepts == ["greeting", "concept helper"] and node.domain == "greetings"
    found = us.symbols_with_concept(world.store.conn(), world.project_id, "concept helper")
    assert [f[1] for f in found] == ["app.helper"]

    again = semantic.plan(svc, world.root, world.project_id)
    assert (again.pending, again.analysed) == ([], 5)
    assert semantic.run(world.store, svc, world.project_id, again).calls == 0
    assert _chat_calls(world) == 1

    (world.root / "app.py").write_text(APP.replace("x * 2", "x * 3"), encoding="utf-8")
    indexer.index_workspace(world.store, world.root, world.settings.index)
    edited = semantic.plan(svc, world.root, world.project_id)
    assert sorted(p.qualified_name for p in edited.pending) == ["app", "app.helper"]
    world.srv.script(_answer(edited.pending))
    assert semantic.run(world.store, svc, world.project_id, edited).calls == 1
    assert _chat_calls(world) == 2
    prompt = world.srv.chat_requests()[-1].body["messages"][-1]["content"]
    assert prompt.count("## id ") == 2 and "x * 3" in prompt and "app.main" not in prompt
    assert semantic.plan(svc, world.root, world.project_id).pending == []


def test_invalid_answer_retried_once_then_nothing_written(world: World) -> None:
    svc = world.service()
    plan = semantic.plan(svc, world.root, world.project_id)
    world.srv.script(Answer(text="not json"), Answer(text=json.dumps({"symbols": []})))
    with pytest.raises(StructuredInvalid):
        semantic.run(world.store, svc, world.project_id, plan)
    assert _chat_calls(world) == 2
    conn = world.store.conn()
    for table in ("semantic_analysis_cache", "semantic_nodes", "concept_index"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert len(semantic.plan(svc, world.root, world.project_id).pending) == 5
