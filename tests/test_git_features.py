"""Hover sections, the author code lens and the co-change diagnostic (function level: the
functions the server calls, on real repositories and databases)."""

from __future__ import annotations

from dataclasses import replace

from lsprotocol import types

from mira_ls.config import Settings
from mira_ls.dates import ago
from mira_ls.features.cochange_diagnostics import cochange_diagnostics, cochange_diagnostics_many
from mira_ls.features.code_lens_git import author_lens_titles
from mira_ls.features.hover_git import git_sections
from mira_ls.git.blame import ensure_blame
from mira_ls.store import git_cochange
from mira_ls.store.code import SymbolRow
from tests.index_helpers import function_row
from tests.support.repo import ALICE, BOB, DAY, T0, Repo, fixtures, mine_repo

git_isolation, store, repo = fixtures()

NOW = T0 + 100 * DAY
A_SRC = (
    "import os\n\n\n"
    "def load(path):\n"
    "    data = open(path).read()\n"
    "    return data\n\n\n"
    "def save(path, data):\n"
    "    open(path, 'w').write(data)\n"
)


def sym(name: str, start: int, end: int, parent: int | None = None, sid: int = 1) -> SymbolRow:
    return function_row(name, start, end, parent=parent, sid=sid)


def history(repo: Repo) -> dict[str, str]:
    """a.py: 8 commits (Alice 5, Bob 3); b.py: 6, all with a.py. One fix in load()."""
    h = {}
    repo.write("a.py", A_SRC)
    repo.write("b.py", "B = 0\n")
    h["first"] = repo.commit("Add a and b", author=ALICE, at=T0 + 1 * DAY)
    for i in range(2, 6):
        repo.append("b.py", f"B{i} = {i}\n")
        repo.append("a.py", f"\nA{i} = {i}\n")
        repo.commit(f"Grow a and b {i}", author=ALICE if i < 5 else BOB, at=T0 + i * DAY)
    repo.write(
        "a.py",
        (repo.root / "a.py").read_text().replace("    return data\n", "    return data or ''\n"),
    )
    repo.append("b.py", "B_FIX = 1\n")
    h["fix"] = repo.commit("Fix crash when file is empty", author=BOB, at=T0 + 10 * DAY)
    repo.append("a.py", "\nA_LAST = 1\n")
    repo.commit("Tweak a", author=ALICE, at=T0 + 20 * DAY)
    repo.append("a.py", "\nA_LAST2 = 1\n")
    h["last"] = repo.commit("Tweak a again", author=BOB, at=T0 + 30 * DAY)
    return h


def test_hover_sections_with_the_right_numbers(store, repo: Repo) -> None:
    h = history(repo)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    sections = git_sections(store.conn(), pid, "a.py", sym("load", 4, 6), now=NOW)
    titles = [s.split("\n", 1)[0] for s in sections]
    assert titles == ["**Experts**", "**Last changed**", "**Changes with**", "**Past fixes here**"]
    experts, last, partners, past = sections
    lines = experts.split("\n")[1:]
    assert len(lines) == 2
    # a.py: Alice 5 commits, 18 lines added, last 80 days ago; Bob 3, 5 lines, 70 days ago.
    alice = 40 * 5 / 5 + 30 * 18 / 18 + 30 * (365 - 80) / 365  # 93.4
    bob = 40 * 3 / 5 + 30 * 5 / 18 + 30 * (365 - 70) / 365  # 56.6
    assert lines == [
        f"- Alice Smith · {round(alice)} · last commit 2023-12-04",
        f"- Bob Jones · {round(bob)} · last commit 2023-12-14",
    ]
    # load() lines 4-6: line 6 changed by the fix (Bob, 90 days before NOW).
    assert last.split("\n")[1:] == [
        f"- `{h['fix'][:7]}` Bob Jones, 3 months ago: Fix crash when file is empty",
        "- lines by Alice Smith 2, Bob Jones 1",
    ]
    assert partners == "**Changes with**\n- `b.py` · 6 of 8 commits"
    assert (
        past
        == f"**Past fixes here**\n- Fix crash when file is empty (`{h['fix'][:7]}`, 2023-11-24)"
    )


