"""Expertise scores against hand-computed values; .mailmap; directories; per symbol."""

from __future__ import annotations

import pytest

from mira_ls.config import Settings
from mira_ls.git import blame, expertise
from mira_ls.git.blame import ensure_blame
from mira_ls.store import git_expertise
from tests.support.repo import ALICE, BOB, CAROL, DAY, T0, Repo, fixtures, mine_repo

git_isolation, store, repo = fixtures()

NOW = T0 + 1000 * DAY


def history(repo: Repo) -> None:
    """x.py: Bob adds 40 lines (400 days ago), Alice adds 10, 5, 5 (30, 20, 10 days ago).
    pkg/y.py: Carol adds 8 lines (2 days ago)."""
    repo.lines("x.py", 40)
    repo.commit("Bob writes x", author=BOB, at=NOW - 400 * DAY)
    for n, days in ((10, 30), (5, 20), (5, 10)):
        repo.lines("x.py", n)
        repo.commit(f"Alice adds {n}", author=ALICE, at=NOW - days * DAY)
    repo.lines("pkg/y.py", 8)
    repo.commit("Carol writes y", author=CAROL, at=NOW - 2 * DAY)


def by_email(experts: list[expertise.Expert]) -> dict[str, expertise.Expert]:
    return {e.email: e for e in experts}


def test_file_scores_equal_hand_computed_values(store, repo: Repo) -> None:
    history(repo)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    scope, ranked, frag = expertise.experts(store.conn(), pid, "x.py", NOW)
    assert scope == "file"
    e = by_email(ranked)
    # max commits 3 (Alice), max lines 40 (Bob).
    alice = 40 * 3 / 3 + 30 * 20 / 40 + 30 * (365 - 10) / 365
    bob = 40 * 1 / 3 + 30 * 40 / 40 + 30 * (365 - 365) / 365
    assert e["alice@example.com"].score == pytest.approx(alice)  # 84.178...
    assert e["bob@example.com"].score == pytest.approx(bob)  # 43.333...
    assert [x.email for x in ranked] == ["alice@example.com", "bob@example.com"]
    assert e["alice@example.com"].commits == 3 and e["alice@example.com"].lines_added == 20
    assert e["alice@example.com"].last_at == NOW - 10 * DAY
    assert e["alice@example.com"].share == pytest.approx(20 / 60)
    assert e["bob@example.com"].share == pytest.approx(40 / 60)
    assert frag == pytest.approx(1 - (1 / 3) ** 2 - (2 / 3) ** 2)
    assert git_expertise.fragmentation(store.conn(), pid, "file", "x.py") == pytest.approx(4 / 9)


def test_recency_follows_the_clock(store, repo: Repo) -> None:
    history(repo)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    later = NOW + 100 * DAY
    _, ranked, _ = expertise.experts(store.conn(), pid, "x.py", later)
    alice = by_email(ranked)["alice@example.com"]
    assert alice.score == pytest.approx(40 + 15 + 30 * (365 - 110) / 365)


def test_directory_scores_take_maxima_within_the_directory(store, repo: Repo) -> None:
    history(repo)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    scope, ranked, _ = expertise.experts(store.conn(), pid, "pkg", NOW)
    assert scope == "directory"
    assert [(e.email, e.commits, e.lines_added) for e in ranked] == [("carol@example.com", 1, 8)]
    assert ranked[0].score == pytest.approx(40 + 30 + 30 * 363 / 365)
    # The root directory: Alice 3 commits/20 lines, Bob 1/40, Carol 1/8.
    _, root, frag = expertise.experts(store.conn(), pid, "", NOW)
    e = by_email(root)
    assert e["carol@example.com"].score == pytest.approx(40 / 3 + 30 * 8 / 40 + 30 * 363 / 365)
    assert e["alice@example.com"].share == pytest.approx(20 / 68)
    assert frag == pytest.approx(1 - (20 / 68) ** 2 - (40 / 68) ** 2 - (8 / 68) ** 2)


def test_mailmap_merges_two_identities(store, repo: Repo) -> None:
    repo.lines("m.py", 3)
    repo.commit("old identity", author=("alice", "alice@old.example"), at=NOW - 5 * DAY)
    repo.lines("m.py", 4)
    repo.commit("new identity", author=ALICE, at=NOW - 4 * DAY)
    repo.lines("m.py", 1)
    repo.commit("Bob too", author=BOB, at=NOW - 3 * DAY)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    _, ranked, _ = expertise.experts(store.conn(), pid, "m.py", NOW)
    assert len(ranked) == 3  # without .mailmap: two Alices

    repo.write(".mailmap", "Alice Smith <alice@example.com> <alice@old.example>\n")
    repo.commit("add mailmap", author=BOB, at=NOW - 2 * DAY)
    _, stats = mine_repo(store, repo.root, now=NOW)
    assert stats.mode == "scratch"  # a new .mailmap changes stored names: mined again
    _, ranked, _ = expertise.experts(store.conn(), pid, "m.py", NOW)
    e = by_email(ranked)
    assert set(e) == {"alice@example.com", "bob@example.com"}
    assert (e["alice@example.com"].author, e["alice@example.com"].commits) == ("Alice Smith", 2)
    assert e["alice@example.com"].lines_added == 7


def test_symbol_expertise_from_blame(store, repo: Repo) -> None:
    repo.write("s.py", "def f():\n    a = 1\n    b = 2\n    return a\n\n\ndef g():\n    pass\n")
    repo.commit("Alice writes f and g", author=ALICE, at=NOW - 50 * DAY)
    text = (repo.root / "s.py").read_text().replace("    b = 2\n", "    b = 3\n    c = 4\n")
    repo.write("s.py", text)
    repo.commit("Bob changes f", author=BOB, at=NOW - 5 * DAY)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    ensure_blame(store, pid, repo.root, "s.py", Settings())
    f = blame.span_blame(store.conn(), pid, "s.py", 1, 5)  # f: lines 1-5 (with the new line)
    assert [(o.email, o.lines) for o in f.owners] == [
        ("alice@example.com", 3),
        ("bob@example.com", 2),
    ]
    assert f.last.author_email == "bob@example.com"
    assert f.last.summary == "Bob changes f"
    assert f.last.authored_at == NOW - 5 * DAY
    g = blame.span_blame(store.conn(), pid, "s.py", 8, 9)
    assert [(o.email, o.lines) for o in g.owners] == [("alice@example.com", 2)]


def test_sql_top_experts_match_the_python_scores(store, repo: Repo) -> None:
    """The hover's one-query ranking and the full ranking agree (score, order, share)."""
    history(repo)
    for i, who in enumerate((CAROL, BOB, CAROL)):
        repo.lines("x.py", 3 + i)
        repo.commit(f"more {i}", author=who, at=NOW - (200 - i) * DAY)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    for later in (NOW, NOW + 50 * DAY, NOW + 500 * DAY):
        _, full, _ = expertise.experts(store.conn(), pid, "x.py", later)
        top = expertise.top_experts(store.conn(), pid, "x.py", later, 2)
        assert [(e.email, e.commits, e.lines_added, e.last_at) for e in top] == [
            (e.email, e.commits, e.lines_added, e.last_at) for e in full[:2]
        ]
        assert [e.score for e in top] == pytest.approx([e.score for e in full[:2]])
        assert [e.share for e in top] == pytest.approx([e.share for e in full[:2]])
