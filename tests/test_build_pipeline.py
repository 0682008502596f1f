"""Whole builds on real projects: ruff and Python scripts really run, a real git repository,
a real SQLite file. Dedup across runs, resolutions with their diff and commit, ranking, and
runs that must not resolve anything (crash, timeout, cut output)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from mira_ls.build.injections import Injection, injected_for_error, record_injections
from mira_ls.build.model import BuildCommand
from mira_ls.build.pipeline import run_build
from mira_ls.build.resolutions import HistoricalMatch, rank
from mira_ls.config import BuildSettings, Settings
from mira_ls.git import miner
from mira_ls.store import Store, projects
from mira_ls.store import build_errors as error_store
from mira_ls.store import build_resolutions as resolution_store
from mira_ls.store import build_runs as run_store
from tests.support.repo import Repo, git

BIN = Path(sys.executable).parent
RUFF = BuildCommand("ruff", (str(BIN / "ruff"), "check", "--output-format", "json", "."), "ruff")
RUFF_CFG = '[tool.ruff]\n[tool.ruff.lint]\nselect = ["F"]\n'

A_BAD = "import os\n\n\ndef f():\n    return 1\n"
A_GOOD = "\n\ndef f():\n    return 1\n"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "ws")
    r.commit("initial", {"pyproject.toml": RUFF_CFG, "a.py": A_BAD})
    return r


def project_id(store: Store, root: Path) -> int:
    with store.write() as c:
        return projects.get_or_create(c, root).id


def build(store: Store, root: Path, *cmds: BuildCommand, **settings: object):
    s = BuildSettings(**settings)  # type: ignore[arg-type]
    return run_build(store, project_id(store, root), root, list(cmds), s)


def errors(store: Store, root: Path, status: str | None = None):
    return error_store.list_errors(store.conn(), project_id(store, root), status)


def test_the_same_error_in_three_runs_is_one_row_counted_three_times(
    tmp_db: Store, repo: Repo
) -> None:
    reports = [build(tmp_db, repo.root, RUFF) for _ in range(3)]
    assert [s.status for r in reports for s in r.steps] == ["failed"] * 3
    assert [r.steps[0].new_errors for r in reports] == [1, 0, 0]
    (e,) = errors(tmp_db, repo.root, None)
    assert (e.tool, e.code, e.category, e.file_path, e.line, e.col) == (
        "ruff",
        "F401",
        "lint",
        "a.py",
        1,
        8,
    )
    assert e.occurrence_count == 3 and e.status == "open"
    run_ids = [r.steps[0].run_id for r in reports]
    assert (e.first_run_id, e.last_run_id) == (run_ids[0], run_ids[2])
    runs = [run_store.get_run(tmp_db.conn(), i) for i in run_ids]
    head = git(repo.root, "rev-parse", "HEAD").strip()
    assert all(r.commit_hash == head and r.tree_dirty is False for r in runs)
    assert all(
        r.error_count == 1 and r.exit_code == 1 and r.command == list(RUFF.argv) for r in runs
    )


def test_moving_the_error_keeps_its_row(tmp_db: Store, repo: Repo) -> None:
    build(tmp_db, repo.root, RUFF)
    repo.write("a.py", '"""Doc."""\n' + A_BAD)
    build(tmp_db, repo.root, RUFF)
    (e,) = errors(tmp_db, repo.root)
    assert e.occurrence_count == 2 and e.line == 2


def test_a_fixed_error_gets_a_resolution_with_the_diff(tmp_db: Store, repo: Repo) -> None:
    build(tmp_db, repo.root, RUFF)
    repo.write("a.py", A_GOOD)
    report = build(tmp_db, repo.root, RUFF)
    step = report.steps[0]
    assert (step.status, step.error_count, step.resolved) == ("succeeded", 0, 1)
    (e,) = errors(tmp_db, repo.root, None)
    assert e.status == "resolved" and e.resolved_at is not None
    (res,) = resolution_store.for_error(tmp_db.conn(), e.id)
    assert res.diff == ("--- a/a.py\n+++ b/a.py\n@@ -1,4 +1,3 @@\n-import os\n \n \n def f():\n")
    assert res.files == ["a.py"]
    assert res.commit_hash is None  # not committed
    assert res.after_run_id == step.run_id and res.before_run_id == e.last_run_id
    assert "uncommitted change" in (res.summary or "")


def test_a_committed_fix_records_its_commit_and_links_the_mined_fix(
    tmp_db: Store, repo: Repo
) -> None:
    pid = project_id(tmp_db, repo.root)
    build(tmp_db, repo.root, RUFF)
    sha = repo.commit("Fix unused import in a.py", {"a.py": A_GOOD}, at=1_700_000_500)
    build(tmp_db, repo.root, RUFF)
    (e,) = errors(tmp_db, repo.root, None)
    (res,) = resolution_store.for_error(tmp_db.conn(), e.id)
    assert res.commit_hash == sha
    assert res.historical_fix_id is None  # git history is not mined yet
    assert res.diff is not None and "-import os" in res.diff
    stats = miner.mine(tmp_db, pid, repo.root, Settings())
    assert stats.status == "ok", stats.message
    build(tmp_db, repo.root, RUFF)  # a later build links fixes mined since
    (res,) = resolution_store.for_error(tmp_db.conn(), e.id)
    assert res.historical_fix_id is not None
    assert res.fix_subject == "Fix unused import in a.py"


def test_ranking_with_mined_git_history(tmp_db: Store, repo: Repo) -> None:
    """The merged list on a real repository: the resolution and its mined fix commit are
    one entry; a fix commit from before mira-ls watched the builds comes from history."""
    pid = project_id(tmp_db, repo.root)
    old = repo.commit("Fix unused import os in b.py", {"b.py": "x = 1\n"}, at=1_690_000_000)
    repo.commit("Add docs", {"README.md": "hello\n"}, at=1_690_000_100)
    build(tmp_db, repo.root, RUFF)
    sha = repo.commit("Fix unused import os in a.py", {"a.py": A_GOOD}, at=1_700_000_500)
    build(tmp_db, repo.root, RUFF)
    assert miner.mine(tmp_db, pid, repo.root, Settings()).status == "ok"
    repo.write("a.py", A_BAD)
    build(tmp_db, repo.root, RUFF)
    (err,) = errors(tmp_db, repo.root)
    fixes = rank(tmp_db.conn(), pid, err)  # the real git_history source
    assert [(f.match, f.commit) for f in fixes] == [("same error", sha), ("fix commit", old)]
    assert fixes[0].score == 1.0 and fixes[0].subject == "Fix unused import os in a.py"
    assert 0.3 <= fixes[1].score < 1.0 and fixes[1].subject == "Fix unused import os in b.py"
    assert fixes[1].resolution is None and fixes[1].files == ["b.py"]


def test_an_error_that_comes_back_is_reopened(tmp_db: Store, repo: Repo) -> None:
    build(tmp_db, repo.root, RUFF)
    repo.write("a.py", A_GOOD)
    build(tmp_db, repo.root, RUFF)
    repo.write("a.py", A_BAD)
    report = build(tmp_db, repo.root, RUFF)
    assert report.steps[0].new_errors == 0
    (e,) = errors(tmp_db, repo.root)
    assert (e.status, e.resolved_at, e.occurrence_count) == ("open", None, 2)
    assert resolution_store.count_for_error(tmp_db.conn(), e.id) == 1


def test_ranking_puts_the_same_error_first_then_code_then_category(
    tmp_db: Store, repo: Repo
) -> None:
    pid = project_id(tmp_db, repo.root)
    # three different fixes, recorded in order: same code elsewhere, same category, same error
    repo.write("b.py", "import sys\n")
    repo.write("c.py", "def g():\n    x = 1\n    return 2\n")  # F841: lint, another code
    repo.write("d.py", "print(undefined_name)\n")  # F821: category name, not lint
    build(tmp_db, repo.root, RUFF)
    repo.write("b.py", "")
    build(tmp_db, repo.root, RUFF)
    repo.write("c.py", "def g():\n    return 2\n")
    build(tmp_db, repo.root, RUFF)
    repo.write("d.py", "print(1)\n")
    repo.write("a.py", A_GOOD)
    build(tmp_db, repo.root, RUFF)
    repo.write("a.py", A_BAD)  # the F401 in a.py is back
    build(tmp_db, repo.root, RUFF)
    err = next(e for e in errors(tmp_db, repo.root) if e.file_path == "a.py")
    fixes = rank(tmp_db.conn(), pid, err, historical=None)
    assert [(f.score, f.match, f.resolution.code, f.resolution.error_file) for f in fixes] == [
        (1.0, "same error", "F401", "a.py"),
        (0.8, "same code", "F401", "b.py"),
        (0.5, "same category", "F841", "c.py"),
    ]
    everything = rank(tmp_db.conn(), pid, err, historical=None, limit=10)
    assert "d.py" not in [f.resolution.error_file for f in everything]  # F821 is 'name'


def test_history_matches_merge_into_the_ranking(tmp_db: Store, repo: Repo) -> None:
    pid = project_id(tmp_db, repo.root)
    build(tmp_db, repo.root, RUFF)
    sha = repo.commit("Fix lint", {"a.py": A_GOOD}, at=1_700_000_900)
    build(tmp_db, repo.root, RUFF)
    repo.write("a.py", A_BAD)
    build(tmp_db, repo.root, RUFF)
    (err,) = errors(tmp_db, repo.root)
    calls: list[tuple[int, str, list[str]]] = []

    def history(conn, project, text, files):
        calls.append((project, text, files))
        return [
            HistoricalMatch(sha, "Fix lint", 0.7, "lint", ["a.py"], 1_700_000_900),
            HistoricalMatch("f" * 40, "Fix other thing", 0.9, "lint", ["z.py"], 1_600_000_000),
            HistoricalMatch("e" * 40, "Older fix", 0.9, "lint", ["y.py"], 1_500_000_000),
        ]

    fixes = rank(tmp_db.conn(), pid, err, historical=history)
    assert calls == [(pid, "F401 `os` imported but unused", ["a.py"])]
    # the resolution and the fix commit are one entry; ties sorted by recency
    assert [(f.score, f.match, f.commit) for f in fixes] == [
        (1.0, "same error", sha),
        (0.9, "fix commit", "f" * 40),
        (0.9, "fix commit", "e" * 40),
    ]
    assert fixes[0].subject == "Fix lint"


CHECKER = r"""
import pathlib, sys
mode = sys.argv[1]
for p in sorted(pathlib.Path(".").glob("*.txt")):
    for n, line in enumerate(p.read_text().splitlines(), 1):
        if "BUG" in line:
            print(f"{p.name}:{n}:1: error: {line.strip()} [B1]", flush=True)
