"""Guideline files on a real workspace: CLAUDE.md, AGENTS.md, .cursorrules and Cursor's
.mdc rules at the root and in subdirectories, nearest first; globs, alwaysApply, symlinks
out of the workspace, ignored files, the size cap and the hash cache; and what the chat,
explain and MCP contexts of a file in a subdirectory carry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mira_ls.features import chat
from mira_ls.features.session import Located
from mira_ls.llm import guidelines, tokens
from mira_ls.llm.context import Where, assemble, assemble_unplaced
from mira_ls.mcp_server import bundles
from mira_ls.mcp_server.workspace import Workspace
from mira_ls.store import Store, projects
from tests.support.llm_world import KEY, World
from tests.support.openai_server import Answer
from tests.support.repo import Repo

pytest_plugins = ["tests.llm_fixtures"]


@pytest.fixture
def ws(tmp_db: Store, tmp_path: Path) -> tuple[Store, int, Repo]:
    repo = Repo(tmp_path / "proj")
    with tmp_db.write() as c:
        pid = projects.get_or_create(c, repo.root).id
    return tmp_db, pid, repo


def load(ws: tuple[Store, int, Repo], rel: str | None) -> guidelines.Loaded:
    store, pid, repo = ws
    return guidelines.load(store, pid, repo.root, (), rel)


def paths(loaded: guidelines.Loaded) -> list[str]:
    return [g.file_path for g in loaded.guidelines]


def rows(store: Store) -> dict[str, str]:
    cur = store.conn().execute("SELECT file_path, content FROM project_guidelines")
    return {r[0]: r[1] for r in cur}


def test_nested_guidelines_nearest_directory_first(ws: tuple[Store, int, Repo]) -> None:
    _, _, repo = ws
    repo.write("CLAUDE.md", "root claude\n")
    repo.write("AGENTS.md", "root agents\n")
    repo.write(".github/copilot-instructions.md", "root copilot\n")
    repo.write("pkg/CLAUDE.md", "pkg claude\n")
    repo.write("pkg/sub/AGENTS.md", "sub agents\n")
    repo.write("pkg/sub/.github/copilot-instructions.md", "copilot reads the root only\n")
    repo.write("other/CLAUDE.md", "other claude\n")
    deep = load(ws, "pkg/sub/deeper/mod.py")
    assert paths(deep) == [
        "pkg/sub/AGENTS.md",
        "pkg/CLAUDE.md",
        "CLAUDE.md",
        "AGENTS.md",
        ".github/copilot-instructions.md",
    ]
    assert [g.content for g in deep.guidelines][:3] == [
        "sub agents\n",
        "pkg claude\n",
        "root claude\n",
    ]
    root_only = ["CLAUDE.md", "AGENTS.md", ".github/copilot-instructions.md"]
    assert paths(load(ws, "app.py")) == root_only
    assert paths(load(ws, None)) == root_only
    assert paths(load(ws, "pkg/mod.py")) == ["pkg/CLAUDE.md", *root_only]
    assert paths(load(ws, "other/x.py"))[0] == "other/CLAUDE.md"
    # a path that climbs out is not walked: the root's files alone
    assert paths(load(ws, "../proj/pkg/mod.py")) == root_only


def test_cursorrules_apply_like_claude_md(ws: tuple[Store, int, Repo]) -> None:
    _, _, repo = ws
    repo.write(".cursorrules", "root cursorrules\n")
    repo.write("web/.cursorrules", "web cursorrules\n")
    repo.write("web/CLAUDE.md", "web claude\n")
    assert paths(load(ws, "web/app.ts")) == ["web/CLAUDE.md", "web/.cursorrules", ".cursorrules"]
    assert paths(load(ws, None)) == [".cursorrules"]
    assert paths(load(ws, "api/app.py")) == [".cursorrules"]


PY_RULE = """---
description: Python style
globs: "*.py, tools/**/*.sh"
alwaysApply: false
---

