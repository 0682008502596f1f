"""Background analysis against the loopback server: it asks only with a key and with
analysis.background on, only for what an unchanged file lacks (nothing the second time),
never past analysis.backgroundDailyUsd nor past the budget, and records its operation."""

from __future__ import annotations

from mira_ls.llm.service import LlmService
from mira_ls.store import understanding as us
from mira_ls.understand import background
from tests.support.llm_world import APP, World
from tests.test_understand_semantic import _answer

pytest_plugins = ["tests.llm_fixtures"]


def _svc(world: World, **env: str) -> LlmService:
    world.settings.analysis.background = True
    return LlmService(world.store, world.settings, env)


def test_never_without_a_key_or_when_off(world: World) -> None:
    run = background.analyse_files(world.store, _svc(world), world.project_id, world.root,
                                   ["app.py"])  # fmt: skip
    assert run.skipped == "no API key is configured" and run.analysed == 0
    svc = world.service()
    svc.settings.analysis.background = False
    run = background.analyse_files(world.store, svc, world.project_id, world.root, ["app.py"])
    assert run.skipped == "analysis.background is off"
    assert world.srv.chat_requests() == []


def test_a_file_once_then_only_what_changed(world: World) -> None:
    svc = world.service()
    svc.settings.analysis.background = True
    pending = us.pending_analysis(world.store.conn(), world.project_id, "app.py", "semantic")[0]
    world.srv.script(_answer(pending))
    run = background.analyse_files(world.store, svc, world.project_id, world.root, ["app.py"])
    assert (run.files, run.analysed, run.calls, run.skipped) == (["app.py"], 5, 1, None)
    assert run.cost_micro > 0
    body = world.srv.chat_requests()[0].body
    assert body["response_format"]["type"] == "json_schema"
    conn = world.store.conn()
    ops = conn.execute("SELECT kind, status FROM operations").fetchall()
    assert len(ops) == 1 and ops[0][1] == "completed"
    rows = conn.execute("SELECT DISTINCT operation FROM budget_tracking").fetchall()
    assert rows == [(background.OPERATION,)]

    again = background.analyse_files(world.store, svc, world.project_id, world.root, ["app.py"])
    assert (again.files, again.calls) == ([], 0) and len(world.srv.chat_requests()) == 1

    (world.root / "app.py").write_text(APP.replace("x * 2", "x * 3"), encoding="utf-8")
    world.reindex()
    edited = us.pending_analysis(world.store.conn(), world.project_id, "app.py", "semantic")[0]
    assert sorted(p.qualified_name for p in edited) == ["app", "app.helper"]
    world.srv.script(_answer(edited))
    run = background.analyse_files(world.store, svc, world.project_id, world.root, ["app.py"])
    assert (run.analysed, run.calls) == (2, 1)


def test_the_daily_allowance_and_the_budget_stop_it(world: World) -> None:
    svc = world.service()
    svc.settings.analysis.background = True
    svc.settings.analysis.background_daily_usd = 0.0
    run = background.analyse_files(world.store, svc, world.project_id, world.root, ["app.py"])
    assert run.skipped and "analysis.backgroundDailyUsd" in run.skipped
    assert world.srv.chat_requests() == []

    svc.settings.analysis.background_daily_usd = 5.0
    svc.settings.budget.daily_usd = 0.000001  # the budget refuses before any request
    refused = LlmService(world.store, svc.settings, {"MIRA_OPENAI_API_KEY": "sk-test-123456"})
    run = background.analyse_files(world.store, refused, world.project_id, world.root, ["app.py"])
    assert run.skipped and run.analysed == 0 and run.files == ["app.py"]
    assert world.srv.chat_requests() == []
    assert us.analysed_count(world.store.conn(), world.project_id) == 0


def test_hotspots_are_the_most_changed_indexed_files(world: World) -> None:
    from mira_ls.git import miner

    for i in range(3):
        world.repo.commit(f"change {i}", {"app.py": APP + f"\n# {i}\n"})
    world.repo.commit("docs", {"README.md": "x\n"})
    world.reindex()
    assert miner.mine(world.store, world.project_id, world.root, world.settings).status == "ok"
    assert background.hotspot_files(world.store, world.project_id, 5) == ["app.py"]
    assert background.hotspot_files(world.store, world.project_id, 0) == []
