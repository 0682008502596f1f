"""Consent to run detected build commands: asked once per project, remembered in SQLite."""

from __future__ import annotations

from pathlib import Path

from mira_ls.build import consent, detect
from mira_ls.store import Store
from mira_ls.store import projects as project_store


def _project(store: Store, root: Path) -> int:
    with store.write() as c:
        return project_store.get_or_create(c, root).id


def test_detected_commands_need_consent_until_it_is_remembered(
    tmp_db: Store, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.ruff]\n")
    plan = detect.plan_commands(root, [])
    assert plan.detected and plan.commands
    pid = _project(tmp_db, root)
    assert consent.needs_consent(tmp_db, pid, plan)
    consent.remember(tmp_db, pid)
    assert not consent.needs_consent(tmp_db, pid, plan)
    other = _project(tmp_db, tmp_path / "other")  # remembered per project only
    assert consent.needs_consent(tmp_db, other, plan)


def test_configured_commands_are_the_users_own_and_need_none(tmp_db: Store, tmp_path: Path) -> None:
    plan = detect.plan_commands(
        tmp_path, [{"name": "lint", "command": ["ruff", "check", "."], "parser": "ruff"}]
    )
    assert not plan.detected
    assert not consent.needs_consent(tmp_db, _project(tmp_db, tmp_path), plan)


def test_the_question_names_every_command(tmp_path: Path) -> None:
    plan = detect.plan_commands(
        tmp_path,
        [
            {"name": "lint", "command": ["ruff", "check", "."], "parser": "ruff"},
            {"name": "types", "command": ["mypy", "."], "parser": "mypy"},
        ],
    )
    q = consent.question("ws", plan)
    assert "lint: ruff check ." in q and "types: mypy ." in q
    assert "mira-ls build /src/ws --yes" in consent.cannot_ask("ws", "/src/ws", plan)
