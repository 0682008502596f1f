"""Co-change numbers, thresholds, renames and the ignore policy on scripted histories."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mira_ls.config import Settings
from mira_ls.store import git_cochange, git_history
from tests.support.repo import ALICE, BOB, DAY, T0, Repo, fixtures, mine_repo

git_isolation, store, repo = fixtures()


def small(**change: object) -> Settings:
    """Settings for these few-commit histories: pairs sharing 2 commits count."""
    settings = Settings()
    settings.cochange = replace(settings.cochange, **{"min_shared": 2, **change})
    return settings


def mine_small(store, root, settings: Settings | None = None):
    return mine_repo(store, root, settings or small())


def scripted(repo: Repo) -> dict[str, str]:
    """a: 5 commits, b: 5, c: 2, d: 1; a+b share 4, a+c share 2, b+c share 1."""
    hashes = {}
    hashes["1"] = repo.commit("one", touch=["a.py", "b.py"], at=T0 + 1 * DAY)
    hashes["2"] = repo.commit("two", touch=["a.py", "b.py"], at=T0 + 2 * DAY)
    hashes["3"] = repo.commit("three", touch=["a.py", "b.py", "c.py"], at=T0 + 3 * DAY)
    hashes["4"] = repo.commit("four", touch=["a.py", "c.py"], at=T0 + 4 * DAY)
    hashes["5"] = repo.commit("five", touch=["b.py"], at=T0 + 5 * DAY)
    hashes["6"] = repo.commit("six", touch=["d.py"], at=T0 + 6 * DAY)
    hashes["7"] = repo.commit("seven", touch=["a.py", "b.py"], at=T0 + 7 * DAY)
    return hashes


def partners(store, pid: int, path: str) -> dict[str, tuple]:
    return {
        p.path: (
            p.shared,
            p.commits,
            p.partner_commits,
            round(p.jaccard, 6),
            round(p.dice, 6),
            p.last_at,
        )
        for p in git_cochange.partners(store.conn(), pid, path)
    }


def test_exact_numbers(store, repo: Repo) -> None:
    scripted(repo)
    pid, stats = mine_small(store, repo.root)
    assert stats.status == "ok" and stats.total_commits == 7
    # a,b: c=4, a=5, b=5 -> Jaccard 4/6, Dice 8/10; a,c: c=2, a=5, b=2 -> 2/5, 4/7.
    assert [
        (p.path, p.confidence, p.reverse_confidence)
        for p in git_cochange.partners(store.conn(), pid, "a.py")
    ] == [("b.py", 0.8, 0.8), ("c.py", 0.4, 1.0)]  # ranked by c/a
    assert partners(store, pid, "a.py") == {
        "b.py": (4, 5, 5, round(4 / 6, 6), 0.8, T0 + 7 * DAY),
        "c.py": (2, 5, 2, 0.4, round(4 / 7, 6), T0 + 4 * DAY),
    }
    assert partners(store, pid, "b.py") == {"a.py": (4, 5, 5, round(4 / 6, 6), 0.8, T0 + 7 * DAY)}
    # b,c share only 1 commit (< minShared 2); d changes alone.
    assert partners(store, pid, "c.py") == {"a.py": (2, 2, 5, 0.4, round(4 / 7, 6), T0 + 4 * DAY)}
    assert partners(store, pid, "d.py") == {}
    assert git_history.file_commit_count(store.conn(), pid, "a.py") == 5


@pytest.mark.parametrize(
    ("change", "expected_b"),
    [
        # b,c share 1 commit: c/a = 1/5 from b, 1/2 from c; either direction counts.
        ({"min_shared": 1, "min_confidence": 0.6}, {"a.py"}),  # 0.5 < 0.6 drops c
        ({"min_shared": 1, "min_confidence": 0.5}, {"a.py", "c.py"}),  # inclusive threshold
        ({"min_shared": 2, "min_confidence": 0.0}, {"a.py"}),  # b,c share 1
        ({"min_shared": 5}, set()),  # a,b share 4
        ({"min_shared": 1, "top_partners": 1}, {"a.py"}),  # strongest only
    ],
)
def test_thresholds(store, repo: Repo, change: dict, expected_b: set[str]) -> None:
    scripted(repo)
    pid, _ = mine_small(store, repo.root, small(**change))
    assert set(partners(store, pid, "b.py")) == expected_b


def test_confidence_in_either_direction_keeps_a_small_files_partner(store, repo: Repo) -> None:
    """a,c: c/a = 2/5 = 0.4 from a, 2/2 from c: a 0.5 bar keeps the pair on both sides."""
    scripted(repo)
    pid, _ = mine_small(store, repo.root, small(min_confidence=0.5))
    assert set(partners(store, pid, "a.py")) == {"b.py", "c.py"}
    assert set(partners(store, pid, "c.py")) == {"a.py"}


def test_threshold_change_recomputes_lists(store, repo: Repo) -> None:
    scripted(repo)
    pid, _ = mine_small(store, repo.root)
    assert set(partners(store, pid, "a.py")) == {"b.py", "c.py"}
    _, stats = mine_small(store, repo.root, small(min_shared=3))
    assert stats.mode == "scratch"
    assert set(partners(store, pid, "a.py")) == {"b.py"}


def test_min_shared_one_keeps_single_shared_commits(store, repo: Repo) -> None:
    scripted(repo)
    pid, _ = mine_small(store, repo.root, small(min_shared=1, min_confidence=0.0))
    # b,c: 1 shared, b=5, c=2 -> Jaccard 1/6.
    assert partners(store, pid, "c.py")["b.py"][:4] == (1, 2, 5, round(1 / 6, 6))


def test_renames_are_followed(store, repo: Repo) -> None:
    scripted(repo)
    repo.git("mv", "a.py", "core.py")
    repo.commit("rename a to core", touch=["b.py"], at=T0 + 8 * DAY)
    repo.commit("after", touch=["core.py", "b.py"], at=T0 + 9 * DAY)
    pid, _ = mine_small(store, repo.root)
    # core.py carries a.py's 5 commits + the rename + 1 = 7; b.py 5 + 2 = 7; shared 4 + 2 = 6.
    assert partners(store, pid, "core.py")["b.py"][:5] == (
        6,
        7,
        7,
        round(6 / 8, 6),
        round(12 / 14, 6),
    )
    assert partners(store, pid, "a.py") == {}
    assert git_history.file_commit_count(store.conn(), pid, "a.py") == 0
    assert git_history.file_commit_count(store.conn(), pid, "core.py") == 7


def test_rename_chain_and_reused_name(store, repo: Repo) -> None:
    """a -> b -> c, then a new file takes the name a: old history goes to c only."""
    repo.commit("x1", touch=["a.py", "z.py"], at=T0 + DAY)
    repo.commit("x2", touch=["a.py", "z.py"], at=T0 + 2 * DAY)
    repo.git("mv", "a.py", "b.py")
    repo.commit("a->b", at=T0 + 3 * DAY)
    repo.git("mv", "b.py", "c.py")
    repo.commit("b->c", at=T0 + 4 * DAY)
    repo.commit("new a", touch=["a.py", "y.py"], at=T0 + 5 * DAY)
    pid, _ = mine_small(store, repo.root)
    counts = dict((p, c) for p, c, _ in git_history.all_file_stats(store.conn(), pid))
    assert counts == {"c.py": 4, "z.py": 2, "a.py": 1, "y.py": 1}
    assert partners(store, pid, "z.py") == {"c.py": (2, 2, 4, 0.5, round(4 / 6, 6), T0 + 2 * DAY)}


def policy_repo(repo: Repo) -> dict[str, str]:
    """The scripted history plus one commit per ignore reason, each touching a and c."""
    h = scripted(repo)
    h["bot"] = repo.commit(
        "Bump deps",
        author=("dependabot[bot]", "bot@example.com"),
        touch=["a.py", "c.py"],
        at=T0 + 10 * DAY,
    )
    h["revs"] = repo.commit("Reformat", author=BOB, touch=["a.py", "c.py"], at=T0 + 11 * DAY)
    for i in range(31):
        repo.lines(f"many/f{i}.py", 1)
    h["large"] = repo.commit("Vendor drop", touch=["a.py", "c.py"], at=T0 + 12 * DAY)
    repo.git("checkout", "-q", "-b", "side", h["7"])
    h["side"] = repo.commit("side work", author=BOB, touch=["d.py"], at=T0 + 13 * DAY)
    repo.git("checkout", "-q", "main")
    repo.git(
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge branch 'bugfix'",
        "side",
        env={
            "GIT_AUTHOR_DATE": f"@{T0 + 14 * DAY} +0000",
            "GIT_COMMITTER_DATE": f"@{T0 + 14 * DAY} +0000",
        },
    )
    h["merge"] = repo.head()
    repo.write(".git-blame-ignore-revs", f"# formatting\n{h['revs']}\n")
    return h


def reasons(store, pid: int) -> dict[str, str | None]:
    return {
        r[0]: r[1]
        for r in store.conn().execute(
            "SELECT commit_hash, ignored_reason FROM git_commits WHERE project_id = ?", (pid,)
        )
    }


def test_ignore_policy_each_reason(store, repo: Repo) -> None:
    h = policy_repo(repo)
    pid, stats = mine_small(store, repo.root)
    r = reasons(store, pid)
    assert r[h["bot"]] == "bot"
    assert r[h["revs"]] == "ignore_revs"
    assert r[h["large"]] == "large"
    assert r[h["merge"]] == "merge"
    assert r[h["side"]] is None
    assert stats.ignored == {"bot": 1, "ignore_revs": 1, "large": 1, "merge": 1}
    # None of the four ignored commits counts: a and c keep the scripted numbers.
    assert partners(store, pid, "a.py")["c.py"][:3] == (2, 5, 2)
    # The merge says "bugfix" but is not a historical fix; "Bump deps" by the bot neither.
    subjects = {r[0] for r in store.conn().execute("SELECT subject FROM historical_fixes")}
    assert "Merge branch 'bugfix'" not in subjects


@pytest.mark.parametrize("reason", ["bot", "ignore_revs", "large", "merge"])
def test_each_reason_can_be_switched_off(store, repo: Repo, reason: str) -> None:
    h = policy_repo(repo)
    settings = small()
    g = settings.git
    if reason == "bot":
        settings.git = replace(g, bot_pattern="")
    elif reason == "ignore_revs":
        settings.git = replace(g, ignore_revs_file="")
    elif reason == "large":
        settings.git = replace(g, max_changeset_files=100)
    else:
        settings.git = replace(g, ignore_merges=False)
    pid, _ = mine_small(store, repo.root, settings)
    r = reasons(store, pid)
    key = {"bot": "bot", "ignore_revs": "revs", "large": "large", "merge": "merge"}[reason]
    assert r[h[key]] is None
    if reason != "merge":  # the merge shows no files (git log without -m), the rest touch a, c
        assert partners(store, pid, "a.py")["c.py"][:3] == (3, 6, 3)
    else:
        subjects = {r[0] for r in store.conn().execute("SELECT subject FROM historical_fixes")}
        assert "Merge branch 'bugfix'" in subjects


def snapshot(store, pid: int) -> dict[str, list]:
    conn = store.conn()
    return {
        "commits": [
            tuple(r)
            for r in conn.execute(
                "SELECT commit_hash, parent_count, author_name, author_email, authored_at, "
                "committed_at, subject, message, files_changed, insertions, deletions, "
                "ignored_reason FROM git_commits WHERE project_id = ? ORDER BY commit_hash",
                (pid,),
            )
        ],
        "files": [
            tuple(r)
            for r in conn.execute(
                "SELECT c.commit_hash, f.file_path, f.old_path, f.canonical_path, f.added, "
                "f.deleted FROM git_commit_files f JOIN git_commits c ON c.id = f.commit_id "
                "WHERE f.project_id = ? ORDER BY 1, 2",
                (pid,),
            )
        ],
        "stats": git_history.all_file_stats(conn, pid),
        "patterns": git_cochange.all_patterns(conn, pid),
        "expertise": [
            tuple(r)
            for r in conn.execute(
                "SELECT scope, path, author_email, author_name, commits, lines_added, "
                "lines_deleted, last_commit_at, round(score, 6), round(ownership_share, 9) "
                "FROM author_expertise "
                "WHERE project_id = ? ORDER BY 1, 2, 3",
                (pid,),
            )
        ],
        "fragmentation": [
            tuple(r)
            for r in conn.execute(
                "SELECT scope, path, authors, round(fragmentation, 9) FROM path_fragmentation "
                "WHERE project_id = ? ORDER BY 1, 2",
                (pid,),
            )
        ],
        "fix_symbols": [
            tuple(r)
            for r in conn.execute(
                "SELECT h.commit_hash, s.file_path, s.name FROM historical_fix_symbols s "
                "JOIN historical_fixes h ON h.id = s.fix_id WHERE s.project_id = ? "
                "ORDER BY 1, 2, 3",
                (pid,),
            )
        ],
        "fixes": [
            tuple(r)
            for r in conn.execute(
                "SELECT commit_hash, subject, category, error_text, files, symbols, issue_refs, "
                "words, similarity_hash, fixed_at FROM historical_fixes WHERE project_id = ? "
                "ORDER BY 1",
                (pid,),
            )
        ],
    }


def test_incremental_equals_scratch(tmp_path, repo: Repo) -> None:
    from mira_ls.store import Store

    scripted(repo)
    repo.append("c.py", "\n\ndef cfun():\n    return 0\n")
    repo.commit("Fix cfun returning None", author=BOB, at=T0 + 8 * DAY)
    inc = Store(tmp_path / "inc.db")
    pid, first = mine_small(inc, repo.root)
    assert first.mode == "scratch"
    # New work: co-changes, a rename (history moves), a bot commit, a fix, a new directory.
    repo.commit("Fix crash when b is None", author=BOB, touch=["a.py", "b.py"], at=T0 + 20 * DAY)
    (repo.root / "pkg").mkdir()
    repo.git("mv", "c.py", "pkg/c_renamed.py")
    repo.commit("move c", touch=["a.py"], at=T0 + 21 * DAY)
    repo.commit(
        "Bump", author=("renovate[bot]", "bot@renovate"), touch=["a.py", "b.py"], at=T0 + 22 * DAY
    )
    repo.commit(
        "more", author=ALICE, touch=["pkg/c_renamed.py", "a.py", "pkg/new.py"], at=T0 + 23 * DAY
    )
    _, second = mine_small(inc, repo.root)
    assert second.mode == "incremental" and second.new_commits == 4
    repo.commit("Fix typo in b (#12)", author=BOB, touch=["b.py", "d.py"], at=T0 + 24 * DAY)
    _, third = mine_small(inc, repo.root)
    assert third.mode == "incremental" and third.new_commits == 1

    fresh = Store(tmp_path / "fresh.db")
    pid2, full = mine_small(fresh, repo.root)
    assert full.mode == "scratch"
    assert snapshot(inc, pid) == snapshot(fresh, pid2)
    # And the numbers are the renamed ones; the fix's symbol moved with its file.
    assert "pkg/c_renamed.py" in partners(inc, pid, "a.py")
    assert [r[1:] for r in snapshot(inc, pid)["fix_symbols"]] == [("pkg/c_renamed.py", "cfun")]
    inc.close()
    fresh.close()


def test_rewritten_history_is_mined_again(store, repo: Repo) -> None:
    h = scripted(repo)
    pid, _ = mine_small(store, repo.root)
    repo.git("reset", "-q", "--hard", h["5"])
    repo.commit("rewritten six", touch=["a.py", "d.py"], at=T0 + 30 * DAY)
    _, stats = mine_small(store, repo.root)
    assert stats.mode == "scratch"
    stored = set(reasons(store, pid))
    assert h["7"] not in stored and h["6"] not in stored and repo.head() in stored
    assert len(stored) == 6
    assert partners(store, pid, "a.py")["b.py"][:3] == (3, 5, 4)


def test_up_to_date_does_nothing(store, repo: Repo) -> None:
    scripted(repo)
    mine_small(store, repo.root)
    _, stats = mine_small(store, repo.root)
    assert stats.status == "up_to_date" and stats.new_commits == 0


def test_policy_change_mines_from_scratch(store, repo: Repo) -> None:
    policy_repo(repo)
    pid, _ = mine_small(store, repo.root)
    settings = small()
    settings.git = replace(settings.git, bot_pattern="")
    _, stats = mine_small(store, repo.root, settings)
    assert stats.mode == "scratch"
    assert partners(store, pid, "a.py")["c.py"][:3] == (3, 6, 3)


def test_hub_file_keeps_its_real_partners(store, repo: Repo) -> None:
    """hub.py changes in 40 commits: 12 with its test (which has 14), 8 with a sibling,
    and 20 one-off commits with 20 different files. Jaccard would keep nothing (test:
    12/42 = 0.29 < 0.3, sibling 8/(40+10-8) = 0.19); c/a with a minimum of shared commits
    keeps the test and the sibling, never the one-offs."""
    t = T0
    for i in range(12):
        t += DAY
        repo.commit(f"hub and test {i}", touch=["hub.py", "tests/test_hub.py"], at=t)
    for i in range(8):
        t += DAY
        repo.commit(f"hub and sibling {i}", touch=["hub.py", "sibling.py"], at=t)
    for i in range(20):
        t += DAY
        repo.commit(f"hub and other {i}", touch=["hub.py", f"other{i}.py"], at=t)
    for i in range(2):
        t += DAY
        repo.commit(f"test alone {i}", touch=["tests/test_hub.py"], at=t)
        repo.commit(f"sibling alone {i}", touch=["sibling.py"], at=t + 1)
    pid, _ = mine_repo(store, repo.root)  # the defaults
    rows = git_cochange.partners(store.conn(), pid, "hub.py")
    assert [(p.path, p.shared, p.commits) for p in rows] == [
        ("tests/test_hub.py", 12, 40),
        ("sibling.py", 8, 40),
    ]
    assert rows[0].jaccard < 0.3 and rows[0].confidence == 0.3
    assert rows[1].reverse_confidence == 0.8  # 8 of sibling's 10 commits
    # And from the other side the hub is the first partner.
    assert [p.path for p in git_cochange.partners(store.conn(), pid, "sibling.py")] == ["hub.py"]
