"""mira.reviewChanges on a real repository: what the request to the model holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mira_ls.features import chat
from mira_ls.llm import review
from tests.support.llm_world import APP, KEY, World
from tests.support.openai_server import Answer

pytest_plugins = ["tests.llm_fixtures"]


def no_documents(uri: str) -> None:
    return None


def ask_review(world: World) -> tuple[dict[str, object], str]:
    state = chat.ChatState()
    session = world.session()
    svc = state.service(session)
    prep = chat.prepare(state, session, "review", {}, no_documents, "utf-16", svc.secrets)
    world.srv.script(Answer(text="Looks fine."))
    result = chat.run(state, session, prep, chat.Sink())
    return result, world.srv.chat_requests()[-1].body["messages"][-1]["content"]


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MIRA_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def test_review_sends_tracked_changes_and_new_files_but_not_ignored_secret_or_binary(
    world: World, tmp_path: Path
) -> None:
    w = world.repo
    w.write("app.py", APP.replace("return x * 2", "return x * 3"))
    w.write("util.py", "def triple(x):\n    return x * 3\n")
    w.write(".gitignore", "build/\n")
    w.write("build/out.py", "IGNORED_MARKER = 1\n")
    w.write(".env", "OPENAI_API_KEY=envfile-secret-value\n")
    w.write("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00BINARY_MARKER")
    w.write("big.txt", "0123456789\n" * 10_000)  # 110 kB
    outside = tmp_path / "outside.txt"
    outside.write_text("SYMLINK_TARGET_MARKER\n")
    os.symlink(outside, world.root / "link.txt")

    result, sent = ask_review(world)
    assert result.text == "Looks fine." and result.operation == "review"
    # the tracked change, as git diffs it
    assert "-    return x * 2" in sent and "+    return x * 3" in sent
    # the new file, whole, as a new-file diff
    assert "+++ b/util.py" in sent and "+def triple(x):" in sent
    assert "New files (untracked): " in sent and "util.py" in sent
    # a big new file comes last (smallest first) and is cut, to its byte cap and then with
    # the whole diff to the context budget, so it cannot push the others out
    assert sent.index("+++ b/util.py") < sent.index("+++ b/big.txt")
    assert "[... diff cut to fit the context budget]" in sent
    big = review.working_tree(world.root).diff.split("+++ b/big.txt")[1]
    assert f"cut at {review.NEW_FILE_MAX_BYTES} bytes" in big
    assert big.count("+0123456789") == review.NEW_FILE_MAX_BYTES // 11
    # ignored, secret, binary and symlinked content never goes
    for marker in ("IGNORED_MARKER", "envfile-secret-value", "BINARY_MARKER", "SYMLINK_TARGET"):
        assert marker not in sent, marker
    assert "build/out.py" not in sent and ".env" not in sent
    assert "logo.png" in sent and "link.txt" in sent  # named as not shown


def test_only_new_files_are_a_change_and_a_clean_tree_is_not(world: World) -> None:
    with pytest.raises(chat.NeedInput, match="no uncommitted changes"):
        ask_review(world)
    world.repo.write("notes.md", "# Plan\n\nShip it.\n")
    tree = review.working_tree(world.root)
    assert tree.files == ["notes.md"]
    _, sent = ask_review(world)
    assert "+++ b/notes.md" in sent and "+Ship it." in sent
