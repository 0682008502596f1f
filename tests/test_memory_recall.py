"""Recall against a real database and the loopback OpenAI server (its word-hashing vectors:
texts sharing words are near): a recent, similar, salient memory ranks first; the weights
0.25 recency + 0.45 similarity + 0.15 salience + 0.15 same project, checked on hand-computed
scores; the assembled prompt carries "What I remember" within its token share and the
answer's footer names the memories; forgetting a fact, a document or a message leaves no
row and no vector and recall no longer finds it; memory off: nothing, not even a call."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from mira_ls.documents.library import Documents
from mira_ls.features import chat
from mira_ls.llm import tokens
from mira_ls.memory import owner
from mira_ls.memory import recall as rc
from mira_ls.memory.facts import Memory as Facts
from mira_ls.memory.facts import fact_text
from mira_ls.memory.recall import Recall
from mira_ls.store import memory as sessions
from mira_ls.store import memory_analysis as aq
from mira_ls.store import memory_facts as fq
from mira_ls.vectors.embeddings import Embedder
from tests.support.llm_world import World

pytest_plugins = ["tests.llm_fixtures"]

NOW = 1_800_000_000
DAY = 86400


def embedder(world: World) -> Embedder:
    emb = owner.memory_embedder(world.store, world.service())
    assert emb is not None
    return emb


def _vector(world: World, text: str) -> int:
    emb = embedder(world)
    emb.embed([text])
    key = emb.key(text)
    return emb.stored([key])[key][0]


def message(world: World, text: str, *, days_ago: float = 0, salience: float | None = None,
            role: str = "user", in_project: bool = True, embed: bool = True,
            session: str | None = None) -> int:  # fmt: skip
    at = int(NOW - days_ago * DAY)
    with world.store.write() as w:
        uid = sessions.local_user_id(w, owner.username())
        sid = session or uuid.uuid4().hex
        if sessions.get_session(w, sid) is None:
            pid = world.project_id if in_project else None
            sessions.create_session(w, sid, uid, pid, None, None, at)
        eid = sessions.add_entry(w, sid, role, text, tokens.count(text), at)
        if salience is not None:
            aq.insert(w, eid, f"h{eid}", salience, "other", [], None, "test", at)
    if embed:
        emb = embedder(world)
        vec = _vector(world, text)
        with world.store.write() as w:
            aq.set_message_vector(w, eid, vec, emb.model, emb.dimensions,
                                  emb.point_id(emb.key(text)), emb.key(text))  # fmt: skip
    return eid


def fact(world: World, key: str, value: str, *, days_ago: float = 0, confidence: float = 0.8,
         in_project: bool = True, embed: bool = True) -> int:  # fmt: skip
    at = int(NOW - days_ago * DAY)
    with world.store.write() as w:
        uid = sessions.local_user_id(w, owner.username())
        pid = world.project_id if in_project else None
        fid = fq.insert(w, uid, pid, key, value, "tooling", confidence, "user", None, at)
    if embed:
        vec = _vector(world, fact_text(key, value))
        with world.store.write() as w:
            fq.set_vector(w, fid, vec)
    return fid


def recall(world: World, *, keyword_only: bool = False) -> Recall:
    r = Recall.open(world.store, world.service(), world.project_id)
    if keyword_only:
        r.embedder = None
    r.clock = lambda: NOW
    return r


def count(world: World, sql: str, *args: Any) -> int:
    return int(world.store.conn().execute(sql, args).fetchone()[0])


def refs(found: list[rc.Memory]) -> list[str]:
    return [m.ref for m in found]


def test_a_recent_similar_salient_memory_ranks_first(world: World) -> None:
    text = "We deploy the api to fly.io with flyctl deploy"
    best = message(world, text, days_ago=1, salience=0.9)
    stale = message(world, text, days_ago=200, salience=0.2)
    other = message(world, "I drink green tea every morning", days_ago=0, salience=1.0)
    far = fact(world, "favourite_editor", "helix", days_ago=0)
    found, notes = recall(world).candidates("how do we deploy the api to fly.io?")
    assert notes == []
    assert refs(found)[:2] == [f"message #{best}", f"message #{stale}"]
    assert f"message #{other}" not in refs(found) and f"fact #{far}" not in refs(found)
    top = found[0]
    assert top.via == "vector" and top.similarity == found[1].similarity > 0.5
    assert top.recency > found[1].recency and top.salience == 0.9 and top.same_project == 1.0
    # the question's vector went through the budget once
    assert count(world, "SELECT count(*) FROM budget_tracking WHERE operation = 'embed_query'")


def test_the_weights_are_applied_as_specified(world: World) -> None:
    assert (rc.W_RECENCY, rc.W_SIMILARITY, rc.W_SALIENCE, rc.W_PROJECT) == (0.25, 0.45, 0.15,
                                                                           0.15)  # fmt: skip
    assert rc.recency(NOW - 30 * DAY, NOW) == pytest.approx(0.5)
    assert rc.recency(NOW + DAY, NOW) == 1.0
    pm = fact(world, "package_manager", "Poetry", days_ago=30, confidence=0.8, embed=False)
    reg = fact(world, "package_registry", "internal index", days_ago=0, confidence=1.0,
               in_project=False, embed=False)  # fmt: skip
    msg = message(world, "Which package manager is best?", days_ago=60, salience=0.4,
                  in_project=False, embed=False)  # fmt: skip
    found, _ = recall(world, keyword_only=True).candidates("package manager")
    # keyword similarity: the share of the question's words (package, manager) present
    want = {
        f"fact #{pm}": 0.25 * 0.5 + 0.45 * 1.0 + 0.15 * 0.8 + 0.15 * 1,  # 0.845
        f"fact #{reg}": 0.25 * 1.0 + 0.45 * 0.5 + 0.15 * 1.0 + 0.15 * 0,  # 0.625
        f"message #{msg}": 0.25 * 0.25 + 0.45 * 1.0 + 0.15 * 0.4 + 0.15 * 0,  # 0.5725
    }
    assert refs(found) == list(want)
    for m in found:
        assert m.score == pytest.approx(want[m.ref]) and m.via == "keyword"
    # a message never analysed gets the middle salience
    plain = message(world, "package manager choices", days_ago=0, embed=False)
    again, _ = recall(world, keyword_only=True).candidates("package manager")
    assert next(m for m in again if m.ref == f"message #{plain}").salience == rc.MID_SALIENCE


def _ask(world: World, question: str, **arg: Any) -> tuple[chat.Prepared, chat.ChatResult]:
    state = chat.ChatState()
    session = world.session()
    prep = chat.prepare(state, session, "chat", {"question": question, **arg},
                        lambda uri: None, "utf-16")  # fmt: skip
    return prep, chat.run(state, session, prep, chat.Sink())


def test_the_prompt_has_what_i_remember_within_its_share_and_the_footer_names_it(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    pm = fact(world, "package_manager", "Poetry", embed=False)
    for i in range(40):  # more than fit in the share
        fact(world, f"package_note_{i}", f"package manager note number {i} " + "x" * 80,
             days_ago=10, confidence=0.3, embed=False)  # fmt: skip
    world.settings.llm.context_tokens = 2000
    prep, result = _ask(world, "Which package manager do we use?")
    sent = world.srv.chat_requests()[-1].body["messages"][-1]["content"]
    assert "## What I remember" in sent and f"[fact #{pm}, " in sent
    assert "package manager: Poetry" in sent
    assert prep.question.context is not None
    section = next(s for s in prep.question.context.sections if s.kind == "memory")
    assert tokens.count(section.render()) + 2 <= int(2000 * rc.RECALL_SHARE)
    assert 1 <= section.body.count("\n- [") + 1 <= rc.MAX_MEMORIES
    used = prep.recalled.used(prep.question.context.sections) if prep.recalled else []
    assert used and used[0].ref == f"fact #{pm}"
    assert result.remembered.startswith(f"Remembered: fact #{pm}")
    assert f"`mira-ls memory forget {pm}`" in result.remembered
    assert [m["id"] for m in result.memories] == [m.id for m in used]
    answer = Path(result.file).read_text()
    assert f"*Remembered: fact #{pm}" in answer
    # no vector anywhere to compare with: the question was not embedded
    assert world.srv.embedding_requests() == []


def test_a_document_is_recalled_and_cited_by_document_and_section(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    guide = tmp_path / "guide.md"
    guide.write_text("# Guide\n\n## Install\n\nInstall mira with pipx install mira-ls, then "
                     "run mira-ls serve.\n\n## Colours\n\nThe theme is dark blue.\n")  # fmt: skip
    docs = Documents.open(world.store, world.service())
    doc = docs.add(guide).document
    _prep, result = _ask(world, "how do I install mira with pipx?")
    assert f'document #{doc.id} "Guide" > Install' in result.remembered
    assert f"`mira-ls docs remove {doc.id}`" in result.remembered
    # removing the document leaves no chunk, keyword row or vector, and recall forgets it
    vecs = [r[0] for r in world.store.conn().execute("SELECT embedding_id FROM document_chunks")]
    assert vecs and all(vecs)
    docs.remove(doc.id)
    assert count(world, "SELECT count(*) FROM document_chunks") == 0
    assert count(world, "SELECT count(*) FROM search_documents") == 0
    marks = ",".join("?" * len(vecs))
    assert count(world, f"SELECT count(*) FROM embeddings WHERE id IN ({marks})", *vecs) == 0
    found, _ = recall(world).candidates("how do I install mira with pipx?")
    assert not [m for m in found if m.kind == "document"]


def test_forgetting_a_fact_removes_its_row_and_vector_and_recall_never_returns_it(
    world: World,
) -> None:
    fid = fact(world, "deploy_target", "fly.io")
    vec = count(world, "SELECT embedding_id FROM memory_fact_vectors WHERE fact_id = ?", fid)
    question = "what is our deploy target?"
    assert refs(recall(world).candidates(question)[0])[:1] == [f"fact #{fid}"]
    gone = Facts.open(world.store, world.service(), world.project_id).forget(fid)
    assert [f.id for f in gone] == [fid]
    assert count(world, "SELECT count(*) FROM memory_facts WHERE id = ?", fid) == 0
    assert count(world, "SELECT count(*) FROM memory_fact_vectors WHERE fact_id = ?", fid) == 0
    assert count(world, "SELECT count(*) FROM embeddings WHERE id = ?", vec) == 0
    for r in (recall(world), recall(world, keyword_only=True)):
        assert f"fact #{fid}" not in refs(r.candidates(question)[0])


def test_forgetting_a_message_or_summary_removes_it_with_its_analysis_and_vector(
    world: World,
) -> None:
    eid = message(world, "we pin numpy below two for the solver", salience=0.8)
    vec = count(world, "SELECT embedding_id FROM message_embeddings WHERE entry_id = ?", eid)
    question = "why is numpy pinned for the solver?"
    assert f"message #{eid}" in refs(recall(world).candidates(question)[0])
    row = rc.forget_message(world.store, eid)
    assert row is not None and row.message.id == eid
    for table, col in (("memory_entries", "id"), ("message_embeddings", "entry_id"),
                       ("message_analysis", "entry_id")):  # fmt: skip
        assert count(world, f"SELECT count(*) FROM {table} WHERE {col} = ?", eid) == 0
    assert count(world, "SELECT count(*) FROM embeddings WHERE id = ?", vec) == 0
    assert f"message #{eid}" not in refs(recall(world).candidates(question)[0])
    assert rc.forget_message(world.store, eid) is None  # twice: nothing to forget
    # a summary, found by keyword (no vector), then forgotten
    sid = uuid.uuid4().hex
    first = message(world, "numpy question", embed=False, session=sid)
    with world.store.write() as w:
        w.execute("INSERT INTO rolling_summaries(session_id, window_size, first_entry_id,"
                  " last_entry_id, message_count, content, created_at) VALUES"
                  " (?, 10, ?, ?, 10, 'We chose to pin numpy for the solver.', ?)",
                  (sid, first, first, NOW))  # fmt: skip
    summary = count(world, "SELECT id FROM rolling_summaries")
    kw = recall(world, keyword_only=True)
    assert f"summary #{summary}" in refs(kw.candidates(question)[0])
    assert rc.forget_summary(world.store, summary) is not None
    assert count(world, "SELECT count(*) FROM rolling_summaries") == 0
    assert f"summary #{summary}" not in refs(kw.candidates(question)[0])


def test_the_conversation_in_progress_and_the_same_question_are_not_recalled(
    world: World,
) -> None:
    sid = uuid.uuid4().hex
    mine = message(world, "we use poetry for packaging", session=sid, salience=0.9)
    same = message(world, "what do we use for packaging?", salience=0.9)
    other = message(world, "we use poetry for our packaging", salience=0.9)
    r = recall(world)
    found = refs(r.candidates("what do we use for packaging?", sid,
                              "what do we use for packaging?")[0])  # fmt: skip
    assert f"message #{other}" in found
    assert f"message #{mine}" not in found and f"message #{same}" not in found


def test_memory_off_recalls_nothing_and_asks_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    fact(world, "package_manager", "Poetry")
    before = len(world.srv.embedding_requests())
    world.settings.memory.enabled = False
    r = Recall.open(world.store, world.service(), world.project_id)
    assert r.candidates("which package manager?") == ([], [])
    assert r.recall("which package manager?", 1000).section is None
    prep, result = _ask(world, "Which package manager do we use?")
    assert prep.recalled is None and result.remembered == "" and result.memories == []
    sent = world.srv.chat_requests()[-1].body["messages"][-1]["content"]
    assert "What I remember" not in sent
    assert len(world.srv.embedding_requests()) == before


def test_explain_recalls_but_the_mcp_bundles_never_carry_memory(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mira_ls.mcp_server import bundles
    from mira_ls.mcp_server.workspace import Workspace

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    fid = fact(world, "helper_rule", "helper must stay pure", embed=False)
    state, session = chat.ChatState(), world.session()
    uri = (world.root / "app.py").as_uri()
    text = (world.root / "app.py").read_text()
    line = text.splitlines().index("def helper(x):")
    loc = session.locate(world.root / "app.py")
    assert loc is not None
    prep = chat.prepare(state, session, "explain",
                        {"uri": uri, "position": {"line": line, "character": 4}},
                        lambda u: (loc, text), "utf-16")  # fmt: skip
    assert prep.question.context is not None
    assert "## What I remember" in prep.question.context.text
    assert f"[fact #{fid}, " in prep.question.context.text
    ws = Workspace(world.store, world.root, world.settings)
    b = bundles.explain(ws, "app.py", line + 1)
    assert "What I remember" not in b.prompt() and "helper must stay pure" not in b.prompt()


def test_memory_cli_forgets_a_message_or_a_summary(world: World) -> None:
    import json

    from tests.support.cli import run_cli
    from tests.support.llm_world import KEY

    env = {"MIRA_DB": str(world.store.path), "MIRA_OPENAI_API_KEY": KEY,
           "MIRA_LLM_BASE_URL": world.srv.base_url}  # fmt: skip
    sid = uuid.uuid4().hex
    eid = message(world, "we pin numpy below two", salience=0.7, session=sid)
    other = message(world, "and scipy too", salience=0.7, session=sid)
    with world.store.write() as w:  # a summary of another message: it stays
        w.execute("INSERT INTO rolling_summaries(session_id, window_size, first_entry_id,"
                  " last_entry_id, message_count, content) VALUES (?, 10, ?, ?, 10, 'Pinned.')",
                  (sid, other, other))  # fmt: skip
    summary = count(world, "SELECT id FROM rolling_summaries")
    gone = run_cli("memory", "forget", "--message", str(eid), "--json", env=env, cwd=world.root)
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout)["id"] == eid and json.loads(gone.stdout)["summaries"] == []
    assert count(world, "SELECT count(*) FROM memory_entries WHERE id = ?", eid) == 0
    assert count(world, "SELECT count(*) FROM message_embeddings WHERE entry_id = ?", eid) == 0
    again = run_cli("memory", "forget", "--message", str(eid), env=env, cwd=world.root)
    assert again.returncode == 1 and f"no chat message #{eid}" in again.stderr
    s = run_cli("memory", "forget", "--summary", str(summary), env=env, cwd=world.root)
    assert s.returncode == 0 and f"forgot summary #{summary}" in s.stdout
    assert count(world, "SELECT count(*) FROM rolling_summaries") == 0
    both = run_cli("memory", "forget", "3", "--message", "4", env=env, cwd=world.root)
    assert both.returncode == 1 and "one thing at a time" in both.stderr


def test_mira_forget_takes_a_message_or_summary_id(world: World) -> None:
    from mira_ls.features import memory as memory_cmds
    from mira_ls.features.memory import MemoryInputError

    eid = message(world, "we pin numpy below two", salience=0.7)
    out = memory_cmds.forget(world.session(), world.service(), {"message": eid})
    assert out == {"forgotten": [{"kind": "message", "id": eid}], "session": out["session"],
                   "message": f"Forgot message #{eid}."}  # fmt: skip
    assert isinstance(out["session"], str)
    assert count(world, "SELECT count(*) FROM memory_entries WHERE id = ?", eid) == 0
    for bad in ({"message": eid}, {"summary": 99}, {"message": "x"}):
        with pytest.raises(MemoryInputError):
            memory_cmds.forget(world.session(), world.service(), bad)


def test_mira_ls_chat_prints_the_footer_on_stderr(world: World, tmp_path: Path) -> None:
    from tests.support.cli import run_cli
    from tests.support.llm_world import KEY

    env = {"MIRA_DB": str(world.store.path), "MIRA_OPENAI_API_KEY": KEY,
           "MIRA_LLM_BASE_URL": world.srv.base_url, "MIRA_LLM_MAX_RETRIES": "0",
           "XDG_STATE_HOME": str(tmp_path / "state")}  # fmt: skip
    fid = fact(world, "package_manager", "Poetry", embed=False)
    out = run_cli("chat", "which package manager do we use?", env=env, cwd=world.root)
    assert out.returncode == 0, out.stderr
    assert f"Remembered: fact #{fid} (a wrong one: `mira-ls memory forget {fid}`)" in out.stderr
    assert "Remembered:" not in out.stdout  # the answer alone goes to stdout


def test_keyword_recall_follows_new_and_forgotten_messages(world: World) -> None:
    """The word index of messages grows with new messages and is read again after one is
    forgotten; the session asked in stays out; identifiers are split as the question's."""
    sid = uuid.uuid4().hex
    old = message(world, "the parseHeader helper keeps offsets", embed=False, salience=0.5)
    mine = message(world, "parseHeader offsets in this session", embed=False, session=sid)
    r = recall(world, keyword_only=True)
    found = refs(r.candidates("where does parse_header keep offsets?", sid)[0])
    assert f"message #{old}" in found and f"message #{mine}" not in found
    new = message(world, "parse header offsets moved to the cache", embed=False)
    found = refs(r.candidates("where does parse_header keep offsets?", sid)[0])
    assert f"message #{new}" in found and f"message #{old}" in found
    assert rc.forget_message(world.store, old) is not None
    found = refs(recall(world, keyword_only=True).candidates("parse_header offsets?")[0])
    assert f"message #{old}" not in found and f"message #{new}" in found
    assert f"message #{mine}" in found  # asked outside that session: it is a memory
