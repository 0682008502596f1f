"""File names that are not UTF-8, and a file whose rows cannot be stored: each is kept or
skipped with a reason, and never stops the index of the others."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tests.support.cli import run_cli

LATIN1 = os.fsdecode(b"x\xe9.py")  # a lone surrogate: what Python makes of the byte 0xE9


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / LATIN1).write_text("def in_latin1():\n    return ok_helper()\n")
    (root / "ok.py").write_text("def ok_helper():\n    return 1\n")
    (root / "other.py").write_text(
        "from ok import ok_helper\n\n\ndef user():\n    return ok_helper()\n"
    )
    return root


def _cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    r = run_cli(*args, env={"MIRA_DB": str(tmp_path / "mira.db")})
    return r.returncode, r.stdout, r.stderr


def test_a_name_that_is_not_utf8_is_stored_exactly_and_shown_escaped(
    ws: Path, tmp_path: Path
) -> None:
    code, _, err = _cli(tmp_path, "index", str(ws))
    assert code == 0, err
    assert "3 parsed" in err
    code, out, err = _cli(tmp_path, "symbols", "in_latin1", "--root", str(ws))
    assert code == 0, err
    assert "x\\xe9.py:1:5" in out  # shown escaped
    conn = sqlite3.connect(tmp_path / "mira.db")
    rows = dict(conn.execute("SELECT file_path, raw_path FROM repository_files").fetchall())
    conn.close()
    assert rows["x\\xe9.py"] == b"x\xe9.py" and rows["ok.py"] is None  # the exact bytes

    # Recognised as the same file next time (lossless), and removed when it goes.
    code, _, err = _cli(tmp_path, "index", str(ws))
    assert code == 0 and "0 parsed, 3 unchanged, 0 removed" in err, err
    (ws / LATIN1).unlink()
    code, _, err = _cli(tmp_path, "index", str(ws))
    assert code == 0 and "0 parsed, 2 unchanged, 1 removed" in err, err


def test_a_file_that_cannot_be_stored_is_skipped_with_a_reason(ws: Path, tmp_path: Path) -> None:
    # A second file whose name, escaped, is the same text: it cannot have its own row.
    (ws / "x\\xe9.py").write_text("def twin():\n    return 2\n")
    code, out, err = _cli(tmp_path, "index", str(ws), "--json")
    assert code == 0, err
    assert "not indexed: x\\xe9.py: could not be stored: its name reads the same" in err
    assert "Traceback" not in err
    code, out, _ = _cli(tmp_path, "callers", "ok_helper", "--root", str(ws))
    assert code == 0 and "other.py" in out  # the other files are indexed


def test_a_pathologically_nested_file_is_indexed_partially_with_the_reason(
    ws: Path, tmp_path: Path
) -> None:
    deep = 50_000
    (ws / "nest.py").write_text(
        "def g(x):\n    return x\n\n\ny = " + "g(" * deep + "1" + ")" * deep
    )
    code, out, err = _cli(tmp_path, "index", str(ws))
    assert code == 0, err
    assert "nest.py: indexed partially: code nested more than 1000 levels deep" in err
    conn = sqlite3.connect(tmp_path / "mira.db")
    status, error = conn.execute(
        "SELECT status, error FROM repository_files WHERE file_path = 'nest.py'"
    ).fetchone()
    calls = conn.execute(
        "SELECT count(*) FROM call_graph g JOIN code_elements e ON e.id = g.caller_id"
        " WHERE e.file_path = 'nest.py'"
    ).fetchone()[0]
    conn.close()
    assert status == "indexed" and "indexed partially" in error
    assert 0 < calls < deep  # the calls above the bound are indexed
    code, out, _ = _cli(tmp_path, "callers", "ok_helper", "--root", str(ws))
    assert code == 0 and "other.py" in out
