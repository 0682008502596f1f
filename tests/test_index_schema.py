"""The code tables' CHECK constraints (written as OR chains for insert speed) still refuse
values outside their lists, and still accept every value the indexer writes."""

from __future__ import annotations

import pytest

from mira_ls.store import Store
from mira_ls.store.connection import error_types

KINDS = [
    "module",
    "namespace",
    "class",
    "struct",
    "union",
    "enum",
    "trait",
    "interface",
    "impl",
    "type",
    "function",
    "method",
    "constructor",
    "property",
    "field",
    "constant",
    "variable",
    "macro",
]


def _file(conn: object, root: str = "/ws") -> tuple[int, int]:
    pid = conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO projects(root_path, name) VALUES (?, 'ws') RETURNING id", (root,)
    ).fetchone()[0]
    fid = conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO repository_files(project_id, file_path, content_hash) VALUES (?, 'm.py', 'h')"
        " RETURNING id",
        (pid,),
    ).fetchone()[0]
    return pid, fid


def _symbol(conn: object, pid: int, fid: int, kind: str, qn: str) -> int:
    return conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO code_elements(project_id, file_id, file_path, language, kind, name,"
        " qualified_name, start_line, end_line, content_hash, signature_hash)"
        " VALUES (?, ?, 'm.py', 'python', ?, 'n', ?, 1, 1, 'c', 's') RETURNING id",
        (pid, fid, kind, qn),
    ).fetchone()[0]


def test_symbol_kinds(tmp_db: Store) -> None:
    with tmp_db.write() as c:
        pid, fid = _file(c)
        for k in KINDS:
            _symbol(c, pid, fid, k, f"m.{k}")
    for bad in ("Function", "lambda", ""):
        with pytest.raises(error_types(), match="CHECK"), tmp_db.write() as c:
            _symbol(c, pid, fid, bad, f"m.bad{bad}")
    n = tmp_db.conn().execute("SELECT count(*) FROM code_elements").fetchone()[0]
    assert n == len(KINDS)


def test_edge_checks(tmp_db: Store) -> None:
    with tmp_db.write() as c:
        pid, fid = _file(c)
        sid = _symbol(c, pid, fid, "function", "m.f")
    insert = (
        "INSERT INTO call_graph(project_id, caller_id, callee_id, callee_name, line,"
        " resolved_by, needs_resolution) VALUES (?, ?, ?, 'f', 1, ?, ?)"
    )
    with tmp_db.write() as c:
        for by in ("scope", "import", "unique", "jedi"):
            c.execute(insert, (pid, sid, sid, by, 0))
        for need in (0, 1, 2):
            c.execute(insert, (pid, sid, None, None, need))
    for by, need in (("guess", 0), ("Scope", 0), (None, 3), (None, -1), (None, 1.5)):
        with pytest.raises(error_types(), match="CHECK"), tmp_db.write() as c:
            c.execute(insert, (pid, sid, None, by, need))
    assert tmp_db.conn().execute("SELECT count(*) FROM call_graph").fetchone()[0] == 7
