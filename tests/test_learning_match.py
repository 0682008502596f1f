"""Issue 20, matching and seeding: a fix that stays gives its pattern the problem's signature
(error hash, tool and code, language, concepts, the text's key) and the tool calls that led
to it; a like error later finds that pattern by signature, its context lists
those tool calls for the model's first turn, and pattern_usage records the use, what it was
seeded with and the outcome. Ranking by match, success rate and recency, and stored vectors
taking part when the embedding space has them, on a real database."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from mira_ls.features import chat
from mira_ls.features import tasks as features_tasks
from mira_ls.learning import matching, outcomes
from mira_ls.store import embeddings as emb_store
from mira_ls.store import learning as q
from mira_ls.vectors.embeddings import to_blob
from tests.support.llm_world import APP, World
from tests.support.openai_server import Answer, ToolCall
from tests.test_learning import _cli, _fix_greeting, _fixed_by, _patterns, _prompt
from tests.test_llm_patch_guard import diff_answer, documents
from tests.test_tasks_artifacts import _apply, _build

pytest_plugins = ["tests.llm_fixtures"]

CALLS = [("get_symbol", {"name": "app.helper"}), ("callers", {"name": "app.helper"})]


def _fix_with_tools(world: World, new: str) -> chat.ChatResult:
    """mira.fixError on the build's error; the model calls CALLS, then answers a diff."""
    world.srv.script(
        Answer(text="", tool_calls=[ToolCall(n, a) for n, a in CALLS]),
        Answer(text=diff_answer("app.py", "    return x * 2", f"    return {new}")),
    )
    session = world.session()
    state = chat.ChatState()
    line = APP.splitlines().index("    return x * 2")
    arg = {
        "uri": (world.root / "app.py").as_uri(),
        "diagnostic": {
            "range": {"start": {"line": line, "character": 4},
                      "end": {"line": line, "character": 16}},
            "message": "expected 63, got 42",
        },
    }  # fmt: skip
    prep = chat.prepare(state, session, "fix_error", arg, documents(session), "utf-16")
    return chat.run(state, session, prep, chat.Sink())


def _first_request(world: World, n: int) -> str:
    """The user message of the n-th chat request (0-based) the model was sent."""
    body = world.srv.chat_requests()[n].body
    return "\n".join(str(m.get("content")) for m in body["messages"] if m["role"] == "user")


def test_the_same_error_again_is_matched_by_signature_and_seeded_with_the_tool_calls(
    world: World,
) -> None:
    _build(world)
    first = _fix_with_tools(world, "x * 4")
    _apply(world, first.id)
    _build(world)  # the error is gone: the fix stayed
    (p,) = _patterns(world)
    sig = q.signatures_of(world.store.conn(), [p["id"]])[p["id"]]
    assert set(sig) == {"error_hash", "code", "language", "text"}  # no concepts analysed
    assert sig["language"] == {"python"} and len(sig["error_hash"]) == 1
    assert sig["text"] == {matching.text_key("T1 expected 63, got 42")}
    tool_steps = [(s["tool"], s["arguments"]) for s in p["steps"] if "tool" in s]
    assert tool_steps == CALLS
    assert [s["type"] for s in p["steps"]] == ["gather", "gather", "gather", "act", "verify"]

    # another error of the category, from another checker (the same error again would be
    # its return, which counts against the first fix: the hash match is tested below)
    before = len(world.srv.chat_requests())
    second = _fix_greeting(world)
    seeded = _first_request(world, before)  # the first turn, before any tool ran
    assert "## What worked before" in seeded
    assert "Tool calls that led to that fix last time" in seeded
    assert '1. `get_symbol {"name": "app.helper"}`' in seeded
    assert '2. `callers {"name": "app.helper"}`' in seeded
    conn = world.store.conn()
    ((score, note, success),) = conn.execute(
        "SELECT match_score, outcome_notes, success FROM pattern_usage WHERE operation_id = ?",
        (second.id,),
    ).fetchall()
    # the same category (0.4) in the same language (+0.1)
    assert (score, note, success) == (0.5, "seeded: get_symbol, callers", None)
    features_tasks.feedback(world.session(), {"operation": second.id, "helpful": True})
    ((note, success),) = conn.execute(
        "SELECT outcome_notes, success FROM pattern_usage WHERE operation_id = ?", (second.id,)
    ).fetchall()
    assert (note, success) == ("helpful; seeded: get_symbol, callers", 1)
    features_tasks.feedback(world.session(), {"operation": second.id, "helpful": False})
    assert conn.execute(
        "SELECT outcome_notes FROM pattern_usage WHERE operation_id = ?", (second.id,)
    ).fetchone() == ("unhelpful; seeded: get_symbol, callers",)


