"""Settings: layering, env names, coercion and clear messages for invalid values."""

from __future__ import annotations

from pathlib import Path

from mira_ls import config, paths
from scripts.update_readme import render


def test_layers_in_order() -> None:
    s, problems = config.load(
        env={"MIRA_LLM_MODEL": "from-env", "MIRA_BUDGET_DAILY_USD": "2.5"},
        init_options={"mira": {"llm": {"model": "from-init"}, "cache.ttlSeconds": 10}},
        workspace={"llm": {"model": "from-workspace"}},
    )
    assert problems == []
    assert s.llm.model == "from-workspace"
    assert s.budget.daily_usd == 2.5
    assert s.cache.ttl_seconds == 10


def test_null_in_workspace_configuration_resets_what_init_options_said() -> None:
    init = {"mira": {"budget": {"dailyUsd": 2}, "llm": {"model": "from-init"}}}
    s, _ = config.load(env={}, init_options=init, workspace={"mira": {}})
    assert s.budget.daily_usd == 2.0  # absent: the start-time value still holds
    s, problems = config.load(
        env={"MIRA_LLM_MODEL": "from-env"},
        init_options=init,
        workspace={"mira": {"budget": {"dailyUsd": None}, "llm": {"model": None}}},
    )
    assert problems == []
    assert s.budget.daily_usd == config.Settings().budget.daily_usd  # the default
    assert s.llm.model == "from-env"  # the environment still applies


def test_flat_init_options_and_prefix() -> None:
    s, problems = config.load(env={}, init_options={"mira.cochange.minShared": 4})
    assert problems == [] and s.cochange.min_shared == 4
    s, problems = config.load(env={}, init_options={"build": {"onSave": True}})
    assert problems == [] and s.build.on_save is True


def test_env_names() -> None:
    assert config.env_name("budget.dailyUsd") == "MIRA_BUDGET_DAILY_USD"
    assert config.env_name("databasePath") == "MIRA_DATABASE_PATH"
    names = {config.env_name(k.key) for k in config.keys()}
    assert len(names) == len(config.keys())  # no two keys share an env var


def test_invalid_values_keep_defaults_with_a_sentence() -> None:
    s, problems = config.load(
        env={"MIRA_CACHE_ENABLED": "perhaps"},
        init_options={
            "mira": {
                "llm": {"reasoningEffort": "extreme", "maxOutputTokens": -5},
                "cochange": {"minConfidence": 2},
                "git": {"botPattern": "(["},
                "nonsense": 1,
            }
        },
    )
    assert s.cache.enabled is True
    assert s.llm.reasoning_effort == "medium"
    assert s.llm.max_output_tokens == 1024
    assert s.cochange.min_confidence == 0.2
    text = "\n".join(problems)
    assert "mira.cache.enabled" in text and "MIRA_CACHE_ENABLED" in text
    assert "expected one of none, low, medium, high, got 'extreme'" in text
    assert "expected at least 16" in text
    assert "expected at most 1.0" in text
    assert "not a valid regular expression" in text
    assert "Unknown setting mira.nonsense" in text
    assert len(problems) == 6


def test_minimal_effort_is_taken_as_none_without_a_warning() -> None:
    """GPT-5's ``minimal`` is GPT-5.1's ``none``; configs written for GPT-5 keep working."""
    for layers in (
        {"env": {"MIRA_LLM_REASONING_EFFORT": "minimal"}},
        {"init_options": {"mira": {"llm": {"reasoningEffort": "minimal"}}}},
        {"workspace": {"llm.reasoningEffort": "minimal"}},
    ):
        s, problems = config.load(**{"env": {}, **layers})  # type: ignore[arg-type]
        assert s.llm.reasoning_effort == "none" and problems == [], layers
    assert config.REASONING_EFFORTS == ("none", "low", "medium", "high")


def test_json_env_values() -> None:
    s, problems = config.load(
        env={"MIRA_BUILD_COMMANDS": '[{"name": "lint", "command": ["ruff", "check"]}]'}
    )
    assert problems == []
    assert s.build.commands[0]["command"] == ["ruff", "check"]
    s, problems = config.load(env={"MIRA_BUILD_COMMANDS": "ruff check"})
    assert s.build.commands == [] and "expected JSON" in problems[0]


def test_database_path_precedence(tmp_path: Path) -> None:
    assert paths.database_path("/x/y.db", env={"MIRA_DB": str(tmp_path / "a.db")}) == (
        tmp_path / "a.db"
    )
    assert paths.database_path("/x/y.db", env={}) == Path("/x/y.db")
    assert paths.database_path(None, env={}).name == "mira.db"
    s, _ = config.load(env={"MIRA_DB": "/env.db"}, init_options={"databasePath": "/init.db"})
    assert s.database_path == "/env.db"


def test_readme_settings_table_is_current() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert render(readme) == readme, "run `make readme` to regenerate the settings table"
    for k in config.keys():
        assert f"`mira.{k.key}`" in readme
