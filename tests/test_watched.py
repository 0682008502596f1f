"""Which watched-file events mira-ls acts on."""

from __future__ import annotations

from mira_ls.features.watched import classify


def test_moved_refs_mean_mining_again() -> None:
    for rel in (".git/HEAD", ".git/packed-refs", ".git/refs/heads/main", ".git/refs/tags/v1"):
        assert classify(rel) == "head", rel


def test_git_internals_and_unindexed_files_are_ignored() -> None:
    for rel in (".git/index", ".git/objects/ab/cdef", "vendor/.git/HEAD.lock", "notes.txt"):
        assert classify(rel) is None, rel


def test_source_files_are_reindexed() -> None:
    for rel in ("app.py", "src/lib.rs", "web/main.ts"):
        assert classify(rel) == "source", rel
