"""Rolling summaries against the loopback model: a summary of each 10 messages of a session
(at message 10, not 9) and of each ten of those (at message 100), as strict json_schema
answers at the cheapest effort, through the budget, one operation per run, redacted,
embedded into the user's own database; the next chat's history carries the summaries
instead of the oldest messages when its token share is small; a re-run asks nothing; an
answer invalid twice writes nothing; memory off writes nothing."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from mira_ls.jobs import Lane, Runner
from mira_ls.llm.service import Question
from mira_ls.memory.conversation import SUMMARIES_HEAD, Conversations
from mira_ls.memory.summaries import SUMMARY_KEY, Summarizer, SummaryRun, job
from mira_ls.store import memory as mq
from tests.support.llm_world import KEY, World
from tests.support.openai_server import Answer, Reply

pytest_plugins = ["tests.llm_fixtures"]


def scripted(world: World, bad: int = 0) -> list[dict[str, Any]]:
    """Answer each summary request: a level-1 summary names the first message it was shown
    ("S1 <first message>"), a level-2 one counts its summaries; the first ``bad`` summary
    answers are not JSON. A chat gets a plain answer. Returns the summary bodies asked."""
    asked: list[dict[str, Any]] = []

    def reply(body: dict[str, Any]) -> Reply:
        fmt = body.get("response_format")
        if fmt is None:
            return Answer(text="A plain answer.")
        name = fmt["json_schema"]["name"]
        asked.append(body)
        if len(asked) <= bad:
            return Answer(text="not json {", prompt_tokens=100, completion_tokens=5)
        prompt = body["messages"][1]["content"]
        if name == "summary_of_messages":
            first = re.search(r"User:\n([^\n]+)", prompt)
            text = f"S1 {first.group(1) if first else '?'}"
            facts = [f"fact of {first.group(1) if first else '?'}"]
        else:
            assert name == "summary_of_summaries"
            text = f"S2 of {prompt.count('[Summary of 10 messages]')} summaries"
            facts = ["a decision that still holds"]
        return Answer(text=json.dumps({"summary": text, "key_facts": facts}),
                      prompt_tokens=400, completion_tokens=40)  # fmt: skip

    world.srv.default = reply
    return asked


def add_messages(world: World, sid: str, n: int, start: int = 0) -> None:
    """``n`` messages through the store (a question, then its answer, and so on)."""
    with world.store.write() as w:
        for i in range(start, start + n):
            role = "user" if i % 2 == 0 else "assistant"
            text = f"question {i} about module{i}" if role == "user" else f"answer {i} to it"
            mq.add_entry(w, sid, role, text, 6, 1_700_000_000 + i)


def new_session(world: World) -> str:
    return Conversations(world.store).session_for(world.project_id, new=True)


def run_job(world: World, enabled: bool = True) -> SummaryRun:
    world.settings.memory.enabled = enabled
    runner = Runner([Lane("llm")])
    try:
        run: SummaryRun = runner.submit(
            "llm", job, world.store, world.service(), key=SUMMARY_KEY
        ).future.result()
    finally:
        runner.stop()
    return run


def rows(world: World, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in world.store.conn().execute(sql, params).fetchall()]


def summary_rows(world: World, level: int = 10) -> list[tuple[Any, ...]]:
    return rows(world, "SELECT first_entry_id, last_entry_id, message_count, content, key_facts,"
                " embedding_id IS NOT NULL FROM rolling_summaries WHERE window_size = ?"
                " ORDER BY first_entry_id", level)  # fmt: skip


def entry_ids(world: World, sid: str) -> list[int]:
    return [r[0] for r in rows(world, "SELECT id FROM memory_entries WHERE session_id = ?"
                               " ORDER BY id", sid)]  # fmt: skip


def test_a_summary_appears_at_message_10_not_9(world: World) -> None:
    from mira_ls.features.memory import summaries_due

    asked = scripted(world)
    sid = new_session(world)
    add_messages(world, sid, 9)
    assert not summaries_due(world.session(), sid)
    run = run_job(world)
    assert (run.level1, run.calls) == (0, 0) and asked == []
    assert summary_rows(world) == []
    assert rows(world, "SELECT count(*) FROM operations WHERE command = 'memory_summaries'") == [
        (0,)
    ]
    # the tenth message: its block is complete (a secret in it never reaches the model)
    with world.store.write() as w:
        mq.add_entry(w, sid, "assistant", f"answer 9; the key is {KEY}", 8, 1_700_000_009)
    assert summaries_due(world.session(), sid)
    run = run_job(world)
    assert (run.level1, run.level2, run.failed, run.calls) == (1, 0, 0, 1)
    ids = entry_ids(world, sid)
    assert summary_rows(world) == [
        (ids[0], ids[9], 10, "S1 question 0 about module0",
         '["fact of question 0 about module0"]', 1)
    ]  # fmt: skip
    body = asked[0]
    assert body["reasoning_effort"] == "none"
    assert body["response_format"]["json_schema"]["strict"] is True
    sent = json.dumps(body)
    assert "answer 9" in sent and KEY not in sent
    # one operation, its calls through the budget; the vector only in the user's database
    assert rows(world, "SELECT kind, status FROM operations WHERE command = 'memory_summaries'"
                ) == [("analyze", "completed")]  # fmt: skip
    assert rows(world, "SELECT count(*) FROM budget_tracking WHERE operation = 'memory_summaries'"
                ) == [(1,)]  # fmt: skip
    assert rows(world, "SELECT count(*) FROM vector_points") == [(0,)]
    assert not summaries_due(world.session(), sid)


def test_message_100_makes_a_summary_of_the_ten_summaries_and_a_rerun_asks_nothing(
    world: World,
) -> None:
    asked = scripted(world)
    sid = new_session(world)
    add_messages(world, sid, 99)
    run = run_job(world)
    assert (run.level1, run.level2, run.calls) == (9, 0, 9)
    assert summary_rows(world, 100) == []
    add_messages(world, sid, 1, start=99)
    run = run_job(world)
    assert (run.level1, run.level2, run.calls) == (1, 1, 2)
    ids = entry_ids(world, sid)
    level1 = summary_rows(world)
    assert [(r[0], r[1]) for r in level1] == [(ids[i], ids[i + 9]) for i in range(0, 100, 10)]
    assert [r[3] for r in level1][:2] == ["S1 question 0 about module0",
                                          "S1 question 10 about module10"]  # fmt: skip
    assert summary_rows(world, 100) == [
        (ids[0], ids[99], 100, "S2 of 10 summaries", '["a decision that still holds"]', 1)
    ]
    # the level-2 summary was made from the ten level-1 ones, not from the messages
    prompt = asked[-1]["messages"][1]["content"]
    assert asked[-1]["response_format"]["json_schema"]["name"] == "summary_of_summaries"
    assert all(f"S1 question {i} about module{i}" in prompt for i in range(0, 100, 10))
    assert "answer 5 to it" not in prompt
    # two operations (one per run); a third run finds nothing and asks nothing
    again = run_job(world)
    assert (again.level1, again.level2, again.calls) == (0, 0, 0)
    assert len(asked) == 11
    assert rows(world, "SELECT count(*) FROM operations WHERE command = 'memory_summaries'") == [
        (2,)
    ]


def test_the_next_chat_gets_the_summary_instead_of_the_oldest_messages(world: World) -> None:
    scripted(world)
    world.settings.llm.context_tokens = 600  # a history share of 150 tokens: 2 of 6 turns
    conv = Conversations(world.store)
    sid = conv.session_for(world.project_id)
    for i in range(6):
        conv.record(sid, f"Old question {i}: do we pin numpy to version 1.{i}?",
                    f"Old answer {i}: yes, numpy 1.{i} it is, because of the ABI.",
                    model="gpt-5.1", cost_micro=0)  # fmt: skip
    assert run_job(world).level1 == 1
    svc = world.service()
    svc.ask(Question("And what about scipy?", "And what about scipy?", "chat", None,
                     world.project_id, world.root, session_id=sid, with_history=True))  # fmt: skip
    body = [r.body for r in world.srv.chat_requests() if "response_format" not in r.body][-1]
    sent = "\n".join(str(m.get("content")) for m in body["messages"])
    assert SUMMARIES_HEAD in sent and "S1 Old question 0: do we pin numpy" in sent
    assert "fact of Old question 0" in sent
    assert "Old answer 0: yes" not in sent  # replaced by its summary, not sent verbatim
    assert "Old answer 5: yes, numpy 1.5" in sent  # the newest turn stays verbatim
    assert body["messages"][-1]["content"].endswith("And what about scipy?")
    roles = [m["role"] for m in body["messages"][1:]]
    assert all(a != b for a, b in itertools.pairwise(roles))  # still alternating
    # a roomy share sends the messages themselves, no summary
    world.settings.llm.context_tokens = 8000
    world.service().ask(Question("And pandas?", "And pandas?", "chat", None, world.project_id,
                                 world.root, session_id=sid, with_history=True))  # fmt: skip
    body = [r.body for r in world.srv.chat_requests() if "response_format" not in r.body][-1]
    sent = "\n".join(str(m.get("content")) for m in body["messages"])
    assert "Old answer 0: yes" in sent and SUMMARIES_HEAD not in sent


def test_history_without_summaries_is_cut_as_before(world: World) -> None:
    sid = new_session(world)
    add_messages(world, sid, 12)
    got = Conversations(world.store).history(sid, 20)
    assert [m["content"] for m in got] == ["question 10 about module10", "answer 11 to it"]


def test_ten_summaries_give_way_to_their_level2_summary_when_they_do_not_fit(
    world: World,
) -> None:
    scripted(world)
    sid = new_session(world)
    add_messages(world, sid, 104)
    run_job(world)
    conv = Conversations(world.store)
    roomy = conv.history(sid, 400)
    head = roomy[0]["content"]
    # level-1 summaries up to the first message kept verbatim: no message left out
    assert head.startswith(SUMMARIES_HEAD) and head.count("[Summary of 10 messages]") == 9
    assert "[Summary of 100 messages]" not in head and "S1 question 80 about module80" in head
    assert head.endswith("question 90 about module90") and len(roomy) == 14
    tight = conv.history(sid, 90)
    head = tight[0]["content"]
    assert "[Summary of 100 messages]" in head and "S2 of 10 summaries" in head
    assert "[Summary of 10 messages]" not in head
    # the newest messages after the summaries stay verbatim
    assert tight[-1]["content"] == "answer 103 to it"
    assert all(m["content"] != "question 0 about module0" for m in tight)
    # room for no summary at all: the newest messages, as without summaries
    assert [m["content"] for m in conv.history(sid, 14)] == ["question 102 about module102",
                                                             "answer 103 to it"]  # fmt: skip


def test_an_answer_invalid_twice_writes_nothing_and_the_run_says_so(world: World) -> None:
    asked = scripted(world, bad=2)
    sid = new_session(world)
    add_messages(world, sid, 10)
    run = run_job(world)
    assert len(asked) == 2  # the answer and its one retry
    assert (run.level1, run.failed, run.calls) == (0, 1, 2)
    assert "Nothing written for messages" in run.errors[0]
    assert "did not match the expected format twice" in run.errors[0]
    assert summary_rows(world) == []
    assert rows(world, "SELECT status FROM operations WHERE command = 'memory_summaries'") == [
        ("failed",)
    ]
    # nothing was written, so the next run asks again (and this time it is answered)
    assert run_job(world).level1 == 1 and len(asked) == 3


def test_memory_off_summarises_nothing(world: World) -> None:
    scripted(world)
    sid = new_session(world)
    add_messages(world, sid, 20)
    run = run_job(world, enabled=False)
    assert (run.level1, run.calls) == (0, 0) and world.srv.chat_requests() == []
    assert summary_rows(world) == []
    assert rows(world, "SELECT count(*) FROM operations") == [(0,)]
    from mira_ls.features.memory import summaries_due

    assert not summaries_due(world.session(), sid)


def test_one_session_at_a_time_when_asked(world: World) -> None:
    scripted(world)
    a, b = new_session(world), new_session(world)
    add_messages(world, a, 10)
    add_messages(world, b, 10)
    run = Summarizer.open(world.store, world.service()).run(session_id=b)
    assert run.level1 == 1
    assert rows(world, "SELECT session_id FROM rolling_summaries") == [(b,)]


def test_memory_summarize_on_the_command_line(world: World) -> None:
    from tests.support.cli import run_cli

    scripted(world)
    sid = new_session(world)
    add_messages(world, sid, 20)
    env = {"MIRA_DB": str(world.store.path), "MIRA_OPENAI_API_KEY": KEY,
           "MIRA_LLM_BASE_URL": world.srv.base_url, "MIRA_LLM_MAX_RETRIES": "0"}  # fmt: skip
    off = run_cli("memory", "summarize", env={**env, "MIRA_MEMORY_ENABLED": "false"},
                  cwd=world.root)  # fmt: skip
    assert off.returncode == 0 and "Memory is off" in off.stdout
    assert summary_rows(world) == []
    done = run_cli("memory", "summarize", "--json", env=env, cwd=world.root)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["level1"], data["level2"], data["calls"]) == (2, 0, 2)
    again = run_cli("memory", "summarize", env=env, cwd=world.root)
    assert again.returncode == 0 and again.stdout.startswith("0 summaries of 10 messages")
    assert len(summary_rows(world)) == 2


def test_secrets_are_redacted_from_what_is_asked_and_what_is_stored(world: World) -> None:
    aws = "AKIA" + "ABCDEFGHIJKLMNOP"
    asked: list[str] = []

    def reply(body: dict[str, Any]) -> Reply:
        asked.append(json.dumps(body))
        data = {"summary": f"They shared the key {aws}.", "key_facts": [f"key is {aws}"]}
        return Answer(text=json.dumps(data), prompt_tokens=100, completion_tokens=10)

    world.srv.default = reply
    sid = new_session(world)
    with world.store.write() as w:
        mq.add_entry(w, sid, "user", f"Our AWS key is {aws}, keep it", 10, 1_700_000_000)
    add_messages(world, sid, 9, start=1)
    assert run_job(world).level1 == 1
    assert aws not in asked[0]
    content, facts = rows(world, "SELECT content, key_facts FROM rolling_summaries")[0]
    assert aws not in content and aws not in facts and "They shared the key" in content


def test_a_failed_block_is_retried_when_the_next_block_completes_not_after_every_chat(
    world: World,
) -> None:
    from mira_ls.features.memory import summaries_due

    scripted(world, bad=2)
    sid = new_session(world)
    add_messages(world, sid, 10)
    assert summaries_due(world.session(), sid)
    assert run_job(world).failed == 1
    for n in range(12, 20, 2):  # four more chats: nothing newly complete
        add_messages(world, sid, 2, start=n - 2)
        assert not summaries_due(world.session(), sid), n
    add_messages(world, sid, 2, start=18)
    assert summaries_due(world.session(), sid)
    assert run_job(world).level1 == 2


def test_forgetting_a_message_drops_its_summaries_and_the_next_run_rebuilds_them(
    world: World,
) -> None:
    from mira_ls.features.memory import summaries_due
    from mira_ls.memory import recall

    asked = scripted(world)
    sid = new_session(world)
    add_messages(world, sid, 100)
    assert (run_job(world).level1, len(summary_rows(world, 100))) == (10, 1)
    ids = entry_ids(world, sid)
    embs = [r[0] for r in rows(world, "SELECT embedding_id FROM rolling_summaries"
                               " WHERE first_entry_id IN (?, ?)", ids[10], ids[0])]  # fmt: skip
    assert len(embs) == 3  # block 2's, block 1's and the level-2 one (they start at ids[0])
    # message 12 ("question 12 about module12") is in the second block and in the level-2 one
    gone = recall.forget_message(world.store, ids[12])
    assert gone is not None and len(gone.summaries) == 2
    assert rows(world, "SELECT count(*) FROM rolling_summaries WHERE id IN (?, ?)",
                *gone.summaries) == [(0,)]  # fmt: skip
    assert rows(world, "SELECT count(*) FROM rolling_summaries") == [(9,)]
    # the forgotten summaries' vectors went with them, the others' stay
    left = rows(world, "SELECT count(*) FROM embeddings WHERE id IN (?, ?, ?)", *embs)
    assert left == [(1,)]
    # no summary still carries the message, and the next run summarises what is left
    assert summaries_due(world.session(), sid)
    n_asked = len(asked)
    run = run_job(world)
    assert (run.level1, run.level2, run.failed) == (1, 1, 0)
    rebuilt = asked[n_asked]["messages"][1]["content"]
    assert "question 10 about module10" in rebuilt and "answer 19 to it" in rebuilt
    assert "module12" not in rebuilt and "question 20" not in rebuilt
    level1 = summary_rows(world)
    assert [(r[0], r[1], r[2]) for r in level1[:3]] == [
        (ids[0], ids[9], 10), (ids[10], ids[19], 9), (ids[20], ids[29], 10),
    ]  # fmt: skip
    assert level1[1][5] == 1  # embedded again
    (level2,) = summary_rows(world, 100)
    assert (level2[0], level2[1], level2[2]) == (ids[0], ids[99], 99)
    assert "[Summary of 9 messages]" in asked[-1]["messages"][1]["content"]
    # done: nothing more to do, nothing asked
    assert not summaries_due(world.session(), sid)
    assert (run_job(world).calls, len(asked)) == (0, n_asked + 2)


def test_forgetting_every_message_of_a_block_leaves_no_summary_to_rebuild(world: World) -> None:
    from mira_ls.memory import recall

    scripted(world)
    sid = new_session(world)
    add_messages(world, sid, 20)
    assert run_job(world).level1 == 2
    ids = entry_ids(world, sid)
    for i in ids[:10]:
        assert recall.forget_message(world.store, i) is not None
    assert run_job(world).calls == 0
    assert [(r[0], r[1]) for r in summary_rows(world)] == [(ids[10], ids[19])]
