"""Mining and blame in a child process (git/background.py): they pickle, open their own
connection to the database, write their results there and report progress back."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from mira_ls.config import Settings
from mira_ls.git import background, blame
from mira_ls.store import StoreError, git_blame, git_history
from tests.support.repo import ALICE, BOB, T0, Repo, fixtures, project_id

git_isolation, store, repo = fixtures()


class Ctx:
    """A child's context as the job runner gives it: a cancel flag and progress."""

    def __init__(self, cancel: bool = False) -> None:
        self.cancel = cancel
        self.reports: list[tuple[int, int, str | None]] = []

    def cancelled(self) -> bool:
        return self.cancel

    def report(self, done: int, total: int, message: str | None = None) -> None:
        self.reports.append((done, total, message))


def in_child(fn, *args):  # type: ignore[no-untyped-def]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result(timeout=120)


def test_mining_in_a_child_fills_the_database(store, repo: Repo) -> None:
    repo.commit("add a", {"a.py": "def f():\n    return 1\n"}, author=ALICE, at=T0)
    repo.commit("fix: f returns 2", {"a.py": "def f():\n    return 2\n"}, author=BOB)
    pid = project_id(store, repo.root)
    stats = in_child(
        background.mine_in_child, Ctx(), str(store.path), pid, str(repo.root), Settings()
    )
    assert stats.status == "ok" and stats.new_commits == 2
    last = git_history.last_commit_for_file(store.conn(), pid, "a.py")
    assert last is not None and last.subject == "fix: f returns 2"
    again = in_child(
        background.mine_in_child, Ctx(), str(store.path), pid, str(repo.root), Settings()
    )
    assert again.status == "up_to_date"


def test_progress_reaches_the_context(store, repo: Repo) -> None:
    repo.commit("add a", {"a.py": "x = 1\n"}, at=T0)
    pid = project_id(store, repo.root)
    ctx = Ctx()
    stats = background.mine_in_child(ctx, str(store.path), pid, str(repo.root), Settings())
    assert stats.status == "ok"
    assert ctx.reports and all(total in (0, 100) for _, total, _ in ctx.reports)


def test_blame_in_a_child_is_stored_and_a_cancel_stops_it(store, repo: Repo) -> None:
    repo.commit("add", {"a.py": "a = 1\nb = 2\n", "b.py": "c = 3\n"}, author=ALICE, at=T0)
    pid = project_id(store, repo.root)
    in_child(background.mine_in_child, Ctx(), str(store.path), pid, str(repo.root), Settings())
    done = in_child(
        background.blame_in_child,
        Ctx(),
        str(store.path),
        pid,
        str(repo.root),
        ["a.py", "b.py"],
        Settings(),
    )
    assert done == 2
    for rel, lines in (("a.py", 2), ("b.py", 1)):
        cur = git_blame.current(store.conn(), pid, rel)
        assert cur is not None and cur.status == "ok" and cur.line_count == lines
    sb = blame.span_blame(store.conn(), pid, "a.py", 1, 2)
    assert sb is not None and [o.email for o in sb.owners] == [ALICE[1]]
    stopped = background.blame_in_child(
        Ctx(cancel=True), str(store.path), pid, str(repo.root), ["a.py"], Settings()
    )
    assert stopped == 0


def test_a_database_that_cannot_be_made_is_a_store_error(tmp_path: Path) -> None:
    """The child fails with a sentence (StoreError), which the server shows."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError) as err:
        background.blame_in_child(Ctx(), str(blocker / "mira.db"), 1, str(tmp_path), [], Settings())
    assert str(blocker) in str(err.value) or "mira.db" in str(err.value)