def test_a_pattern_without_tool_steps_seeds_nothing(world: World) -> None:
    _fixed_by(world, "x * 4")  # the model made no tool calls
    _build(world)
    (p,) = _patterns(world)
    assert not any("tool" in s for s in p["steps"])
    op = _fix_greeting(world)
    prompt = _prompt(world)
    assert "## What worked before" in prompt and "Tool calls that led" not in prompt
    conn = world.store.conn()
    ((score, note),) = conn.execute(
        "SELECT match_score, outcome_notes FROM pattern_usage WHERE operation_id = ?", (op.id,)
    ).fetchall()
    assert (score, note) == (0.5, None)


def _pattern(
    world: World,
    name: str,
    successes: int,
    uses: int,
    signature: list[tuple[str, str]] = (),  # type: ignore[assignment]
    category: str = "type",
    last_success_days: float = 1,
    project_id: int | None = None,
) -> int:
    now = int(time.time())
    with world.store.write() as conn:
        pid = q.insert_pattern(
            conn, world.project_id if project_id is None else project_id, name=name,
            description=f"{name}.", category=category, approach="edit", template=None,
            steps=[("act", "edit", None)], now=now,
        )  # fmt: skip
        conn.execute(
            "UPDATE reasoning_patterns SET use_count = ?, success_count = ?, "
            "last_success_at = ? WHERE id = ?",
            (uses, successes, now - int(last_success_days * 86400), pid),
        )
        q.add_signature(conn, pid, list(signature), now)
    return pid


PROBLEM = matching.Problem(
    "type", "h-same", "mypy:arg-type", "python", ("parsing", "config"), "arg-type bad arg"
)


def _names(found: list[matching.Match]) -> list[str]:
    return [m.pattern.name for m in found]


def test_ranking_by_signature_then_success_rate_and_recency(world: World) -> None:
    _pattern(world, "category only", 5, 5)
    _pattern(world, "same error", 3, 4, [("error_hash", "h-same"), ("language", "python")])
    _pattern(world, "same code", 2, 3, [("code", "mypy:arg-type"), ("language", "python")])
    _pattern(world, "other category, same code", 1, 1, [("code", "mypy:arg-type")], "lint")
    _pattern(world, "never worked", 0, 2, [("error_hash", "h-same")])
    retired = _pattern(world, "retired", 4, 4, [("error_hash", "h-same")])
    with world.store.write() as conn:
        conn.execute("UPDATE reasoning_patterns SET retired_at = 1 WHERE id = ?", (retired,))
    found = matching.best(world.store.conn(), world.project_id, PROBLEM, limit=10)
    assert _names(found) == [
        "same error", "other category, same code", "same code", "category only",
    ]  # fmt: skip
    assert [m.score for m in found] == [1.0, 0.7, 0.8, 0.4]
    # concepts in common add to the match; a stale success counts less than a fresh one
    _pattern(world, "fresh", 1, 2, [("concept", "parsing")], last_success_days=0)
    _pattern(world, "stale", 1, 2, [("concept", "parsing")], last_success_days=400)
    found = matching.best(world.store.conn(), world.project_id, PROBLEM, limit=10)
    by_name = {m.pattern.name: m for m in found}
    assert by_name["fresh"].score == by_name["stale"].score == round(0.4 + 0.2 * 1 / 2, 3)
    assert _names(found).index("fresh") < _names(found).index("stale")


def test_another_projects_patterns_are_not_matched(world: World) -> None:
    with world.store.write() as conn:
        other = conn.execute(
            "INSERT INTO projects(name, root_path) VALUES ('other', '/nowhere') RETURNING id"
        ).fetchone()[0]
    _pattern(world, "elsewhere", 3, 3, [("error_hash", "h-same")], project_id=other)
    assert matching.best(world.store.conn(), world.project_id, PROBLEM) == []


def _vector(world: World, text: str, vec: list[float]) -> None:
    with world.store.write() as conn:
        emb_store.insert(conn, "m", 3, [(matching.text_key(text), to_blob(np.array(vec)), 3)])


