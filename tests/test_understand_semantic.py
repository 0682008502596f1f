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


# A module whose first SOURCE_MAX_TOKENS tokens (what its summary is made from) end inside
# the long first function: ``tail`` lies outside what the module's summary sees. The class
# likewise: its summary sees only the start of ``Store.first``, not ``Store.last``.
_WORDS = " ".join(f"word{i}" for i in range(400))
BIG = f'''"""Big module."""


def head():
    """{_WORDS}"""
    return 1


def tail():
    return 2


class Store:
    def first(self):
        """{_WORDS}"""
        return 3

    def last(self):
        return 4
'''


def _analyse_big(world: World) -> None:
    (world.root / "big.py").write_text(BIG, encoding="utf-8")
    world.reindex("big.py")
    svc = world.service()
    plan = semantic.plan(svc, world.root, world.project_id, "big.py")
    assert len(plan.pending) == 6 and plan.carried == 0
    world.srv.script(_answer(plan.pending))
    semantic.run(world.store, svc, world.project_id, plan)


def _pending_after(world: World, old: str, new: str) -> semantic.Plan:
    path = world.root / "big.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    world.reindex("big.py")
    return semantic.plan(world.service(), world.root, world.project_id, "big.py")


def test_an_edit_outside_what_the_summaries_see_asks_only_for_the_edited_function(
    world: World,
) -> None:
    _analyse_big(world)
    calls = _chat_calls(world)
    conn = world.store.conn()
    module = conn.execute(
        "SELECT id FROM code_elements WHERE qualified_name = 'big' AND kind = 'module'"
    ).fetchone()[0]
    kept = conn.execute(
        "SELECT json_extract(result, '$.input_hash') FROM semantic_analysis_cache WHERE "
        "symbol_id = ?",
        (module,),
    ).fetchone()[0]
    assert kept is not None and len(kept) == 64

    edited = _pending_after(world, "return 2", "return 2 + 0")
    assert [p.qualified_name for p in edited.pending] == ["big.tail"]
    assert edited.carried == 1  # the module: its first 600 tokens did not change
    world.srv.script(_answer(edited.pending))
    svc = world.service()
    assert semantic.run(world.store, svc, world.project_id, edited).calls == 1
    assert _chat_calls(world) == calls + 1
    prompt = world.srv.chat_requests()[-1].body["messages"][-1]["content"]
    assert prompt.count("## id ") == 1 and "return 2 + 0" in prompt and "word1" not in prompt
    # the module's analysis now holds at its new content (the hover shows it), and nothing
    # is left to ask
    now = conn.execute("SELECT content_hash FROM code_elements WHERE id = ?", (module,))
    assert us.node_of(conn, module, now.fetchone()[0]) is not None
    again = semantic.plan(svc, world.root, world.project_id, "big.py")
    assert (again.pending, again.carried, again.analysed) == ([], 0, 6)

    method = _pending_after(world, "return 4", "return 4 + 0")
    assert [p.qualified_name for p in method.pending] == ["big.Store.last"]
    assert method.carried == 2  # the module and the class


def test_an_edit_inside_what_a_summary_sees_asks_for_it_again(world: World) -> None:
    _analyse_big(world)
    edited = _pending_after(world, '"""Big module."""', '"""Big module, edited."""')
    assert [p.qualified_name for p in edited.pending] == ["big"] and edited.carried == 0
    world.srv.script(_answer(edited.pending))
    assert semantic.run(world.store, world.service(), world.project_id, edited).calls == 1
    assert semantic.plan(world.service(), world.root, world.project_id, "big.py").pending == []

    head = _pending_after(world, "return 1", "return 1 + 0")  # after 400 words: unseen
    assert [p.qualified_name for p in head.pending] == ["big.head"] and head.carried == 1
    world.srv.script(_answer(head.pending))
    semantic.run(world.store, world.service(), world.project_id, head)
    # the class's summary sees the start of its first method: a new parameter is in it
    first = _pending_after(world, "def first(self):", "def first(self, x=0):")
    assert sorted(p.qualified_name for p in first.pending) == ["big.Store", "big.Store.first"]
