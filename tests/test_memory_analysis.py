"""Message analysis against the loopback model: batched at the cheapest effort as a strict
json_schema answer, cached by the message's hash, through the budget, embedded into the
conversation collection; an answer invalid twice marks the batch failed and writes nothing
else; memory off writes nothing. Run through the job runner as the server runs it."""

from __future__ import annotations

import json
import re
from typing import Any

from mira_ls.jobs import Lane, Runner
from mira_ls.memory.analysis import ANALYSIS_KEY, AnalysisRun, Analyzer, job
from mira_ls.memory.conversation import Conversations
from tests.support.llm_world import World
from tests.support.openai_server import Answer, Reply

pytest_plugins = ["tests.llm_fixtures"]


def scripted(world: World, bad: int = 0) -> list[list[int]]:
    """Answer each analysis with an entry per message id in the prompt; the first ``bad``
    answers are not JSON. Returns the ids asked, per call. The fact extraction that follows
    the analysis (memory/message_facts.py) finds nothing durable."""
    asked: list[list[int]] = []

    def reply(body: dict[str, Any]) -> Reply:
        if body["response_format"]["json_schema"]["name"] == "memory_message_facts":
            ids = re.findall(r"Message id (\d+)", body["messages"][1]["content"])
            empty = {"messages": [{"id": int(i), "facts": []} for i in ids]}
            return Answer(text=json.dumps(empty), prompt_tokens=100, completion_tokens=10)
        assert body["response_format"]["json_schema"]["name"] == "message_analysis"
        ids = [int(i) for i in re.findall(r"Message id (\d+)", body["messages"][1]["content"])]
        asked.append(ids)
        if len(asked) <= bad:
            return Answer(text="not json {", prompt_tokens=100, completion_tokens=5)
        items = [
            {"id": i, "salience": 0.9 if n == 0 else 0.2, "intent": "preference" if n == 0
             else "question", "topics": ["Testing", "pytest"], "mood": "neutral"}
            for n, i in enumerate(ids)
        ]  # fmt: skip
        return Answer(text=json.dumps({"messages": items}), prompt_tokens=300,
                      completion_tokens=60)  # fmt: skip

    world.srv.default = reply
    return asked


def talk(world: World, pairs: list[tuple[str, str]]) -> str:
    conv = Conversations(world.store)
    sid = conv.session_for(world.project_id)
    for q, a in pairs:
        conv.record(sid, q, a, model="gpt-5.1", cost_micro=0)
    return sid


def through_runner(world: World, enabled: bool = True) -> AnalysisRun:
    world.settings.memory.enabled = enabled
    runner = Runner([Lane("llm")])
    try:
        run: AnalysisRun = runner.submit(
            "llm", job, world.store, world.service(), key=ANALYSIS_KEY
        ).future.result()
    finally:
        runner.stop()
    return run


def analysis_requests(world: World) -> list[Any]:
    return [
        r for r in world.srv.chat_requests()
        if r.body["response_format"]["json_schema"]["name"] == "message_analysis"
    ]  # fmt: skip


def rows(world: World, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in world.store.conn().execute(sql).fetchall()]


def test_messages_are_analysed_in_one_batch_at_the_cheapest_effort(world: World) -> None:
    asked = scripted(world)
    talk(world, [("I always want pytest, never unittest.", "Noted: pytest."),
                 ("How do I run one test?", "Use pytest -k NAME.")])  # fmt: skip
    run = through_runner(world)
    assert (run.analysed, run.failed, run.calls) == (4, 0, 1)
    assert len(asked) == 1 and len(asked[0]) == 4
    body = world.srv.chat_requests()[0].body
    assert body["reasoning_effort"] == "none"
    assert body["response_format"]["json_schema"]["strict"] is True
    got = rows(world, "SELECT e.content, a.salience, a.intent_label, a.intent, a.topics, a.mood,"
               " a.status FROM message_analysis a JOIN memory_entries e ON e.id = a.entry_id"
               " ORDER BY e.id")  # fmt: skip
    assert got[0] == ("I always want pytest, never unittest.", 0.9, "preference", "statement",
                      '["testing", "pytest"]', "neutral", "done")  # fmt: skip
    assert {r[6] for r in got} == {"done"} and len(got) == 4
    # each message is in the conversation collection, in the user's own database only
    vecs = rows(world, "SELECT collection, embedding_id IS NOT NULL FROM message_embeddings")
    assert vecs == [("conversation", 1)] * 4
    assert rows(world, "SELECT count(*) FROM vector_points WHERE collection = 'conversation'") == [
        (0,)
    ]
    # through the budget, as its own operation
    spent = rows(world, "SELECT count(*) FROM budget_tracking WHERE operation = 'memory_analysis'")
    assert spent == [(1,)]


def test_a_message_analysed_once_is_not_asked_about_again(world: World) -> None:
    asked = scripted(world)
    talk(world, [("Which Python do we target?", "3.12.")])
    through_runner(world)
    talk(world, [("Which Python do we target?", "3.12."), ("And mypy strict?", "Yes.")])
    run = through_runner(world)
    # only the two new texts were asked about; the repeated two were copied
    assert [len(a) for a in asked] == [2, 2]
    assert (run.analysed, run.reused) == (2, 2)
    again = through_runner(world)
    assert (again.analysed, again.reused, again.calls) == (0, 0, 0)
    assert len(analysis_requests(world)) == 2
    assert rows(world, "SELECT count(*) FROM message_analysis WHERE status = 'done'") == [(6,)]


def test_an_answer_invalid_twice_marks_the_batch_failed_and_writes_nothing_else(
    world: World,
) -> None:
    asked = scripted(world, bad=2)
    talk(world, [("Remember we ship on Fridays.", "Okay.")])
    run = through_runner(world)
    assert len(asked) == 2  # the answer and its one retry
    assert (run.analysed, run.failed) == (0, 2)
    assert "did not match the expected format twice" in run.errors[0]
    assert (
        rows(world, "SELECT status, salience, topics, intent FROM message_analysis")
        == [("failed", 0.5, "[]", None)] * 2
    )
    assert rows(world, "SELECT count(*) FROM message_embeddings") == [(0,)]
    # a failed message is not asked about again on the next run
    assert through_runner(world).calls == 0 and len(asked) == 2


def test_memory_off_analyses_nothing(world: World) -> None:
    scripted(world)
    talk(world, [("We deploy with fly.io.", "Noted.")])
    run = through_runner(world, enabled=False)
    assert run.analysed == 0 and world.srv.chat_requests() == []
    assert rows(world, "SELECT count(*) FROM message_analysis") == [(0,)]
    assert rows(world, "SELECT count(*) FROM message_embeddings") == [(0,)]


def test_the_analyzer_batches_by_its_batch_size(world: World) -> None:
    asked = scripted(world)
    talk(world, [(f"question {i}", f"answer {i}") for i in range(5)])
    a = Analyzer.open(world.store, world.service())
    a.batch = 4
    run = a.run()
    assert [len(x) for x in asked] == [4, 4, 2] and run.analysed == 10


def test_analysis_is_due_once_a_full_batch_waits(world: World) -> None:
    from mira_ls.features.memory import analysis_due
    from mira_ls.memory.analysis import BATCH

    talk(world, [(f"q{i}", f"a{i}") for i in range(BATCH // 2 - 1)])
    assert not analysis_due(world.session())
    talk(world, [("one more", "answer")])
    assert analysis_due(world.session())
    world.settings.memory.enabled = False
    assert not analysis_due(world.session())
