"""The store under real conditions: several processes, locks, bad paths, damaged files."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mira_ls import paths
from mira_ls.store import (
    DatabaseCorrupt,
    DatabaseLocked,
    DatabaseNotWritable,
    Store,
    backend,
    connect,
    error_types,
)
from mira_ls.store.migrate import load_migrations
from mira_ls.store.status import status
from tests.support.cli import run_cli

ALL_VERSIONS = [m.version for m in load_migrations()]  # what migrations/ ships


def run_py(code: str, *args: str, timeout: float = 60, **kw: object) -> subprocess.Popen[str]:
    """Start a real Python process running ``code`` with this interpreter."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,  # type: ignore[arg-type]
    )


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, unset=["MIRA_DB"], timeout=timeout)


# --- connections --------------------------------------------------------------------------


def test_connection_settings(tmp_db: Store) -> None:
    conn = tmp_db.conn()
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (5000,)
    assert conn.in_transaction is False  # autocommit: transactions are explicit


def test_busy_timeout_is_configurable(tmp_db: Store) -> None:
    with Store(tmp_db.path, busy_timeout_ms=250) as store:
        assert store.conn().execute("PRAGMA busy_timeout").fetchone() == (250,)


def test_backend_and_sqlite_vec_are_reported(tmp_db: Store) -> None:
    be = backend()
    assert be.name in ("sqlite3", "sqlean")
    assert re.fullmatch(r"3\.\d+\.\d+", be.sqlite_version)
    assert be.vec_version is not None, be.vec_error
    assert re.fullmatch(r"v\d+\.\d+\.\d+.*", be.vec_version)
    # every connection has the extension, not only the probe
    assert tmp_db.conn().execute("SELECT vec_version()").fetchone() == (be.vec_version,)
    row = tmp_db.conn().execute("SELECT vec_length('[1.0, 2.0, 3.0]')").fetchone()
    assert row == (3,)


def test_database_path_precedence(tmp_path: Path) -> None:
    env = {"MIRA_DB": str(tmp_path / "env.db")}
    assert paths.database_path(str(tmp_path / "opt.db"), env=env) == tmp_path / "env.db"
    assert paths.database_path(str(tmp_path / "opt.db"), env={}) == tmp_path / "opt.db"
    default = paths.database_path(None, env={})
    assert default.name == "mira.db" and default.parent.name == "mira-ls"


def test_each_thread_gets_its_own_connection(tmp_db: Store) -> None:
    seen: list[int] = []
    t = threading.Thread(target=lambda: seen.append(id(tmp_db.conn())))
    t.start()
    t.join()
    assert seen and seen[0] != id(tmp_db.conn())


# --- transactions -------------------------------------------------------------------------


def test_write_commits_and_rolls_back(tmp_db: Store) -> None:
    with tmp_db.write() as c:
        c.execute("INSERT INTO users(username) VALUES ('kept')")
    with pytest.raises(RuntimeError), tmp_db.write() as c:
        c.execute("INSERT INTO users(username) VALUES ('dropped')")
        raise RuntimeError("boom")
    names = [r[0] for r in tmp_db.conn().execute("SELECT username FROM users")]
    assert names == ["kept"]


def test_nested_write_is_a_savepoint(tmp_db: Store) -> None:
    with tmp_db.write() as c:
        c.execute("INSERT INTO users(username) VALUES ('outer')")
        with pytest.raises(ValueError), tmp_db.write() as inner:
            inner.execute("INSERT INTO users(username) VALUES ('inner')")
            raise ValueError("inner fails")
        with tmp_db.write() as inner:
            inner.execute("INSERT INTO users(username) VALUES ('inner ok')")
    names = sorted(r[0] for r in tmp_db.conn().execute("SELECT username FROM users"))
    assert names == ["inner ok", "outer"]


