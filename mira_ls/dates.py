"""Dates as every output of mira-ls shows them: in UTC, so two people (or a test and CI)
see the same text for the same stored timestamp.

Timestamps are Unix seconds as the store keeps them. ``None`` and 0 mean "no time
recorded" and show as ``missing`` (the report says "never", the LLM context "?").
This module imports nothing of mira-ls, so every layer may use it.
"""

from __future__ import annotations

import datetime as dt

DAY_S = 86400


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def day(ts: float | None, missing: str = "?") -> str:
    """``2023-11-14``."""
    return _utc(ts).strftime("%Y-%m-%d") if ts else missing


def month(ts: float) -> str:
    """``2023-11``."""
    return _utc(ts).strftime("%Y-%m")


def minute(ts: float | None, missing: str = "?") -> str:
    """``2023-11-14 22:13 UTC``."""
    return _utc(ts).strftime("%Y-%m-%d %H:%M UTC") if ts else missing


def file_stamp(ts: float) -> str:
    """``20231114-221320``: sorts by time inside a file name."""
    return _utc(ts).strftime("%Y%m%d-%H%M%S")


def ago(ts: int, now: int) -> str:
    """A relative date: 'today', 'yesterday', '3 days ago', '2 months ago', '4 years ago'
    (a time after ``now``, from another machine's clock, as its day)."""
    days = (now - ts) // DAY_S
    if days < 0:
        return day(ts)
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 31:
        return f"{days} days ago"
    months = days // 30
    if months < 12:
        return f"{months} month{'s' if months > 1 else ''} ago"
    years = days // 365
    return f"{years} year{'s' if years > 1 else ''} ago"
