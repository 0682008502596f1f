"""`mira-ls analyze`: the semantic analysis of a folder asked for by the user, through the
loopback OpenAI server: estimate first (and a question above analysis.confirmAboveUsd),
one operation whose cost is its budget rows, nothing asked again on a re-run, a failure
that keeps the sentence the user saw."""

from __future__ import annotations

import json
import re
from typing import Any

from mira_ls.store import operations as op_store
from mira_ls.store import understanding as us
from tests.support.cli import run_cli
from tests.support.llm_world import KEY, World
from tests.support.openai_server import Answer, Error

pytest_plugins = ["tests.llm_fixtures"]


def analyst(body: dict[str, Any]) -> Answer:
    """A valid analysis of every symbol the prompt names (`## id N: kind qualified.name`)."""
    prompt = body["messages"][-1]["content"]
    items = [
        {"id": int(i), "purpose": f"Does the work of {qn}.", "concepts": ["greeting"],
         "domain": "greetings", "side_effects": []}
        for i, qn in re.findall(r"^## id (\d+): \w+ (\S+)", prompt, re.M)
    ]  # fmt: skip
    return Answer(text=json.dumps({"symbols": items}), prompt_tokens=400, completion_tokens=90)


def _env(world: World, **extra: str) -> dict[str, str]:
    return {
        "MIRA_DB": str(world.store.path),
        "MIRA_OPENAI_API_KEY": KEY,
        "MIRA_LLM_BASE_URL": world.srv.base_url,
        "MIRA_LLM_MAX_RETRIES": "0",
        **extra,
    }


def _analyze(world: World, *args: str, **extra: str) -> Any:
    return run_cli(
        "analyze", str(world.root), "--quiet", *args, env=_env(world, **extra),
        cwd=world.root, unset=["OPENAI_API_KEY"],
    )  # fmt: skip


def _chat_calls(world: World) -> int:
    return len(world.srv.chat_requests())


def test_analyze_is_one_operation_and_a_rerun_asks_nothing(world: World) -> None:
    world.srv.default = analyst
    out = _analyze(world, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["to_analyse"], data["analysed"], data["calls"]) == (5, 5, 1)
    assert data["message"].startswith("Analysed 5 of 5 definitions of proj in 1 calls")
    assert _chat_calls(world) == 1
    conn = world.store.conn()
    helper = conn.execute(
        "SELECT id FROM code_elements WHERE qualified_name = 'app.helper'"
    ).fetchone()[0]
    node = us.node_of(conn, helper)
    assert node is not None and node.purpose == "Does the work of app.helper."
    (op,) = op_store.listed(conn)
    assert (op.command, op.kind, op.shown_status) == ("analysis", "analyze", "done")
    assert [e.data["status"] for e in op.events] == ["pending", "running", "done"]
    assert op.id == data["operation"] and op.request == "analyse 5 definitions of proj"
    assert op.cost_micro == op_store.budget_cost(conn, op.id) > 0
    listed = json.loads(run_cli("ops", "--json", env=_env(world), cwd=world.root).stdout)
    assert listed[0]["kind"] == "analysis" and listed[0]["cost_usd"] == op.cost_micro / 1e6

    again = _analyze(world)
    assert again.returncode == 0, again.stderr
    assert "all 5 definitions are analysed already" in again.stdout
    assert _chat_calls(world) == 1 and len(op_store.listed(conn)) == 1


def test_dry_run_and_the_question_above_the_threshold(world: World) -> None:
    world.srv.default = analyst
    dry = _analyze(world, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["to_analyse"] == 5 and plan["calls_planned"] == 1 and plan["estimated_usd"] > 0
    assert _chat_calls(world) == 0
    # above analysis.confirmAboveUsd, with no terminal to answer: refused, nothing asked
    refused = _analyze(world, MIRA_ANALYSIS_CONFIRM_ABOVE_USD="0")
    assert refused.returncode == 1
    assert "above analysis.confirmAboveUsd" in refused.stderr and "--yes" in refused.stderr
    assert _chat_calls(world) == 0 and not op_store.listed(world.store.conn())
    yes = _analyze(world, "--yes", MIRA_ANALYSIS_CONFIRM_ABOVE_USD="0")
    assert yes.returncode == 0, yes.stderr
    assert _chat_calls(world) == 1


def test_a_failed_analysis_keeps_its_sentence(world: World) -> None:
    world.srv.default = lambda body: Error(
        400, "The model `gpt-5.1` does not exist", code="model_not_found"
    )
    out = _analyze(world)
    assert out.returncode == 1
    (op,) = op_store.listed(world.store.conn())
    assert op.shown_status == "failed" and "does not exist" in (op.error or "")
    assert op.error in out.stderr
    assert op.cost_micro == op_store.budget_cost(world.store.conn(), op.id) == 0


def test_an_answer_invalid_twice_fails_the_run_and_stores_nothing(world: World) -> None:
    world.srv.default = lambda body: Answer(text="not json")
    out = _analyze(world)
    assert out.returncode == 1 and "twice" in out.stderr
    assert _chat_calls(world) == 2
    conn = world.store.conn()
    assert conn.execute("SELECT count(*) FROM semantic_nodes").fetchone()[0] == 0
    (op,) = op_store.listed(conn)
    assert op.shown_status == "failed" and "twice" in (op.error or "")
    assert op.cost_micro == op_store.budget_cost(conn, op.id) > 0


def test_the_hover_says_what_an_analysed_definition_is_for(world: World) -> None:
    from tests.support.llm_world import APP

    world.srv.default = analyst
    assert _analyze(world).returncode == 0
    target = f"{world.root / 'app.py'}:4:5"  # def helper
    shown = run_cli("hover", target, env=_env(world), cwd=world.root)
    assert shown.returncode == 0, shown.stderr
    assert "**Purpose** Does the work of app.helper." in shown.stdout
    assert "concepts: greeting" in shown.stdout and "domain: greetings" in shown.stdout
    # an edited body has no purpose until it is analysed again
    (world.root / "app.py").write_text(APP.replace("x * 2", "x * 3"), encoding="utf-8")
    world.reindex()
    shown = run_cli("hover", target, env=_env(world), cwd=world.root)
    assert shown.returncode == 0 and "**Purpose**" not in shown.stdout
    assert "def helper" in shown.stdout


def test_the_concept_tool_finds_analysed_definitions(world: World) -> None:
    from mira_ls.llm.tools import ToolBox

    box = ToolBox(world.store, world.project_id, world.root)
    empty = box.call("concept", {"concept": "greeting"})
    assert not empty.is_error and "nothing is analysed yet" in empty.text
    world.srv.default = analyst
    assert _analyze(world).returncode == 0
    found = box.call("concept", {"concept": "Greeting"})
    assert not found.is_error
    assert "app.helper (app.py:4) [greeting]: Does the work of app.helper." in found.text
    none = box.call("concept", {"concept": "retry policy"})
    assert "No analysed definition deals with 'retry policy' (5 definitions" in none.text
    assert box.call("concept", {"concept": " "}).is_error