if mode == "crash":
    raise RuntimeError("checker exploded")
if mode == "flood":
    sys.stdout.write(("x" * 99 + "\n") * 30000)
if mode == "hang":
    import time; time.sleep(60)
if mode == "latin1":
    sys.stdout.buffer.write(b"notes.txt:9:1: error: caf\xe9 BUG [B2]\n")
sys.exit(1)
"""


def checker(repo: Repo, mode: str = "ok") -> BuildCommand:
    repo.write("checker.py", CHECKER)
    return BuildCommand("check", (sys.executable, "checker.py", mode), "generic")


def test_a_crashing_tool_resolves_nothing(tmp_db: Store, repo: Repo) -> None:
    repo.write("notes.txt", "BUG one\n")
    build(tmp_db, repo.root, checker(repo))
    repo.write("notes.txt", "fine\n")
    report = build(tmp_db, repo.root, checker(repo, "crash"))
    step = report.steps[0]
    assert step.status == "error"
    assert step.message == (
        "The build step 'check' exited with code 1 without reporting errors mira-ls could read: "
        "RuntimeError: checker exploded. Run it in a terminal to see what went wrong."
    )
    (e,) = errors(tmp_db, repo.root)
    assert e.status == "open" and e.tool == "check" and e.code == "B1"


def test_a_tool_killed_by_a_signal_is_a_crash(tmp_db: Store, repo: Repo) -> None:
    cmd = BuildCommand("seg", (sys.executable, "-c", "import os; os.abort()"), "generic")
    step = build(tmp_db, repo.root, cmd).steps[0]
    assert step.status == "error"
    assert step.message is not None and "crashed (SIGABRT)" in step.message


def test_a_timeout_resolves_nothing(tmp_db: Store, repo: Repo) -> None:
    repo.write("notes.txt", "BUG one\n")
    build(tmp_db, repo.root, checker(repo))
    repo.write("notes.txt", "fine\n")
    t0 = time.monotonic()
    step = build(tmp_db, repo.root, checker(repo, "hang"), timeout_seconds=1.0).steps[0]
    assert time.monotonic() - t0 < 10
    assert step.status == "timeout" and step.exit_code is None
    assert errors(tmp_db, repo.root)[0].status == "open"


def test_a_missing_tool_is_an_error_run_with_its_name(tmp_db: Store, repo: Repo) -> None:
    cmd = BuildCommand("lint", ("mira-missing-linter", "."), "generic")
    step = build(tmp_db, repo.root, cmd).steps[0]
    assert step.status == "error"
    assert "'mira-missing-linter'" in (step.message or "")
    run = run_store.get_run(tmp_db.conn(), step.run_id)
    assert run.status == "error" and run.message == step.message


def test_cut_output_keeps_what_was_read_and_resolves_nothing(tmp_db: Store, repo: Repo) -> None:
    repo.write("notes.txt", "BUG one\nBUG two\n")
    build(tmp_db, repo.root, checker(repo))
    repo.write("notes.txt", "BUG two\n")  # 'one' is fixed, but the next output is cut
    step = build(tmp_db, repo.root, checker(repo, "flood"), output_cap_bytes=200_000).steps[0]
    assert step.status == "failed" and step.truncated
    assert step.output_bytes > 3_000_000
    assert "outputCapBytes" in (step.message or "")
    run = run_store.get_run(tmp_db.conn(), step.run_id)
    assert run.truncated and run.output_bytes == step.output_bytes
    by_msg = {e.message: e for e in errors(tmp_db, repo.root, None)}
    assert by_msg["BUG one"].status == "open"  # not resolved by a run that was cut
    assert by_msg["BUG two"].occurrence_count == 2
    conn = tmp_db.conn()
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert error_store.occurrences(conn, [step.run_id])[0][1].message == "BUG two"


def test_output_that_is_not_utf8_is_stored(tmp_db: Store, repo: Repo) -> None:
    repo.write("notes.txt", "fine\n")
    build(tmp_db, repo.root, checker(repo, "latin1"))
    (e,) = errors(tmp_db, repo.root)
    assert e.message == "caf\ufffd BUG" and e.code == "B2"


def test_snapshots_are_pruned_once_no_open_error_needs_them(tmp_db: Store, repo: Repo) -> None:
    conn = tmp_db.conn()

    def kept() -> list[bytes]:
        return [bytes(r[0]) for r in conn.execute("SELECT content FROM build_file_snapshots")]

    build(tmp_db, repo.root, RUFF)
    assert kept() == [A_BAD.encode()]
    edited = A_BAD + "\n# edit\n"
    repo.write("a.py", edited)
    build(tmp_db, repo.root, RUFF)
    # the open error was last seen in the second run: only its content is the 'before' side
    assert kept() == [edited.encode()]
    repo.write("a.py", A_GOOD)
    build(tmp_db, repo.root, RUFF)
    (e,) = errors(tmp_db, repo.root, None)
    (res,) = resolution_store.for_error(conn, e.id)
    assert "+# edit" not in res.diff and "-# edit" in res.diff  # diffed against the 2nd run
    # resolved: only the latest run's own file state remains
    assert kept() == [A_GOOD.encode()]
    assert conn.execute("SELECT count(*) FROM build_run_files").fetchone()[0] == 1


def test_context_injections_api(tmp_db: Store, repo: Repo) -> None:
    pid = project_id(tmp_db, repo.root)
    build(tmp_db, repo.root, RUFF)
    repo.write("a.py", A_GOOD)
    build(tmp_db, repo.root, RUFF)
    (e,) = errors(tmp_db, repo.root, None)
    (res,) = resolution_store.for_error(tmp_db.conn(), e.id)
    ids = record_injections(
        tmp_db,
        pid,
        "req-1",
        [Injection(e.id, res.id, 120), Injection(e.id, None, 30)],
        at=1_700_000_000,
    )
    rows = injected_for_error(tmp_db, e.id)
    assert [r.id for r in rows] == ids
    assert [(r.resolution_id, r.token_count, r.request_key) for r in rows] == [
        (res.id, 120, "req-1"),
        (None, 30, "req-1"),
    ]


OLD_MYPY = f"""#!{sys.executable}
import sys
if "-O" in sys.argv:  # what mypy < 1.11 says
    sys.stderr.write("usage: mypy [-h] ...\\nmypy: error: unrecognized arguments: -O\\n")
    sys.exit(2)