def test_stored_vectors_take_part_in_the_match_when_the_space_has_them(world: World) -> None:
    near = _pattern(world, "near", 1, 2, [("text", matching.text_key("bad argument type"))])
    far = _pattern(world, "far", 1, 2, [("text", matching.text_key("missing import"))])
    _vector(world, PROBLEM.text, [1.0, 0.0, 0.0])
    _vector(world, "bad argument type", [0.9, 0.1, 0.0])
    _vector(world, "missing import", [0.0, 0.0, 1.0])
    conn = world.store.conn()
    plain = matching.best(conn, world.project_id, PROBLEM, limit=5)
    assert [m.pattern.id for m in plain] == [near, far]  # a tie: the lower id first
    assert plain[0].score == plain[1].score == 0.4
    other_space = matching.best(conn, world.project_id, PROBLEM, limit=5, space=("x", 3))
    assert [m.score for m in other_space] == [0.4, 0.4]  # no vectors there: signature only
    blended = matching.best(conn, world.project_id, PROBLEM, limit=5, space=("m", 3))
    assert [m.pattern.id for m in blended] == [near, far]
    cos = 0.9 / np.linalg.norm([0.9, 0.1, 0.0])
    assert blended[0].score == round(0.6 * 0.4 + 0.4 * cos, 3)
    assert blended[1].score == round(0.6 * 0.4, 3)
    # the vector decides against the ids' order once the far one is first by id
    swapped = _pattern(world, "near too", 1, 2, [("text", matching.text_key("bad arg"))])
    _vector(world, "bad arg", [1.0, 0.0, 0.0])
    blended = matching.best(conn, world.project_id, PROBLEM, limit=5, space=("m", 3))
    assert blended[0].pattern.id == swapped
    text = outcomes.what_worked(world.store, world.project_id, PROBLEM, space=("m", 3))
    assert text.ids[0] == swapped and "near too." in text.body


def test_the_patterns_cli_shows_tool_steps(world: World) -> None:
    pid = _pattern(world, "with tools", 1, 1)
    with world.store.write() as conn:
        q.set_tool_steps(conn, pid, [("search_symbols", {"query": "x"})], int(time.time()))
    code, out, err = _cli(world, "patterns", "show", str(pid), "--json")
    assert code == 0, err
    steps: list[dict[str, Any]] = json.loads(out)["steps"]
    assert [(s["type"], s.get("tool")) for s in steps] == [("gather", "search_symbols"),
                                                           ("act", None)]  # fmt: skip
    assert steps[0]["arguments"] == {"query": "x"}


SECRET = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"


def test_pattern_texts_are_stored_redacted_and_older_rows_redacted_when_shown(
    world: World,
) -> None:
    from mira_ls.llm import context as ctx

    pid = _pattern(world, "old", 1, 1)
    with world.store.write() as conn:  # as a row stored before 044 could be
        conn.execute(
            "UPDATE reasoning_patterns SET redacted = 0, description = ? WHERE id = ?",
            (f"Set the key {SECRET}.", pid),
        )
    body = outcomes.what_worked(world.store, world.project_id, "type").body
    assert SECRET not in body and "Set the key [REDACTED]." in body
    # an edit stores every text redacted, the row says so
    code, _, err = _cli(
        world, "patterns", "edit", str(pid), "--template", f"+ KEY = '{SECRET}'", "--json"
    )
    assert code == 0, err
    row = q.pattern(world.store.conn(), pid)
    assert row is not None and row.redacted
    assert SECRET not in (row.solution_template or "") + row.description
    # a redacted section still has the configured secrets replaced, verbatim
    key = "my-very-own-endpoint-key"
    section = ctx.Section("what_worked", "What worked before", f"use {key}", 3, redacted=True)
    bundle = ctx.assemble_sections([section], 1000, (key,))
    assert key not in bundle.text and "use [REDACTED]" in bundle.text


def test_a_fix_with_a_secret_in_its_diff_is_kept_redacted(world: World) -> None:
    _build(world)
    first = _fix_with_tools(world, f"x * 4  # {SECRET}")
    _apply(world, first.id)
    _build(world)
    (p,) = _patterns(world)
    assert p["template"] and SECRET not in p["template"] and "[REDACTED]" in p["template"]
