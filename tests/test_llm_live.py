"""One real call to OpenAI, only when OPENAI_API_KEY is set (never in CI)."""

from __future__ import annotations

import os

import pytest

from mira_ls.config import Settings
from mira_ls.llm.service import LlmService, Question
from mira_ls.store import Store

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY"), reason="OPENAI_API_KEY is not set"),
]


def test_a_real_answer_streams_costs_money_and_is_cached(tmp_db: Store) -> None:
    s = Settings()
    s.llm.reasoning_effort = "none"
    s.llm.max_output_tokens = 64
    s.budget.daily_usd = 0.05
    svc = LlmService(tmp_db, s)
    chunks: list[str] = []
    q = Question("Reply with the single word: pong", "ping", use_tools=False)
    a = svc.ask(q, chunks.append)
    assert "pong" in a.text.lower() and "".join(chunks) == a.text
    assert 0 < a.cost_micro < 50_000 and a.input_tokens > 0
    b = svc.ask(Question("Reply with the single word: pong", "ping", use_tools=False))
    assert b.cached and b.text == a.text
