"""Facts the way mem0 keeps them, against the loopback model: extraction and decisions are
strict json_schema answers; a fact stated twice is one row with a higher confidence; a
contradiction supersedes it with its history kept; forget leaves no row and no vector;
secrets never reach the model or the database; memory off writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mira_ls.llm.structured import StructuredInvalid
from mira_ls.memory.facts import Memory, MemoryError_
from tests.support.llm_world import World
from tests.support.openai_server import Answer, Reply

pytest_plugins = ["tests.llm_fixtures"]


def _fact(key: str, value: str, category: str = "tooling", scope: str = "project",
          confidence: float = 0.7) -> dict[str, Any]:  # fmt: skip
    return {"key": key, "value": value, "category": category, "scope": scope,
            "confidence": confidence}  # fmt: skip


def answers(world: World, by_schema: dict[str, list[Any]]) -> None:
    """Answer each structured request from the list of its schema's name, in order (the
    embedding requests share the server's queue, so a per-request queue would mix them)."""

    def reply(body: dict[str, Any]) -> Reply:
        name = body["response_format"]["json_schema"]["name"]
        item = by_schema[name].pop(0)
        return Answer(text=item if isinstance(item, str) else json.dumps(item),
                      prompt_tokens=200, completion_tokens=30)  # fmt: skip

    world.srv.default = reply


def memory(world: World) -> Memory:
    return Memory.open(world.store, world.service(), world.project_id)


