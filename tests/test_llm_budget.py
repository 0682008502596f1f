"""The budget: plans, atomic reservations across threads and processes, refusals, downgrades."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mira_ls.config import Settings
from mira_ls.llm import pricing
from mira_ls.llm.budget import (
    Budget,
    BudgetRefused,
    day_reset,
    month_reset,
    periods,
    plan_call,
    worst_case_input,
)
from mira_ls.llm.provider import Usage
from mira_ls.store import Store
from mira_ls.store import budget as budget_store
from tests.support.llm_world import World
from tests.support.openai_server import Answer, OpenAIServer

pytest_plugins = ["tests.llm_fixtures"]

REPO = Path(__file__).resolve().parent.parent


def price(model: str) -> pricing.Price:
    return pricing.price_for(model)


def plan(
    remaining: int,
    *,
    allow: bool = False,
    cheaper: str = "",
    effort: str = "high",
    max_out: int = 1024,
    prompt: int = 1000,
):
    return plan_call(
        remaining_micro=remaining,
        model="gpt-5.1",
        effort=effort,
        prompt_tokens=prompt,
        max_output_tokens=max_out,
        cheaper_model=cheaper,
        allow_downgrade=allow,
        price=price,
        period_label="today",
    )


def test_prices_and_costs_are_exact_micro_dollars() -> None:
    p = pricing.price_for("gpt-5.1")
    assert pricing.cost_micro(p, 1_000_000, 0) == 1_250_000
    assert pricing.cost_micro(p, 1_000_000, 0, cached_input_tokens=1_000_000) == 125_000
    assert pricing.cost_micro(p, 0, 1_000_000) == 10_000_000
    assert pricing.cost_micro(p, 1, 1) == 12  # 11.25 rounded up: never undercount
    assert pricing.price_for("gpt-5.1-2025-11-13") == p
    assert not pricing.price_for("my-local-model").known
    over, problems = pricing.parse_overrides(
        {"llama3": {"input": 0, "output": 0}, "bad": {"input": "x"}, "worse": 3}
    )
    assert pricing.price_for("llama3", over).output == 0 and len(problems) == 2
    assert pricing.usd(4_200_000) == "$4.20" and pricing.usd(1234) == "$0.0012"


def test_plan_full_then_shrunk_cap_then_lower_effort_then_cheaper_model_then_none() -> None:
    inp = worst_case_input(1000)
    full = pricing.cost_micro(price("gpt-5.1"), inp, 1024)
    assert plan(full).max_output_tokens == 1024 and plan(full).notes == ()
    # less money: the cap shrinks (allowed without downgrade), the effort stays
    p = plan(full - 3000)
    assert p is not None and 256 <= p.max_output_tokens < 1024
    assert p.reasoning_effort == "high" and p.reserve_micro <= full - 3000
    assert "output limited" in p.notes[0]
    # with downgrades allowed the effort the smaller cap cannot carry is lowered
    p = plan(full - 3000, allow=True)
    assert p is not None and p.reasoning_effort == "low"
    assert any("high to low" in n for n in p.notes)
    # below 256 output tokens: refused, unless a cheaper model fits
    tiny = pricing.cost_micro(price("gpt-5.1"), inp, 200)
    assert plan(tiny) is None and plan(tiny, allow=True) is None
    p = plan(tiny, allow=True, cheaper="gpt-5-mini")
    assert p is not None and p.model == "gpt-5-mini" and p.max_output_tokens == 1024
    assert p.reasoning_effort == "high" and "cheaper gpt-5-mini" in p.notes[0]
    assert plan(tiny, cheaper="gpt-5-mini") is None  # downgrade not allowed
    assert plan(0, allow=True, cheaper="gpt-5-mini") is None


def budget(store: Store, daily: float = 5.0, monthly: float = 150.0, **kw: object) -> Budget:
    s = Settings()
    s.budget.daily_usd, s.budget.monthly_usd = daily, monthly
    for k, v in kw.items():
        setattr(s.budget, k, v)
    return Budget(store, s)


def test_reserve_then_settle_keeps_rows_and_summaries_consistent(tmp_db: Store) -> None:
    b = budget(tmp_db)
    r = b.reserve(
        model="gpt-5.1",
        reasoning_effort="medium",
        prompt_tokens=2000,
        max_output_tokens=1024,
        operation="chat",
    )
    st = b.status()["day"]
    assert st["reserved_usd"] == r.plan.reserve_micro / 1e6 and st["spent_usd"] == 0
    s = b.settle(r, Usage(1800, 300, cached_input_tokens=1000, reasoning_tokens=120))
    assert s.cost_micro == pricing.cost_micro(price("gpt-5.1"), 1800, 300, 1000) == 4125
    assert s.cost_micro <= r.plan.reserve_micro
    status = b.status()
    for period in ("day", "month"):
        assert status[period]["spent_usd"] == 0.004125 and status[period]["reserved_usd"] == 0
        assert status[period]["requests"] == 1 and status[period]["input_tokens"] == 1800
    row = budget_store.get(tmp_db.conn(), r.request_id)
    assert row is not None and row.status == "settled" and row.reasoning_tokens == 120
    assert row.cached_input_tokens == 1000 and row.settled_at is not None
    day, month = periods(time.time())
    assert budget_store.settled_sum(tmp_db.conn(), day=day) == 4125
    assert budget_store.settled_sum(tmp_db.conn(), month=month) == 4125
    # settling twice changes nothing
    b.settle(r, Usage(1, 1))
    assert b.status()["day"]["spent_usd"] == 0.004125


def test_refusal_names_spend_limit_and_reset(tmp_db: Store) -> None:
    b = budget(tmp_db, daily=0.01)
    r = b.reserve(
        model="gpt-5.1",
        reasoning_effort="medium",
        prompt_tokens=1000,
        max_output_tokens=500,
        operation="chat",
    )
    b.settle(r, Usage(1000, 500))  # $0.00625
    with pytest.raises(BudgetRefused) as info:
        b.reserve(
            model="gpt-5.1",
            reasoning_effort="medium",
            prompt_tokens=3000,
            max_output_tokens=500,
            operation="chat",
        )
    msg = str(info.value)
    assert "$0.0063" in msg and "daily limit $0.0100" in msg  # spent and limit
    reset = dt.datetime.fromtimestamp(day_reset(time.time()), dt.UTC)
    assert reset.strftime("%Y-%m-%d 00:00 UTC") in msg  # when it resets
    assert "mira.budget.dailyUsd" in msg and "allowDowngrade" in msg
    refused = (
        tmp_db.conn()
        .execute("SELECT status, cost_micro, message FROM budget_tracking WHERE status = 'refused'")
        .fetchone()
    )
    assert refused[0] == "refused" and refused[1] == 0 and "daily limit" in refused[2]
    # the monthly limit binds when it is the smaller remainder
    m = budget(tmp_db, daily=5, monthly=0.006)
    with pytest.raises(BudgetRefused, match="monthly limit") as info:
        m.reserve(
            model="gpt-5.1",
            reasoning_effort="low",
            prompt_tokens=10,
            max_output_tokens=300,
            operation="chat",
        )
    first = dt.datetime.fromtimestamp(month_reset(time.time()), dt.UTC)
    assert first.day == 1 and first.strftime("%Y-%m-%d") in str(info.value)


def test_cache_hits_cost_nothing_and_stale_reservations_are_closed(tmp_db: Store) -> None:
    now = [1_800_000_000.0]
    s = Settings()
    b = Budget(tmp_db, s, clock=lambda: now[0])
    b.record_cache_hit(
        model="gpt-5.1",
        reasoning_effort="low",
        saved_micro=900,
        input_tokens=10,
        output_tokens=5,
        operation="chat",
    )
    r = b.reserve(
        model="gpt-5.1",
        reasoning_effort="low",
        prompt_tokens=100,
        max_output_tokens=300,
        operation="chat",
    )
    now[0] += 16 * 60  # the process holding r died; a later reservation closes it
    b.reserve(
        model="gpt-5.1",
        reasoning_effort="low",
        prompt_tokens=100,
        max_output_tokens=300,
        operation="chat",
    )
    row = budget_store.get(tmp_db.conn(), r.request_id)
    assert row is not None and row.status == "error" and row.cost_micro == r.plan.reserve_micro
    day = b.status()["day"]
    assert day["cache_hits"] == 1 and day["saved_usd"] == 0.0009
    assert day["spent_usd"] == r.plan.reserve_micro / 1e6


def test_threads_never_overspend(tmp_db: Store) -> None:
    b = budget(tmp_db, daily=0.05)
    done: list[int] = []

    def worker() -> None:
        for _ in range(15):
            try:
                r = b.reserve(
                    model="gpt-5.1",
                    reasoning_effort="low",
                    prompt_tokens=1000,
                    max_output_tokens=1024,
                    operation="chat",
                )
            except BudgetRefused:
                continue
            time.sleep(0.001)
            s = b.settle(r, Usage(1000 + 32, r.plan.max_output_tokens))
            done.append(s.cost_micro)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    day, _ = periods(time.time())
    total = budget_store.settled_sum(tmp_db.conn(), day=day)
    assert total == sum(done) <= 50_000 and len(done) >= 4


def test_two_processes_with_fifty_requests_never_spend_more_than_the_limit(
    tmp_db: Store, tmp_path: Path
) -> None:
    """25 requests in each of two processes over the real provider; the limit fits 10."""
    with OpenAIServer() as srv:
        # each answer: 1000 prompt tokens (reserved with margin) and 500 output tokens
        srv.default = lambda body: Answer(
            text="ok " * 20, prompt_tokens=1000, completion_tokens=500
        )
        one = pricing.cost_micro(price("gpt-5.1"), 1000, 500)  # 6250
        limit = one * 10 + 1000
        script = REPO / "tests" / "support" / "budget_worker.py"
        env = {
            **os.environ,
            "MIRA_DB": str(tmp_db.path),
            "MIRA_LLM_BASE_URL": srv.base_url,
            "MIRA_OPENAI_API_KEY": "sk-test-two-processes-0123456789abcd",
            "MIRA_BUDGET_DAILY_USD": str(limit / 1e6),
            "MIRA_LLM_MAX_OUTPUT_TOKENS": "500",
            "MIRA_LLM_MAX_RETRIES": "0",
            "PYTHONPATH": str(REPO),
        }
        procs = [
            subprocess.Popen(
                [sys.executable, str(script), "25", "8"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=240) for p in procs]
        for p, (_out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err
    answered = sum(int(o.split()[0]) for o, _ in outs)
    refused = sum(int(o.split()[1]) for o, _ in outs)
    assert answered + refused == 50 and refused > 0
    conn = tmp_db.conn()
    for (day,) in conn.execute("SELECT DISTINCT day FROM budget_tracking"):
        assert budget_store.settled_sum(conn, day=day) <= limit
    rows = conn.execute(
        "SELECT status, COUNT(*), SUM(cost_micro) FROM budget_tracking GROUP BY status"
    ).fetchall()
    by = {r[0]: (r[1], r[2]) for r in rows}
    assert by["settled"][0] == answered and by["refused"][0] == refused
    assert "reserved" not in by  # everything was settled
    costs = [
        r[0]
        for r in conn.execute("SELECT cost_micro FROM budget_tracking WHERE status = 'settled'")
    ]
    assert 8 <= answered <= 11 and all(0 < c <= one for c in costs)
    day, _ = periods(time.time())
    summary = budget_store.totals(conn, "day", day)
    assert summary.cost_micro == by["settled"][1] and summary.reserved_micro == 0


def test_downgrade_path_through_the_service(world: World) -> None:
    world.settings.budget.allow_downgrade = True
    world.settings.llm.reasoning_effort = "high"
    world.settings.llm.cheaper_model = "gpt-5-mini"
    # Money for the prompt and roughly 600 output tokens of gpt-5.1.
    world.settings.budget.daily_usd = 0.0079
    svc = world.service()
    answer = svc.ask(world.question("def main"))
    body = world.srv.chat_requests()[-1].body
    assert body["model"] == "gpt-5.1" and body["reasoning_effort"] in ("low", "none")
    assert 256 <= body["max_completion_tokens"] < 1024
    assert any("output limited" in n for n in answer.notes)
    assert any("reasoning effort lowered from high" in n for n in answer.notes)
    # Not enough left for 256 tokens of gpt-5.1: the cheaper model answers, and says so.
    world.settings.budget.daily_usd = (answer.cost_micro + 2900) / 1e6
    svc = world.service()
    answer2 = svc.ask(world.question("class Greeter"))
    body = world.srv.chat_requests()[-1].body
    assert body["model"] == "gpt-5-mini" and body["max_completion_tokens"] == 1024
    assert "cheaper gpt-5-mini" in answer2.notes[0] and answer2.model == "gpt-5-mini"
    # Downgraded answers are not cached as if they were the full ones.
    assert svc.cache.stats().entries == 0
    # Without permission to downgrade the same request is refused with the reason.
    world.settings.budget.allow_downgrade = False
    svc = world.service()
    with pytest.raises(BudgetRefused, match="daily limit"):
        svc.ask(world.question("class Greeter", ask="again?"))
