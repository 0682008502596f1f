"""``mira-ls report`` as a real subprocess: files written, JSON printed, bad input refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.test_report_html import SECTION_TITLES, assert_self_contained, parse_report


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "MIRA_DB": str(tmp_path / "db" / "mira.db"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    return run_cli(*args, env=env)


def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("def a(x):\n    if x:\n        return 1\n    return 2\n")
    return root


def test_report_writes_the_file_named_by_o(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    assert run(tmp_path, "index", str(root), "--quiet").returncode == 0
    out = tmp_path / "out" / "report.html"
    r = run(tmp_path, "report", str(root), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out)
    assert r.stderr == ""
    markup = out.read_text(encoding="utf-8")
    assert_self_contained(markup)
    dom = parse_report(markup)
    assert dom.headings == SECTION_TITLES
    assert dom.figs["indexed_files"] == "1"
    assert dom.empties["hotspots"].startswith("No git history mined yet")
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)
    assert not list(root.rglob("*.html"))  # nothing written into the workspace


def test_report_json_prints_the_collected_data(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    assert run(tmp_path, "index", str(root), "--quiet").returncode == 0
    r = run(tmp_path, "report", str(root), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == set(SECTION_TITLES)
    assert doc["overview"]["indexed_files"] == 1 and doc["overview"]["known"] is True
    assert doc["overview"]["root"] == str(root.resolve())
    assert doc["hotspots"]["items"] == []
    assert doc["budget"]["daily_limit_micro"] == 5_000_000
    assert not (tmp_path / "state").exists()  # --json alone writes no HTML

    out = tmp_path / "both.html"
    r = run(tmp_path, "report", str(root), "--json", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["overview"]["indexed_files"] == 1
    assert f"report written to {out}" in r.stderr
    assert out.is_file()


def test_report_without_o_goes_under_the_state_dir(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    r = run(tmp_path, "report", str(root))
    assert r.returncode == 0, r.stderr
    written = Path(r.stdout.strip())
    assert written.is_file()
    assert written.is_relative_to(tmp_path / "state" / "mira-ls" / "answers" / "reports")
    assert written.name.startswith("ws-") and written.suffix == ".html"
    # never indexed: the report says so, and so does stderr
    assert "not in the database yet" in r.stderr
    dom = parse_report(written.read_text(encoding="utf-8"))
    assert "is not in the database yet" in dom.empties["overview"]


def test_report_full_pipeline_through_the_cli(tmp_path: Path) -> None:
    from tests.support.repo import Repo

    repo = Repo(tmp_path / "ws")
    body = "def a(x):\n    if x:\n        return 1\n    return 2\n"
    repo.commit("one", {"m.py": body, "n.py": "X = 1\n"})
    repo.commit("two", {"m.py": body + "# more\n", "n.py": "X = 2\n"}, at=1_700_100_000)
    # a third shared commit: cochange.minShared is 3 by default
    repo.commit("three", {"m.py": body + "# more\n# again\n", "n.py": "X = 3\n"}, at=1_700_200_000)
    for cmd in (("index", str(repo.root), "--quiet"), ("mine", str(repo.root))):
        done = run(tmp_path, *cmd)
        assert done.returncode == 0, done.stderr
    r = run(tmp_path, "report", str(repo.root), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    hot = {h["path"]: h for h in doc["hotspots"]["items"]}
    # m.py: 3 commits × (module 1 + a 2) = 9
    assert (hot["m.py"]["commits"], hot["m.py"]["complexity"], hot["m.py"]["score"]) == (3, 3, 9)
    pairs = doc["coupling"]["pairs"]
    assert [(p["file_a"], p["file_b"], p["shared"]) for p in pairs] == [("m.py", "n.py", 3)]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: t / "missing", "does not exist; pass the folder of a workspace"),
        (lambda t: (t / "file.txt", (t / "file.txt").write_text("x"))[0], "is not a folder"),
    ],
)
def test_report_refuses_a_bad_path(tmp_path: Path, make, message: str) -> None:
    r = run(tmp_path, "report", str(make(tmp_path)), "-o", str(tmp_path / "r.html"))
    assert r.returncode == 1
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r.html").exists()


def test_report_refuses_an_output_it_cannot_write(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    r = run(tmp_path, "report", str(root), "-o", str(tmp_path))
    assert r.returncode == 1
    assert "is a folder; pass a file name such as" in r.stderr

    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder is expected")
    r = run(tmp_path, "report", str(root), "-o", str(blocker / "r.html"))
    assert r.returncode == 1
    assert f"could not write the report to {blocker / 'r.html'}" in r.stderr
    assert "choose another file with -o" in r.stderr and "Traceback" not in r.stderr
    assert blocker.read_text() == "a file where a folder is expected"


def test_report_help() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mira_ls", "report", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0
    assert "-o FILE" in r.stdout and "--json" in r.stdout
