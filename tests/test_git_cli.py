"""``mira-ls mine / cochange / experts / fixes / hover`` as real subprocesses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.repo import Repo, fixtures
from tests.test_git_features import history

git_isolation, _store, repo = fixtures()


def cli(tmp_path: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"MIRA_DB": str(tmp_path / "cli.db")}, cwd=cwd)


def test_mine_then_query(tmp_path: Path, repo: Repo) -> None:
    h = history(repo)
    r = cli(tmp_path, "mine", str(repo.root))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("mined 8 commits (scratch)")
    assert "mining:" in r.stderr  # progress goes to stderr
    again = cli(tmp_path, "mine", str(repo.root), "--json")
    assert json.loads(again.stdout)["status"] == "up_to_date"

    co = json.loads(cli(tmp_path, "cochange", str(repo.root / "a.py"), "--json").stdout)
    assert co == [
        {
            "path": "b.py",
            "shared": 6,
            "commits": 8,
            "partner_commits": 6,
            "confidence": 0.75,  # c/a = 6/8
            "reverse_confidence": 1.0,  # c/b = 6/6
            "jaccard": 0.75,  # 6 / (8 + 6 - 6)
            "dice": round(12 / 14, 4),
            "last_at": co[0]["last_at"],
        }
    ]
    text = cli(tmp_path, "cochange", str(repo.root / "a.py")).stdout
    assert "a.py (8 commits) usually changes with:" in text and "6 of 8" in text

    ex = json.loads(cli(tmp_path, "experts", str(repo.root / "a.py"), "--json").stdout)
    assert [list(e) for e in ex] == [
        ["author", "email", "score", "commits", "lines_added", "last_at", "share"]
    ] * 2
    assert [(e["email"], e["commits"], e["lines_added"], e["score"]) for e in ex] == [
        ("alice@example.com", 5, 18, 70.0),
        ("bob@example.com", 3, 5, round(24 + 30 * 5 / 18, 2)),
    ]
    root = json.loads(cli(tmp_path, "experts", str(repo.root), "--json").stdout)
    assert {e["email"] for e in root} == {"alice@example.com", "bob@example.com"}

    fx = json.loads(
        cli(
            tmp_path,
            "fixes",
            "crash when file is empty",
            "--file",
            str(repo.root / "a.py"),
            "--json",
        ).stdout
    )
    assert [list(f) for f in fx] == [["commit", "subject", "score", "category", "files", "at"]]
    assert fx[0]["commit"] == h["fix"] and fx[0]["files"] == ["a.py", "b.py"]
    # words {crash, file, empty} on both sides: Jaccard 1; file overlap 1.
    assert fx[0]["score"] == 1.0


def test_hover_cli_shows_the_git_sections(tmp_path: Path, repo: Repo) -> None:
    history(repo)
    assert cli(tmp_path, "index", str(repo.root)).returncode == 0
    assert cli(tmp_path, "mine", str(repo.root)).returncode == 0
    r = cli(tmp_path, "hover", f"{repo.root / 'a.py'}:4:6")
    assert r.returncode == 0, r.stderr
    assert "def load(path)" in r.stdout
    assert "**Changes with**\n- `b.py` · 6 of 8 commits" in r.stdout
    assert "**Last changed**\n- `" in r.stdout and "lines by Alice Smith 2, Bob Jones 1" in r.stdout


def test_hover_cli_usage_errors_and_empty_places(tmp_path: Path, repo: Repo) -> None:
    history(repo)
    assert cli(tmp_path, "index", str(repo.root)).returncode == 0
    a = repo.root / "a.py"
    r = cli(tmp_path, "hover", f"{a}:x:y")
    assert r.returncode == 2 and "is not FILE:LINE:COL" in r.stderr
    r = cli(tmp_path, "hover", f"{a}:0:1")
    assert r.returncode == 2 and "1-based" in r.stderr
    n = len(a.read_text().splitlines())
    r = cli(tmp_path, "hover", f"{a}:{n + 50}:1")
    assert r.returncode == 1 and f"has {n} lines; line {n + 50} is past its end" in r.stderr
    r = cli(tmp_path, "hover", f"{a}:{n}:200")
    assert r.returncode == 0 and r.stdout == "" and "no symbol here" in r.stderr


def test_errors_are_sentences(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    r = cli(tmp_path, "mine", str(plain))
    assert r.returncode == 1 and "not inside a git repository" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli(tmp_path, "cochange", str(tmp_path / "elsewhere.py"))
    assert r.returncode == 1 and "run `mira-ls mine" in r.stderr
    r = cli(tmp_path, "mine", str(tmp_path / "missing"))
    assert r.returncode == 1 and "is not a directory" in r.stderr
