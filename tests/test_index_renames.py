"""Renames among watched-file changes: found by content, within one project."""

from __future__ import annotations

from pathlib import Path

from mira_ls.index import renames
from mira_ls.store import Store
from tests.index_helpers import index, new_store, write_files

A = "def helper():\n    return 1\n"
B = "def other():\n    return 2\n"


def _indexed(tmp_path: Path) -> tuple[Store, Path, int]:
    root = tmp_path / "ws"
    write_files(root, {"a.py": A, "b.py": B})
    store = new_store(tmp_path)
    stats = index(store, root)
    return store, root, stats.project_id


def test_a_deleted_file_whose_content_reappears_is_a_rename(tmp_path: Path) -> None:
    store, root, pid = _indexed(tmp_path)
    (root / "a.py").rename(root / "moved.py")
    changes = [
        renames.Change(pid, root, "a.py", deleted=True),
        renames.Change(pid, root, "moved.py", deleted=False),
    ]
    steps = renames.plan(store.conn(), changes)
    assert [(s.action, s.change.rel_path, s.old.rel_path if s.old else None) for s in steps] == [
        ("rename", "moved.py", "a.py")
    ]


def test_new_content_is_an_update_and_the_deletion_stays(tmp_path: Path) -> None:
    store, root, pid = _indexed(tmp_path)
    (root / "a.py").unlink()
    write_files(root, {"new.py": A + "# edited while moving\n"})
    changes = [
        renames.Change(pid, root, "a.py", deleted=True),
        renames.Change(pid, root, "new.py", deleted=False),
    ]
    steps = renames.plan(store.conn(), changes)
    assert [(s.action, s.change.rel_path, s.old) for s in steps] == [
        ("update", "new.py", None),
        ("update", "a.py", None),
    ]


def test_a_twin_in_another_project_is_not_a_rename(tmp_path: Path) -> None:
    store, root, pid = _indexed(tmp_path)
    other = tmp_path / "other"
    write_files(other, {"a.py": A})
    (root / "a.py").unlink()
    changes = [
        renames.Change(pid, root, "a.py", deleted=True),
        renames.Change(pid + 1, other, "a.py", deleted=False),
    ]
    assert [s.action for s in renames.plan(store.conn(), changes)] == [
        "update",
        "update",
    ]


def test_a_changed_file_gone_from_disk_waits_for_its_deletion(tmp_path: Path) -> None:
    store, root, pid = _indexed(tmp_path)
    changes = [renames.Change(pid, root, "vanished.py", deleted=False)]
    assert renames.plan(store.conn(), changes) == []
