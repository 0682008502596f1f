"""Queries over budget_tracking (one row per request) and budget_summary (day/month totals).

Every function that changes money runs inside the caller's ``Store.write()`` transaction
(BEGIN IMMEDIATE), so the read of the totals and the write of a reservation are one atomic
step across threads and processes. The summary rows carry open reservations too, so a
check is two primary-key lookups however many requests the month holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection

_TRACK_COLS = (
    "id, request_id, created_at, day, month, provider, model, reasoning_effort, operation, "
    "status, reserved_micro, cost_micro, input_tokens, cached_input_tokens, output_tokens, "
    "reasoning_tokens, from_cache, saved_micro, project_id, message, settled_at"
)


@dataclass(frozen=True)
class Totals:
    """Spent (settled) and reserved (open) micro-dollars of one period."""

    cost_micro: int = 0
    reserved_micro: int = 0
    requests: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    saved_micro: int = 0

    @property
    def committed_micro(self) -> int:
        return self.cost_micro + self.reserved_micro


@dataclass(frozen=True)
class TrackRow:
    id: int
    request_id: str
    created_at: int
    day: str
    month: str
    provider: str
    model: str
    reasoning_effort: str | None
    operation: str | None
    status: str
    reserved_micro: int
    cost_micro: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    from_cache: bool
    saved_micro: int
    project_id: int | None
    message: str | None
    settled_at: int | None


def _track(r: Any) -> TrackRow:
    return TrackRow(
        int(r[0]),
        r[1],
        int(r[2]),
        r[3],
        r[4],
        r[5],
        r[6],
        r[7],
        r[8],
        r[9],
        int(r[10]),
        int(r[11]),
        int(r[12]),
        int(r[13]),
        int(r[14]),
        int(r[15]),
        bool(r[16]),
        int(r[17]),
        r[18],
        r[19],
        r[20],
    )


def totals(conn: Connection, period_type: str, period: str) -> Totals:
    r = conn.execute(
        "SELECT cost_micro, reserved_micro, requests, cache_hits, input_tokens, output_tokens,"
        " saved_micro FROM budget_summary WHERE period_type = ? AND period = ?",
        (period_type, period),
    ).fetchone()
    return Totals(*(int(v) for v in r)) if r else Totals()


def _bump(
    conn: Connection,
    day: str,
    month: str,
    now: int,
    *,
    cost: int = 0,
    reserved: int = 0,
    requests: int = 0,
    cache_hits: int = 0,
    input_tokens: int = 0,
    output_tokens: int = 0,
    saved: int = 0,
) -> None:
    # UPDATE first: a CHECK on the INSERT half of an upsert would see a negative delta.
    for period_type, period in (("day", day), ("month", month)):
        updated = conn.execute(
            "UPDATE budget_summary SET cost_micro = cost_micro + ?, "
            "reserved_micro = reserved_micro + ?, requests = requests + ?, "
            "cache_hits = cache_hits + ?, input_tokens = input_tokens + ?, "
            "output_tokens = output_tokens + ?, saved_micro = saved_micro + ?, updated_at = ? "
            "WHERE period_type = ? AND period = ?",
            (
                cost,
                reserved,
                requests,
                cache_hits,
                input_tokens,
                output_tokens,
                saved,
                now,
                period_type,
                period,
            ),
        ).rowcount
        if not updated:
            conn.execute(
                "INSERT INTO budget_summary(period_type, period, cost_micro, reserved_micro, "
                "requests, cache_hits, input_tokens, output_tokens, saved_micro, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    period_type,
                    period,
                    cost,
                    reserved,
                    requests,
                    cache_hits,
                    input_tokens,
                    output_tokens,
                    saved,
                    now,
                ),
            )


@dataclass(frozen=True)
class NewRequest:
    request_id: str
    created_at: int
    day: str
    month: str
    provider: str
    model: str
    reasoning_effort: str | None
    operation: str
    project_id: int | None


def insert_reservation(
    conn: Connection,
    r: NewRequest,
    reserved_micro: int,
    input_tokens: int,
    message: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO budget_tracking(request_id, created_at, day, month, provider, model, "
        "reasoning_effort, operation, status, reserved_micro, input_tokens, project_id, "
        "message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'reserved', ?, ?, ?, ?)",
        (
            r.request_id,
            r.created_at,
            r.day,
            r.month,
            r.provider,
            r.model,
            r.reasoning_effort,
            r.operation,
            reserved_micro,
            input_tokens,
            r.project_id,
            message,
        ),
    )
    _bump(conn, r.day, r.month, r.created_at, reserved=reserved_micro)


def insert_refusal(conn: Connection, r: NewRequest, needed_micro: int, message: str) -> None:
    conn.execute(
        "INSERT INTO budget_tracking(request_id, created_at, day, month, provider, model, "
        "reasoning_effort, operation, status, reserved_micro, project_id, message, settled_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'refused', 0, ?, ?, ?)",
        (
            r.request_id,
            r.created_at,
            r.day,
            r.month,
            r.provider,
            r.model,
            r.reasoning_effort,
            r.operation,
            r.project_id,
            message,
            r.created_at,
        ),
    )
    del needed_micro  # the message states it; the row keeps reserved 0 (nothing was held)


def insert_cache_hit(
    conn: Connection, r: NewRequest, saved_micro: int, input_tokens: int, output_tokens: int
) -> None:
    conn.execute(
        "INSERT INTO budget_tracking(request_id, created_at, day, month, provider, model, "
        "reasoning_effort, operation, status, input_tokens, output_tokens, from_cache, "
        "saved_micro, project_id, settled_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'cache_hit', ?, ?, 1, ?, ?, ?)",
        (
            r.request_id,
            r.created_at,
            r.day,
            r.month,
            r.provider,
            r.model,
            r.reasoning_effort,
            r.operation,
            input_tokens,
            output_tokens,
            saved_micro,
            r.project_id,
            r.created_at,
        ),
    )
    _bump(conn, r.day, r.month, r.created_at, requests=1, cache_hits=1, saved=saved_micro)


def get(conn: Connection, request_id: str) -> TrackRow | None:
    r = conn.execute(
        f"SELECT {_TRACK_COLS} FROM budget_tracking WHERE request_id = ?", (request_id,)
    ).fetchone()
    return _track(r) if r else None


def settle(
    conn: Connection,
    request_id: str,
    *,
    status: str,
    cost_micro: int,
    input_tokens: int,
    cached_input_tokens: int,
    output_tokens: int,
    reasoning_tokens: int,
    now: int,
    message: str | None = None,
) -> TrackRow | None:
    """Close an open reservation with its real cost; a closed one is left as it is."""
    row = get(conn, request_id)
    if row is None or row.status != "reserved":
        return row
    conn.execute(
        "UPDATE budget_tracking SET status = ?, cost_micro = ?, input_tokens = ?, "
        "cached_input_tokens = ?, output_tokens = ?, reasoning_tokens = ?, settled_at = ?, "
        "message = COALESCE(?, message) WHERE request_id = ?",
        (
            status,
            cost_micro,
            input_tokens,
            cached_input_tokens,
            output_tokens,
            reasoning_tokens,
            now,
            message,
            request_id,
        ),
    )
    _bump(
        conn,
        row.day,
        row.month,
        now,
        cost=cost_micro,
        reserved=-row.reserved_micro,
        requests=1,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )
    return get(conn, request_id)


def stale_reservations(conn: Connection, created_before: int) -> list[TrackRow]:
    return [
        _track(r)
        for r in conn.execute(
            f"SELECT {_TRACK_COLS} FROM budget_tracking WHERE status = 'reserved' "
            "AND created_at < ? ORDER BY created_at",
            (created_before,),
        )
    ]


def recent(conn: Connection, limit: int = 20) -> list[TrackRow]:
    return [
        _track(r)
        for r in conn.execute(
            f"SELECT {_TRACK_COLS} FROM budget_tracking ORDER BY id DESC LIMIT ?", (limit,)
        )
    ]


def settled_sum(conn: Connection, *, day: str | None = None, month: str | None = None) -> int:
    """Sum of cost_micro over rows of a period (a check of the summary, used by tests)."""
    if day is not None:
        r = conn.execute(
            "SELECT COALESCE(SUM(cost_micro), 0) FROM budget_tracking WHERE day = ?", (day,)
        ).fetchone()
    else:
        r = conn.execute(
            "SELECT COALESCE(SUM(cost_micro), 0) FROM budget_tracking WHERE month = ?", (month,)
        ).fetchone()
    return int(r[0])


def summaries(conn: Connection, period_type: str, limit: int = 31) -> list[tuple[str, Totals]]:
    return [
        (r[0], Totals(*(int(v) for v in r[1:])))
        for r in conn.execute(
            "SELECT period, cost_micro, reserved_micro, requests, cache_hits, input_tokens, "
            "output_tokens, saved_micro FROM budget_summary WHERE period_type = ? "
            "ORDER BY period DESC LIMIT ?",
            (period_type, limit),
        )
    ]


# -- holds (migration 011) -------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    id: int
    created_at: int
    until_at: int
    request_id: str | None
    reserved_micro: int
    cost_micro: int
    message: str


def insert_hold(
    conn: Connection,
    *,
    now: int,
    until_at: int,
    request_id: str | None,
    reserved_micro: int,
    cost_micro: int,
    message: str,
) -> None:
    conn.execute(
        "INSERT INTO budget_holds(created_at, until_at, request_id, reserved_micro, cost_micro,"
        " message) VALUES (?, ?, ?, ?, ?, ?)",
        (now, until_at, request_id, reserved_micro, cost_micro, message),
    )


def active_hold(conn: Connection, now: int) -> Hold | None:
    """The newest hold that was neither resumed nor passed its reset."""
    r = conn.execute(
        "SELECT id, created_at, until_at, request_id, reserved_micro, cost_micro, message "
        "FROM budget_holds WHERE resumed_at IS NULL AND until_at > ? ORDER BY id DESC LIMIT 1",
        (now,),
    ).fetchone()
    return Hold(int(r[0]), int(r[1]), int(r[2]), r[3], int(r[4]), int(r[5]), r[6]) if r else None


def resume_holds(conn: Connection, now: int) -> int:
    """Lift every standing hold; the number lifted."""
    return int(
        conn.execute(
            "UPDATE budget_holds SET resumed_at = ? WHERE resumed_at IS NULL AND until_at > ?",
            (now, now),
        ).rowcount
    )
