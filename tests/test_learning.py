"""Issue 20, first step: feedback on an answer is kept against the operation (and what it
made) and shown by `mira-ls ops`; an applied fix that stays fixed, is reverted or whose error
comes back is an outcome; outcomes make reasoning patterns per error category that the next
mira.fixError of that category is shown, its use recorded, its feedback counted."""

from __future__ import annotations

import json
import sys
from typing import Any

from mira_ls.build.model import BuildCommand
from mira_ls.build.pipeline import run_build
from mira_ls.config import BuildSettings
from mira_ls.features import chat
from mira_ls.features import tasks as features_tasks
from mira_ls.store import learning as q
from tests.support.cli import run_cli
from tests.support.llm_world import APP, World
from tests.support.openai_server import Answer
from tests.test_llm_patch_guard import diff_answer, documents, fix_error
from tests.test_tasks_artifacts import _apply, _build

pytest_plugins = ["tests.llm_fixtures"]


def _cli(world: World, *args: str) -> tuple[int, str, str]:
    out = run_cli(*args, env={"MIRA_DB": str(world.store.path)}, cwd=world.root)
    return out.returncode, out.stdout, out.stderr


def test_feedback_is_stored_against_the_operation_and_listed_by_ops(world: World) -> None:
    result = fix_error(world, diff_answer("app.py", "    return x * 2", "    return x * 4"))
    code, out, err = _cli(world, "feedback", result.id, "--unhelpful", "--note", "wrong line")
    assert code == 0, err
    assert f"operation {result.id} was not helpful" in out
    code, out, err = _cli(world, "ops", "--json")
    (op,) = [o for o in json.loads(out) if o["id"] == result.id]
    fb = op["feedback"]
    assert fb["helpful"] is False and fb["note"] == "wrong line"
    assert [(a["file"], a["status"]) for a in fb["artifacts"]] == [("app.py", "proposed")]
    # given again, it replaces the earlier word
    code, out, err = _cli(world, "feedback", result.id, "--helpful", "--json")
    assert code == 0 and json.loads(out)["helpful"] is True and json.loads(out)["note"] is None
    code, out, _ = _cli(world, "ops")
    assert "feedback: helpful" in out and "wrong line" not in out


def test_feedback_on_an_unknown_operation_is_a_sentence(world: World) -> None:
    code, out, err = _cli(world, "feedback", "nosuchop", "--helpful")
    assert code == 1 and out == ""
    assert "There is no operation 'nosuchop'" in err and "Traceback" not in err
    code, _, err = _cli(world, "feedback", "nosuchop")
    assert code == 2 and "--helpful" in err


def _located(world: World):  # type: ignore[no-untyped-def]
    loc = world.session().locate(world.root / "app.py")
    assert loc is not None
    return loc


def _patterns(world: World) -> list[dict[str, Any]]:
    code, out, err = _cli(world, "patterns", "list", "--json")
    assert code == 0, err
    data: list[dict[str, Any]] = json.loads(out)
    return data


def _fixed_by(world: World, new: str) -> str:
    """A build reports the error; mira.fixError proposes ``new``; the fix is applied."""
    _build(world)
    result = fix_error(world, diff_answer("app.py", "    return x * 2", f"    return {new}"))
    _apply(world, result.id)
    return result.id


def test_a_fix_that_stays_makes_a_pattern_and_counts_once(world: World) -> None:
    op = _fixed_by(world, "x * 4")
    assert _patterns(world) == []  # nothing is known until a build says so
    run = _build(world)  # the error is gone: the fix stayed
    (p,) = _patterns(world)
    ((category,),) = world.store.conn().execute("SELECT category FROM build_errors").fetchall()
    assert (p["category"], p["approach"]) == (category, "edit")
    assert (p["successes"], p["failures"], p["success_rate"]) == (1, 0, 1.0)
    assert "-    return x * 2\n+    return x * 4" in p["template"]
    assert [s["type"] for s in p["steps"]] == ["gather", "act", "verify"]
    _build(world)  # counted once, not at every later run
    assert _patterns(world)[0]["successes"] == 1
    _, out, _ = _cli(world, "ops", "--json")
    (d,) = [o for o in json.loads(out) if o["id"] == op]
    assert [(f["file"], f["outcome"], f["run_id"]) for f in d["fix_outcomes"]] == [
        ("app.py", "stayed", run)
    ]
    _, out, _ = _cli(world, "patterns", "list")
    assert f"{category} errors: edit: 1 worked, 0 failed (100%)" in out


def test_a_reverted_fix_counts_a_failure(world: World) -> None:
    _fixed_by(world, "x * 4")
    _build(world)
    assert _patterns(world)[0]["successes"] == 1
    (world.root / "app.py").write_text(APP)  # the user undoes it and saves
    assert chat.file_saved(world.session(), _located(world), APP) != []
    (p,) = _patterns(world)
    assert (p["successes"], p["failures"]) == (0, 1)  # the latest outcome is what counts


def test_an_error_that_comes_back_counts_a_failure(world: World) -> None:
    op = _fixed_by(world, "x * 3")  # does not fix it
    _build(world)
    (p,) = _patterns(world)
    assert (p["successes"], p["failures"]) == (0, 1) and p["template"] is None
    usage = q.fix_outcomes_of(world.store.conn(), [op])[op]
    assert [u["outcome"] for u in usage] == ["returned"]


