"""Issue 20, first step: feedback on an answer is kept against the operation (and what it
made) and shown by `mira-ls ops`; an applied fix that stays fixed, is reverted or whose error
comes back is an outcome; outcomes make reasoning patterns per error category that the next
mira.fixError of that category is shown, its use recorded, its feedback counted."""

from __future__ import annotations

import json

from tests.support.cli import run_cli
from tests.support.llm_world import World
from tests.test_llm_patch_guard import diff_answer, fix_error

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
