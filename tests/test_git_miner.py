"""Mining runs: progress, cancellation, two projects in one database, batches."""

from __future__ import annotations

import threading

from mira_ls.config import Settings
from mira_ls.git import miner
from mira_ls.git.miner import mine
from mira_ls.store import git_cochange, git_history
from tests.support.repo import DAY, T0, Repo, fixtures, mine_repo, project_id

git_isolation, store, repo = fixtures()


def test_progress_reports_and_phases(store, repo: Repo) -> None:
    for i in range(5):
        repo.commit(f"Fix thing {i}", touch=["a.py", "b.py"], at=T0 + i * DAY)
    seen: list[tuple[str, int | None]] = []
    pid = project_id(store, repo.root)
    stats = mine(store, pid, repo.root, Settings(), progress=lambda m, p: seen.append((m, p)))
    assert stats.status == "ok" and stats.fixes == 5
    assert seen[0] == ("reading git history", 0)
    assert ("co-change, expertise and fixes", 99) in seen
    assert seen[-1][0] == "symbols touched by past fixes"
    assert set(stats.phases) >= {"stream_s", "analyses_s", "core_s", "fix_symbols_s"}


def test_a_broken_progress_sink_does_not_stop_mining(store, repo: Repo) -> None:
    repo.commit("one", touch=["a.py"], at=T0)

    def boom(message: str, pct: int | None) -> None:
        raise RuntimeError("the editor went away")

    pid = project_id(store, repo.root)
    assert mine(store, pid, repo.root, Settings(), progress=boom).status == "ok"


def test_cancelled_run_starts_over_next_time(store, repo: Repo) -> None:
    for i in range(3):
        repo.commit(f"c{i}", touch=["a.py", "b.py"], at=T0 + i * DAY)
    pid = project_id(store, repo.root)
    cancel = threading.Event()
    cancel.set()
    stats = mine(store, pid, repo.root, Settings(), cancel=cancel)
    assert stats.status == "cancelled" and "starts over" in stats.message
    assert git_history.get_attachment(store.conn(), pid).last_mined_commit is None
    stats = mine(store, pid, repo.root, Settings(), cancel=lambda: False)
    assert stats.status == "ok" and stats.mode == "scratch" and stats.total_commits == 3


def test_two_projects_share_the_database(store, tmp_path) -> None:
    one, two = Repo(tmp_path / "one"), Repo(tmp_path / "two")
    for i in range(3):
        one.commit(f"one {i}", touch=["x.py", "y.py"], at=T0 + i * DAY)
        two.commit(f"two {i}", touch=["x.py", "z.py"], at=T0 + i * DAY)
    p1, _ = mine_repo(store, one.root)
    p2, _ = mine_repo(store, two.root)
    one.commit("one more", touch=["x.py", "y.py"], at=T0 + 9 * DAY)
    _, inc = mine_repo(store, one.root)
    assert inc.mode == "incremental"
    assert [(p.path, p.shared) for p in git_cochange.partners(store.conn(), p1, "x.py")] == [
        ("y.py", 4)
    ]
    assert [(p.path, p.shared) for p in git_cochange.partners(store.conn(), p2, "x.py")] == [
        ("z.py", 3)
    ]
    assert git_history.commit_count(store.conn(), p2) == 3


def test_many_batches(store, repo: Repo, monkeypatch) -> None:
    """More commits than one write batch: ids stay unique and every commit is stored."""
    for i in range(12):
        repo.commit(f"c{i}", touch=["a.py", "b.py"], at=T0 + i * DAY)
    monkeypatch.setattr(miner, "BATCH", 5)  # the batch size, a tuning constant
    pid, stats = mine_repo(store, repo.root)
    assert stats.total_commits == 12
    (p,) = git_cochange.partners(store.conn(), pid, "a.py")
    assert (p.shared, p.commits, p.partner_commits) == (12, 12, 12)
