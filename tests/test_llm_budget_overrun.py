"""When the endpoint's answer does not fit what was reserved: the output cap goes upstream,
the reservation bounds what we sent, an overrun is recorded as reported and stops spending
until the next reset or a confirmation, a 429's Retry-After is said as a time, and an
answer without usage says its counts are estimated. All over the real loopback server."""

from __future__ import annotations

import math
import re
import time

import pytest

from mira_ls.features import chat
from mira_ls.llm import pricing, tokens
from mira_ls.llm.budget import BudgetRefused, worst_case_input
from mira_ls.llm.errors import LlmError
from mira_ls.store import budget as budget_store
from tests.support.cli import run_cli
from tests.support.llm_world import World
from tests.support.openai_server import Answer, Error

pytest_plugins = ["tests.llm_fixtures"]


def rows(world: World) -> list[budget_store.TrackRow]:
    return list(reversed(budget_store.recent(world.store.conn(), 50)))


def test_the_cap_goes_upstream_and_the_reservation_bounds_what_was_sent(world: World) -> None:
    world.settings.llm.max_output_tokens = 1024
    world.srv.script(Answer(text="It doubles x."))
    answer = world.service().ask(world.question("def helper"))
    body = world.srv.chat_requests()[-1].body
    assert body["max_completion_tokens"] == 1024
    # our o200k count of exactly what went out, with its margin, is what was held
    sent = tokens.count_messages(body["messages"], body.get("tools"))
    row = rows(world)[-1]
    price = world.service().budget.price("gpt-5.1")
    assert row.reserved_micro == pricing.cost_micro(price, worst_case_input(sent), 1024)
    assert row.status == "settled" and 0 < row.cost_micro <= row.reserved_micro
    assert answer.cost_micro == row.cost_micro and not answer.overrun


def test_an_overrun_is_recorded_as_reported_and_stops_spending_until_resumed(
    world: World, tmp_path
) -> None:
    world.settings.budget.daily_usd = 0.5
    world.settings.llm.max_output_tokens = 1024
    world.srv.script(
        Answer(
            text="A very expensive answer.",
            prompt_tokens=5_000_000,
            completion_tokens=2_000_000,
            ignore_cap=True,
        )
    )
    svc = world.service()
    answer = svc.ask(world.question("def helper"))
    # the truth is recorded: 5 M in at $1.25/M + 2 M out at $10/M
    row = rows(world)[-1]
    assert row.cost_micro == 26_250_000 and row.cost_micro > row.reserved_micro
    assert answer.cost_micro == 26_250_000 and answer.overrun
    note = next(n for n in answer.notes if "reported" in n)
    assert "5,000,000 input and 2,000,000 output tokens" in note and "1,024" in note
    assert "$26.25" in note and "mira-ls budget --resume" in note and "mira.resumeBudget" in note
    status = svc.budget.status()
    assert status["hold"] is not None and status["hold"]["cost_usd"] == 26.25
    assert "on hold" in chat.budget_text(chat.budget_report(svc))

    # the next question is refused before anything is sent, also by a fresh service
    sent = len(world.srv.chat_requests())
    for s in (svc, world.service()):
        with pytest.raises(BudgetRefused) as refused:
            s.ask(world.question("def main", "Another question"))
        assert "on hold" in str(refused.value) and "resumes at" in str(refused.value)
    assert len(world.srv.chat_requests()) == sent

    # the user confirms from the command line; the daily limit itself still holds
    env = {"MIRA_DB": str(world.store.path), "MIRA_BUDGET_DAILY_USD": "0.5"}
    out = run_cli("budget", "--resume", env=env, cwd=world.root)
    assert out.returncode == 0, out.stderr
    assert "Spending resumed" in out.stderr
    assert world.service().budget.hold() is None
    with pytest.raises(BudgetRefused) as limited:
        world.service().ask(world.question("def main", "Another question"))
    assert "on hold" not in str(limited.value) and "daily limit" in str(limited.value)
    again = run_cli("budget", "--resume", env=env, cwd=world.root)
    assert "not on hold" in again.stderr
    # with a limit that leaves room, questions go through again
    world.settings.budget.daily_usd = 100
    world.srv.script(Answer(text="Fine."))
    assert world.service().ask(world.question("def main", "Another question")).text == "Fine."


def test_retry_after_3600_says_when(world: World) -> None:
    world.settings.llm.max_retries = 1
    world.srv.script(*[Error(429, "Rate limit reached", headers={"retry-after": "3600"})] * 2)
    before = time.time()
    with pytest.raises(LlmError) as err:
        world.service().ask(world.question("def helper"))
    after = time.time()
    said = str(err.value)
    assert "in a moment" not in said and "(in 60 min)" in said, said
    m = re.search(r"try again after (?:\d{4}-\d\d-\d\d )?(\d\d):(\d\d) UTC", said)
    assert m is not None, said
    named = (int(m.group(1)), int(m.group(2)))
    possible = {time.gmtime(math.ceil((t + 3600) / 60) * 60)[3:5] for t in (before, after)}
    assert named in possible, (named, possible)
    assert err.value.kind == "rate_limit" and err.value.retry_after_s == 3600


def test_an_answer_without_usage_is_shown_as_estimated(world: World) -> None:
    world.srv.script(Answer(text="No usage from this server.", send_usage=False))
    answer = world.service().ask(world.question("def helper"))
    assert answer.estimated and answer.input_tokens > 0 and answer.output_tokens > 0
    line = answer.cost_line()
    assert "0 in / 0 out" not in line and "(estimated)" in line and "no usage" in line
    assert f"~{answer.input_tokens} in / ~{answer.output_tokens} out" in line
    row = rows(world)[-1]
    assert row.cost_micro == row.reserved_micro == answer.cost_micro  # the worst case
    # an estimated answer is not cached: the next ask goes upstream again
    world.srv.script(Answer(text="Now with usage."))
    assert world.service().ask(world.question("def helper")).text == "Now with usage."