def test_with_learning_off_nothing_is_learned(world: World) -> None:
    world.settings.learning.enabled = False
    _build(world)
    result = fix_error(world, diff_answer("app.py", "    return x * 2", "    return x * 4"))
    _apply(world, result.id)
    cmd = BuildCommand("check", (sys.executable, "checker.py"), "generic")
    run_build(world.store, world.project_id, world.root, [cmd], BuildSettings(),
              learn=world.settings.learning.enabled)  # fmt: skip
    (world.root / "app.py").write_text(APP)
    assert chat.file_saved(world.session(), _located(world), APP) != []
    out = features_tasks.feedback(world.session(), {"operation": result.id, "helpful": True})
    assert out["patterns"] == []  # the feedback is kept, not learned from
    assert _patterns(world) == []
    assert q.fix_outcomes_of(world.store.conn(), [result.id]) == {}


CHECKER2 = """import pathlib
text = pathlib.Path("app.py").read_text()
if "hi there" not in text:
    line = text.splitlines().index('        return "hi " + name') + 1
    print(f"app.py:{line}:9: error: greeting too short [T1]")
"""


def _fix_greeting(world: World) -> chat.ChatResult:
    (world.root / "checker2.py").write_text(CHECKER2)
    cmd = BuildCommand("check2", (sys.executable, "checker2.py"), "generic")
    run_build(world.store, world.project_id, world.root, [cmd], BuildSettings())
    text = (world.root / "app.py").read_text()
    line = text.splitlines().index('        return "hi " + name')
    world.srv.script(
        Answer(text=diff_answer("app.py", '        return "hi " + name',
                                '        return "hi there " + name'))
    )  # fmt: skip
    session = world.session()
    state = chat.ChatState()
    arg = {
        "uri": (world.root / "app.py").as_uri(),
        "diagnostic": {
            "range": {"start": {"line": line, "character": 8},
                      "end": {"line": line, "character": 20}},
            "message": "greeting too short",
        },
    }  # fmt: skip
    prep = chat.prepare(state, session, "fix_error", arg, documents(session), "utf-16")
    return chat.run(state, session, prep, chat.Sink())


def _prompt(world: World) -> str:
    body = world.srv.chat_requests()[-1].body
    return "\n".join(str(m.get("content")) for m in body["messages"])


def test_the_next_fix_of_that_category_is_shown_what_worked_and_its_feedback_counts(
    world: World,
) -> None:
    _fixed_by(world, "x * 4")
    _build(world)
    (p,) = _patterns(world)
    second = _fix_greeting(world)
    prompt = _prompt(world)
    assert "## What worked before" in prompt
    assert f"Earlier {p['category']} errors in this project were fixed like this" in prompt
    assert "Worked 1 of 1 times" in prompt and "+    return x * 4" in prompt
    (p,) = _patterns(world)
    assert p["uses"] == 1
    ((op, success),) = (
        world.store.conn()
        .execute("SELECT operation_id, success FROM pattern_usage WHERE pattern_id = ?", (p["id"],))
        .fetchall()
    )
    assert (op, success) == (second.id, None)  # the outcome is not known yet
    out = features_tasks.feedback(world.session(), {"operation": second.id, "helpful": True})
    assert out["patterns"] == [p["id"]]
    (p,) = _patterns(world)
    assert (p["successes"], p["failures"]) == (2, 0)
    assert world.store.conn().execute("SELECT success FROM pattern_usage").fetchall() == [(1,)]
    features_tasks.feedback(world.session(), {"operation": second.id, "helpful": False})
    (p,) = _patterns(world)
    assert (p["successes"], p["failures"]) == (1, 1)


def test_a_retired_pattern_or_learning_off_shows_nothing(world: World) -> None:
    _fixed_by(world, "x * 4")
    _build(world)
    (p,) = _patterns(world)
    code, _, err = _cli(world, "patterns", "retire", str(p["id"]))
    assert code == 0, err
    _fix_greeting(world)
    assert "What worked before" not in _prompt(world)
    assert _cli(world, "patterns", "restore", str(p["id"]))[0] == 0
    world.settings.learning.enabled = False
    _fix_greeting(world)
    assert "What worked before" not in _prompt(world)
    world.settings.learning.enabled = True
    _fix_greeting(world)
    assert "What worked before" in _prompt(world)
    code, _, err = _cli(world, "patterns", "show", "999")
    assert code == 1 and "There is no pattern 999" in err


def test_an_edited_pattern_is_shown_as_edited_and_a_forgotten_one_not_at_all(
    world: World,
) -> None:
    _fixed_by(world, "x * 4")
    _build(world)
    (p,) = _patterns(world)
    code, out, err = _cli(
        world, "patterns", "edit", str(p["id"]), "--description", "Fix the factor.", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["description"] == "Fix the factor."
    _fix_greeting(world)
    assert "- Fix the factor. Worked 1 of 1 times" in _prompt(world)
    assert _cli(world, "patterns", "edit", str(p["id"]))[0] == 2  # nothing to change
    assert _cli(world, "patterns", "forget", str(p["id"]))[0] == 0
    assert _patterns(world) == []


def test_a_pattern_that_keeps_failing_is_retired(world: World) -> None:
    _fixed_by(world, "x * 4")
    _build(world)
    for _ in range(3):
        op = _fix_greeting(world)
        features_tasks.feedback(world.session(), {"operation": op.id, "helpful": False})
    (p,) = _patterns(world)
    assert (p["successes"], p["failures"], p["retired"]) == (1, 3, True)
    _fix_greeting(world)
    assert "What worked before" not in _prompt(world)