def test_threads_writing_at_once_lose_nothing(tmp_db: Store) -> None:
    with tmp_db.write() as c:
        c.execute("INSERT INTO llm_cache_stats(model) VALUES ('m')")

    def bump() -> None:
        for _ in range(50):
            with tmp_db.write() as c:
                (hits,) = c.execute("SELECT hits FROM llm_cache_stats").fetchone()
                c.execute("UPDATE llm_cache_stats SET hits = ?", (hits + 1,))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tmp_db.conn().execute("SELECT hits FROM llm_cache_stats").fetchone() == (200,)


# --- two servers on one database ----------------------------------------------------------

MIGRATE_CHILD = """
import json, sys, time
from pathlib import Path
from mira_ls.store import Store, backend
backend()  # import and probe before the start signal, so the opens really overlap
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
with Store(sys.argv[1]) as store:
    print(json.dumps(store.applied_now))
"""

WRITE_CHILD = """
import sys, time
from pathlib import Path
from mira_ls.store import Store
store = Store(sys.argv[1])
go, n = Path(sys.argv[2]), int(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
for _ in range(n):
    with store.write() as c:  # BEGIN IMMEDIATE: the read below decides the write
        (hits,) = c.execute("SELECT hits FROM llm_cache_stats WHERE model = 'm'").fetchone()
        c.execute("UPDATE llm_cache_stats SET hits = ? WHERE model = 'm'", (hits + 1,))
store.close()
print("done")
"""


@pytest.mark.timeout(120)
def test_processes_migrating_a_fresh_database_at_once(tmp_path: Path) -> None:
    db, go = tmp_path / "mira.db", tmp_path / "go"
    procs = [run_py(MIGRATE_CHILD, str(db), str(go)) for _ in range(4)]
    time.sleep(0.5)  # let them start and wait at the barrier
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=90)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    applied_by_someone = sorted(v for r in results for v in r)
    assert applied_by_someone == ALL_VERSIONS  # each file applied exactly once
    conn = sqlite3.connect(db)
    assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == ALL_VERSIONS
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()


@pytest.mark.timeout(120)
def test_two_processes_writing_at_once_lose_nothing(tmp_db: Store, tmp_path: Path) -> None:
    with tmp_db.write() as c:
        c.execute("INSERT INTO llm_cache_stats(model) VALUES ('m')")
    go = tmp_path / "go"
    procs = [run_py(WRITE_CHILD, str(tmp_db.path), str(go), "150") for _ in range(2)]
    time.sleep(0.5)
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=90)
        assert p.returncode == 0 and out.strip() == "done", err
    row = tmp_db.conn().execute("SELECT hits FROM llm_cache_stats WHERE model = 'm'").fetchone()
    assert row == (300,)


# --- locks --------------------------------------------------------------------------------


def test_waiting_writer_gets_database_locked_after_the_busy_timeout(tmp_db: Store) -> None:
    holder = connect(tmp_db.path)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO users(username) VALUES ('holder')")
    try:
        # Opening a migrated database only reads, so it works while another writer runs.
        with Store(tmp_db.path, busy_timeout_ms=200) as store:
            assert store.applied_now == []
            assert store.conn().execute("SELECT count(*) FROM users").fetchone() == (0,)
            with pytest.raises(DatabaseLocked) as err, store.write():
                pass
            msg = str(err.value)
            assert str(tmp_db.path) in msg and "0.2 s" in msg and "try again" in msg
            holder.execute("COMMIT")
            with store.write() as c:  # the lock is gone: writing works again
                c.execute("INSERT INTO users(username) VALUES ('after')")
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


