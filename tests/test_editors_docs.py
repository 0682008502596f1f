"""The editors' copy-paste snippets parse, use real settings keys, and every integration
attaches to the same languages the server indexes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mira_ls import config

ROOT = Path(__file__).resolve().parent.parent
EDITORS = ROOT / "editors"
READMES = [EDITORS / "README.md", EDITORS / "vscode" / "README.md", EDITORS / "helix" / "README.md"]
CLIENT_SECTIONS = ("server", "ui", "trace")

# mira-ls language -> (VS Code language ids, Neovim filetypes)
EDITOR_LANGUAGES = {
    "python": ["python"],
    "javascript": ["javascript", "javascriptreact"],
    "typescript": ["typescript"],
    "tsx": ["typescriptreact"],
    "rust": ["rust"],
    "go": ["go"],
    "java": ["java"],
    "c": ["c"],
    "cpp": ["cpp"],
}

pytestmark = pytest.mark.timeout(60)


def _blocks(lang: str) -> list[tuple[Path, str]]:
    out = []
    for path in READMES:
        text = path.read_text(encoding="utf-8")
        out.extend((path, b) for b in re.findall(rf"```{lang}\n(.*?)```", text, re.S))
    return out


def _check_settings(options: Any, where: str) -> None:
    _, problems = config.load(env={}, init_options=options)
    assert problems == [], f"{where}: {problems}"


def test_json_snippets_parse_and_use_known_settings() -> None:
    blocks = _blocks("json")
    assert len(blocks) >= 3
    checked = 0
    for path, block in blocks:
        data = json.loads(block)
        # VS Code settings.json: flat "mira.*" keys (the extension's own are not the server's).
        flat = {
            k: v
            for k, v in data.items()
            if k.startswith("mira.") and k.split(".")[1] not in CLIENT_SECTIONS
        }
        if flat:
            _check_settings(flat, str(path))
            checked += 1
        zed = data.get("lsp", {}).get("mira-ls", {})
        for key in ("initialization_options", "settings"):
            if key in zed:
                _check_settings(zed[key], f"{path} Zed {key}")
                checked += 1
    assert checked >= 3


def test_toml_snippets_parse() -> None:
    blocks = _blocks("toml")
    assert len(blocks) >= 6
    for _, block in blocks:
        tomllib.loads(block)  # raises with the line on a typo
    zed = [tomllib.loads(b) for _, b in blocks if "language_servers" in b]
    assert zed and zed[0]["language_servers"]["mira-ls"]["name"] == "mira-ls"


def _strip_lisp(text: str) -> str:
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return re.sub(r";[^\n]*", "", text)


def test_elisp_snippets_balance() -> None:
    blocks = _blocks("elisp")
    assert len(blocks) >= 2
    for path, block in blocks:
        depth = 0
        for ch in _strip_lisp(block):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            assert depth >= 0, f"{path}: a ')' closes nothing in\n{block}"
        assert depth == 0, f"{path}: {depth} unclosed '(' in\n{block}"


@pytest.mark.skipif(shutil.which("nvim") is None, reason="nvim is not installed")
def test_lua_snippets_and_files_compile_in_neovim(tmp_path: Path) -> None:
    sources = [b for _, b in _blocks("lua")]
    assert len(sources) >= 3
    files = sorted((EDITORS / "neovim").rglob("*.lua"))
    for i, src in enumerate(sources):
        p = tmp_path / f"snippet{i}.lua"
        p.write_text(src)
        files.append(p)
    script = tmp_path / "check.lua"
    names = json.dumps(json.dumps([str(f) for f in files]))
    script.write_text(
        "local bad = {}\n"
        f"for _, f in ipairs(vim.fn.json_decode({names})) do\n"
        "  local fn, err = loadfile(f)\n"
        "  if not fn then table.insert(bad, err) end\n"
        "end\n"
        f"vim.fn.writefile({{vim.fn.json_encode(bad)}}, {json.dumps(str(tmp_path / 'out.json'))})\n"
        "vim.cmd('qa!')\n"
    )
    subprocess.run(
        ["nvim", "--headless", "--clean", "-c", f"luafile {script}"],
        capture_output=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert json.loads((tmp_path / "out.json").read_text()) == []


def test_vscode_and_neovim_attach_to_the_indexed_languages() -> None:
    from mira_ls.index.languages import LANGUAGES

    assert set(EDITOR_LANGUAGES) == set(LANGUAGES), "map the new language to editor ids"
    wanted = {x for lang in LANGUAGES for x in EDITOR_LANGUAGES[lang]}
    ts = (EDITORS / "vscode" / "src" / "extension.ts").read_text()
    vscode_block = re.search(r"const LANGUAGES = \[(.*?)\];", ts, re.S)
    assert vscode_block
    assert set(re.findall(r'"([a-z]+)"', vscode_block.group(1))) == wanted
    lua = (EDITORS / "neovim" / "lsp" / "mira_ls.lua").read_text()
    nvim_block = re.search(r"filetypes = \{(.*?)\}", lua, re.S)
    assert nvim_block
    assert set(re.findall(r'"([a-z]+)"', nvim_block.group(1))) == wanted


def _mcp_args() -> list[tuple[str, list[str]]]:
    """(client, argv after `mira-ls`) of every MCP set-up snippet in editors/README.md."""
    text = (EDITORS / "README.md").read_text(encoding="utf-8")
    out: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```sh\n(claude mcp add .*?)```", text, re.S):
        argv = block.split()
        out.append(("claude", argv[argv.index("--") + 2 :]))
    for block in re.findall(r"```toml\n(.*?)```", text, re.S):
        servers = tomllib.loads(block).get("mcp_servers", {})
        out.extend(("codex", s["args"]) for s in servers.values() if s["command"] == "mira-ls")
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        data = json.loads(block)
        for key, client in (("mcpServers", "cursor"), ("context_servers", "zed")):
            for s in data.get(key, {}).values():
                assert s["command"] == "mira-ls"
                out.append((client, s["args"]))
    return out


def test_mcp_snippets_start_the_mcp_server() -> None:
    from mira_ls.cli.main import build_parser

    found = _mcp_args()
    assert {c for c, _ in found} == {"claude", "codex", "cursor", "zed"}
    for client, argv in found:
        args = build_parser().parse_args(argv)
        assert args.command == "mcp" and args.workspace, client
