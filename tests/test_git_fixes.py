"""Historical fixes: detection, categories, symbols touched and the ranking formula."""

from __future__ import annotations

import json

import pytest

from mira_ls.git import fixes
from mira_ls.store import git_fixes
from tests.support.repo import BOB, DAY, T0, Repo, fixtures, mine_repo

git_isolation, store, repo = fixtures()

CONFIG = (
    "def load_config(path):\n    data = read(path)\n    return data\n\n\n"
    "def other():\n    return 1\n"
)


@pytest.mark.parametrize(
    ("message", "is_fix"),
    [
        ("Fix crash on empty input", True),
        ("fixes the parser", True),
        ("Bugfix: wrong default", True),
        ("Resolve conflict handling", True),
        ("Patch the tokenizer", True),
        ("Repair broken links", True),
        ("Correct the docs", True),
        ("Handle empty input\n\nCloses #42", True),
        ("Handle empty input, see GH-7", True),
        ("Add pathlib support (#3781)", False),  # squash-merge PR number, not an issue ref
        ("Add a prefix option", False),
        ("monkeypatch the clock in tests", False),
        ("Add fixture for prefixes", False),
    ],
)
def test_detection(message: str, is_fix: bool) -> None:
    assert (fixes.detect(message) is not None) is is_fix


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Fix crash when value is None", "null"),
        ("AttributeError: 'NoneType' object has no attribute 'x'", "null"),
        ("TypeError: unsupported operand", "type"),
        ("Fix mypy errors in core", "type"),
        ("ModuleNotFoundError: No module named 'yaml'", "import"),
        ("Fix off-by-one in range end", "off-by-one"),
        ("IndexError: list index out of range", "off-by-one"),
        ("Fix race between writer threads", "race"),
        ("Fix deadlock on shutdown", "race"),
        ("Fix file handle leak", "leak"),
        ("Fix XSS in template escaping", "security"),
        ("Fix flaky test for pager", "test"),
        ("UnicodeDecodeError reading config", "encoding"),
        ("Fix typo in docs", "docs"),
        ("Fix wrong result for negative numbers", "general"),
        ("Fix security issue when value is None", "security"),  # precedence
    ],
)
def test_categories(text: str, category: str) -> None:
    assert fixes.category(text) == category


def test_similarity_hash_ignores_numbers_refs_and_punctuation() -> None:
    a = fixes.similarity_hash("null", "Fix crash when row 12 is None (#345)")
    b = fixes.similarity_hash("null", "fix crash when row 7 is none!")
    assert a == b
    assert a != fixes.similarity_hash("type", "fix crash when row 7 is none!")
    assert len(a) == 64


def test_words_are_lowercase_alnum_3plus_without_stop_words() -> None:
    assert fixes.words("Fix the crash in load_config when X is None, ok?") == {
        "crash",
        "load",
        "config",
        "none",
    }


def ranking_repo(repo: Repo) -> dict[str, str]:
    h = {}
    repo.write("app/config.py", CONFIG)
    repo.write("app/pager.py", "def page():\n    return 0\n")
    repo.write("app/other.py", "def parse():\n    return 0\n")
    repo.commit("Initial", at=T0)
    repo.write("app/config.py", CONFIG.replace("return data", "return data or {}"))
    h["f1"] = repo.commit("Fix crash when config is None", author=BOB, at=T0 + DAY)
    repo.write("app/pager.py", "def page():\n    return 1\n")
    h["f2"] = repo.commit("Fix off-by-one in pager", at=T0 + 2 * DAY)
    repo.write("app/other.py", "def parse():\n    return 1\n")
    h["f3"] = repo.commit("Fix config parsing", at=T0 + 3 * DAY)
    repo.append("app/config.py", "# note\n")
    h["f4"] = repo.commit("Fix typo", at=T0 + 4 * DAY)
    return h


def test_ranking_formula(store, repo: Repo) -> None:
    h = ranking_repo(repo)
    pid, stats = mine_repo(store, repo.root)
    assert stats.fixes == 4
    got = {
        m.commit: m.score
        for m in fixes.rank_fixes(store.conn(), pid, "crash in config loader", ["app/config.py"])
    }
    # error words {crash, config, loader}
    assert got[h["f1"]] == pytest.approx(0.2 + 0.15 * 1 + 0.65 * (2 / 4))  # {crash,config,none}
    assert got[h["f3"]] == pytest.approx(0.2 + 0.15 * 0 + 0.65 * (1 / 4))  # {config,parsing}
    assert got[h["f4"]] == pytest.approx(0.2 + 0.15 * 1 + 0.65 * 0)  # {typo}, same file
    assert h["f2"] not in got  # 0.2 < 0.3: dropped
    order = [
        m.commit
        for m in fixes.rank_fixes(store.conn(), pid, "crash in config loader", ["app/config.py"])
    ]
    assert order == [h["f1"], h["f3"], h["f4"]]