def test_fixes_of_the_symbol_come_before_newer_fixes_of_the_file(store, repo: Repo) -> None:
    h = history(repo)
    repo.append("a.py", "\nA_MORE = 2\n")
    newer = repo.commit("Fix constant at the end", author=ALICE, at=T0 + 40 * DAY)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    past = next(
        s
        for s in git_sections(store.conn(), pid, "a.py", sym("load", 4, 6), now=NOW)
        if s.startswith("**Past fixes here**")
    )
    assert (
        past.split("\n")[1:]
        == [
            f"- Fix crash when file is empty (`{h['fix'][:7]}`, 2023-11-24)",  # touched load()
            f"- Fix constant at the end (`{newer[:7]}`, 2023-12-24)",
        ]
    )
    # For save(), which the first fix did not touch, the file's fixes are newest first.
    past = next(
        s
        for s in git_sections(store.conn(), pid, "a.py", sym("save", 9, 10), now=NOW)
        if s.startswith("**Past fixes here**")
    )
    assert past.split("\n")[1].startswith("- Fix constant at the end")


def test_partner_view_counts_its_own_commits(store, repo: Repo) -> None:
    history(repo)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    sections = git_sections(store.conn(), pid, "b.py", None, now=NOW)
    assert "**Changes with**\n- `a.py` · 6 of 6 commits" in sections
    # No symbol and no blame: the file's last commit.
    last = next(s for s in sections if s.startswith("**Last changed**"))
    assert last.startswith("**Last changed** (file)\n- `")
    assert "Bob Jones, 3 months ago: Fix crash when file is empty" in last


def test_no_history_means_no_sections(store, repo: Repo) -> None:
    history(repo)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    repo.write("new.py", "def fresh():\n    return 1\n")
    ensure_blame(store, pid, repo.root, "new.py", Settings())
    assert git_sections(store.conn(), pid, "new.py", sym("fresh", 1, 2), now=NOW) == []
    assert git_sections(store.conn(), pid, "new.py", None, now=NOW) == []
    # A project never mined (no rows at all) is just as quiet.
    assert git_sections(store.conn(), pid + 1, "a.py", sym("load", 4, 6), now=NOW) == []


def test_uncommitted_symbol_lines_are_said_so(store, repo: Repo) -> None:
    history(repo)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    repo.write(
        "a.py",
        (repo.root / "a.py")
        .read_text()
        .replace(
            "    data = open(path).read()\n", "    data = open(path, encoding='utf-8').read()\n"
        ),
    )
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    last = next(
        s
        for s in git_sections(store.conn(), pid, "a.py", sym("load", 4, 6), now=NOW)
        if s.startswith("**Last changed**")
    )
    assert "- 1 of 3 lines not committed yet" in last


def test_markdown_in_names_and_subjects_is_escaped(store, repo: Repo) -> None:
    repo.write("a.py", A_SRC)
    repo.commit("Fix *bold* [link](x) in `code`", author=("Ann_Lee*", "ann@example.com"), at=T0)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    text = "\n".join(git_sections(store.conn(), pid, "a.py", sym("load", 4, 6), now=NOW))
    assert "Ann\\_Lee\\*" in text
    assert "Fix \\*bold\\* \\[link\\]\\(x\\) in \\`code\\`" in text


def test_relative_dates() -> None:
    assert ago(NOW, NOW) == "today"
    assert ago(NOW - DAY, NOW) == "yesterday"
    assert ago(NOW - 5 * DAY, NOW) == "5 days ago"
    assert ago(NOW - 45 * DAY, NOW) == "1 month ago"
    assert ago(NOW - 200 * DAY, NOW) == "6 months ago"
    assert ago(NOW - 800 * DAY, NOW) == "2 years ago"


def test_author_lens_on_top_level_symbols(store, repo: Repo) -> None:
    history(repo)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    load, save = sym("load", 4, 6, sid=1), sym("save", 9, 10, sid=2)
    nested = sym("inner", 5, 5, parent=1, sid=3)
    assert (
        author_lens_titles(store.conn(), pid, "a.py", [load, save, nested]) == {}
    )  # not blamed yet
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    titles = author_lens_titles(store.conn(), pid, "a.py", [load, save, nested])
    assert titles == {
        1: "2 authors, last by Bob Jones, 2023-11-24",
        2: "1 author, last by Alice Smith, 2023-11-15",
    }