Use pathlib, not os.path.
"""

TS_RULE = """---
description: TypeScript
globs:
  - "src/**/*.{ts,tsx}"
  - web/*.ts
---
Prefer interfaces.
"""


def test_mdc_globs_match_or_not_and_the_front_matter_is_not_sent(
    ws: tuple[Store, int, Repo],
) -> None:
    _, _, repo = ws
    repo.write(".cursor/rules/python.mdc", PY_RULE)
    repo.write(".cursor/rules/typescript.mdc", TS_RULE)
    repo.write(".cursor/rules/notes.txt", "not a rule\n")
    py = load(ws, "pkg/deep/mod.py")  # a glob without a slash matches at any depth
    assert paths(py) == [".cursor/rules/python.mdc"]
    assert py.guidelines[0].content == "Use pathlib, not os.path.\n"
    assert py.descriptions == {".cursor/rules/python.mdc": "Python style"}
    assert paths(load(ws, "tools/ci/run.sh")) == [".cursor/rules/python.mdc"]
    assert paths(load(ws, "src/ui/button.tsx")) == [".cursor/rules/typescript.mdc"]
    assert paths(load(ws, "src/ui/button.ts")) == [".cursor/rules/typescript.mdc"]
    assert paths(load(ws, "web/index.ts")) == [".cursor/rules/typescript.mdc"]
    assert load(ws, "lib/index.ts").guidelines == []  # src/** and web/* are anchored
    assert load(ws, "README.md").guidelines == []
    assert load(ws, None).guidelines == []  # globs need a file
    # the stored text is the rule's body, without its front matter
    assert rows(ws[0])[".cursor/rules/typescript.mdc"] == "Prefer interfaces.\n"


def test_nested_mdc_globs_are_relative_to_their_directory(ws: tuple[Store, int, Repo]) -> None:
    _, _, repo = ws
    repo.write("pkg/.cursor/rules/sub.mdc", "---\nglobs: sub/*.py\n---\npkg sub rule\n")
    repo.write(".cursor/rules/all.mdc", "---\nalwaysApply: true\n---\nroot rule\n")
    assert paths(load(ws, "pkg/sub/a.py")) == ["pkg/.cursor/rules/sub.mdc", ".cursor/rules/all.mdc"]
    assert paths(load(ws, "pkg/a.py")) == [".cursor/rules/all.mdc"]
    assert paths(load(ws, "sub/a.py")) == [".cursor/rules/all.mdc"]  # not the root's sub/


def test_always_apply_and_rules_with_neither(ws: tuple[Store, int, Repo]) -> None:
    _, _, repo = ws
    repo.write(".cursor/rules/a-always.mdc", "---\ndescription: x\nalwaysApply: true\n---\nA\n")
    repo.write(
        ".cursor/rules/b-always-globs.mdc", "---\nglobs: '*.md'\nalwaysApply: True\n---\nB\n"
    )
    repo.write(".cursor/rules/c-manual.mdc", "---\ndescription: when asked\n---\nC\n")
    repo.write(".cursor/rules/d-plain.mdc", "no front matter at all\n")
    repo.write(".cursor/rules/e-off.mdc", "---\nalwaysApply: false\n---\nE\n")
    always = [".cursor/rules/a-always.mdc", ".cursor/rules/b-always-globs.mdc"]
    assert paths(load(ws, "app.py")) == always
    assert paths(load(ws, "pkg/mod.py")) == always
    assert paths(load(ws, "../elsewhere/x.py")) == always  # a file, though not placeable
    assert paths(load(ws, None)) == [
        *always,
        ".cursor/rules/c-manual.mdc",
        ".cursor/rules/d-plain.mdc",
        ".cursor/rules/e-off.mdc",
    ]


def test_front_matter_forms() -> None:
    rule, body = guidelines.parse_rule(
        "\ufeff---\r\ndescription: 'Quoted: with colon'\r\nglobs: [a/*.py, \"b/**\"]\r\n"
        "alwaysApply: yes\r\n---\r\nBody\r\n"
    )
    assert rule == guidelines.Rule("Quoted: with colon", ("a/*.py", "b/**"), True)
    assert body == "Body\r\n"
    unclosed = "---\nglobs: *.py\nno end\n"
    assert guidelines.parse_rule(unclosed) == (guidelines.Rule(), unclosed)
    rule, _ = guidelines.parse_rule("---\nglobs: *.{js,jsx}, ,\n---\n")
    assert rule.globs == ("*.js", "*.jsx")


def test_a_symlink_out_of_the_workspace_is_refused(
    ws: tuple[Store, int, Repo], tmp_path: Path
) -> None:
    store, _, repo = ws
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "CLAUDE.md").write_text("OUTSIDE SECRET\n")
    (outside / "rule.mdc").write_text("---\nalwaysApply: true\n---\nOUTSIDE RULE\n")
    repo.write("CLAUDE.md", "root claude\n")
    repo.write("pkg/CLAUDE.md", "pkg claude\n")
    assert paths(load(ws, "pkg/mod.py")) == ["pkg/CLAUDE.md", "CLAUDE.md"]
    (repo.root / "pkg/CLAUDE.md").unlink()
    os.symlink(outside / "CLAUDE.md", repo.root / "pkg/CLAUDE.md")
    os.symlink(outside / "CLAUDE.md", repo.root / "AGENTS.md")
    (repo.root / ".cursor").mkdir()
    os.symlink(outside, repo.root / ".cursor/rules")
    os.symlink(outside, repo.root / "linked")
    got = load(ws, "pkg/mod.py")
    assert paths(got) == ["CLAUDE.md"]
    assert paths(load(ws, "linked/mod.py")) == ["CLAUDE.md"]
    assert "pkg/CLAUDE.md" not in rows(store)  # the row of what became a link is dropped
    assert not any("OUTSIDE" in c for c in rows(store).values())
    # a link that stays inside the workspace is read
    repo.write("docs/guide.md", "linked guide\n")
    (repo.root / "AGENTS.md").unlink()
    os.symlink(repo.root / "docs/guide.md", repo.root / "AGENTS.md")
    assert [g.content for g in load(ws, None).guidelines] == ["root claude\n", "linked guide\n"]


def test_ignored_secret_and_binary_files_are_not_read_and_keys_are_redacted(
    ws: tuple[Store, int, Repo],
) -> None:
    _, _, repo = ws
    repo.write(".gitignore", "vendor/\n.cursorrules\n")
    repo.write("vendor/lib/CLAUDE.md", "vendored claude\n")
    repo.write(".cursorrules", "ignored rules\n")
    repo.write("AGENTS.md", b"\x00\x01binary")
    repo.write("CLAUDE.md", "root claude\n")
    repo.write(".cursor/rules/credentials.mdc", "---\nalwaysApply: true\n---\nsecret rule\n")
    repo.write("pkg/CLAUDE.md", f"deploy with {KEY}\n")
    assert paths(load(ws, "vendor/lib/x.py")) == ["CLAUDE.md"]
    store, pid, _ = ws
    got = guidelines.load(store, pid, repo.root, (KEY,), "pkg/x.py")
    assert paths(got) == ["pkg/CLAUDE.md", "CLAUDE.md"]
    assert KEY not in got.guidelines[0].content and "[REDACTED]" in got.guidelines[0].content
    assert not any(KEY in c for c in rows(store).values())


def test_edits_reload_by_hash_and_deleted_files_drop_their_rows(
    ws: tuple[Store, int, Repo],
) -> None:
    store, _, repo = ws
    repo.write("CLAUDE.md", "root claude\n")
    repo.write("pkg/CLAUDE.md", "pkg claude\n")
    repo.write("pkg/.cursor/rules/r.mdc", "---\nglobs: '*.py'\n---\npy rule\n")
    first = load(ws, "pkg/mod.py")
    assert sorted(first.reloaded) == ["CLAUDE.md", "pkg/.cursor/rules/r.mdc", "pkg/CLAUDE.md"]
    again = load(ws, "pkg/mod.py")
    assert again.reloaded == [] and again.guidelines == first.guidelines
    repo.write("pkg/CLAUDE.md", "pkg claude, edited\n")
    edited = load(ws, "pkg/mod.py")
    assert edited.reloaded == ["pkg/CLAUDE.md"]
    assert edited.guidelines[0].content == "pkg claude, edited\n"
    assert rows(store)["pkg/CLAUDE.md"] == "pkg claude, edited\n"
    tok = store.conn().execute(
        "SELECT token_count FROM project_guidelines WHERE file_path = 'pkg/CLAUDE.md'"
    )
    assert tok.fetchone()[0] == tokens.count("pkg claude, edited\n")
    # an edit of the front matter alone reloads it and changes where it applies
    repo.write("pkg/.cursor/rules/r.mdc", "---\nglobs: '*.ts'\n---\npy rule\n")
    moved = load(ws, "pkg/mod.py")
    assert moved.reloaded == ["pkg/.cursor/rules/r.mdc"]
    assert paths(moved) == ["pkg/CLAUDE.md", "CLAUDE.md"]
    (repo.root / "pkg/CLAUDE.md").unlink()
    (repo.root / "pkg/.cursor/rules/r.mdc").unlink()
    assert paths(load(ws, "pkg/mod.py")) == ["CLAUDE.md"]
    assert sorted(rows(store)) == ["CLAUDE.md"]


def test_the_total_size_is_capped_nearest_kept_and_the_cut_said(
    ws: tuple[Store, int, Repo],
) -> None:
    _, _, repo = ws
    line = "x" * 99 + "\n"
    repo.write("a/b/CLAUDE.md", line * 150)  # 15,000 bytes
    repo.write("a/CLAUDE.md", line * 150)
    repo.write("CLAUDE.md", line * 150)
    repo.write("AGENTS.md", "left out entirely\n")
    got = load(ws, "a/b/c.py")
    assert paths(got) == ["a/b/CLAUDE.md", "a/CLAUDE.md", "CLAUDE.md"]
    assert got.truncated == ["CLAUDE.md", "AGENTS.md"]
    contents = [g.content for g in got.guidelines]
    assert contents[0] == contents[1] == line * 150  # the nearest whole
    assert contents[2].startswith(line * 19) and "left out entirely" not in "".join(contents)
    assert "capped at 32000 bytes in all; cut or left out: CLAUDE.md, AGENTS.md" in contents[2]
    assert sum(len(c.encode()) for c in contents) <= guidelines.MAX_BYTES + 200
    # one file longer than the cap is cut when read, and says so
    repo.write("big/CLAUDE.md", line * 400)
    big = load(ws, "big/x.py")
    assert big.truncated[0] == "big/CLAUDE.md" and "cut or left out: big/CLAUDE.md" in (
        big.guidelines[-1].content
    )


# -- what the commands' contexts carry -------------------------------------------------

MOD = "def work():\n    return 1\n"


def _sub_guideline(world: World) -> None:
    world.repo.write("pkg/mod.py", MOD)
    world.repo.write("pkg/CLAUDE.md", "Inside pkg: no globals.\n")
    world.repo.write("pkg/.cursor/rules/py.mdc", "---\nglobs: '*.py'\n---\nPkg python rule.\n")


def _order(text: str) -> list[int]:
    spots = [text.index(s) for s in ("Inside pkg", "Pkg python rule", "Prefer small functions")]
    return spots


def test_explain_context_of_a_subdirectory_file_has_its_guideline_first(world: World) -> None:
    _sub_guideline(world)
    where = Where(world.project_id, world.root, "pkg/mod.py", MOD, 1, 4)
    b = assemble(world.store, where, world.session().parse("pkg/mod.py", MOD))
    titles = [s.title for s in b.sections if s.kind == "guidelines"]
    assert titles == [
        "Project guidelines (pkg/CLAUDE.md)",
        "Project guidelines (pkg/.cursor/rules/py.mdc)",
        "Project guidelines (CLAUDE.md)",
    ]
    spots = _order(b.text)
    assert spots == sorted(spots) and "globs" not in b.text
    # the root file's context has the root's guideline only
    root_b = assemble(world.store, world.where("def main"), None)
    assert "Prefer small functions." in root_b.text and "Inside pkg" not in root_b.text


def test_chat_explain_sends_the_subdirectory_guideline_first(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MIRA_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    _sub_guideline(world)
    session = world.session()
    uri = (world.root / "pkg/mod.py").as_uri()

    def documents(u: str) -> tuple[Located, str] | None:
        return (Located(session.roots[0], "pkg/mod.py"), MOD) if u == uri else None

    state = chat.ChatState()
    svc = state.service(session)
    arg = {"uri": uri, "position": {"line": 0, "character": 4}}
    prep = chat.prepare(state, session, "explain", arg, documents, "utf-16", svc.secrets)
    world.srv.script(Answer(text="It returns one."))
    chat.run(state, session, prep, chat.Sink())
    sent = "\n".join(str(m.get("content")) for m in world.srv.chat_requests()[-1].body["messages"])
    spots = _order(sent)
    assert spots == sorted(spots)


def test_mcp_explain_bundle_has_the_subdirectory_guideline_first(world: World) -> None:
    _sub_guideline(world)
    mcp_ws = Workspace(world.store, world.root, world.settings)
    got = bundles.explain(mcp_ws, "pkg/mod.py", 1)
    spots = _order(got.context)
    assert spots == sorted(spots)


def test_a_question_without_a_file_gets_the_roots_guidelines_and_no_file_rules(
    world: World,
) -> None:
    _sub_guideline(world)
    world.repo.write(".cursor/rules/general.mdc", "---\ndescription: General\n---\nBe brief.\n")
    b = assemble_unplaced(world.store, world.settings, world.project_id, world.root, "hello?")
    assert b is not None
    titles = [s.title for s in b.sections if s.kind == "guidelines"]
    assert titles == [
        "Project guidelines (CLAUDE.md)",
        "Project guidelines (.cursor/rules/general.mdc: General)",
    ]
    assert "Inside pkg" not in b.text and "Pkg python rule" not in b.text
