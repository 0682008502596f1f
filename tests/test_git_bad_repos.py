"""Repositories that are not the happy path: every one mines (or says why not), and the
hover, lens, blame and diagnostic functions keep working without crashing."""

from __future__ import annotations

from pathlib import Path

from mira_ls.config import Settings
from mira_ls.features.cochange_diagnostics import cochange_diagnostics
from mira_ls.features.code_lens_git import author_lens_titles
from mira_ls.features.hover_git import git_sections
from mira_ls.git import expertise
from mira_ls.git.blame import ensure_blame
from mira_ls.store import git_blame, git_cochange, git_history
from mira_ls.store.code import SymbolRow
from tests.index_helpers import function_row
from tests.support.repo import ALICE, BOB, DAY, T0, Repo, fixtures, git, mine_repo
from tests.test_git_log import raw_commit

git_isolation, store, repo = fixtures()


def two_shared() -> Settings:
    """Co-change settings for two- and three-commit histories: pairs sharing 2 commits."""
    s = Settings()
    s.cochange.min_shared = 2
    return s


def sym(path: str, start: int = 1, end: int = 2) -> SymbolRow:
    return function_row("f", start, end, path=path)


def all_features(store, pid: int, root: Path, path: str) -> list[str]:
    """Run everything the server would for a file; return the hover sections (each checked
    to have content under its title)."""
    ensure_blame(store, pid, root, path, Settings())
    author_lens_titles(store.conn(), pid, path, [sym(path)])
    cochange_diagnostics(store.conn(), pid, root, path, Settings())
    sections = git_sections(store.conn(), pid, path, sym(path))
    for s in sections:
        title, _, body = s.partition("\n")
        assert title.startswith("**") and body.strip(), s
    return sections


def test_not_a_git_repository(store, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text("def f():\n    pass\n")
    pid, stats = mine_repo(store, plain)
    assert stats.status == "not_a_repo"
    assert "not inside a git repository" in stats.message
    att = git_history.get_attachment(store.conn(), pid)
    assert att.status == "not_a_repo" and att.error == stats.message
    assert all_features(store, pid, plain, "a.py") == []
    assert git_blame.current(store.conn(), pid, "a.py") is None


def test_empty_repository_then_first_commit(store, repo: Repo) -> None:
    repo.write("a.py", "def f():\n    pass\n")
    pid, stats = mine_repo(store, repo.root)
    assert stats.status == "empty" and "no commits yet" in stats.message
    assert all_features(store, pid, repo.root, "a.py") == []
    repo.commit("first", at=T0)
    _, stats = mine_repo(store, repo.root)
    assert stats.status == "ok" and stats.mode == "scratch" and stats.total_commits == 1
    assert all_features(store, pid, repo.root, "a.py")[0].startswith("**Experts**")


def test_shallow_clone_and_deepening(store, repo: Repo, tmp_path: Path) -> None:
    for i in range(4):
        repo.commit(
            f"c{i}", author=ALICE if i % 2 else BOB, touch=["a.py", "b.py"], at=T0 + i * DAY
        )
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    pid, stats = mine_repo(store, clone)
    assert stats.status == "ok" and stats.total_commits == 1
    assert git_history.get_attachment(store.conn(), pid).is_shallow
    assert all_features(store, pid, clone, "a.py")[0].startswith("**Experts**")
    git(clone, "fetch", "-q", "--deepen=2")
    _, stats = mine_repo(store, clone)
    assert stats.mode == "scratch" and stats.total_commits == 3  # deepened: mined again


def test_detached_head(store, repo: Repo) -> None:
    first = repo.commit("one", touch=["a.py", "b.py"], at=T0)
    repo.commit("two", touch=["a.py", "b.py"], at=T0 + DAY)
    repo.git("checkout", "-q", "--detach", first)
    pid, stats = mine_repo(store, repo.root, two_shared())
    assert stats.status == "ok" and stats.total_commits == 1
    assert git_history.get_attachment(store.conn(), pid).head_ref is None
    repo.commit("three on detached head", touch=["a.py", "b.py"], at=T0 + 2 * DAY)
    _, stats = mine_repo(store, repo.root, two_shared())
    assert stats.mode == "incremental" and stats.new_commits == 1
    assert [p.shared for p in git_cochange.partners(store.conn(), pid, "a.py")] == [2]


def test_submodule_is_its_own_project(store, tmp_path: Path) -> None:
    inner = Repo(tmp_path / "inner")
    inner.commit("inner one", author=BOB, touch=["lib.py"], at=T0)
    outer = Repo(tmp_path / "outer")
    outer.commit("outer one", touch=["app.py"], at=T0 + DAY)
    outer.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.root), "sub")
    outer.commit("add submodule", at=T0 + 2 * DAY)
    sub = outer.root / "sub"
    assert (sub / ".git").is_file()  # a gitdir link, not a directory
    Repo(sub, init=False).commit("inner two", author=BOB, touch=["lib.py"], at=T0 + 3 * DAY)
    outer.commit("bump submodule", touch=["app.py"], at=T0 + 4 * DAY)

    pid_outer, st_outer = mine_repo(store, outer.root)
    pid_sub, st_sub = mine_repo(store, sub)
    assert pid_outer != pid_sub
    assert st_outer.status == "ok" and st_outer.total_commits == 3
    assert st_sub.status == "ok" and st_sub.total_commits == 2
    _, experts, _ = expertise.experts(store.conn(), pid_sub, "lib.py", T0 + 5 * DAY)
    assert [(e.email, e.commits) for e in experts] == [("bob@example.com", 2)]
    # In the parent the submodule is one path (its commit pointer), and blame skips it.
    assert git_history.file_commit_count(store.conn(), pid_outer, "sub") == 2
    assert all_features(store, pid_outer, outer.root, "sub")[0].startswith("**Experts**")
    assert git_blame.current(store.conn(), pid_outer, "sub") is None
    assert all_features(store, pid_sub, sub, "lib.py")[0].startswith("**Experts**")