def diag_settings(**change) -> Settings:
    """b.py changes in 6 of the 8 commits of ``history``: over the default
    diagnosticMaxShare, so these tests of the diagnostic itself lift that bar."""
    s = Settings()
    s.cochange = replace(s.cochange, **{"diagnostic_max_share": 1.0, **change})
    return s


def test_cochange_diagnostic_appears_and_clears(store, repo: Repo) -> None:
    history(repo)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    settings = diag_settings()
    assert cochange_diagnostics(store.conn(), pid, repo.root, "a.py", settings) == []  # clean tree
    repo.append("a.py", "\nNEW = 1\n")
    (d,) = cochange_diagnostics(store.conn(), pid, repo.root, "a.py", settings)
    assert d.message == "usually changed together with `b.py` (6 of 8 commits)"
    assert d.severity == types.DiagnosticSeverity.Information
    assert d.range.start == types.Position(0, 0) and d.range.end == types.Position(0, 9)
    assert d.source == "mira-ls"
    # b.py's own view: b not modified, nothing to say.
    assert cochange_diagnostics(store.conn(), pid, repo.root, "b.py", settings) == []
    # Saving the partner clears it (both files are re-checked with one git call).
    repo.append("b.py", "B_NEW = 1\n")
    assert cochange_diagnostics_many(store.conn(), pid, repo.root, ["a.py", "b.py"], settings) == {
        "a.py": [],
        "b.py": [],
    }
    # Back to HEAD: cleared too.
    repo.git("checkout", "--", "b.py")
    assert len(cochange_diagnostics(store.conn(), pid, repo.root, "a.py", settings)) == 1
    repo.git("checkout", "--", "a.py")
    assert cochange_diagnostics(store.conn(), pid, repo.root, "a.py", settings) == []
    # A staged change counts as modified against HEAD.
    repo.append("a.py", "\nSTAGED = 1\n")
    repo.git("add", "a.py")
    assert len(cochange_diagnostics(store.conn(), pid, repo.root, "a.py", settings)) == 1


def test_cochange_diagnostic_thresholds_and_switch(store, repo: Repo) -> None:
    history(repo)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    repo.append("a.py", "\nNEW = 1\n")
    assert (
        cochange_diagnostics(store.conn(), pid, repo.root, "a.py", diag_settings(diagnostic=False))
        == []
    )
    # 6 shared commits, Jaccard 0.75: a stricter bar on either measure silences it.
    assert (
        cochange_diagnostics(store.conn(), pid, repo.root, "a.py", diag_settings(strong_shared=7))
        == []
    )
    assert (
        cochange_diagnostics(
            store.conn(), pid, repo.root, "a.py", diag_settings(strong_confidence=0.8)
        )
        == []
    )
    assert (
        len(
            cochange_diagnostics(
                store.conn(),
                pid,
                repo.root,
                "a.py",
                diag_settings(strong_confidence=0.75, strong_shared=6),
            )
        )
        == 1
    )


def test_changelog_in_every_commit_is_not_a_forgotten_partner(store, repo: Repo) -> None:
    """CHANGES.rst is in all 26 commits; a.py and b.py change together in 6 of them. Saving
    a.py names b.py (6 of 26 commits: under diagnosticMaxShare) but not the changelog,
    although it is a.py's partner in every one of a.py's commits."""
    t = T0
    for i in range(6):
        t += DAY
        repo.commit(f"a and b {i}", touch=["a.py", "b.py", "CHANGES.rst"], at=t)
    for i in range(20):
        t += DAY
        repo.commit(f"other {i}", touch=[f"x{i % 5}.py", "CHANGES.rst"], at=t)
    pid, _ = mine_repo(store, repo.root, now=NOW)
    listed = {p.path: p.confidence for p in git_cochange.partners(store.conn(), pid, "a.py")}
    assert listed == {"CHANGES.rst": 1.0, "b.py": 1.0}  # still listed (hover, report)
    repo.append("a.py", "\nNEW = 1\n")
    (d,) = cochange_diagnostics(store.conn(), pid, repo.root, "a.py", Settings())
    assert d.message == "usually changed together with `b.py` (6 of 6 commits)"
    # With the guard lifted the changelog is named too.
    found = cochange_diagnostics(
        store.conn(), pid, repo.root, "a.py", diag_settings(diagnostic_max_share=1.0)
    )
    assert sorted(x.data["partner"] for x in found) == ["CHANGES.rst", "b.py"]
