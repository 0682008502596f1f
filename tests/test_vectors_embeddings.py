"""Embeddings against the loopback OpenAI-compatible server: each text once, batches, the
budget (stop and resume), and failures as sentences with nothing lost or half-stored."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import numpy as np
import pytest

from mira_ls.config import Settings
from mira_ls.llm.budget import BudgetRefused
from mira_ls.llm.errors import LlmError
from mira_ls.store import Store
from mira_ls.store import embeddings as emb_store
from mira_ls.vectors.embeddings import Embedder, point_id, semantic_off_reason, text_hash
from tests.support.openai_server import Error, OpenAIServer, Vectors, word_vector

NO_KEY: dict[str, str] = {}


@pytest.fixture
def srv() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


def settings_for(base_url: str, dims: int = 64) -> Settings:
    s = Settings()
    s.llm.base_url = base_url
    s.llm.max_retries = 0
    s.llm.timeout_seconds = 5
    s.llm.embedding_dimensions = dims
    return s


def spent(store: Store) -> list[tuple[str, str, int]]:
    return [
        (r[0], r[1], r[2])
        for r in store.conn().execute(
            "SELECT operation, status, cost_micro FROM budget_tracking ORDER BY id"
        )
    ]


def test_each_text_is_embedded_once(tmp_db: Store, srv: OpenAIServer) -> None:
    emb = Embedder(tmp_db, settings_for(srv.base_url), env=NO_KEY)
    texts = ["def retry_upload(path): ...", "class Uploader: ...", "def retry_upload(path): ..."]
    run = emb.embed(texts, project_id=None)
    assert (run.embedded, run.reused, run.calls, run.stopped) == (2, 0, 1, None)
    (req,) = srv.embedding_requests()
    assert req.body["model"] == "text-embedding-3-large"
    assert req.body["dimensions"] == 64
    assert req.body["input"] == texts[:2]  # the duplicate is sent once

    stored = emb.stored([text_hash(t) for t in texts])
    vec = stored[text_hash(texts[0])][1]
    assert vec.dtype == np.float32 and vec.shape == (64,)
    assert np.allclose(vec, word_vector(texts[0], 64), atol=1e-6)

    again = emb.embed([*texts, "class Uploader: ..."])
    assert (again.embedded, again.calls, again.reused) == (0, 0, 2)
    assert len(srv.embedding_requests()) == 1

    # The key is the space too: other dimensions are another vector (and another call).
    other = Embedder(tmp_db, settings_for(srv.base_url, dims=32), env=NO_KEY)
    assert other.embed(texts[:1]).calls == 1
    assert emb_store.summary(tmp_db.conn()) == [
        ("text-embedding-3-large", 32, 1, 128),
        ("text-embedding-3-large", 64, 2, 512),
    ]
    # Every call went through the budget, priced as an embedding model.
    assert [(op, st) for op, st, _ in spent(tmp_db)] == [("embed", "settled")] * 2
    assert all(c > 0 for _, _, c in spent(tmp_db))
    # Point ids are UUIDs from the key, the same for everyone with that text and model.
    assert point_id("m", 64, "ab") == point_id("m", 64, "ab") != point_id("m", 32, "ab")


def test_batches_stay_within_the_limits(tmp_db: Store, srv: OpenAIServer) -> None:
    emb = Embedder(tmp_db, settings_for(srv.base_url), env=NO_KEY)
    emb.batch_inputs = 3
    texts = [f"function number {i}" for i in range(7)]
    run = emb.embed(texts)
    assert run.calls == 3 and run.embedded == 7
    assert [len(r.body["input"]) for r in srv.embedding_requests()] == [3, 3, 1]


def test_budget_stops_a_run_and_it_resumes(tmp_db: Store, srv: OpenAIServer) -> None:
    s = settings_for(srv.base_url)
    s.budget.prices = {"text-embedding-3-large": {"input": 1000}}  # $1000 per M tokens
    s.budget.daily_usd = 0.036
    emb = Embedder(tmp_db, s, env=NO_KEY)
    emb.batch_inputs = 1
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    run = emb.embed(words)
    assert run.stopped is not None and run.stopped.startswith("Budget:")
    assert "mira.budget.dailyUsd" in run.stopped
    assert 0 < run.embedded < len(words)
    first = run.embedded
    assert len(srv.embedding_requests()) == first  # the refused batch was never sent

    s.budget.daily_usd = 5
    rest = Embedder(tmp_db, s, env=NO_KEY).embed(words)
    assert rest.stopped is None
    assert rest.reused == first and rest.embedded == len(words) - first
    # One more call (default batch size) with exactly the texts still missing.
    assert len(srv.embedding_requests()) == first + 1
    assert srv.embedding_requests()[-1].body["input"] == words[first:]


def test_endpoint_failures_are_sentences_and_store_nothing(
    tmp_db: Store, srv: OpenAIServer
) -> None:
    emb = Embedder(tmp_db, settings_for(srv.base_url), env=NO_KEY)
    srv.script(Error(401, "Incorrect API key provided"))
    run = emb.embed(["def f(): pass"])
    assert run.stopped is not None and "401" in run.stopped and run.embedded == 0
    assert emb_store.summary(tmp_db.conn()) == []
    assert spent(tmp_db)[-1][1:] == ("error", 0)  # released: an error answer is not billed

    srv.script(Vectors(dimensions=8))
    with pytest.raises(LlmError) as err:
        emb.embed(["def g(): pass"], raise_errors=True)
    assert err.value.kind == "dimensions"
    assert "8-dimensional" in str(err.value) and "embeddingDimensions is 64" in str(err.value)
    assert emb_store.summary(tmp_db.conn()) == []

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = Embedder(tmp_db, settings_for(f"http://127.0.0.1:{port}/v1"), env=NO_KEY)
    run = down.embed(["def h(): pass"])
    assert run.stopped is not None and "connection refused" in run.stopped

    # After all that, a working call still stores its vector.
    assert emb.embed(["def f(): pass"]).embedded == 1


def test_query_vectors_are_kept(tmp_db: Store, srv: OpenAIServer) -> None:
    emb = Embedder(tmp_db, settings_for(srv.base_url), env=NO_KEY)
    v1 = emb.query_vector("where do we retry uploads")
    v2 = emb.query_vector("where do we retry uploads")
    assert np.array_equal(v1, v2)
    assert len(srv.embedding_requests()) == 1
    assert spent(tmp_db)[-1][0] == "embed_query"


def test_budget_refusal_of_a_query_raises(tmp_db: Store, srv: OpenAIServer) -> None:
    s = settings_for(srv.base_url)
    s.budget.daily_usd = 0
    with pytest.raises(BudgetRefused):
        Embedder(tmp_db, s, env=NO_KEY).query_vector("anything")
    assert srv.embedding_requests() == []


def test_semantic_search_off_without_a_key_for_openai() -> None:
    s = Settings()
    reason = semantic_off_reason(s, env={})
    assert reason is not None and "OPENAI_API_KEY" in reason and "Keyword search" in reason
    assert semantic_off_reason(s, env={"OPENAI_API_KEY": "sk-test"}) is None
    s.llm.base_url = "http://127.0.0.1:11434/v1"  # Ollama needs no key
    assert semantic_off_reason(s, env={}) is None
