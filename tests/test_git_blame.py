"""Blame: cached per blob id, -w, the ignore policy, uncommitted and untracked files."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mira_ls.config import Settings
from mira_ls.git import blame
from mira_ls.git.blame import ensure_blame, parse_porcelain
from mira_ls.store import git_blame
from tests.support.repo import ALICE, BOB, DAY, T0, Repo, fixtures, mine_repo

git_isolation, store, repo = fixtures()

SRC = "def f():\n    x = 1\n    return x\n"


def owners(store, pid: int, path: str, start: int = 1, end: int = 10_000) -> list[tuple]:
    sb = blame.span_blame(store.conn(), pid, path, start, end)
    return [(o.email, o.lines) for o in sb.owners] if sb else []


def test_cached_per_blob_no_git_on_the_second_call(store, repo: Repo, monkeypatch) -> None:
    repo.write("a.py", SRC)
    repo.commit("add", author=ALICE, at=T0)
    pid, _ = mine_repo(store, repo.root)
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    first = git_blame.current(store.conn(), pid, "a.py")
    assert first is not None and first.status == "ok" and first.line_count == 3
    monkeypatch.setenv("PATH", "/nonexistent")  # git cannot run any more
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    assert git_blame.current(store.conn(), pid, "a.py") == first
    assert owners(store, pid, "a.py") == [("alice@example.com", 3)]


def test_uncommitted_lines_are_marked(store, repo: Repo) -> None:
    repo.write("a.py", SRC)
    repo.commit("add", author=ALICE, at=T0)
    pid, _ = mine_repo(store, repo.root)
    repo.write("a.py", SRC + "\ndef g():\n    return 2\n")
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    sb = blame.span_blame(store.conn(), pid, "a.py", 1, 6)
    assert sb.uncommitted_lines == 3 and sb.total_lines == 6
    assert [(o.email, o.lines) for o in sb.owners] == [("alice@example.com", 3)]
    only_new = blame.span_blame(store.conn(), pid, "a.py", 5, 6)
    assert only_new.owners == [] and only_new.last is None and only_new.uncommitted_lines == 2
    # Once committed and mined again, the cache for the file is dropped and blamed anew.
    repo.commit("add g", author=BOB, at=T0 + DAY)
    mine_repo(store, repo.root)
    assert git_blame.current(store.conn(), pid, "a.py") is None
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    assert owners(store, pid, "a.py") == [("bob@example.com", 3), ("alice@example.com", 3)]


def test_whitespace_changes_keep_the_author(store, repo: Repo) -> None:
    repo.write("a.py", SRC)
    repo.commit("add", author=ALICE, at=T0)
    repo.write("a.py", SRC.replace("    ", "\t"))
    repo.commit("tabs", author=BOB, at=T0 + DAY)
    pid, _ = mine_repo(store, repo.root)
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    assert owners(store, pid, "a.py") == [("alice@example.com", 3)]


@pytest.mark.parametrize("how", ["ignore_revs", "bot"])
def test_ignored_commits_are_skipped_by_blame(store, repo: Repo, how: str) -> None:
    repo.write("a.py", SRC)
    repo.commit("add", author=ALICE, at=T0)
    repo.write("a.py", SRC.replace("x", "value"))
    author = BOB if how == "ignore_revs" else ("renovate[bot]", "bot@example.com")
    h = repo.commit("rename variable", author=author, at=T0 + DAY)
    if how == "ignore_revs":
        repo.write(".git-blame-ignore-revs", h + "\n")
    pid, _ = mine_repo(store, repo.root)
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    assert owners(store, pid, "a.py") == [("alice@example.com", 3)]


def test_blame_copies_setting_adds_dash_c(store, repo: Repo) -> None:
    body = "".join(f"    line_{i} = {i} * 2 + {i}\n" for i in range(12))
    repo.write("one.py", "def f():\n" + body + "\n\ndef keep():\n    return 1\n")
    repo.commit("Alice writes one", author=ALICE, at=T0)
    repo.write("one.py", "def keep():\n    return 1\n")
    repo.write("two.py", "def g():\n" + body)
    repo.commit("Bob moves f's body to two.py", author=BOB, at=T0 + DAY)
    pid, _ = mine_repo(store, repo.root)
    ensure_blame(store, pid, repo.root, "two.py", Settings())
    assert owners(store, pid, "two.py") == [("bob@example.com", 13)]
    settings = Settings()
    settings.git = replace(settings.git, blame_copies=True)
    git_blame.forget_paths(store.conn(), pid, ["two.py"])
    ensure_blame(store, pid, repo.root, "two.py", settings)
    assert owners(store, pid, "two.py") == [("alice@example.com", 12), ("bob@example.com", 1)]


def test_untracked_file_is_recorded_and_not_retried(store, repo: Repo, monkeypatch) -> None:
    repo.write("a.py", SRC)
    repo.commit("add", at=T0)
    pid, _ = mine_repo(store, repo.root)
    repo.write("new.py", "x = 1\n")
    ensure_blame(store, pid, repo.root, "new.py", Settings())
    cur = git_blame.current(store.conn(), pid, "new.py")
    assert cur.status == "untracked" and "not committed" in cur.error
    assert blame.span_blame(store.conn(), pid, "new.py", 1, 1) is None
    monkeypatch.setenv("PATH", "/nonexistent")
    ensure_blame(store, pid, repo.root, "new.py", Settings())  # same content: no retry
    assert git_blame.current(store.conn(), pid, "new.py") == cur


def test_missing_file_and_directory_do_nothing(store, repo: Repo) -> None:
    repo.write("a.py", SRC)
    repo.commit("add", at=T0)
    pid, _ = mine_repo(store, repo.root)
    (repo.root / "dir.py").mkdir()
    ensure_blame(store, pid, repo.root, "gone.py", Settings())
    ensure_blame(store, pid, repo.root, "dir.py", Settings())
    assert git_blame.current(store.conn(), pid, "gone.py") is None
    assert git_blame.current(store.conn(), pid, "dir.py") is None


def test_porcelain_ranges_group_consecutive_lines() -> None:
    h1, h2 = "a" * 40, "b" * 40
    data = (
        f"{h1} 1 1 2\nauthor Alice\nauthor-mail <A@x>\nauthor-time 100\nsummary one\n"
        f"filename f\n\tl1\n{h1} 2 2\n\tl2\n"
        f"{h2} 3 3 1\nauthor Bob\nauthor-mail <b@x>\nauthor-time 200\nsummary two\n"
        f"filename f\n\tl3\n{h1} 4 4 1\n\tl4\n"
    ).encode()
    ranges, count = parse_porcelain(data)
    assert count == 4
    assert [(r.line_start, r.line_end, r.commit_hash[:1], r.author_email) for r in ranges] == [
        (1, 2, "a", "a@x"),
        (3, 3, "b", "b@x"),
        (4, 4, "a", "a@x"),
    ]
