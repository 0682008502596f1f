"""A question asked without a position gets a "related code" section from search."""

from __future__ import annotations

from pathlib import Path

import pytest

from mira_ls.features import chat
from mira_ls.vectors import code as code_vectors
from mira_ls.vectors.embeddings import Embedder
from mira_ls.vectors.stores import open_index
from tests.support.llm_world import KEY, World
from tests.support.openai_server import Answer

pytest_plugins = ["tests.llm_fixtures"]


def no_documents(uri: str) -> None:
    return None


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MIRA_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def ask(world: World, question: str) -> tuple[chat.Prepared, str]:
    state = chat.ChatState()
    session = world.session()
    svc = state.service(session)
    prep = chat.prepare(
        state, session, "chat", {"question": question}, no_documents, "utf-16", svc.secrets
    )
    world.srv.script(Answer(text="It doubles."))
    chat.run(state, session, prep, chat.Sink())
    sent = "\n".join(str(m.get("content")) for m in world.srv.chat_requests()[-1].body["messages"])
    return prep, sent


def test_keyword_hits_and_their_code_go_to_the_model(world: World) -> None:
    prep, sent = ask(world, "where do we double a value?")
    bundle = prep.question.context
    assert bundle is not None and [s.kind for s in bundle.sections] == ["related", "guidelines"]
    body = bundle.sections[0].body
    assert body.startswith("- `app.helper` (function, app.py:") and "found by keyword" in body
    assert "return x * 2" in body
    assert "Code related to the question" in sent and "return x * 2" in sent
    assert world.srv.embedding_requests() == []  # nothing is embedded: no paid query vector


def test_with_embedded_code_the_vector_ranking_joins(world: World) -> None:
    world.settings.llm.embedding_dimensions = 64
    emb = Embedder(world.store, world.settings, env={"MIRA_OPENAI_API_KEY": KEY})
    idx = open_index(world.store, world.settings, emb.model, emb.dimensions)
    code_vectors.sync(emb, idx, world.project_id)
    prep, _ = ask(world, "double a value")
    assert prep.question.context is not None
    body = prep.question.context.sections[0].body
    assert "`app.helper` (function, app.py:" in body and "found by both" in body
    # The documents, the query and nothing else were embedded.
    assert len(world.srv.embedding_requests()) == 2
