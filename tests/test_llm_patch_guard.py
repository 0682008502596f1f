"""mira.fixError answers whose diffs aim at files a fix must never touch: none is offered, and
a sentence says why; a diff of a source file is offered with the file and its size named.

The answers come from the real loopback OpenAI server, the repository is a real git
repository, and the command runs through the same feature functions the server calls.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mira_ls.features import chat
from mira_ls.features.session import Located, Session
from mira_ls.llm.patch_guard import guard_for, guard_for_recorded
from tests.support.llm_world import APP, World
from tests.support.openai_server import Answer

pytest_plugins = ["tests.llm_fixtures"]


def diff_answer(path: str, old: str, new: str) -> str:
    return (
        "Here is the fix.\n\n```diff\n"
        f"--- a/{path}\n+++ b/{path}\n@@ -1,1 +1,1 @@\n-{old}\n+{new}\n```\n"
    )


def documents(session: Session) -> chat.Documents:
    def load(uri: str) -> tuple[Located, str] | None:
        path = chat.uri_to_path(uri)
        loc = session.locate(path) if path else None
        if loc is None or path is None:
            return None
        return loc, path.read_text("utf-8")

    return load


def fix_error(world: World, answer: str) -> chat.ChatResult:
    world.srv.script(Answer(text=answer))
    session = world.session()
    state = chat.ChatState()
    line = APP.splitlines().index("    return x * 2")
    arg = {
        "uri": (world.root / "app.py").as_uri(),
        "diagnostic": {
            "range": {
                "start": {"line": line, "character": 4},
                "end": {"line": line, "character": 16},
            },
            "message": "expected 63, got 42",
            "source": "pytest",
        },
    }
    prep = chat.prepare(state, session, "fix_error", arg, documents(session), "utf-16")
    return chat.run(state, session, prep, chat.Sink())


def plant(world: World) -> None:
    """What a hostile or careless repository holds next to its source."""
    root = world.root
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "x").write_text("#!/bin/sh\necho tool\n")
    os.chmod(root / ".venv" / "bin" / "x", 0o755)
    (root / ".gitignore").write_text("local.py\n")
    (root / "local.py").write_text("SETTING = 1\n")
    outside = root.parent / "outside.py"
    outside.write_text("VALUE = 1\n")
    os.symlink(outside, root / "linked.py")
    world.repo.commit("add a tool", {".gitignore": "local.py\n", "tool": "#!/bin/sh\necho run\n"})
    os.chmod(root / "tool", 0o755)


@pytest.mark.parametrize(
    ("path", "old", "new", "why"),
    [
        (".git/config", "[core]", "[core]\n\tfsmonitor = sh -c 'id > pwned'", "inside .git"),
        (".venv/bin/x", "#!/bin/sh", "#!/bin/sh\nid > pwned", "vendored or generated"),
        ("local.py", "SETTING = 1", "SETTING = 2", "ignored by git"),
        ("linked.py", "VALUE = 1", "VALUE = 2", "symbolic link"),
        ("../outside.py", "VALUE = 1", "VALUE = 2", "outside the workspace"),
        (".env", "A=1", "A=2", "secrets file"),
    ],
)
def test_a_fix_aimed_outside_the_source_is_not_offered(
    world: World, path: str, old: str, new: str, why: str
) -> None:
    plant(world)
    (world.root / ".env").write_text("A=1\n")
    before = {
        p: p.read_bytes() for p in world.root.rglob("*") if p.is_file() and ".git/" not in str(p)
    }
    result = fix_error(world, diff_answer(path, old, new))
    assert result.edit_files == []
    assert result.edit_refused is not None and why in result.edit_refused, result.edit_refused
    assert path.lstrip("./") in result.edit_refused or path in result.edit_refused
    assert "edit_files" not in result.as_json() and result.as_json()["edit_refused"]
    # the sentence is in the answer file the editor opens, too
    assert result.edit_refused in Path(result.file).read_text()
    assert not (world.root / "pwned").exists()
    after = {
        p: p.read_bytes() for p in world.root.rglob("*") if p.is_file() and ".git/" not in str(p)
    }
    assert after == before  # nothing was written


def test_a_diff_that_also_touches_a_forbidden_file_offers_nothing(world: World) -> None:
    plant(world)
    answer = (
        "```diff\n--- a/app.py\n+++ b/app.py\n@@ -6,1 +6,1 @@\n-    return x * 2\n"
        "+    return x * 3\n--- a/.venv/bin/x\n+++ b/.venv/bin/x\n@@ -1,1 +1,1 @@\n"
        "-#!/bin/sh\n+#!/bin/sh -x\n```\n"
    )
    result = fix_error(world, answer)
    assert result.edit_files == []
    assert result.edit_refused is not None and ".venv/bin/x" in result.edit_refused


def test_a_fix_of_a_tracked_source_file_is_offered_with_its_name_and_size(world: World) -> None:
    plant(world)
    result = fix_error(world, diff_answer("app.py", "    return x * 2", "    return x * 3"))
    assert result.edit_refused is None
    assert result.edit_files == ["app.py"] and result.edit_sizes == ["+1 \u22121"]
    assert result.as_json()["edit_files"] == ["app.py"]
    prompt = result.consent()
    assert "app.py (+1 \u22121 lines)" in prompt and prompt.startswith("Apply Mira's fix?")
    assert any("app.py (+1 \u22121)" in n and "mira.applyFix" in n for n in result.notes)


def test_the_guard_on_its_own(world: World) -> None:
    plant(world)
    (world.root / "notes.txt").write_text("untracked\n")
    guard = guard_for(world.store, world.project_id, world.root)
    assert guard.refusal("app.py") is None  # indexed and tracked
    assert guard.refusal("CLAUDE.md") is None  # tracked by git, not indexed
    reasons = {
        ".git/config": "inside .git",
        ".git/hooks/pre-commit": "inside .git",
        "sub/.git/config": "inside .git",
        ".venv/bin/x": ".venv/",
        "node_modules/pkg/index.js": "node_modules/",
        "local.py": "ignored by git",
        "linked.py": "symbolic link",
        "/etc/passwd": "outside the workspace",
        "../outside.py": "outside the workspace",
        "id_rsa": "secrets file",
        "config/credentials.json": "secrets file",
        "server.pem": "secrets file",
        "notes.txt": "neither tracked by git nor indexed",
        "missing.py": "does not exist",
        "tool": "an executable (mode +x)",
    }
    for rel, why in reasons.items():
        said = guard.refusal(rel)
        assert said is not None and why in said and rel.lstrip("/") in said, (rel, said)


def test_past_fixes_skip_only_the_tracked_rule(world: World) -> None:
    """A recorded diff may touch an untracked file the build reported, never the rest."""
    plant(world)
    (world.root / "notes.txt").write_text("untracked\n")
    guard = guard_for_recorded(world.root)
    assert guard.refusal("notes.txt") is None and guard.refusal("app.py") is None
    for rel in (".git/config", ".venv/bin/x", "local.py", "linked.py", "tool", ".env"):
        assert guard.refusal(rel) is not None, rel