def test_non_utf8_author_names_and_messages(store, repo: Repo) -> None:
    repo.write("a.py", "def f():\n    pass\n")
    raw_commit(repo, b"Jos\xe9 M\xfcller", b"Fix caf\xe9 crash in f\n\nTypeError: bad \xff\n")
    pid, stats = mine_repo(store, repo.root)
    assert stats.status == "ok" and stats.fixes == 1
    _, experts, _ = expertise.experts(store.conn(), pid, "a.py", T0)
    assert experts[0].author == "Jos\ufffd M\ufffdller"
    sections = all_features(store, pid, repo.root, "a.py")
    assert any("Fix caf\ufffd crash in f" in s for s in sections)


def test_file_names_with_spaces_and_non_ascii(store, repo: Repo) -> None:
    odd = "dös dir/ünï côde file.py"
    other = "another file ✓.py"
    for i in range(3):
        repo.write(odd, f"def f():\n    return {i}\n")
        repo.write(other, f"X = {i}\n")
        repo.commit(f"change {i}", at=T0 + i * DAY)
    pid, stats = mine_repo(store, repo.root)
    assert stats.status == "ok"
    (p,) = git_cochange.partners(store.conn(), pid, odd)
    assert (p.path, p.shared, p.commits) == (other, 3, 3)
    sections = all_features(store, pid, repo.root, odd)
    assert [s.split("\n")[0] for s in sections] == [
        "**Experts**",
        "**Last changed**",
        "**Changes with**",
    ]
    assert f"`{other}` · 3 of 3 commits" in sections[2]
    assert git_blame.current(store.conn(), pid, odd).status == "ok"


def test_commit_touching_5000_files(store, repo: Repo) -> None:
    repo.commit("small", touch=["a.py", "b.py"], at=T0)
    repo.commit("small again", touch=["a.py", "b.py"], at=T0 + DAY)
    for d in range(50):
        folder = repo.root / "gen" / str(d)
        folder.mkdir(parents=True)
        for i in range(d * 100, d * 100 + 100):
            (folder / f"f{i}.txt").write_bytes(b"%d\n" % i)
    repo.lines("a.py", 1)
    big = repo.commit("Generate 5000 files", at=T0 + 2 * DAY)
    pid, stats = mine_repo(store, repo.root, two_shared())
    assert stats.status == "ok" and stats.ignored == {"large": 1}
    files = (
        store.conn()
        .execute("SELECT files_changed FROM git_commits WHERE commit_hash = ?", (big,))
        .fetchone()[0]
    )
    assert files == 5001
    # Ignored by analyses: a and b still 2 of 2, and no 5000-file pair explosion.
    assert [
        (p.path, p.shared, p.commits) for p in git_cochange.partners(store.conn(), pid, "a.py")
    ] == [("b.py", 2, 2)]
    assert git_history.file_commit_count(store.conn(), pid, "gen/0/f0.txt") == 0
    titles = [s.split("\n")[0] for s in all_features(store, pid, repo.root, "gen/0/f0.txt")]
    assert "**Experts**" not in titles and "**Changes with**" not in titles


def test_file_deleted_and_re_added(store, repo: Repo) -> None:
    repo.write("a.py", "def f():\n    return 1\n")
    repo.commit("add a", author=ALICE, touch=["b.py"], at=T0)
    repo.commit("grow", author=ALICE, touch=["a.py", "b.py"], at=T0 + DAY)
    (repo.root / "a.py").unlink()
    repo.commit("delete a", author=ALICE, touch=["b.py"], at=T0 + 2 * DAY)
    repo.write("a.py", "def g():\n    return 2\n")
    repo.commit("re-add a", author=BOB, touch=["b.py"], at=T0 + 3 * DAY)
    pid, stats = mine_repo(store, repo.root)
    assert stats.status == "ok"
    # One path, one history: both lives of a.py count.
    assert git_history.file_commit_count(store.conn(), pid, "a.py") == 4
    (p,) = git_cochange.partners(store.conn(), pid, "a.py")
    assert (p.path, p.shared, p.commits, p.partner_commits) == ("b.py", 4, 4, 4)
    ensure_blame(store, pid, repo.root, "a.py", Settings())
    lens = author_lens_titles(store.conn(), pid, "a.py", [sym("a.py", 1, 2)])
    assert lens == {1: "1 author, last by Bob Jones, 2023-11-17"}


def test_git_missing_is_a_clear_error(store, repo: Repo, monkeypatch) -> None:
    repo.commit("one", touch=["a.py"], at=T0)
    monkeypatch.setenv("PATH", "/nonexistent")
    pid, stats = mine_repo(store, repo.root)
    assert stats.status == "error"
    assert "git is not installed" in stats.message
    assert all_features(store, pid, repo.root, "a.py") == []


def test_workspace_below_the_repository_top(store, repo: Repo) -> None:
    repo.commit("both", touch=["pkg/a.py", "pkg/b.py", "top.py"], at=T0)
    repo.commit("both again", touch=["pkg/a.py", "pkg/b.py", "top.py"], at=T0 + DAY)
    pid, stats = mine_repo(store, repo.root / "pkg", two_shared())
    assert stats.status == "ok" and stats.total_commits == 2
    # Paths are relative to the workspace folder; files outside it are not seen.
    assert [(p.path, p.shared) for p in git_cochange.partners(store.conn(), pid, "a.py")] == [
        ("b.py", 2)
    ]
    assert all_features(store, pid, repo.root / "pkg", "a.py")[0].startswith("**Experts**")