def count(world: World, table: str) -> int:
    return int(world.store.conn().execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def chat_bodies(world: World) -> list[dict[str, Any]]:
    return [r.body for r in world.srv.chat_requests()]


def test_a_new_fact_is_added_with_its_vector(world: World) -> None:
    answers(world, {"memory_facts": [{"facts": [_fact("package_manager", "Poetry")]}]})
    r = memory(world).remember("We use Poetry for this project.")
    assert [c.action for c in r.changes] == ["add"]
    f = r.changes[0].fact
    assert (f.key, f.value, f.project_id, f.source) == (
        "package_manager", "Poetry", world.project_id, "user",
    )  # fmt: skip
    body = chat_bodies(world)[0]
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["reasoning_effort"] == "low"
    assert "We use Poetry" in body["messages"][-1]["content"]
    # nothing similar existed: no decision was asked, and the fact has a vector
    assert len(chat_bodies(world)) == 1
    assert count(world, "memory_fact_vectors") == 1
    assert "remembered #" in r.message and "Poetry" in r.message


def test_stated_twice_is_one_row_with_higher_confidence(world: World) -> None:
    m = memory(world)
    scripted: dict[str, list[Any]] = {"memory_facts": [
        {"facts": [_fact("package_manager", "Poetry")]},
        {"facts": [_fact("package_manager", "poetry", confidence=0.6)]},
    ], "memory_decisions": []}  # fmt: skip
    answers(world, scripted)
    first = m.remember("We use Poetry.").changes[0].fact
    scripted["memory_decisions"].append(
        {"decisions": [{"candidate": 0, "action": "keep", "fact_id": first.id}]}
    )
    again = m.remember("Poetry manages our packages.")
    assert [c.action for c in again.changes] == ["keep"]
    assert count(world, "memory_facts") == 1
    now = m.facts()[0]
    assert now.id == first.id and now.confidence == pytest.approx(0.8)
    # only the fact's own vector is stored (not the restatement's, made to compare)
    assert count(world, "embeddings") == 1 and count(world, "memory_fact_vectors") == 1
    # the decision saw the existing fact by id, key and value
    decide = chat_bodies(world)[-1]
    assert decide["response_format"]["json_schema"]["name"] == "memory_decisions"
    assert (
        f"existing fact_id {first.id}: package_manager = Poetry"
        in (decide["messages"][-1]["content"])
    )


def test_a_contradiction_supersedes_the_fact_and_keeps_its_history(world: World) -> None:
    m = memory(world)
    scripted: dict[str, list[Any]] = {"memory_facts": [
        {"facts": [_fact("deploy_target", "fly.io")]},
        {"facts": [_fact("deploy_target", "Render")]},
    ], "memory_decisions": []}  # fmt: skip
    answers(world, scripted)
    old = m.remember("We deploy with fly.io.").changes[0].fact
    scripted["memory_decisions"].append(
        {"decisions": [{"candidate": 0, "action": "update", "fact_id": old.id}]}
    )
    r = m.remember("We moved deployment to Render.")
    assert [(c.action, c.previous, c.fact.value) for c in r.changes] == [
        ("update", "fly.io", "Render")
    ]
    assert count(world, "memory_facts") == 1
    hist = (
        world.store.conn()
        .execute(
            "SELECT value, valid_from, valid_to, reason FROM memory_fact_history WHERE fact_id = ?",
            (old.id,),
        )
        .fetchall()
    )
    assert [(h[0], h[3]) for h in hist] == [("fly.io", "updated")]
    assert hist[0][1] <= hist[0][2]
    md = m.markdown()
    assert "**deploy_target**: Render" in md and "was fly.io until" in md


def test_a_delete_decision_keeps_the_fact_as_no_longer_true(world: World) -> None:
    m = memory(world)
    scripted: dict[str, list[Any]] = {"memory_facts": [
        {"facts": [_fact("uses_docker", "yes")]},
        {"facts": [_fact("uses_docker", "no longer")]},
    ], "memory_decisions": []}  # fmt: skip
    answers(world, scripted)
    old = m.remember("We run everything in Docker.").changes[0].fact
    scripted["memory_decisions"].append(
        {"decisions": [{"candidate": 0, "action": "delete", "fact_id": old.id}]}
    )
    m.remember("We dropped Docker.")
    assert m.facts() == [] and [f.id for f in m.facts(deprecated=True)] == [old.id]
    assert "## No longer true" in m.markdown()


def test_a_decision_naming_an_unlisted_fact_is_retried(world: World) -> None:
    m = memory(world)
    scripted: dict[str, list[Any]] = {"memory_facts": [
        {"facts": [_fact("editor", "Helix")]}, {"facts": [_fact("editor", "Neovim")]},
    ], "memory_decisions": []}  # fmt: skip
    answers(world, scripted)
    old = m.remember("I edit in Helix.").changes[0].fact
    scripted["memory_decisions"] += [
        {"decisions": [{"candidate": 0, "action": "update", "fact_id": old.id + 99}]},
        {"decisions": [{"candidate": 0, "action": "update", "fact_id": old.id}]},
    ]
    r = m.remember("I switched to Neovim.")
    assert r.changes[0].fact.value == "Neovim"
    retry = chat_bodies(world)[-1]["messages"]
    assert any("fact_id must be one of the facts" in str(x.get("content")) for x in retry)


def test_invalid_json_twice_fails_with_a_sentence_and_writes_nothing(world: World) -> None:
    answers(world, {"memory_facts": ["not json", '{"facts": "nope"}']})
    with pytest.raises(StructuredInvalid) as exc:
        memory(world).remember("We use Poetry.")
    assert str(exc.value)[0].isupper() and len(chat_bodies(world)) == 2
    assert count(world, "memory_facts") == 0


def test_secrets_are_redacted_before_the_model_and_the_database(world: World) -> None:
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    answers(world, {"memory_facts": [{"facts": [_fact("ci_token", f"token {secret}")]}]})
    memory(world).remember(f"Our CI token is {secret}, and we use GitHub Actions.")
    sent = json.dumps(chat_bodies(world))
    assert secret not in sent
    stored = world.store.conn().execute("SELECT value FROM memory_facts").fetchone()[0]
    assert secret not in stored and "[REDACTED]" in stored


def test_forget_by_id_leaves_no_row_and_no_vector(world: World) -> None:
    m = memory(world)
    scripted: dict[str, list[Any]] = {"memory_facts": [
        {"facts": [_fact("package_manager", "Poetry")]},
        {"facts": [_fact("package_manager", "uv")]},
    ], "memory_decisions": []}  # fmt: skip
    answers(world, scripted)
    f = m.remember("We use Poetry.").changes[0].fact
    scripted["memory_decisions"].append(
        {"decisions": [{"candidate": 0, "action": "update", "fact_id": f.id}]}
    )
    m.remember("We use uv now.")
    texts = {"package manager: Poetry", "package manager: uv"}
    # the superseded value's vector went with the update (its text stays in history)
    assert _embedded(world, texts) == {"package manager: uv"}
    assert [g.id for g in m.forget(f.id)] == [f.id]
    for table in ("memory_facts", "memory_fact_history", "memory_fact_vectors"):
        assert count(world, table) == 0, table
    assert _embedded(world, texts) == set()
    with pytest.raises(MemoryError_, match="no remembered fact"):
        m.forget(f.id)


def _embedded(world: World, texts: set[str]) -> set[str]:
    from mira_ls.vectors.embeddings import text_hash

    have = {r[0] for r in world.store.conn().execute("SELECT text_hash FROM embeddings")}
    return {t for t in texts if text_hash(t) in have}


def test_forget_by_words_and_by_meaning(world: World) -> None:
    m = memory(world)
    answers(world, {"memory_facts": [{"facts": [
        _fact("package_manager", "Poetry"),
        _fact("path_style", "prefers pathlib over os.path", "preference", "user"),
    ]}]})  # fmt: skip
    m.remember("We use Poetry; I prefer pathlib over os.path.")
    assert [f.key for f in m.forget("pathlib")] == ["path_style"]
    assert [f.key for f in m.facts()] == ["package_manager"]
    assert [f.key for f in m.forget("package manager")] == ["package_manager"]
    with pytest.raises(MemoryError_, match="Nothing remembered matches"):
        m.forget("kubernetes")
    # the words of a forget request are not kept as a vector either
    assert _embedded(world, {"kubernetes", "package manager"}) == set()


def test_memory_off_writes_nothing_and_asks_nothing(world: World) -> None:
    world.settings.memory.enabled = False
    with pytest.raises(MemoryError_, match="Memory is off"):
        memory(world).remember("We use Poetry.")
    assert count(world, "memory_facts") == 0 and world.srv.received == []


def test_profile_is_folded_from_facts_into_user_profile(world: World) -> None:
    answers(world, {"memory_facts": [{"facts": [
        _fact("package_manager", "Poetry", "tooling"),
        _fact("path_style", "pathlib over os.path", "preference", "user"),
        _fact("answer_style", "short answers", "communication", "user"),
    ]}]})  # fmt: skip
    m = memory(world)
    m.remember("Poetry here; pathlib please; keep answers short.")
    p = m.profile()
    assert p["coding_preferences"] == {"path_style": "pathlib over os.path"}
    assert p["tech_stack"] == ["Poetry"] and p["communication_style"] == "short answers"
    row = (
        world.store.conn()
        .execute("SELECT coding_preferences, tech_stack, communication_style FROM user_profile")
        .fetchone()
    )
    assert json.loads(row[0]) == p["coding_preferences"] and json.loads(row[1]) == ["Poetry"]


def test_memory_cli_add_list_forget_profile(world: World) -> None:
    from tests.support.cli import run_cli
    from tests.support.llm_world import KEY

    env = {"MIRA_DB": str(world.store.path), "MIRA_OPENAI_API_KEY": KEY,
           "MIRA_LLM_BASE_URL": world.srv.base_url, "MIRA_LLM_MAX_RETRIES": "0"}  # fmt: skip
    answers(world, {"memory_facts": [{"facts": [
        _fact("package_manager", "Poetry"),
        _fact("path_style", "pathlib over os.path", "preference", "user"),
    ]}]})  # fmt: skip
    added = run_cli("memory", "add", "We use Poetry; pathlib please.", "--json", env=env,
                    cwd=world.root)  # fmt: skip
    assert added.returncode == 0, added.stderr
    rows = json.loads(added.stdout)
    assert {(r["key"], r["action"], r["scope"]) for r in rows} == {
        ("package_manager", "add", "project"), ("path_style", "add", "user"),
    }  # fmt: skip
    assert "USD" in added.stderr
    listed = run_cli("memory", "list", env=env, cwd=world.root)
    assert listed.returncode == 0 and "package_manager: Poetry" in listed.stdout
    prof = json.loads(run_cli("memory", "profile", "--json", env=env, cwd=world.root).stdout)
    assert prof["coding_preferences"] == {"path_style": "pathlib over os.path"}
    pid = next(r["id"] for r in rows if r["key"] == "package_manager")
    gone = run_cli("memory", "forget", str(pid), env=env, cwd=world.root)
    assert gone.returncode == 0 and "forgot 1 fact" in gone.stdout
    left = json.loads(run_cli("memory", "list", "--json", env=env, cwd=world.root).stdout)
    assert [r["key"] for r in left] == ["path_style"]
    missing = run_cli("memory", "forget", "999", env=env, cwd=world.root)
    assert missing.returncode == 1 and "no remembered fact #999" in missing.stderr
    assert "Traceback" not in missing.stderr
    off = run_cli("memory", "add", "We use Docker.", env={**env, "MIRA_MEMORY_ENABLED": "false"},
                  cwd=world.root)  # fmt: skip
    assert off.returncode == 1 and "Memory is off" in off.stderr
