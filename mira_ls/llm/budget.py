"""The hard spending limit: reserve the worst case before a call, settle the real cost after.

The worst case of a call is its prompt tokens (counted with o200k_base, plus a margin) at
the input price plus the output cap at the output price. Reserving it inside one
BEGIN IMMEDIATE transaction that first reads the day's and month's spent + reserved money
makes the check-and-hold atomic across threads and processes, so the sum of settled costs
never passes a limit. When the worst case does not fit:

1. the output cap shrinks to what the remaining money pays for (never below 256 tokens);
   with ``budget.allowDowngrade`` a reasoning effort the smaller cap cannot carry is
   lowered (high -> medium -> low -> none);
2. with ``budget.allowDowngrade`` and ``llm.cheaperModel`` set, the cheaper model is tried;
3. otherwise the request is refused with what was spent, the limit and when it resets.

Days and months are UTC. A reservation left open by a process that died is closed after
``STALE_AFTER_S`` at its reserved (worst-case) cost, so an unknown cost is never undercounted.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mira_ls import dates
from mira_ls.config import Settings
from mira_ls.llm import pricing
from mira_ls.llm.errors import LlmError
from mira_ls.llm.pricing import Price, usd
from mira_ls.llm.provider import Usage, effort_order, normalize_effort
from mira_ls.store import Store
from mira_ls.store import budget as q
from mira_ls.store.budget import NewRequest, Totals
from mira_ls.store.connection import Connection

MIN_OUTPUT_TOKENS = 256
PROMPT_MARGIN = 1.05  # our count vs. the server's: stay on the safe side
PROMPT_MARGIN_TOKENS = 32
STALE_AFTER_S = 15 * 60
# Below these output caps an effort tends to spend the whole allowance reasoning.
EFFORT_MIN_CAP: Mapping[str, int] = {
    "none": MIN_OUTPUT_TOKENS,
    "minimal": MIN_OUTPUT_TOKENS,
    "low": 512,
    "medium": 1024,
    "high": 2048,
}


class BudgetRefused(LlmError):
    def __init__(self, message: str) -> None:
        super().__init__("budget", message)


def worst_case_input(prompt_tokens: int) -> int:
    return math.ceil(prompt_tokens * PROMPT_MARGIN) + PROMPT_MARGIN_TOKENS


@dataclass(frozen=True)
class Plan:
    model: str
    reasoning_effort: str | None
    max_output_tokens: int
    reserve_micro: int
    notes: tuple[str, ...] = ()


def plan_call(
    *,
    remaining_micro: int,
    model: str,
    effort: str | None,
    prompt_tokens: int,
    max_output_tokens: int,
    cheaper_model: str,
    allow_downgrade: bool,
    price: Callable[[str], Price],
    period_label: str,
) -> Plan | None:
    """The best call that fits ``remaining_micro``; None when nothing fits."""
    inp = worst_case_input(prompt_tokens)
    models = [model]
    if allow_downgrade and cheaper_model and cheaper_model != model:
        models.append(cheaper_model)
    for m in models:
        p = price(m)
        e = normalize_effort(m, effort) if effort else None
        notes: list[str] = []
        if m != model:
            notes.append(
                f"switched from {model} to the cheaper {m} because {period_label} "
                f"has {usd(max(remaining_micro, 0))} left"
            )
        full = pricing.cost_micro(p, inp, max_output_tokens)
        if full <= remaining_micro:
            return Plan(m, e, max_output_tokens, full, tuple(notes))
        cap = min(max_output_tokens, pricing.max_output_tokens_for(p, remaining_micro, inp))
        # An input-only call (embeddings) cannot be made smaller: it fits or it does not.
        if max_output_tokens > 0 and cap >= min(MIN_OUTPUT_TOKENS, max_output_tokens):
            notes.append(
                f"output limited to {cap} tokens (of {max_output_tokens}) to stay "
                f"within {period_label}'s remaining {usd(max(remaining_micro, 0))}"
            )
            if allow_downgrade and e is not None:
                lowered = e
                order = effort_order(m)
                while (
                    EFFORT_MIN_CAP.get(lowered, MIN_OUTPUT_TOKENS) > cap
                    and lowered in order
                    and order.index(lowered) + 1 < len(order)
                ):
                    lowered = order[order.index(lowered) + 1]
                if lowered != e:
                    notes.append(
                        f"reasoning effort lowered from {e} to {lowered} to fit "
                        "the smaller output limit"
                    )
                    e = lowered
            return Plan(m, e, cap, pricing.cost_micro(p, inp, cap), tuple(notes))
        if not allow_downgrade:
            break
    return None


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def periods(ts: float) -> tuple[str, str]:
    d = _utc(ts)
    return d.strftime("%Y-%m-%d"), d.strftime("%Y-%m")


def day_reset(ts: float) -> int:
    d = _utc(ts).replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    return int(d.timestamp())


def month_reset(ts: float) -> int:
    d = _utc(ts).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)
    return int(nxt.timestamp())


def _when(reset_at: int, now: float) -> str:
    left = max(0, int(reset_at - now))
    h, m = divmod(left // 60, 60)
    d, h = divmod(h, 24)
    span = f"{d} d {h} h" if d else (f"{h} h {m} min" if h else f"{m} min")
    return f"{dates.minute(reset_at)} (in {span})"


@dataclass(frozen=True)
class Reservation:
    request_id: str
    plan: Plan
    prompt_tokens: int
    day: str
    month: str


@dataclass(frozen=True)
class Settled:
    request_id: str
    status: str
    cost_micro: int
    usage: Usage | None
    overrun: str | None = None  # the sentence when the call cost more than was reserved


RESUME_HOW = "`mira-ls budget --resume` or the mira.resumeBudget command"


@dataclass
class Budget:
    """Reservations and settlements on the shared database."""

    store: Store
    settings: Settings
    provider_name: str = "openai"
    clock: Callable[[], float] = time.time
    _price_overrides: dict[str, Price] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._price_overrides, self.problems = pricing.parse_overrides(self.settings.budget.prices)

    def price(self, model: str) -> Price:
        return pricing.price_for(model, self._price_overrides)

    @property
    def daily_micro(self) -> int:
        return round(self.settings.budget.daily_usd * 1_000_000)

    @property
    def monthly_micro(self) -> int:
        return round(self.settings.budget.monthly_usd * 1_000_000)

    def _close_stale(self, conn: Connection, now: float) -> None:
        for row in q.stale_reservations(conn, int(now) - STALE_AFTER_S):
            q.settle(
                conn,
                row.request_id,
                status="error",
                cost_micro=row.reserved_micro,
                input_tokens=row.input_tokens,
                cached_input_tokens=0,
                output_tokens=0,
                reasoning_tokens=0,
                now=int(now),
                message="The process that made this request ended before it finished; "
                "its worst-case cost was kept.",
            )

    def reserve(
        self,
        *,
        model: str,
        reasoning_effort: str | None,
        prompt_tokens: int,
        max_output_tokens: int,
        operation: str,
        project_id: int | None = None,
        allow_downgrade: bool | None = None,
        cheaper_model: str | None = None,
        request_id: str | None = None,
    ) -> Reservation:
        """Hold the worst case of one call, or raise BudgetRefused with a sentence."""
        allow = self.settings.budget.allow_downgrade if allow_downgrade is None else allow_downgrade
        cheaper = self.settings.llm.cheaper_model if cheaper_model is None else cheaper_model
        rid = request_id or uuid.uuid4().hex
        with self.store.write() as conn:
            now = self.clock()
            day, month = periods(now)
            self._close_stale(conn, now)
            d = q.totals(conn, "day", day)
            m = q.totals(conn, "month", month)
            day_left = self.daily_micro - d.committed_micro
            month_left = self.monthly_micro - m.committed_micro
            binding = "today" if day_left <= month_left else "this month"
            remaining = min(day_left, month_left)
            hold = q.active_hold(conn, int(now))
            plan = (
                None
                if hold is not None
                else plan_call(
                    remaining_micro=remaining,
                    model=model,
                    effort=reasoning_effort,
                    prompt_tokens=prompt_tokens,
                    max_output_tokens=max_output_tokens,
                    cheaper_model=cheaper,
                    allow_downgrade=allow,
                    price=self.price,
                    period_label=binding,
                )
            )
            req = NewRequest(
                rid,
                int(now),
                day,
                month,
                self.provider_name,
                plan.model if plan else model,
                plan.reasoning_effort if plan else reasoning_effort,
                operation,
                project_id,
            )
            if plan is None:
                needed = pricing.cost_micro(
                    self.price(model),
                    worst_case_input(prompt_tokens),
                    min(max_output_tokens, MIN_OUTPUT_TOKENS),
                )
                message = (
                    self._held(hold, now)
                    if hold is not None
                    else self._refusal(needed, d, m, now, allow, cheaper)
                )
                q.insert_refusal(conn, req, needed, message)
            else:
                q.insert_reservation(
                    conn, req, plan.reserve_micro, prompt_tokens, "; ".join(plan.notes) or None
                )
        if plan is None:
            raise BudgetRefused(message)
        return Reservation(rid, plan, prompt_tokens, day, month)

    @staticmethod
    def _held(hold: q.Hold, now: float) -> str:
        return (
            f"Budget: spending is on hold since {dates.minute(hold.created_at)} because a call "
            f"cost {usd(hold.cost_micro)} where {usd(hold.reserved_micro)} was reserved. "
            f"It resumes at {_when(hold.until_at, now)}, or now with {RESUME_HOW}."
        )

    def hold(self) -> q.Hold | None:
        """The standing hold, if spending is stopped after an overrun."""
        return q.active_hold(self.store.conn(), int(self.clock()))

    def resume(self) -> int:
        """Lift a hold (the user confirmed); the number of holds lifted."""
        with self.store.write() as conn:
            return q.resume_holds(conn, int(self.clock()))

    def _refusal(
        self, needed: int, d: Totals, m: Totals, now: float, allow: bool, cheaper: str
    ) -> str:
        day_left = self.daily_micro - d.committed_micro
        month_left = self.monthly_micro - m.committed_micro
        if day_left <= month_left:
            what = (
                f"today's spending is {usd(d.cost_micro)}"
                + (
                    f" (+{usd(d.reserved_micro)} held by running requests)"
                    if d.reserved_micro
                    else ""
                )
                + f" of the daily limit {usd(self.daily_micro)}"
            )
            reset = f"The daily limit resets at {_when(day_reset(now), now)}."
            key = "mira.budget.dailyUsd"
        else:
            what = (
                f"this month's spending is {usd(m.cost_micro)}"
                + (
                    f" (+{usd(m.reserved_micro)} held by running requests)"
                    if m.reserved_micro
                    else ""
                )
                + f" of the monthly limit {usd(self.monthly_micro)}"
            )
            reset = f"The monthly limit resets at {_when(month_reset(now), now)}."
            key = "mira.budget.monthlyUsd"
        hint = f" Raise {key}"
        if not allow:
            hint += " or set mira.budget.allowDowngrade to use a lower effort or cheaper model"
        elif not cheaper:
            hint += " or set mira.llm.cheaperModel"
        return f"Budget: this request needs at least {usd(needed)} but {what}. {reset}{hint}."

    def settle(
        self,
        res: Reservation,
        usage: Usage | None,
        *,
        status: str = "settled",
        message: str | None = None,
    ) -> Settled:
        """Record the real cost; without usage (cancelled, cut off) the reserved worst case."""
        p = self.price(res.plan.model)
        if usage is not None:
            cost = pricing.cost_micro(
                p, usage.input_tokens, usage.output_tokens, usage.cached_input_tokens
            )
            tokens = (
                usage.input_tokens,
                usage.cached_input_tokens,
                usage.output_tokens,
                usage.reasoning_tokens,
            )
        else:
            cost = res.plan.reserve_micro
            tokens = (res.prompt_tokens, 0, res.plan.max_output_tokens, 0)
            message = message or "The endpoint reported no usage; the worst case was charged."
        overrun = (
            self._overrun(res, usage, cost)
            if usage is not None and cost > res.plan.reserve_micro
            else None
        )
        with self.store.write() as conn:
            now = self.clock()
            q.settle(
                conn,
                res.request_id,
                status=status,
                cost_micro=cost,
                input_tokens=tokens[0],
                cached_input_tokens=tokens[1],
                output_tokens=tokens[2],
                reasoning_tokens=tokens[3],
                now=int(now),
                message=overrun or message,
            )
            if overrun is not None:
                q.insert_hold(
                    conn,
                    now=int(now),
                    until_at=day_reset(now),
                    request_id=res.request_id,
                    reserved_micro=res.plan.reserve_micro,
                    cost_micro=cost,
                    message=overrun,
                )
        return Settled(res.request_id, status, cost, usage, overrun)

    def _overrun(self, res: Reservation, usage: Usage, cost: int) -> str:
        """The sentence for a call that cost more than its worst case: the truth is recorded
        and spending stops, since the endpoint's usage cannot be trusted to stay in bounds."""
        now = self.clock()
        return (
            f"The endpoint reported {usage.input_tokens:,} input and {usage.output_tokens:,} "
            f"output tokens for a call capped at {res.plan.max_output_tokens:,} output tokens "
            f"(about {res.prompt_tokens:,} input tokens were sent): it cost {usd(cost)} where "
            f"at most {usd(res.plan.reserve_micro)} was reserved. The reported cost was "
            f"recorded, and Mira asks the model nothing more until the daily limit resets at "
            f"{_when(day_reset(now), now)}, or until you confirm with {RESUME_HOW}."
        )

    def release(self, res: Reservation, message: str) -> Settled:
        """The call failed before the endpoint did any work (refused connection, 401...)."""
        with self.store.write() as conn:
            q.settle(
                conn,
                res.request_id,
                status="error",
                cost_micro=0,
                input_tokens=0,
                cached_input_tokens=0,
                output_tokens=0,
                reasoning_tokens=0,
                now=int(self.clock()),
                message=message[:500],
            )
        return Settled(res.request_id, "error", 0, None)

    def record_cache_hit(
        self,
        *,
        model: str,
        reasoning_effort: str | None,
        saved_micro: int,
        input_tokens: int,
        output_tokens: int,
        operation: str,
        project_id: int | None = None,
    ) -> str:
        """Record a cache hit; its budget_tracking request id."""
        now = self.clock()
        day, month = periods(now)
        req = NewRequest(
            uuid.uuid4().hex,
            int(now),
            day,
            month,
            self.provider_name,
            model,
            reasoning_effort,
            operation,
            project_id,
        )
        with self.store.write() as conn:
            q.insert_cache_hit(conn, req, saved_micro, input_tokens, output_tokens)
        return req.request_id

    def status(self) -> dict[str, Any]:
        """Spent, limits and reset times of today and this month (UTC), in dollars."""
        now = self.clock()
        day, month = periods(now)
        conn = self.store.conn()
        d = q.totals(conn, "day", day)
        m = q.totals(conn, "month", month)

        def part(t: Totals, limit: int, reset: int, period: str) -> dict[str, Any]:
            return {
                "period": period,
                "spent_usd": t.cost_micro / 1_000_000,
                "reserved_usd": t.reserved_micro / 1_000_000,
                "limit_usd": limit / 1_000_000,
                "remaining_usd": max(0, limit - t.committed_micro) / 1_000_000,
                "reset_at": reset,
                "requests": t.requests,
                "cache_hits": t.cache_hits,
                "input_tokens": t.input_tokens,
                "output_tokens": t.output_tokens,
                "saved_usd": t.saved_micro / 1_000_000,
            }

        hold = q.active_hold(conn, int(now))
        return {
            "day": part(d, self.daily_micro, day_reset(now), day),
            "month": part(m, self.monthly_micro, month_reset(now), month),
            "hold": None
            if hold is None
            else {
                "since": hold.created_at,
                "until": hold.until_at,
                "cost_usd": hold.cost_micro / 1_000_000,
                "reserved_usd": hold.reserved_micro / 1_000_000,
                "message": hold.message,
            },
        }
