"""kill -9 at every phase boundary and in the middle of each phase of ``mira-ls index`` and
``mira-ls mine``; the re-run must leave the same database content as a clean run.

A run is stopped at an exact place by the test pause points (``mira_ls.testhooks``): the
child writes a marker file there and sleeps, the test kill -9s it and runs the command
again to completion."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.repo import Repo

N_FILES = 140  # three parse chunks of 64
CALLS = 62  # > 8000 project-wide calls: two resolution batches


def _module(i: int, version: int = 0) -> str:
    nxt, prev = (i + 1) % N_FILES, (i - 1) % N_FILES
    body = "\n".join(f"    f{nxt}()  # {k}" if k % 2 else f"    g{prev}()" for k in range(CALLS))
    return (
        f"from m{nxt} import C{nxt}, f{nxt}\nfrom m{prev} import g{prev}\n\n\n"
        f"def f{i}():\n    return {version}\n\n\n"
        f"def g{i}():\n{body}\n\n\n"
        f"class C{i}:\n    def run(self):\n        return g{i}() or f{i}()\n\n"
        f"    def other(self):\n        obj = [C{nxt}()][0]\n"
        "        return obj.run()  # jedi: a subscript's type\n"
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with many cross-file calls, co-changes and fixes."""
    root = tmp_path_factory.mktemp("ws") / "repo"
    repo = Repo(root)
    repo.commit("initial layout", {f"m{i}.py": _module(i) for i in range(N_FILES)})
    for n in range(1, 9):
        files = {f"m{i}.py": _module(i, n) for i in range(n, n + 3)}
        subject = f"fix wrong return in f{n} (#{n})" if n % 2 else f"tune f{n}"
        who = {"author": ("Bob", "bob@example.com")} if n % 3 else {}
        repo.commit(subject, files, **who)
    return root