def test_same_hash_scores_one(store, repo: Repo) -> None:
    h = ranking_repo(repo)
    pid, _ = mine_repo(store, repo.root)
    (best, *_) = fixes.rank_fixes(store.conn(), pid, "fix crash when config is none", [])
    assert best.commit == h["f1"] and best.score == 1.0 and best.category == "null"


def test_file_overlap_is_a_share_of_the_error_files(store, repo: Repo) -> None:
    h = ranking_repo(repo)
    pid, _ = mine_repo(store, repo.root)
    got = {
        m.commit: m.score
        for m in fixes.rank_fixes(store.conn(), pid, "typo", ["app/config.py", "app/nothing.py"])
    }
    # f4: words {typo} == {typo}: Jaccard 1; overlap 1 of 2 error files.
    assert got[h["f4"]] == pytest.approx(0.2 + 0.15 * 0.5 + 0.65 * 1)


def test_top_five_ties_by_recency(store, repo: Repo) -> None:
    repo.write("m.py", "x = 0\n")
    repo.commit("Initial", at=T0)
    hs = []
    for i in range(7):
        repo.append("m.py", f"y{i} = 1\n")
        hs.append(repo.commit(f"Fix widget {i}", at=T0 + (i + 1) * DAY))
    pid, _ = mine_repo(store, repo.root)
    got = fixes.rank_fixes(store.conn(), pid, "unrelated words here", ["m.py"])
    assert [m.commit for m in got] == list(reversed(hs))[:5]
    assert all(m.score == pytest.approx(0.35) for m in got)


def test_files_symbols_and_issue_refs_are_stored(store, repo: Repo) -> None:
    repo.write("app/config.py", CONFIG)
    repo.commit("Initial", at=T0)
    repo.write("app/config.py", CONFIG.replace("data = read(path)", "data = read(path) or {}"))
    repo.commit(
        "Handle missing file\n\nTypeError: 'NoneType' is not iterable\n\nFixes #12",
        author=BOB,
        at=T0 + DAY,
    )
    repo.git("mv", "app/config.py", "app/settings.py")
    repo.commit("rename config to settings", at=T0 + 2 * DAY)
    pid, _ = mine_repo(store, repo.root)
    (fx,) = git_fixes.all_fixes(store.conn(), pid)
    assert fx.subject == "Handle missing file"
    assert fx.files == ("app/settings.py",)  # renames followed
    assert ("app/settings.py", "load_config") in fx.symbols
    assert ("app/settings.py", "other") not in fx.symbols
    assert fx.error_text == "TypeError: 'NoneType' is not iterable"
    assert fx.category == "null"
    row = store.conn().execute("SELECT issue_refs FROM historical_fixes").fetchone()
    assert json.loads(row[0]) == ["#12"]
    assert [
        f.commit_hash for f in git_fixes.fixes_for_file(store.conn(), pid, "app/settings.py")
    ] == [fx.commit_hash]


def test_parse_fix_diffs_names_enclosing_and_changed_definitions() -> None:
    data = (
        b"\x00" + b"a" * 40 + b"\n\ndiff --git a/m.py b/m.py\nindex 1..2 100644\n--- a/m.py\n"
        b"+++ b/m.py\n@@ -3 +3 @@ def outer(x):\n-    return 1\n+    return 2\n"
        b"@@ -9,0 +10,2 @@ class K:\n+    def added(self):\n+        pass\n"
        b"diff --git a/gone.py b/gone.py\ndeleted file mode 100644\n--- a/gone.py\n"
        b"+++ /dev/null\n@@ -1 +0,0 @@\n-def removed(): pass\n"
    )
    assert fixes.parse_fix_diffs(data) == {"a" * 40: {"m.py": {"outer", "K", "added"}}}


