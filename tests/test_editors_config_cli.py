"""`mira-ls config schema|show`, run as a real subprocess like editors and users run it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from mira_ls.config import keys as all_keys
from tests.support.cli import run_cli

pytestmark = pytest.mark.timeout(60)


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    mira = [k for k in os.environ if k.startswith("MIRA_")]
    unset = [*mira, "OPENAI_API_KEY", "OPENAI_BASE_URL"]
    return run_cli("config", *args, env=env, unset=unset, timeout=30)


def test_schema_lists_every_key_as_a_vscode_property() -> None:
    proc = _run("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert list(schema) == [f"mira.{k.key}" for k in all_keys()]
    daily = schema["mira.budget.dailyUsd"]
    assert daily["type"] == "number"
    assert daily["default"] == 5.0
    assert daily["minimum"] == 0.0
    assert daily["scope"] == "machine"
    assert "MIRA_BUDGET_DAILY_USD" in daily["description"]
    effort = schema["mira.llm.reasoningEffort"]
    info = next(k for k in all_keys() if k.key == "llm.reasoningEffort")
    assert effort["enum"] == list(info.meta["choices"])
    assert effort["default"] == "medium"
    assert schema["mira.index.exclude"] == {
        **schema["mira.index.exclude"],
        "type": "array",
        "items": {"type": "string"},
        "default": [],
    }
    assert schema["mira.build.commands"]["items"] == {"type": "object"}
    assert schema["mira.budget.prices"]["type"] == "object"
    assert schema["mira.cochange.minConfidence"]["maximum"] == 1.0
    # What runs, where the key goes and how much may be spent: user settings only.
    user_only = {k for k, v in schema.items() if v.get("scope") == "machine"}
    assert {
        "mira.databasePath",
        "mira.llm.baseUrl",
        "mira.build.commands",
        "mira.budget.dailyUsd",
        "mira.budget.monthlyUsd",
        "mira.budget.allowDowngrade",
        "mira.budget.prices",
    } <= user_only
    assert "scope" not in schema["mira.llm.model"]
    assert [p["order"] for p in schema.values()] == list(range(len(schema)))


def test_show_reports_values_and_their_sources(tmp_path) -> None:
    db = str(tmp_path / "m.db")
    secret = "sk-test-not-a-real-key-1234567890"
    proc = _run(
        "show",
        "--json",
        MIRA_BUDGET_DAILY_USD="2.5",
        MIRA_LLM_MAX_OUTPUT_TOKENS="lots",
        MIRA_DB=db,
        MIRA_OPENAI_API_KEY=secret,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {r["key"]: r for r in data["settings"]}
    assert len(rows) == len(all_keys())
    assert rows["mira.budget.dailyUsd"] == {
        "key": "mira.budget.dailyUsd",
        "value": 2.5,
        "default": 5.0,
        "source": "environment variable MIRA_BUDGET_DAILY_USD",
        "env": "MIRA_BUDGET_DAILY_USD",
    }
    assert rows["mira.llm.maxOutputTokens"]["value"] == 1024
    assert rows["mira.llm.maxOutputTokens"]["source"] == (
        "default, MIRA_LLM_MAX_OUTPUT_TOKENS is invalid"
    )
    assert rows["mira.databasePath"]["value"] == db
    assert rows["mira.databasePath"]["source"] == "environment variable MIRA_DB"
    assert rows["mira.llm.model"]["source"] == "default"
    assert data["apiKey"] == {"set": True, "source": "MIRA_OPENAI_API_KEY"}
    assert any("MIRA_LLM_MAX_OUTPUT_TOKENS" in p and "1024" in p for p in data["problems"])
    assert "expected a whole number" in proc.stderr
    assert secret not in proc.stdout + proc.stderr


def test_show_text_marks_only_non_defaults() -> None:
    proc = _run("show", OPENAI_API_KEY="sk-other", MIRA_CACHE_ENABLED="false")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    cache = next(line for line in lines if line.startswith("mira.cache.enabled "))
    assert cache.split()[1] == "false"
    assert cache.endswith("(environment variable MIRA_CACHE_ENABLED)")
    model = next(line for line in lines if line.startswith("mira.llm.model "))
    assert model.split() == ["mira.llm.model", '"gpt-5.1"']
    assert lines[-1] == "API key: set in OPENAI_API_KEY"
    assert "sk-other" not in proc.stdout


def test_show_without_api_key_says_how_to_set_it() -> None:
    proc = _run("show")
    assert proc.stdout.splitlines()[-1] == (
        "API key: not set (set MIRA_OPENAI_API_KEY or OPENAI_API_KEY)"
    )


def test_config_without_action_prints_help_and_exits_2() -> None:
    proc = _run()
    assert proc.returncode == 2
    assert "schema" in proc.stdout + proc.stderr
