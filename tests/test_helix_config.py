"""editors/helix/languages.toml parses, attaches mira-ls to every indexed language, and every
`mira.*` command that it or the editors' docs mention is one the real server advertises."""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

from mira_ls import config
from mira_ls.config import keys as all_keys

ROOT = Path(__file__).resolve().parent.parent
EDITORS = ROOT / "editors"
HELIX_TOML = EDITORS / "helix" / "languages.toml"

# The commands the server offers editors (CONVENTIONS.md, "LSP surface for editors", and
# ARCHITECTURE.md).
DOCUMENTED_COMMANDS = {
    "mira.reindex",
    "mira.chat",
    "mira.explain",
    "mira.fixError",
    "mira.reviewChanges",
    "mira.runBuild",
    "mira.budget",
    "mira.resumeBudget",
    "mira.cacheStats",
    "mira.clearCache",
    "mira.openReport",
    "mira.search",
    # Sent by the server's own lenses, code actions and answers (documented as such).
    "mira.callers",
    "mira.showResolutions",
    "mira.applyFix",
}

# Helix 25.07's LanguageServerFeature names (helix-core/src/syntax/config.rs at tag 25.07.1).
# A name outside this set makes Helix 25.07 reject the whole user languages.toml.
HELIX_FEATURES = {
    "format",
    "goto-definition",
    "goto-declaration",
    "goto-type-definition",
    "goto-reference",
    "goto-implementation",
    "signature-help",
    "hover",
    "document-highlight",
    "completion",
    "code-action",
    "workspace-command",
    "document-symbols",
    "workspace-symbols",
    "diagnostics",
    "rename-symbol",
    "inlay-hints",
    "document-colors",
}
# Added on Helix master after 25.07: mira-ls must get them there without naming them.
HELIX_MASTER_FEATURES = {"call-hierarchy", "document-links", "pull-diagnostics"}
# What mira-ls serves and must never be excluded.
MIRA_FEATURES = {
    "hover",
    "code-action",
    "diagnostics",
    "document-symbols",
    "workspace-symbols",
    "workspace-command",
}

# Helix 25.07's default language servers (languages.toml at tags 25.07 and 25.07.1).
HELIX_2507_DEFAULTS = {
    "python": ["ty", "ruff", "jedi", "pylsp"],
    "javascript": ["typescript-language-server"],
    "jsx": ["typescript-language-server"],
    "typescript": ["typescript-language-server"],
    "tsx": ["typescript-language-server"],
    "rust": ["rust-analyzer"],
    "go": ["gopls", "golangci-lint-lsp"],
    "java": ["jdtls"],
    "c": ["clangd"],
    "cpp": ["clangd"],
}

# mira-ls language (mira_ls.index.languages.LANGUAGES) -> Helix language names.
HELIX_LANGUAGES = {
    "python": ["python"],
    "javascript": ["javascript", "jsx"],
    "typescript": ["typescript"],
    "tsx": ["tsx"],
    "rust": ["rust"],
    "go": ["go"],
    "java": ["java"],
    "c": ["c"],
    "cpp": ["cpp"],
}

pytestmark = pytest.mark.timeout(120)


def _helix() -> dict[str, Any]:
    with HELIX_TOML.open("rb") as f:
        return tomllib.load(f)


def _mira_entry(language: dict[str, Any]) -> str | dict[str, Any] | None:
    for entry in language.get("language-servers", []):
        name = entry if isinstance(entry, str) else entry.get("name")
        if name == "mira-ls":
            return entry
    return None


# Commands appear as `mira.x`, "mira.x" or after :lsp-workspace-command; settings have a
# further dotted part (mira.budget.dailyUsd) or are top-level keys (mira.logLevel).
_COMMAND_RE = re.compile(r"(?:[`\"']|lsp-workspace-command )(mira\.[a-z][A-Za-z]*)(?=[`\"'\s)])")
_TOP_LEVEL_SETTINGS = {f"mira.{k.key}" for k in all_keys() if "." not in k.key}


def mentioned_commands() -> dict[str, set[str]]:
    """Each mira.* command named in the Helix config, the editors' docs or the code that
    calls the server (Neovim plugin, VS Code command table), with the files naming it."""
    files = [
        HELIX_TOML,
        *EDITORS.rglob("*.md"),
        *(EDITORS / "neovim" / "plugin").rglob("*.lua"),
        *(EDITORS / "neovim" / "lua").rglob("*.lua"),
        EDITORS / "vscode" / "src" / "commands.ts",
    ]
    found: dict[str, set[str]] = {}
    for path in files:
        if "node_modules" in path.parts:
            continue
        for name in _COMMAND_RE.findall(path.read_text(encoding="utf-8")):
            if name not in _TOP_LEVEL_SETTINGS:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_language_server_entry_runs_mira_ls_serve_with_valid_settings() -> None:
    server = _helix()["language-server"]["mira-ls"]
    assert server["command"] == "mira-ls"
    assert server["args"] == ["serve"]
    settings, problems = config.load(env={}, init_options=server["config"])
    assert problems == []
    assert settings == config.load(env={})[0]