def test_symbols_of_fixes_read_beside_the_log_and_pending_ones_later(store, repo: Repo) -> None:
    from mira_ls.config import Settings
    from mira_ls.git.miner import mine
    from tests.support.repo import project_id

    repo.write("m.py", "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(130)))
    repo.commit("Initial", at=T0)
    for i in range(130):  # more fixes than one batch of diffs sent to git while mining
        repo.write(
            "m.py", (repo.root / "m.py").read_text().replace(f"return {i}\n", f"return -{i}\n")
        )
        repo.commit(f"Fix sign of f{i}", at=T0 + (i + 1) * 60)
    pid = project_id(store, repo.root)
    stats = mine(store, pid, repo.root, Settings(), now=T0, symbols=False)
    assert stats.fixes == 130
    assert len(git_fixes.pending_symbols(store.conn(), pid)) == 130  # left for later
    assert fixes.extract_symbols(store, pid, repo.root, relative=False) == 130
    assert git_fixes.pending_symbols(store.conn(), pid) == []
    by_subject = {f.subject: f.symbols for f in git_fixes.all_fixes(store.conn(), pid)}
    assert by_subject["Fix sign of f7"] == (("m.py", "f7"),)

    with store.write() as c:  # a policy change: mined again from scratch, diffs prefetched
        c.execute("UPDATE git_mining_state SET policy_hash = 'other' WHERE project_id = ?", (pid,))
    stats = mine(store, pid, repo.root, Settings(), now=T0)
    assert stats.mode == "scratch" and stats.fixes == 130
    assert git_fixes.pending_symbols(store.conn(), pid) == []
    assert {f.subject: f.symbols for f in git_fixes.all_fixes(store.conn(), pid)} == by_subject


def _brute_force(store, pid: int, text: str, files: list[str]) -> list[str]:
    """Every fix of the project scored with the formula: what the term index must equal."""
    err_files = set(files)
    ew, eh = fixes.words(text), fixes.similarity_hash(fixes.category(text), text)
    scored = [
        (round(s, 6), fx.fixed_at, fx.commit_hash)
        for fx in git_fixes.all_fixes(store.conn(), pid)
        if (s := fixes.score_fix(fx, ew, err_files, eh)) >= 0.3
    ]
    scored.sort(key=lambda m: (-m[0], -m[1], m[2]))
    return [c for _, _, c in scored[:5]]


VOCAB = ["crash", "config", "parser", "widget", "null", "loader", "cache", "race", "typo"]


def _many_fixes(repo: Repo) -> None:
    import random

    rng = random.Random(3)
    repo.write("a.py", "x = 0\n")
    repo.commit("Initial", at=T0)
    for i in range(60):
        path = rng.choice(["a.py", "b.py", "c/d.py"])
        repo.append(path, f"v{i} = {i}\n")
        words = " ".join(rng.sample(VOCAB, rng.randint(1, 4)))
        repo.commit(f"Fix {words}", at=T0 + (i + 1) * DAY)


def test_ranking_reads_only_sharing_fixes_and_equals_brute_force(store, repo: Repo) -> None:
    import random

    _many_fixes(repo)
    pid, stats = mine_repo(store, repo.root)
    assert stats.fixes == 60
    rng = random.Random(5)
    for _ in range(80):
        text = " ".join(rng.sample([*VOCAB, "unrelated", "words"], rng.randint(1, 5)))
        files = rng.sample(["a.py", "b.py", "c/d.py", "none.py"], rng.randint(0, 2))
        got = [m.commit for m in fixes.rank_fixes(store.conn(), pid, text, files)]
        assert got == _brute_force(store, pid, text, files), (text, files)
    # a fix's own message: the same similarity hash, 1.0, first
    assert not fixes.rank_fixes(store.conn(), pid, "Fix zebra", [])  # shares nothing
    subject = git_fixes.all_fixes(store.conn(), pid)[7].subject
    (best, *_) = fixes.rank_fixes(store.conn(), pid, subject, [])
    assert best.score == 1.0 and best.subject == subject


def test_renamed_file_moves_in_the_term_index(store, repo: Repo) -> None:
    h = ranking_repo(repo)
    repo.git("mv", "app/config.py", "app/settings.py")
    repo.commit("Rename config to settings", at=T0 + 5 * DAY)
    pid, _ = mine_repo(store, repo.root)
    got = {m.commit for m in fixes.rank_fixes(store.conn(), pid, "unrelated", ["app/settings.py"])}
    assert h["f4"] in got  # touched app/config.py, now known as app/settings.py
    assert got == set(_brute_force(store, pid, "unrelated", ["app/settings.py"]))
    assert not fixes.rank_fixes(store.conn(), pid, "unrelated", ["app/config.py"])


def test_migration_027_indexes_fixes_mined_before_it(store, repo: Repo) -> None:
    from mira_ls.store.migrate import load_migrations

    _many_fixes(repo)
    mine_repo(store, repo.root)
    with store.write() as c:
        before = c.execute(
            "SELECT kind, term, fix_id FROM historical_fix_terms ORDER BY 1, 2, 3"
        ).fetchall()
        c.execute("DELETE FROM historical_fix_terms")  # as a database from before 027
        (m027,) = [m for m in load_migrations() if m.version == 27]
        for stmt in m027.statements[2:]:  # the backfill, after CREATE TABLE and INDEX
            c.execute(stmt)
        after = c.execute(
            "SELECT kind, term, fix_id FROM historical_fix_terms ORDER BY 1, 2, 3"
        ).fetchall()
    assert before and [tuple(r) for r in after] == [tuple(r) for r in before]
