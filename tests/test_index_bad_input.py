"""Bad input never crashes the index: each case is skipped or indexed, and said so."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from mira_ls.config import IndexSettings
from mira_ls.index import indexer
from mira_ls.store import code as cs
from tests.index_helpers import index, new_store, write_files
from tests.support.repo import Repo

GOOD = "def good():\n    return 1\n"


def file_status(store, pid: int, rel: str) -> str | None:
    row = cs.get_file(store.conn(), pid, rel)
    return row.status if row else None


def qns(store, pid: int, rel: str) -> set[str]:
    return {s.qualified_name for s in cs.symbols_in_file(store.conn(), pid, rel)}


def test_invalid_utf8_source_is_indexed(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"bad.py": b"# \xff\xfe broken\ndef fine():\n    return '\xe9'\n"})
    store = new_store(tmp_path)
    stats = index(store, root)
    assert file_status(store, stats.project_id, "bad.py") == "indexed"
    assert "bad.fine" in qns(store, stats.project_id, "bad.py")


def test_binary_file_with_source_extension_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"blob.py": b"\x7fELF\x00\x00\x01def x(): pass", "ok.py": GOOD})
    store = new_store(tmp_path)
    stats = index(store, root)
    assert file_status(store, stats.project_id, "blob.py") == "skipped_binary"
    assert qns(store, stats.project_id, "blob.py") == set()
    assert stats.skipped.get("skipped_binary") == 1
    assert stats.files == 1


def test_five_megabyte_file_is_skipped_as_too_large(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    big = ("x = 1\n" * (5 * 1024 * 1024 // 6 + 1)).encode()
    write_files(root, {"big.py": big, "ok.py": GOOD})
    store = new_store(tmp_path)
    stats = index(store, root)
    assert len(big) > 5_000_000
    assert file_status(store, stats.project_id, "big.py") == "skipped_large"
    assert stats.files == 1 and qns(store, stats.project_id, "big.py") == set()
    # update_file honours the cap too
    upd = indexer.update_file(store, stats.project_id, root, "big.py", settings=IndexSettings())
    assert upd.status == "skipped_large"
    # the cap is configurable: a small file becomes "large", and indexed again when raised
    stats = index(store, root, max_file_bytes=10)
    assert file_status(store, stats.project_id, "ok.py") == "skipped_large"
    assert qns(store, stats.project_id, "ok.py") == set()
    stats = index(store, root)
    assert file_status(store, stats.project_id, "ok.py") == "indexed"
    assert qns(store, stats.project_id, "ok.py") == {"ok", "ok.good"}


def test_syntax_errors_keep_valid_symbols(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(
        root,
        {
            "m.py": "def good():\n    return 1\n\ndef broken(:\n    pass\n\n"
            "class Fine:\n    def m(self):\n        return good()\n"
        },
    )
    store = new_store(tmp_path)
    stats = index(store, root)
    row = cs.get_file(store.conn(), stats.project_id, "m.py")
    assert row is not None and row.status == "indexed" and row.parse_errors > 0
    assert {"m.good", "m.Fine", "m.Fine.m"} <= qns(store, stats.project_id, "m.py")


def test_symlink_loop_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"ok.py": GOOD})
    os.symlink("loop.py", root / "loop.py")  # points at itself
    os.symlink(".", root / "again")  # a directory loop
    store = new_store(tmp_path)
    stats = index(store, root)
    assert stats.files == 1
    assert stats.skipped.get("unreadable") == 1
    # inside git too
    repo_root = tmp_path / "repo"
    Repo(repo_root).commit("init", {"ok.py": GOOD})
    os.symlink("loop.py", repo_root / "loop.py")
    os.symlink(".", repo_root / "again")
    stats = index(store, repo_root)
    assert stats.files == 1 and stats.mode == "git"


def test_file_deleted_between_listing_and_reading(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"a.py": GOOD, "b.py": GOOD.replace("good", "other")})
    store = new_store(tmp_path)

    def progress(done: int, total: int, message: str) -> None:
        if message.startswith("parsing") and (root / "b.py").exists():
            (root / "b.py").unlink()  # listed, not read yet

    stats = indexer.index_workspace(store, root, IndexSettings(), progress=progress)
    assert stats.files == 1
    assert stats.skipped.get("missing") == 1
    assert file_status(store, stats.project_id, "b.py") is None


def test_unreadable_files_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"ok.py": GOOD})
    os.mkfifo(root / "pipe.py")  # opening it would block forever
    (root / "dir.py").mkdir()  # a directory where a file is expected
    write_files(root, {"dir.py/inner.py": GOOD})
    store = new_store(tmp_path)
    stats = index(store, root)
    assert {Path(p).name for p in ("ok.py", "dir.py/inner.py")} == {"ok.py", "inner.py"}
    assert stats.files == 2
    assert stats.skipped.get("not_a_file") == 1
    upd = indexer.update_file(store, stats.project_id, root, "pipe.py")
    assert upd.status == "error" and upd.error == "not a regular file"


@pytest.mark.skipif(
    shutil.which("setpriv") is None or os.geteuid() != 0,
    reason="needs root and setpriv to drop privileges",
)
def test_permission_denied_file_is_skipped(tmp_path: Path) -> None:
    base = Path(tempfile.mkdtemp(prefix="mira-perm-"))
    try:
        _run_as_nobody(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run_as_nobody(base: Path) -> None:
    base.chmod(0o777)
    root = base / "ws"
    write_files(root, {"ok.py": GOOD, "secret.py": GOOD})
    root.chmod(0o777)
    (root / "secret.py").chmod(0)
    db = base / "db"
    db.mkdir()
    db.chmod(0o777)
    script = (
        "import sys, json; from pathlib import Path; from mira_ls.store import open_store;"
        "from mira_ls.index import indexer; from mira_ls.config import IndexSettings;"
        f"st = indexer.index_workspace(open_store('{db}/m.db'), Path('{root}'), IndexSettings());"
        "print(json.dumps([st.files, st.skipped]))"
    )
    out = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            str(Path(os.sys.executable)),
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        cwd=str(Path(__file__).resolve().parents[1]),
        env={**os.environ, "HOME": str(db)},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[1, {"error": 1}]'


def test_workspace_that_is_not_a_git_repository(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    write_files(
        root,
        {
            "a.py": GOOD,
            "node_modules/x/index.js": "function f() {}\n",
            "ignored.py": GOOD,
            ".gitignore": "ignored.py\n",
        },
    )
    store = new_store(tmp_path)
    stats = index(store, root)
    assert stats.mode == "walk"
    assert stats.files == 1


def test_missing_or_file_root_is_a_clear_error(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    with pytest.raises(indexer.WorkspaceError, match="does not exist"):
        index(store, tmp_path / "nope")
    (tmp_path / "f.py").write_text(GOOD)
    with pytest.raises(indexer.WorkspaceError, match="not a directory"):
        index(store, tmp_path / "f.py")