def test_every_language_keeps_a_usual_server_and_adds_mira_ls() -> None:
    languages = _helix()["language"]
    assert languages
    for lang in languages:
        servers = lang["language-servers"]
        entry = _mira_entry(lang)
        assert entry is not None, lang["name"]
        assert servers.index(entry) > 0, f"{lang['name']}: keep the usual server first"
        assert isinstance(servers[0], str) and servers[0] != "mira-ls"
        assert isinstance(entry, dict), lang["name"]
        # except-features, so features newer than 25.07 (call-hierarchy) reach mira-ls.
        assert "only-features" not in entry, lang["name"]
        excluded = set(entry["except-features"])
        assert excluded <= HELIX_FEATURES, excluded - HELIX_FEATURES
        assert not excluded & MIRA_FEATURES, excluded & MIRA_FEATURES
        assert not excluded & HELIX_MASTER_FEATURES
        assert {"completion", "format", "goto-definition", "rename-symbol"} <= excluded


def test_usual_servers_are_helix_2507_defaults() -> None:
    """Each list keeps exactly Helix 25.07's default servers, in order, before mira-ls."""
    for lang in _helix()["language"]:
        usual = [e for e in lang["language-servers"] if e != _mira_entry(lang)]
        assert usual == HELIX_2507_DEFAULTS[lang["name"]], lang["name"]
        assert lang["language-servers"][-1] == _mira_entry(lang)
    text = HELIX_TOML.read_text(encoding="utf-8")
    assert "Checked against Helix 25.07" in text


def test_helix_readme_core_example_matches_the_file() -> None:
    text = (EDITORS / "helix" / "README.md").read_text(encoding="utf-8")
    python = next(lang for lang in _helix()["language"] if lang["name"] == "python")
    for block in re.findall(r"```toml\n(.*?)```", text, re.S):
        for lang in tomllib.loads(block).get("language", []):
            if lang["name"] == "python":
                assert lang["language-servers"] == python["language-servers"]
                return
    pytest.fail("the Helix README shows no Python entry")


def test_every_indexed_language_is_attached() -> None:
    from mira_ls.index.languages import LANGUAGES

    attached = {lang["name"] for lang in _helix()["language"] if _mira_entry(lang)}
    assert set(HELIX_LANGUAGES) == set(LANGUAGES), "map the new language to Helix's name"
    wanted = {name for lang in LANGUAGES for name in HELIX_LANGUAGES[lang]}
    assert wanted <= attached, wanted - attached


def test_helix_readme_examples_parse_and_use_known_settings() -> None:
    text = (EDITORS / "helix" / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    configs = 0
    for block in blocks:
        data = tomllib.loads(block)
        server = data.get("language-server", {}).get("mira-ls", {})
        if "config" in server:
            configs += 1
            _, problems = config.load(env={}, init_options=server["config"])
            assert problems == [], block
    assert configs >= 3
    bindings = [b for b in blocks if "[keys.normal" in b]
    assert bindings
    for b in bindings:
        for command in tomllib.loads(b)["keys"]["normal"]["space"]["m"].values():
            assert command.startswith(":lsp-workspace-command mira.")


def test_commands_mentioned_are_the_documented_ones() -> None:
    mentioned = mentioned_commands()
    assert {"mira.budget", "mira.runBuild", "mira.chat", "mira.reindex"} <= set(mentioned)
    unknown = {c: sorted(f) for c, f in mentioned.items() if c not in DOCUMENTED_COMMANDS}
    assert unknown == {}


async def test_commands_mentioned_are_advertised_by_the_server(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MIRA_", "OPENAI_"))},
        "MIRA_DB": str(tmp_path / "mira.db"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    root = tmp_path / "ws"
    root.mkdir()
    client = await ClientServerConfig(
        server_command=[sys.executable, "-m", "mira_ls", "serve"], server_env=env
    ).start()
    try:
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("neovim"),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")],
                initialization_options=_helix()["language-server"]["mira-ls"]["config"],
            )
        )
        provider = result.capabilities.execute_command_provider
        advertised = set(provider.commands if provider else [])
        # Helix's picker sends no arguments at all: the server must still answer.
        answer = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mira.reindex")
        )
        assert isinstance(answer, dict), answer
    finally:
        await client.shutdown_session()
        await client.stop()
    missing = sorted(set(mentioned_commands()) - advertised)
    assert missing == [], (
        f"editors call commands the server does not advertise: {missing}; "
        f"it advertises {sorted(advertised)}"
    )
