"""Conversations kept in sessions and memory_entries, so a follow-up question has its history.

A question joins the project's most recent session when it was active within
``SESSION_IDLE_S``; otherwise (or when asked) a new session starts. History goes back to the
model newest-first until its token share is used, then in chronological order; when the
session has rolling summaries (memory/summaries.py), the oldest messages that do not fit go
as their summaries instead of being cut.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mira_ls.llm import tokens
from mira_ls.memory.owner import username
from mira_ls.store import Store
from mira_ls.store import memory as q
from mira_ls.store import memory_summaries as sq
from mira_ls.store.memory import EntryRow
from mira_ls.store.memory_summaries import SummaryRow

SESSION_IDLE_S = 30 * 60
HISTORY_ENTRIES = 40
KEEP_RECENT = 2  # messages kept verbatim before level-1 summaries give way to level-2 ones
SUMMARIES_HEAD = "Earlier in this conversation (summaries, oldest first):"
SUMMARIES_THEN = "The conversation went on:"


@dataclass
class Conversations:
    store: Store
    clock: Callable[[], float] = time.time

    def session_for(
        self,
        project_id: int | None,
        *,
        session_id: str | None = None,
        new: bool = False,
        client_name: str | None = None,
    ) -> str:
        """An existing session id when given and known, else the recent one, else a new one."""
        now = int(self.clock())
        with self.store.write() as conn:
            user = q.local_user_id(conn, username())
            if session_id:
                s = q.get_session(conn, session_id)
                if s is not None:
                    return s.id
            if not new and not session_id:
                s = q.latest_session(conn, user, project_id, now - SESSION_IDLE_S)
                if s is not None:
                    return s.id
            sid = session_id or uuid.uuid4().hex
            q.create_session(conn, sid, user, project_id, None, client_name, now)
            return sid

    def current(
        self, project_id: int | None, *, session_id: str | None = None, new: bool = False
    ) -> str | None:
        """The session ``session_for`` would pick, without creating one (None: a new one)."""
        conn = self.store.conn()
        user = q.user_id_of(conn, username())
        if user is None or (new and not session_id):
            return None
        if session_id:
            s = q.get_session(conn, session_id)
            return s.id if s is not None else None
        s = q.latest_session(conn, user, project_id, int(self.clock()) - SESSION_IDLE_S)
        return s.id if s is not None else None

    def history(self, session_id: str, max_tokens: int) -> list[dict[str, Any]]:
        """User/assistant messages of the session that fit ``max_tokens``, oldest first.

        When they do not all fit and the session has summaries, the oldest messages are
        replaced by the summaries of their blocks, keeping as many recent messages verbatim
        as fit; when the level-1 summaries do not fit beside the last exchange, the oldest
        tens of them are replaced by their level-2 summary. The summaries go first, in the
        first user message. Without summaries the oldest messages are cut, as before."""
        conn = self.store.conn()
        msgs = [
            e
            for e in q.recent_entries(conn, session_id, HISTORY_ENTRIES)
            if e.role in ("user", "assistant")
        ]
        level1 = sq.summaries(conn, session_id, sq.LEVEL1)
        everything = sq.message_count(conn, session_id) <= len(msgs)
        if not level1 or (everything and sum(_cost(e) for e in msgs) <= max_tokens):
            return _verbatim(msgs, max_tokens)
        level2 = sq.summaries(conn, session_id, sq.LEVEL2)
        # Level-1 summaries while the last exchange still fits beside them; then level-2
        # ones for the oldest hundreds, with as many recent messages as then fit.
        for big, keep in (([], min(KEEP_RECENT, len(msgs))), (level2, 0)):
            for k in range(len(msgs), keep - 1, -1):
                tail = msgs[len(msgs) - k :]
                if tail and tail[0].role != "user":
                    continue
                room = max_tokens - sum(_cost(e) for e in tail)
                if room < 0:
                    continue
                units = _units(level1, big, tail[0].id if tail else None, room)
                if units is not None:
                    return _compose(units, tail)
        # Not even the summaries alone fit: the newest of them that do, else (not one fits)
        # the newest messages, as without summaries.
        units = _units(level1, level2, None, 0, newest_fit=max_tokens) or []
        return _compose(units, []) if units else _verbatim(msgs, max_tokens)

    def record(
        self,
        session_id: str,
        question: str,
        answer: str,
        *,
        model: str | None,
        cost_micro: int,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        now = int(self.clock())
        with self.store.write() as conn:
            qid = q.add_entry(
                conn, session_id, "user", question, tokens.count(question), now, metadata=metadata
            )
            q.add_entry(
                conn,
                session_id,
                "assistant",
                answer,
                tokens.count(answer),
                now,
                model=model,
                cost_micro=cost_micro,
                parent_id=qid,
                metadata={"cached": bool((metadata or {}).get("cached"))},
            )


def render(s: SummaryRow) -> str:
    """A summary as the model sees it in a history."""
    body = " ".join(s.content.split())
    if s.key_facts:
        body += "\nKey facts and decisions:\n" + "\n".join(f"- {f}" for f in s.key_facts)
    return f"[Summary of {s.message_count} messages]\n{body}"


def _cost(e: EntryRow) -> int:
    return e.token_count or tokens.count(e.content)


def _verbatim(msgs: list[EntryRow], max_tokens: int) -> list[dict[str, Any]]:
    """The newest messages that fit, oldest first (what history was before summaries)."""
    picked: list[dict[str, Any]] = []
    used = 0
    for e in reversed(msgs):
        cost = _cost(e)
        if used + cost > max_tokens:
            break
        used += cost
        picked.append({"role": e.role, "content": e.content})
    picked.reverse()
    # A history must not start with an answer whose question was cut off.
    while picked and picked[0]["role"] != "user":
        picked.pop(0)
    return picked


def _units_cost(units: list[SummaryRow]) -> int:
    head = tokens.count(SUMMARIES_HEAD) + tokens.count(SUMMARIES_THEN) + 4
    return head + sum((u.token_count or tokens.count(render(u))) + 2 for u in units)


def _units(
    level1: list[SummaryRow],
    level2: list[SummaryRow],
    before: int | None,
    room: int,
    newest_fit: int | None = None,
) -> list[SummaryRow] | None:
    """The summaries of every block with a message before entry ``before`` (all when None),
    within ``room`` tokens: level-1 ones, their oldest tens replaced by level-2 summaries
    as far as needed. None when even that does not fit. With ``newest_fit``, the newest
    units that fit that many tokens instead (the oldest dropped)."""

    def start(s: SummaryRow) -> int:
        return s.first_entry_id or s.last_entry_id or 0

    units = [s for s in level1 if before is None or start(s) < before]
    if newest_fit is None and _units_cost(units) <= room:
        return units
    for big in level2:
        lo, hi = start(big), big.last_entry_id or start(big)
        inside = [u for u in units if u.window_size == sq.LEVEL1 and lo <= start(u) <= hi]
        if not inside:
            continue
        at = units.index(inside[0])
        units = [u for u in units if u not in inside]
        units.insert(at, big)
        if newest_fit is None and _units_cost(units) <= room:
            return units
    if newest_fit is None:
        return None
    while units and _units_cost(units) > newest_fit:
        units.pop(0)
    return units


def _compose(units: list[SummaryRow], tail: list[EntryRow]) -> list[dict[str, Any]]:
    """The summaries, then the verbatim messages (the first one a question): the summaries
    are the head of that first user message, so user and assistant still alternate."""
    msgs = [{"role": e.role, "content": e.content} for e in tail]
    if not units:
        return msgs
    block = SUMMARIES_HEAD + "\n\n" + "\n\n".join(render(u) for u in units)
    if msgs:
        msgs[0] = {
            "role": "user",
            "content": f"{block}\n\n{SUMMARIES_THEN}\n\n{msgs[0]['content']}",
        }
        return msgs
    return [{"role": "user", "content": block}]
