"""Conversations kept in sessions and memory_entries, so a follow-up question has its history.

A question joins the project's most recent session when it was active within
``SESSION_IDLE_S``; otherwise (or when asked) a new session starts. History goes back to the
model newest-first until its token share is used, then in chronological order.
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

SESSION_IDLE_S = 30 * 60
HISTORY_ENTRIES = 40


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

    def history(self, session_id: str, max_tokens: int) -> list[dict[str, Any]]:
        """User/assistant messages of the session that fit ``max_tokens``, oldest first."""
        entries = q.recent_entries(self.store.conn(), session_id, HISTORY_ENTRIES)
        picked: list[dict[str, Any]] = []
        used = 0
        for e in reversed(entries):
            if e.role not in ("user", "assistant"):
                continue
            cost = e.token_count or tokens.count(e.content)
            if used + cost > max_tokens:
                break
            used += cost
            picked.append({"role": e.role, "content": e.content})
        picked.reverse()
        # A history must not start with an answer whose question was cut off.
        while picked and picked[0]["role"] != "user":
            picked.pop(0)
        return picked

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