def test_an_eager_writer_waits_for_the_lock_and_gives_up_after_the_timeout(
    tmp_db: Store,
) -> None:
    """``write(eager=True)`` asks for the lock again every millisecond: it gets it once the
    other writer commits, and says DatabaseLocked after the busy timeout, as write() does."""
    holder = connect(tmp_db.path)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO users(username) VALUES ('holder')")
    threading.Timer(0.1, lambda: holder.execute("COMMIT")).start()
    with Store(tmp_db.path, busy_timeout_ms=5000) as store:
        with store.write(eager=True) as c:
            c.execute("INSERT INTO users(username) VALUES ('after')")
        names = {r[0] for r in store.conn().execute("SELECT username FROM users")}
        assert names == {"holder", "after"}
        assert store.conn().execute("PRAGMA busy_timeout").fetchone() == (5000,)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Store(tmp_db.path, busy_timeout_ms=200) as store:
            with pytest.raises(DatabaseLocked), store.write(eager=True) as c:
                c.execute("INSERT INTO users(username) VALUES ('never')")
            assert store.conn().execute("PRAGMA busy_timeout").fetchone() == (200,)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


EXCLUSIVE_CHILD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode=EXCLUSIVE")
conn.execute("BEGIN EXCLUSIVE")
conn.execute("CREATE TABLE IF NOT EXISTS scratch (x)")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the parent closes our stdin
conn.execute("ROLLBACK")
"""


@pytest.mark.timeout(60)
def test_opening_a_database_another_process_holds_exclusively(tmp_path: Path) -> None:
    db = tmp_path / "mira.db"
    child = run_py(EXCLUSIVE_CHILD, str(db))
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(DatabaseLocked, match=r"is locked.*0\.3 s"):
            Store(db, busy_timeout_ms=300)
    finally:
        child.communicate(timeout=30)
    with Store(db) as store:  # once the other process is gone, it opens and migrates
        assert store.applied_now == ALL_VERSIONS


# --- paths that cannot work ---------------------------------------------------------------


def test_parent_that_is_a_file_is_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("precious")
    for db in (blocker / "mira.db", blocker / "sub" / "mira.db"):
        with pytest.raises(DatabaseNotWritable) as err:
            Store(db)
        msg = str(err.value)
        assert f"{blocker} is a file, not a directory" in msg and "MIRA_DB" in msg
    assert blocker.read_text() == "precious"


def test_database_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DatabaseNotWritable, match="is a directory"):
        Store(tmp_path)


@pytest.mark.timeout(20)
def test_database_path_that_is_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "mira.db"
    os.mkfifo(fifo)
    with pytest.raises(DatabaseNotWritable, match="not a regular file"):
        Store(fifo)


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A root-owned directory other users can enter but not write (not under /tmp/pytest-*,
    which only root can enter)."""
    d = Path(tempfile.mkdtemp(prefix="mira-ro-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _nobody_can_run_python() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(
        [*NOBODY, sys.executable, "-c", "import mira_ls.store"], capture_output=True
    )
    return probe.returncode == 0


@pytest.mark.timeout(60)
@pytest.mark.skipif(not _nobody_can_run_python(), reason="needs root, setpriv and a python "
                    "that uid 65534 can run")  # fmt: skip
def test_unwritable_directory_and_file_for_another_user(shared_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MIRA_DB"}
    env["HOME"] = str(shared_dir)
    db = shared_dir / "mira.db"
    # 1. nothing there yet, and the directory is not writable for uid 65534
    r = subprocess.run(
        [*NOBODY, sys.executable, "-m", "mira_ls", "db", "status", "--db", str(db)],
        capture_output=True, text=True, timeout=50, env=env,
    )  # fmt: skip
    assert r.returncode == 1
    assert f"The database directory {shared_dir} is not writable" in r.stderr
    assert "Traceback" not in r.stderr and not db.exists()
    # 2. a database owned by root in a directory everyone may write
    Store(db).close()
    shared_dir.chmod(0o777)
    before = db.read_bytes()
    r = subprocess.run(
        [*NOBODY, sys.executable, "-c",
         "import sys\nfrom mira_ls.store import Store, StoreError\n"
         "try:\n    Store(sys.argv[1])\nexcept StoreError as e:\n"
         "    print(type(e).__name__, e)\n",
         str(db)],
        capture_output=True, text=True, timeout=50, env=env,
    )  # fmt: skip
    assert r.stdout.startswith("DatabaseNotWritable "), r.stdout + r.stderr
    assert "not readable and writable by this user" in r.stdout
    assert db.read_bytes() == before


# --- damaged files ------------------------------------------------------------------------


def _random_bytes(n: int) -> bytes:
    return random.Random(42).randbytes(n)


@pytest.mark.parametrize(
    "content",
    [
        _random_bytes(8192),
        b"SQLite format 3\x00" + _random_bytes(8176),
    ],
    ids=["random bytes", "valid magic, garbage after"],
)
def test_corrupt_file_is_reported_and_kept(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "mira.db"
    db.write_bytes(content)
    with pytest.raises(DatabaseCorrupt) as err:
        Store(db)
    msg = str(err.value)
    assert str(db) in msg and "damaged" in msg and "Move it aside" in msg
    assert db.read_bytes() == content  # nothing lost, nothing overwritten


def test_truncated_database_is_reported(tmp_path: Path) -> None:
    db = tmp_path / "mira.db"
    with Store(db) as store, store.write() as c:
        c.executemany(
            "INSERT INTO users(username, display_name) VALUES (?, ?)",
            [(f"user{i}", "x" * 500) for i in range(2000)],
        )
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatabaseCorrupt, match="damaged"):
        Store(db)  # SQLite notices the missing pages when the connection is set up


def test_sql_errors_are_not_mistaken_for_lock_errors(tmp_db: Store) -> None:
    """A CHECK message that mentions 'blocked' is a constraint error, not a lock."""
    with tmp_db.write() as c:
        p = c.execute("INSERT INTO projects(root_path, name) VALUES ('/p', 'p') RETURNING id")
        pid = p.fetchone()[0]
    with pytest.raises(error_types(), match="CHECK constraint failed"), tmp_db.write() as c:
        c.execute(
            "INSERT INTO project_tasks(project_id, title, status) VALUES (?, 't', 'x')", (pid,)
        )


# --- mira-ls db status --------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_db_status_text_and_json(tmp_db: Store) -> None:
    with tmp_db.write() as c:
        c.execute("INSERT INTO projects(root_path, name) VALUES ('/work/p', 'p')")
    path = str(tmp_db.path)
    r = cli("db", "status", "--db", path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    be = backend()
    assert f"database:    {path}" in out
    assert f"{be.name} (SQLite {be.sqlite_version})" in out and "journal wal" in out
    assert f"sqlite-vec:  {be.vec_version}" in out
    versions = re.findall(r"^  (\d{3}) (\w+)\s+[0-9a-f]{12}", out, re.M)
    assert [int(v) for v, _ in versions] == ALL_VERSIONS
    assert re.search(r"^  projects\s+1$", out, re.M)
    assert re.search(r"^  build_errors\s+0$", out, re.M)

    r = cli("db", "status", "--db", path, "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["path"] == path
    assert data["backend"] == be.name and data["sqlite_version"] == be.sqlite_version
    assert data["sqlite_vec_version"] == be.vec_version
    assert data["journal_mode"] == "wal" and data["schema_version"] == ALL_VERSIONS[-1]
    assert [m["version"] for m in data["migrations"]] == ALL_VERSIONS
    assert [m["name"] for m in data["migrations"]] == [m.name for m in load_migrations()]
    assert data["tables"]["projects"] == 1 and data["tables"]["llm_cache"] == 0
    assert data["tables"] == status(tmp_db).tables


@pytest.mark.timeout(60)
def test_db_status_on_a_corrupt_file_fails_with_a_sentence(tmp_path: Path) -> None:
    db = tmp_path / "mira.db"
    db.write_bytes(_random_bytes(4096))
    r = cli("db", "status", "--db", str(db))
    assert r.returncode == 1
    assert r.stderr.startswith(f"mira-ls: The database {db} is damaged")
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "mira.db"
    with Store(db) as store:
        assert store.applied_now == ALL_VERSIONS
    assert db.is_file()