assert "--show-column-numbers" in sys.argv and "--show-error-codes" in sys.argv
print('a.py:3:5: error: Name "nope" is not defined  [name-defined]')
print("Found 1 error in 1 file (checked 1 source file)")
sys.exit(1)
"""


def test_a_mypy_without_json_output_is_read_as_text(
    tmp_db: Store, repo: Repo, tmp_path: Path
) -> None:
    exe = tmp_path / "bin" / "mypy"
    exe.parent.mkdir()
    exe.write_text(OLD_MYPY)
    exe.chmod(0o755)
    cmd = BuildCommand("mypy", (str(exe), "-O", "json", "."), "mypy")
    step = build(tmp_db, repo.root, cmd).steps[0]
    assert (step.status, step.error_count) == ("failed", 1)
    (e,) = errors(tmp_db, repo.root)
    assert (e.tool, e.code, e.category, e.file_path, e.line, e.col) == (
        "mypy",
        "name-defined",
        "name",
        "a.py",
        3,
        5,
    )


def test_deleting_the_file_resolves_its_error_with_a_deletion_diff(
    tmp_db: Store, repo: Repo
) -> None:
    repo.write("b.py", "import sys\n")
    build(tmp_db, repo.root, RUFF)
    (repo.root / "b.py").unlink()
    build(tmp_db, repo.root, RUFF)
    e = next(x for x in errors(tmp_db, repo.root, None) if x.file_path == "b.py")
    (res,) = resolution_store.for_error(tmp_db.conn(), e.id)
    assert e.status == "resolved"
    assert res.diff == "--- a/b.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-import sys\n"
