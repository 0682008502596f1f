"""Facts from chat messages, against the loopback model, through the job the server runs
after chats: a user message the analysis marks as a preference (or salient) goes through the
same extraction and add / update / delete / keep decision as ``mira.remember``, batched, at
effort none, schema-checked, through the budget, each message once; the fact keeps its
source message, and forgetting that message forgets the fact it alone was the source of."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mira_ls.llm.service import LlmService
from mira_ls.memory import recall
from mira_ls.memory.analysis import Analyzer
from mira_ls.memory.facts import Memory
from mira_ls.memory.message_facts import MessageFacts
from mira_ls.store import operations as op_store
from tests.support.llm_world import World
from tests.support.openai_server import Answer, Reply
from tests.test_memory_analysis import talk, through_runner

pytest_plugins = ["tests.llm_fixtures"]

FACTS: dict[str, list[dict[str, Any]]] = {
    "fly.io": [{"key": "deploy_platform", "value": "fly.io", "category": "project",
                "scope": "project", "confidence": 0.7}],
    "Render": [{"key": "deploy_platform", "value": "Render", "category": "project",
                "scope": "project", "confidence": 0.8}],
    "Poetry": [{"key": "package_manager", "value": "Poetry", "category": "tooling",
                "scope": "project", "confidence": 0.7}],
}  # fmt: skip


class Model:
    """Analysis: a user message naming a tool is a preference (salience 0.9), the rest are
    questions (0.2). Extraction: the facts of the first FACTS word in each message (``bad``:
    that many extraction answers are not JSON). Decisions: from ``decisions``, in order."""

    def __init__(self, world: World, bad: int = 0) -> None:
        self.extracted: list[list[int]] = []  # message ids per extraction call
        self.decisions: list[dict[str, Any]] = []
        self.decided = 0
        self.bad = bad
        world.srv.default = self.reply

    def reply(self, body: dict[str, Any]) -> Reply:
        name = body["response_format"]["json_schema"]["name"]
        prompt = body["messages"][1]["content"]
        found = re.findall(r"Message id (\d+)(?: \((\w+)\))?:\n([^\n]*)", prompt)
        if name == "message_analysis":
            items = [{"id": int(i), "salience": 0.9 if role == "user" and self._facts(t) else 0.2,
                      "intent": "preference" if role == "user" and self._facts(t) else "question",
                      "topics": ["deploy"], "mood": "neutral"} for i, role, t in found]  # fmt: skip
            return self._answer({"messages": items})
        if name == "memory_message_facts":
            self.extracted.append([int(i) for i, _, _ in found])
            if len(self.extracted) <= self.bad:
                return Answer(text="not json {", prompt_tokens=100, completion_tokens=5)
            return self._answer(
                {"messages": [{"id": int(i), "facts": self._facts(t)} for i, _, t in found]}
            )
        assert name == "memory_decisions", name
        self.decided += 1
        return self._answer(self.decisions.pop(0))

    @staticmethod
    def _facts(text: str) -> list[dict[str, Any]]:
        return next((f for w, f in FACTS.items() if w in text), [])

    @staticmethod
    def _answer(data: Any) -> Answer:
        return Answer(text=json.dumps(data), prompt_tokens=200, completion_tokens=30)


def rows(world: World, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in world.store.conn().execute(sql, args).fetchall()]


def user_ids(world: World) -> list[int]:
    return [
        r[0] for r in rows(world, "SELECT id FROM memory_entries WHERE role = 'user' ORDER BY id")
    ]


def facts(world: World) -> list[tuple[Any, ...]]:
    return rows(world, "SELECT id, key, value, confidence, source, source_entry_id, deprecated"
                " FROM memory_facts ORDER BY id")  # fmt: skip


def fact_requests(world: World) -> list[dict[str, Any]]:
    bodies = [r.body for r in world.srv.chat_requests()]
    return [
        b for b in bodies if b["response_format"]["json_schema"]["name"] == "memory_message_facts"
    ]


def test_a_chat_message_becomes_a_fact_with_its_source_message(world: World) -> None:
    model = Model(world)
    talk(world, [("We deploy with fly.io.", "Noted."), ("How do I run one test?", "pytest -k.")])
    run = through_runner(world)
    (msg, _question) = user_ids(world)
    # one extraction call, for the one user message the analysis marked, at effort none
    assert model.extracted == [[msg]]
    body = fact_requests(world)[0]
    assert body["reasoning_effort"] == "none"
    assert body["response_format"]["json_schema"]["strict"] is True
    ((fid, key, value, conf, source, entry, dep),) = facts(world)
    assert (key, value, conf, source, entry, dep) == ("deploy_platform", "fly.io", 0.7,
                                                      "inferred", msg, 0)  # fmt: skip
    assert rows(world, "SELECT fact_id, entry_id, action FROM memory_fact_sources") == [
        (fid, msg, "add")
    ]
    assert rows(world, "SELECT count(*) FROM memory_fact_vectors") == [(1,)]
    assert rows(world, "SELECT entry_id, status FROM message_fact_extraction") == [(msg, "done")]
    # what is remembered names the message, so a wrong fact can be traced and corrected
    mem = Memory.open(world.store, world.service(), world.project_id)
    assert f"**deploy_platform**: fly.io (project, 0.70), from your message #{msg}" in (
        mem.markdown()
    )
    assert mem.profile()["facts"]["project"][0]["source_message"] == msg
    assert run.facts is not None and (run.facts["extracted"], run.facts["added"]) == (1, 1)
    # through the budget, as its own operation
    assert rows(world, "SELECT count(*) FROM budget_tracking WHERE operation = 'memory_facts'") == [
        (1,)
    ]
    ops = [o for o in op_store.listed(world.store.conn()) if o.command == "memory_facts"]
    assert len(ops) == 1 and ops[0].shown_status == "done"
    assert ops[0].cost_micro == op_store.budget_cost(world.store.conn(), ops[0].id) > 0


def test_stated_again_later_is_one_row_with_higher_confidence_then_superseded(
    world: World,
) -> None:
    model = Model(world)
    talk(world, [("We deploy with fly.io.", "Noted.")])
    through_runner(world)
    talk(world, [("Reminder: all our deploys go through fly.io.", "Yes.")])
    run = through_runner(world)
    first, second = user_ids(world)
    ((fid, _k, value, conf, _s, _e, _d),) = facts(world)
    assert value == "fly.io" and conf == pytest.approx(0.8)
    assert run.facts is not None and run.facts["kept"] == 1
    assert model.decided == 0  # the same value under the same key: kept without asking
    assert rows(world, "SELECT entry_id, action FROM memory_fact_sources ORDER BY entry_id") == [
        (first, "add"), (second, "keep"),
    ]  # fmt: skip
    # a contradiction: the model decides it updates the fact, its old value kept as history
    model.decisions.append({"decisions": [{"candidate": 0, "action": "update", "fact_id": fid}]})
    talk(world, [("We moved from that to Render last week.", "Okay.")])
    run = through_runner(world)
    third = user_ids(world)[-1]
    assert model.decided == 1
    decide = [r.body for r in world.srv.chat_requests()][-1]
    assert f"existing fact_id {fid}: deploy_platform = fly.io" in decide["messages"][-1]["content"]
    assert decide["reasoning_effort"] == "none"
    ((fid2, _k, value, _c, _s, entry, dep),) = facts(world)
    assert (fid2, value, entry, dep) == (fid, "Render", third, 0)
    assert rows(world, "SELECT value, reason, source_entry_id FROM memory_fact_history") == [
        ("fly.io", "updated", first)  # the message that value came from
    ]
    assert run.facts is not None and run.facts["updated"] == 1


def test_a_second_run_makes_no_extraction_call_and_a_repeated_text_is_copied(
    world: World,
) -> None:
    model = Model(world)
    talk(world, [("We deploy with fly.io.", "Noted.")])
    through_runner(world)
    n = len(world.srv.chat_requests())
    again = through_runner(world)
    assert len(world.srv.chat_requests()) == n and model.extracted == [[user_ids(world)[0]]]
    assert again.facts is not None and again.facts["calls"] == 0
    # the exact text again, in a new message: its candidates are copied, not asked for
    talk(world, [("We deploy with fly.io.", "Noted again.")])
    run = through_runner(world)
    assert len(model.extracted) == 1
    assert run.facts is not None and (run.facts["reused"], run.facts["kept"]) == (1, 1)
    assert [f[3] for f in facts(world)] == [pytest.approx(0.8)]


def test_several_messages_are_one_call_and_a_later_one_is_decided_after_the_earlier(
    world: World,
) -> None:
    model = Model(world)
    talk(world, [("We deploy with fly.io.", "Noted."), ("We use Poetry.", "Okay."),
                 ("Actually we deploy with Render now.", "Okay.")])  # fmt: skip
    a = Analyzer.open(world.store, world.service())
    a.run()
    fly, poetry, render = user_ids(world)
    # the first round adds two facts; the second decides Render against the added fly.io
    model.decisions.append({"decisions": [{"candidate": 0, "action": "update", "fact_id": 1}]})
    run = MessageFacts.open(world.store, world.service()).run()
    assert model.extracted == [[fly, poetry, render]] and model.decided == 1
    assert [(f[1], f[2], f[5]) for f in facts(world)] == [
        ("deploy_platform", "Render", render), ("package_manager", "Poetry", poetry),
    ]  # fmt: skip
    assert rows(world, "SELECT value, source_entry_id FROM memory_fact_history") == [
        ("fly.io", fly)
    ]
    assert (run.added, run.updated, run.calls) == (2, 1, 2)


def test_an_invalid_answer_is_retried_once_then_the_messages_are_marked_failed(
    world: World,
) -> None:
    model = Model(world, bad=2)
    talk(world, [("We deploy with fly.io.", "Noted.")])
    run = through_runner(world)
    assert len(model.extracted) == 2  # the answer and its one retry
    assert run.facts is not None and run.facts["failed"] == 1
    assert "did not match the expected format twice" in run.facts["errors"][0]
    assert facts(world) == [] and rows(world, "SELECT count(*) FROM memory_fact_sources") == [(0,)]
    assert rows(world, "SELECT status, candidates FROM message_fact_extraction") == [
        ("failed", "[]")
    ]
    ops = [o for o in op_store.listed(world.store.conn()) if o.command == "memory_facts"]
    assert ops[0].shown_status == "failed"
    # a failed message is not asked about again
    through_runner(world)
    assert len(model.extracted) == 2


def test_forgetting_a_message_forgets_the_facts_it_alone_was_the_source_of(world: World) -> None:
    model = Model(world)
    talk(world, [("We deploy with fly.io.", "Noted."), ("We use Poetry.", "Okay.")])
    through_runner(world)
    fly, poetry = user_ids(world)
    talk(world, [("Reminder: we deploy with fly.io.", "Yes.")])
    through_runner(world)
    again = user_ids(world)[-1]
    # Poetry is also told directly: the user's own word keeps it
    model.decisions.append({"decisions": [{"candidate": 0, "action": "keep", "fact_id": 2}]})
    world.srv.default = _direct(model)
    Memory.open(world.store, world.service(), world.project_id).remember("We use Poetry.")
    gone = recall.forget_message(world.store, poetry)
    assert gone is not None and gone.facts == []
    assert [f[2] for f in facts(world)] == ["fly.io", "Poetry"]
    # fly.io has two source messages: forgetting one leaves it
    gone = recall.forget_message(world.store, fly)
    assert gone is not None and gone.facts == []
    gone = recall.forget_message(world.store, again)
    assert gone is not None and gone.facts == [1]
    assert [f[2] for f in facts(world)] == ["Poetry"]
    # with its history and vector, as forgetting the fact does
    assert rows(world, "SELECT count(*) FROM memory_fact_vectors WHERE fact_id = 1") == [(0,)]
    assert rows(world, "SELECT count(*) FROM memory_fact_sources WHERE fact_id = 1") == [(0,)]


def _direct(model: Model) -> Any:
    """``remember`` asks with the single-statement schema: Poetry, then the scripted keep."""

    def reply(body: dict[str, Any]) -> Reply:
        if body["response_format"]["json_schema"]["name"] == "memory_facts":
            return Model._answer({"facts": FACTS["Poetry"]})
        return model.reply(body)

    return reply


def test_no_key_extracts_nothing_and_does_not_fail(world: World) -> None:
    model = Model(world)
    talk(world, [("We deploy with fly.io.", "Noted.")])
    Analyzer.open(world.store, world.service()).run()
    world.settings.llm.base_url = "https://api.openai.com/v1"
    keyless = LlmService(world.store, world.settings, {})
    run = MessageFacts.open(world.store, keyless).run()
    assert run.stopped is not None and "no API key" in run.stopped
    assert model.extracted == [] and facts(world) == []
    assert rows(world, "SELECT count(*) FROM message_fact_extraction") == [(0,)]
    assert [o for o in op_store.listed(world.store.conn()) if o.command == "memory_facts"] == []
    # the whole job too, with a new message waiting: a sentence, no crash
    talk(world, [("We use Poetry.", "Okay.")])
    from mira_ls.jobs import Lane, Runner
    from mira_ls.memory.analysis import ANALYSIS_KEY, job

    runner = Runner([Lane("llm")])
    try:
        res = runner.submit("llm", job, world.store, keyless, key=ANALYSIS_KEY).future.result()
    finally:
        runner.stop()
    assert res.stopped and facts(world) == [] and model.extracted == []


def test_memory_off_extracts_nothing(world: World) -> None:
    model = Model(world)
    talk(world, [("We deploy with fly.io.", "Noted.")])
    Analyzer.open(world.store, world.service()).run()
    world.settings.memory.enabled = False
    run = MessageFacts.open(world.store, world.service()).run()
    assert run.calls == 0 and model.extracted == [] and facts(world) == []
    assert rows(world, "SELECT count(*) FROM message_fact_extraction") == [(0,)]


def test_the_salience_threshold_is_a_setting(world: World) -> None:
    model = Model(world)
    talk(world, [("How do I run one test?", "pytest -k.")])  # a question, salience 0.2
    Analyzer.open(world.store, world.service()).run()
    assert MessageFacts.open(world.store, world.service()).run().calls == 0
    world.settings.memory.fact_min_salience = 0.1
    MessageFacts.open(world.store, world.service()).run()
    assert model.extracted == [user_ids(world)]


def test_memory_analyze_and_forget_message_on_the_command_line(world: World) -> None:
    from tests.support.cli import run_cli
    from tests.support.llm_world import KEY

    Model(world)
    talk(world, [("We deploy with fly.io.", "Noted.")])
    env = {"MIRA_DB": str(world.store.path), "MIRA_OPENAI_API_KEY": KEY,
           "MIRA_LLM_BASE_URL": world.srv.base_url, "MIRA_LLM_MAX_RETRIES": "0"}  # fmt: skip
    out = run_cli("memory", "analyze", env=env, cwd=world.root, unset=["OPENAI_API_KEY"])
    assert out.returncode == 0, out.stderr
    assert "facts from 1 message: 1 added" in out.stdout
    (msg,) = user_ids(world)
    gone = run_cli("memory", "forget", "--message", str(msg), "--json", env=env, cwd=world.root,
                   unset=["OPENAI_API_KEY"])  # fmt: skip
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout)["facts"] == [1]
    assert facts(world) == []
