"""Issue 20, the third outcome: an applied artifact whose change is still in its file a day
after it was applied was kept (a success of its operation, counted for its pattern as the
other outcomes are); one whose change is gone was not kept (a failure); a reverted one was
judged at the save and is not looked at again. The day is the injected clock, real files and
a real store."""

from __future__ import annotations

import time

from mira_ls.features import chat
from mira_ls.learning import outcomes
from mira_ls.store import learning as q
from tests.support.llm_world import APP, World
from tests.test_learning import _fixed_by, _located, _patterns
from tests.test_tasks_artifacts import _build

pytest_plugins = ["tests.llm_fixtures"]

DAY = outcomes.DAY


def _root(world: World):  # type: ignore[no-untyped-def]
    (root,) = [r for r in world.session().roots if r.project_id == world.project_id]
    return root


def _check(world: World, after: int) -> dict[str, list[int]]:
    return chat.applied_kept(world.session(), _root(world), now=int(time.time()) + after)


def _outcomes(world: World, op: str) -> list[tuple[str, int | None]]:
    return [(f["outcome"], f["run_id"]) for f in q.fix_outcomes_of(world.store.conn(), [op])[op]]


def test_a_fix_kept_for_a_day_is_a_success_and_makes_its_pattern_once(world: World) -> None:
    op = _fixed_by(world, "x * 4")
    assert _check(world, DAY - 60) == {"kept": [], "not_kept": []}  # not a day yet
    assert _patterns(world) == []
    # the user went on editing the file elsewhere: the change is still there
    app = world.root / "app.py"
    app.write_text("# a comment of the user's\n" + app.read_text() + "\n# and another\n")
    got = _check(world, DAY + 60)
    assert len(got["kept"]) == 1 and got["not_kept"] == []
    (p,) = _patterns(world)
    assert (p["approach"], p["successes"], p["failures"]) == ("edit", 1, 0)
    assert "+    return x * 4" in p["template"]
    assert _outcomes(world, op) == [("kept", None)]
    reasons = (
        world.store.conn()
        .execute("SELECT reason, success FROM pattern_outcomes WHERE operation_id = ?", (op,))
        .fetchall()
    )
    assert reasons == [("kept", 1)]
    assert _check(world, 3 * DAY) == {"kept": [], "not_kept": []}  # judged once
    assert _patterns(world)[0]["successes"] == 1


def test_a_fix_that_stayed_and_was_kept_keeps_its_run(world: World) -> None:
    op = _fixed_by(world, "x * 4")
    run = _build(world)  # the error is gone: stayed
    assert _outcomes(world, op) == [("stayed", run)]
    assert len(_check(world, DAY + 1)["kept"]) == 1
    assert _outcomes(world, op) == [("kept", run)]
    (p,) = _patterns(world)
    assert (p["successes"], p["failures"]) == (1, 0)  # the same operation: one outcome


def test_a_change_no_longer_in_the_file_is_not_kept(world: World) -> None:
    op = _fixed_by(world, "x * 4")
    _build(world)
    assert _patterns(world)[0]["successes"] == 1
    # rewritten by hand (not saved back to the original): the fix's line is gone
    app = world.root / "app.py"
    app.write_text(app.read_text().replace("    return x * 4", "    return x + x + x + x"))
    got = _check(world, DAY + 1)
    assert got["kept"] == [] and len(got["not_kept"]) == 1
    (p,) = _patterns(world)
    assert (p["successes"], p["failures"]) == (0, 1)  # the latest outcome is what counts
    assert _outcomes(world, op)[0][0] == "not_kept"


def test_a_deleted_file_is_not_kept(world: World) -> None:
    _fixed_by(world, "x * 4")
    (world.root / "app.py").unlink()
    assert len(_check(world, DAY + 1)["not_kept"]) == 1


def test_a_reverted_fix_is_not_looked_at_again(world: World) -> None:
    op = _fixed_by(world, "x * 4")
    (world.root / "app.py").write_text(APP)
    assert chat.file_saved(world.session(), _located(world), APP) != []
    (p,) = _patterns(world)
    assert (p["successes"], p["failures"]) == (0, 1)
    assert _check(world, DAY + 1) == {"kept": [], "not_kept": []}
    assert _outcomes(world, op) == [("reverted", None)]


def test_with_learning_off_nothing_is_checked(world: World) -> None:
    op = _fixed_by(world, "x * 4")
    world.settings.learning.enabled = False
    assert _check(world, DAY + 1) == {}
    assert q.fix_outcomes_of(world.store.conn(), [op]) == {}