def _env(tmp: Path, pause: str | None) -> dict[str, str]:
    env = {
        "MIRA_DB": str(tmp / "mira.db"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "MIRA_INDEX_WORKERS": "1",
        "MIRA_TEST_PAUSE_DIR": str(tmp / "pause"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if pause is not None:
        env["MIRA_TEST_PAUSE_AT"] = pause
    return env


def _kill_at(cmd: list[str], tmp: Path, pause: str) -> None:
    """Run the CLI until it reaches ``pause``, then kill -9 it."""
    (tmp / "pause").mkdir(exist_ok=True)
    marker = tmp / "pause" / pause.replace(":", "_").replace(" ", "_")
    marker.unlink(missing_ok=True)
    full = {**os.environ, **_env(tmp, pause)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mira_ls", *cmd],
        env=full,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        while not marker.exists():
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"{cmd} ended (exit {proc.returncode}) before {pause}: {err}")
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and any parser process it started
        proc.wait()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def _run(cmd: list[str], tmp: Path) -> str:
    r = run_cli(*cmd, env=_env(tmp, None), timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout + r.stderr


def _content(db: Path) -> dict[str, Any]:
    """What the database says about the workspace, independent of row ids."""
    conn = sqlite3.connect(db)
    q = lambda sql: sorted(conn.execute(sql).fetchall(), key=repr)  # noqa: E731
    out = {
        "files": q("SELECT file_path, content_hash, status, error FROM repository_files"),
        "symbols": q(
            "SELECT file_path, qualified_name, kind, ordinal, start_line, end_line, content_hash"
            " FROM code_elements"
        ),
        "edges": q(
            "SELECT a.file_path, a.qualified_name, b.file_path, b.qualified_name, g.callee_name,"
            " g.line, g.col, g.resolved_by, g.needs_resolution FROM call_graph g"
            " JOIN code_elements a ON a.id = g.caller_id"
            " LEFT JOIN code_elements b ON b.id = g.callee_id"
        ),
        "imports": q("SELECT count(*) FROM code_imports"),
        "staged": q("SELECT count(*) FROM index_staged_calls"),
        "commits": q("SELECT commit_hash, ignored_reason FROM git_commits"),
        "cochange": q(
            "SELECT file_a, file_b, shared_commits, commits_a, commits_b, confidence"
            " FROM file_cochange_patterns"
        ),
        "expertise": q(
            "SELECT scope, path, author_email, commits, lines_added, score FROM author_expertise"
        ),
        "fixes": q(
            "SELECT commit_hash, category, files, symbols, symbols_done FROM historical_fixes"
        ),
        "fix_symbols": q("SELECT file_path, name FROM historical_fix_symbols"),
        "attachment": q("SELECT status, last_mined_commit FROM git_repo_attachments"),
    }
    conn.close()
    return out


def _statuses(db: Path, kind: str) -> list[str]:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT status FROM runs WHERE kind = ? ORDER BY id", (kind,)).fetchall()
    conn.close()
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def clean(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("clean")
    _run(["index", str(workspace)], tmp)
    _run(["mine", str(workspace)], tmp)
    content = _content(tmp / "mira.db")
    assert len(content["files"]) == N_FILES and content["staged"] == [(0,)]
    resolved = [e for e in content["edges"] if e[3] is not None]
    assert len(resolved) > 8000  # two resolution batches
    assert content["fix_symbols"] and all(f[4] == 1 for f in content["fixes"])
    return content


INDEX_POINTS = [
    "index:walk:done",
    "index:parse:middle",
    "index:parse:done",
    "index:resolve:middle",
    "index:resolve:staged",
    "index:resolve:done",
]
MINE_POINTS = [
    "mine:log:middle",
    "mine:analyses:start",
    "mine:analyses:middle",
    "mine:fix symbols:start",
    "mine:fix symbols:middle",
]


@pytest.mark.parametrize("point", INDEX_POINTS)
def test_killed_index_rerun_equals_a_clean_run(
    point: str, workspace: Path, clean: dict[str, Any], tmp_path: Path
) -> None:
    _kill_at(["index", str(workspace)], tmp_path, point)
    out = _run(["index", str(workspace)], tmp_path)
    assert "finished an index that was interrupted (it stopped in " in out
    _run(["mine", str(workspace)], tmp_path)
    got = _content(tmp_path / "mira.db")
    for key, value in clean.items():
        assert got[key] == value, (key, out)
    conn = sqlite3.connect(tmp_path / "mira.db")
    statuses = [
        r[0] for r in conn.execute("SELECT status FROM runs WHERE kind = 'index' ORDER BY id")
    ]
    conn.close()
    assert statuses == ["interrupted", "complete"]


@pytest.mark.parametrize("point", MINE_POINTS)
def test_killed_mine_rerun_equals_a_clean_run(
    point: str, workspace: Path, clean: dict[str, Any], tmp_path: Path
) -> None:
    _run(["index", str(workspace)], tmp_path)
    _kill_at(["mine", str(workspace)], tmp_path, point)
    out = _run(["mine", str(workspace)], tmp_path)
    got = _content(tmp_path / "mira.db")
    for key, value in clean.items():
        assert got[key] == value, (key, out)
    conn = sqlite3.connect(tmp_path / "mira.db")
    statuses = [
        r[0] for r in conn.execute("SELECT status FROM runs WHERE kind = 'mine' ORDER BY id")
    ]
    conn.close()
    assert statuses == ["interrupted", "complete"]


def test_killed_index_with_parser_processes(
    workspace: Path, clean: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with a process pool (its workers die with the run's process group)."""
    monkeypatch.setenv("MIRA_INDEX_WORKERS", "2")
    env = _env(tmp_path, None)
    env["MIRA_INDEX_WORKERS"] = "2"
    _kill_at(["index", str(workspace)], tmp_path, "index:resolve:middle")
    r = run_cli("index", str(workspace), env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    _run(["mine", str(workspace)], tmp_path)
    got = _content(tmp_path / "mira.db")
    for key in ("files", "symbols", "edges", "staged"):
        assert got[key] == clean[key], key


# --- two processes indexing one workspace -------------------------------------------------


def _start_paused(cmd: list[str], tmp: Path, pause: str) -> subprocess.Popen[bytes]:
    """Start the CLI and return once it sits at ``pause`` (holding whatever it holds)."""
    (tmp / "pause").mkdir(exist_ok=True)
    marker = tmp / "pause" / pause.replace(":", "_").replace(" ", "_")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mira_ls", *cmd],
        env={**os.environ, **_env(tmp, pause)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    while not marker.exists():
        assert proc.poll() is None, f"{cmd} ended before {pause}"
        time.sleep(0.05)
    return proc


def test_second_index_says_another_is_running_then_waits_for_it(
    workspace: Path, clean: dict[str, Any], tmp_path: Path
) -> None:
    first = _start_paused(["index", str(workspace)], tmp_path, "index:parse:middle")
    try:
        r = run_cli("index", str(workspace), env=_env(tmp_path, None), timeout=120)
        assert r.returncode == 1
        assert "Another mira-ls is indexing" in r.stderr and "--wait SECONDS" in r.stderr
        assert f"process {first.pid}" in r.stderr
        assert "IntegrityError" not in r.stderr and "Traceback" not in r.stderr

        waiting = subprocess.Popen(
            [sys.executable, "-m", "mira_ls", "index", str(workspace), "--wait", "300"],
            env={**os.environ, **_env(tmp_path, None)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert waiting.stderr is not None
        line = waiting.stderr.readline()
        assert "waiting up to 300 s" in line, line
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the lock goes with its process
        first.wait()
    _, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert "finished an index that was interrupted" in err
    got = _content(tmp_path / "mira.db")
    for key in ("files", "symbols", "edges", "staged"):
        assert got[key] == clean[key], key


def test_killed_jedi_pass_rerun_equals_a_clean_one(workspace: Path, tmp_path: Path) -> None:
    """The jedi pass settles each file's edges in one write; a re-run does the rest."""
    clean_dir, killed = tmp_path / "clean", tmp_path / "killed"
    clean_dir.mkdir()
    killed.mkdir()
    _run(["index", str(workspace), "--jedi"], clean_dir)
    want = _content(clean_dir / "mira.db")
    assert any(e[7] == "jedi" for e in want["edges"])
    assert not any(e[8] == 2 for e in want["edges"])  # nothing left for jedi
    _kill_at(["index", str(workspace), "--jedi"], killed, "index:jedi:middle")
    _run(["index", str(workspace), "--jedi"], killed)
    got = _content(killed / "mira.db")
    for key in ("files", "symbols", "edges", "staged"):
        assert got[key] == want[key], key


_UPDATE = """
import sys
from pathlib import Path
from mira_ls.index.incremental import update_file
from mira_ls.store import Store, projects
store = Store(sys.argv[1])
root = Path(sys.argv[2])
pid = projects.by_root(store.conn(), str(root.resolve())).id
update_file(store, pid, root, "m0.py")
"""


def test_save_killed_before_its_calls_resolve(workspace: Path, tmp_path: Path) -> None:
    """A save commits its symbols first and resolves their calls in a second write: killed
    between the two, the new symbol is there, its call waits flagged, and the next index
    run resolves it, as a clean run would."""
    ws = tmp_path / "ws"
    subprocess.run(["git", "clone", "-q", str(workspace), str(ws)], check=True)
    _run(["index", str(ws)], tmp_path)
    source = ws / "m0.py"
    source.write_text(source.read_text() + "\n\ndef saved_new():\n    return f1()\n")
    (tmp_path / "pause").mkdir(exist_ok=True)
    marker = tmp_path / "pause" / "update_resolve"
    env = {**os.environ, **_env(tmp_path, "update:resolve")}
    proc = subprocess.Popen(
        [sys.executable, "-c", _UPDATE, str(tmp_path / "mira.db"), str(ws)],
        env=env,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        while not marker.exists():
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"the update ended (exit {proc.returncode}) before pausing: {err}")
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stderr:
            proc.stderr.close()
    edge = (
        "SELECT g.needs_resolution, b.qualified_name FROM call_graph g"
        " JOIN code_elements a ON a.id = g.caller_id"
        " LEFT JOIN code_elements b ON b.id = g.callee_id WHERE a.name = 'saved_new'"
    )
    conn = sqlite3.connect(tmp_path / "mira.db")
    assert conn.execute(edge).fetchall() == [(1, None)]  # visible, its call still pending
    conn.close()
    _run(["index", str(ws)], tmp_path)
    conn = sqlite3.connect(tmp_path / "mira.db")
    assert conn.execute(edge).fetchall() == [(0, "m1.f1")]
    conn.close()
