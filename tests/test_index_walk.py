"""Which files are indexed: git listing, .gitignore outside git, skip rules, explicit roots."""

from __future__ import annotations

from pathlib import Path

from mira_ls.index.walk import list_files
from tests.index_helpers import index, new_store, write_files
from tests.support.repo import Repo

SRC = "def f():\n    return 1\n"


def rels(root: Path, exclude: tuple[str, ...] = ()) -> list[str]:
    return [c.rel for c in list_files(root, exclude).files]


def test_git_tracked_plus_untracked_not_ignored(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit(
        "init",
        {
            "a.py": SRC,
            ".gitignore": "gen/\n*.gen.py\n",
            "lib/b.go": "package lib\n",
            "README.md": "# readme\n",
        },
    )
    write_files(
        repo.root,
        {
            "new.py": SRC,  # untracked, not ignored: indexed
            "gen/out.py": SRC,  # ignored directory
            "x.gen.py": SRC,  # ignored pattern
            "node_modules/p/index.js": "function a() {}\n",  # vendored
            "build/lib/c.py": SRC,  # generated
            "pkg/__pycache__/m.py": SRC,
            "notes.txt": "not source",
        },
    )
    listing = list_files(repo.root)
    assert listing.mode == "git"
    assert [c.rel for c in listing.files] == ["a.py", "lib/b.go", "new.py"]
    assert [c.language for c in listing.files] == ["python", "go", "python"]


def test_gitignore_honoured_outside_git(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    write_files(
        root,
        {
            ".gitignore": "*.log\nsecret/\n/top_only.py\n",
            "a.py": SRC,
            "top_only.py": SRC,
            "sub/top_only.py": SRC,  # '/top_only.py' anchors to the root only
            "secret/s.py": SRC,
            "sub/.gitignore": "*.py\n!keep.py\n",
            "sub/drop.py": SRC,
            "sub/keep.py": SRC,
            "vendor/v.go": "package v\n",
            "target/t.rs": "fn main() {}\n",
            ".venv/lib/x.py": SRC,
        },
    )
    assert rels(root) == ["a.py", "sub/keep.py"]


def test_exclude_patterns(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    write_files(root, {"a.py": SRC, "tests/t.py": SRC, "docs/conf.py": SRC})
    assert rels(root, ("tests/", "conf.py")) == ["a.py"]
    repo = Repo(tmp_path / "r")
    repo.commit("init", {"a.py": SRC, "tests/t.py": SRC})
    assert rels(repo.root, ("tests/",)) == ["a.py"]


def test_explicit_root_is_indexed_even_if_vendored_or_ignored(tmp_path: Path) -> None:
    # a site-packages root inside a repository that ignores it
    repo = Repo(tmp_path / "proj")
    repo.commit("init", {".gitignore": ".venv/\n", "main.py": SRC})
    sp = repo.root / ".venv/lib/python3.11/site-packages"
    write_files(
        sp,
        {
            "requests/__init__.py": SRC,
            "requests/__pycache__/x.py": SRC,
            "six.py": SRC,
            "vendor/inner.py": SRC,  # skip rules still apply below the root
        },
    )
    listing = list_files(sp)
    assert listing.mode == "walk"
    assert [c.rel for c in listing.files] == ["requests/__init__.py", "six.py"]
    store = new_store(tmp_path)
    stats = index(store, sp)
    assert stats.files == 2 and stats.symbols == 4
    # and the repository itself does not list the ignored venv
    assert rels(repo.root) == ["main.py"]


def test_vendor_named_root_in_plain_directory(tmp_path: Path) -> None:
    root = tmp_path / "vendor" / "lib"
    write_files(root, {"x.py": SRC})
    assert rels(root) == ["x.py"]
