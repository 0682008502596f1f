"""Store queries the features use, the CLI on the same database, and the parser pool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mira_ls.index import indexer
from mira_ls.store import code as cs
from mira_ls.store.invalidation import invalidate_symbols
from tests.index_helpers import edges, index, new_store, sym, write_files
from tests.support import cli as support_cli

NAMES = """def get_call_sites():
    return callSiteCount()


def callSiteCount():
    return 1


def gcs():
    return get_call_sites()


def GetCallSites():
    return 0


def xgcsx():
    return 0


def recall_sites():
    return get_call_sites()
"""


def test_search_ranking(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"m.py": NAMES})
    store = new_store(tmp_path)
    stats = index(store, root)
    conn = store.conn()
    names = [r.name for r in cs.search_symbols(conn, stats.project_id, "gcs")]
    # exact > word-boundary/camelCase initials > substring > fuzzy
    assert names[0] == "gcs"
    assert set(names[1:3]) == {"get_call_sites", "GetCallSites"}
    assert names[3] == "xgcsx"
    names = [r.name for r in cs.search_symbols(conn, stats.project_id, "call")]
    assert names[0] == "callSiteCount"  # prefix (case-insensitive)
    assert names.index("get_call_sites") < names.index("recall_sites")  # word start > substring
    assert [r.name for r in cs.search_symbols(conn, stats.project_id, "GETCALLSITES")] == [
        "GetCallSites",
        "get_call_sites",
    ]
    assert cs.search_symbols(conn, stats.project_id, "zzz") == []
    assert [r.qualified_name for r in cs.search_symbols(conn, None, "m.gcs")] == ["m.gcs"]
    assert cs.search_symbols(conn, stats.project_id, "  ") == []


def test_callers_callees_counts_and_summary(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"m.py": NAMES})
    store = new_store(tmp_path)
    stats = index(store, root)
    conn = store.conn()
    pid = stats.project_id
    target = sym(store, pid, "m.get_call_sites")
    callers = cs.callers(conn, target.id)
    assert sorted(c.symbol.name for c in callers) == ["gcs", "recall_sites"]
    assert all(c.callee_name == "get_call_sites" and c.file_path == "m.py" for c in callers)
    site = next(c for c in callers if c.symbol.name == "gcs")
    assert (site.line, site.col) == (10, 11)
    out = cs.callees(conn, target.id)
    assert [(c.symbol.name if c.symbol else None, c.callee_name) for c in out] == [
        ("callSiteCount", "callSiteCount"),
    ]
    assert cs.caller_counts(conn, [target.id, sym(store, pid, "m.xgcsx").id]) == {target.id: 2}
    assert cs.callee_counts(conn, [target.id]) == {target.id: 1}
    assert cs.callee_split(conn, target.id) == (1, 0)
    assert [r.qualified_name for r in cs.find_by_name(conn, pid, "gcs")] == ["m.gcs"]
    assert [r.qualified_name for r in cs.find_by_name(conn, pid, "m.gcs")] == ["m.gcs"]
    summary = cs.index_summary(conn, pid)
    assert summary == {
        "files": 1,
        "symbols": 7,
        "edges": 3,
        "resolved": 3,
        "unresolved": 0,
        "languages": {"python": {"files": 1, "symbols": 7}},
    }


def test_changed_symbols_invalidate_their_cache_rows(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"m.py": NAMES})
    store = new_store(tmp_path)
    stats = index(store, root)
    pid = stats.project_id
    gcs, xg = sym(store, pid, "m.gcs"), sym(store, pid, "m.xgcsx")
    with store.write() as conn:
        for s_ in (gcs, xg):
            conn.execute(
                "INSERT INTO semantic_analysis_cache(symbol_id, content_hash, result)"
                " VALUES (?, ?, '{}')",
                (s_.id, s_.content_hash),
            )
            conn.execute(
                "INSERT INTO pattern_validation_cache(symbol_id, pattern_name, content_hash,"
                " is_valid) VALUES (?, 'factory', ?, 1)",
                (s_.id, s_.content_hash),
            )

    def cached() -> set[tuple[str, int]]:
        conn = store.conn()
        return {
            (t, r[0])
            for t in ("semantic_analysis_cache", "pattern_validation_cache")
            for r in conn.execute(f"SELECT symbol_id FROM {t}")
        }

    assert cached() == {
        (t, i)
        for t in ("semantic_analysis_cache", "pattern_validation_cache")
        for i in (gcs.id, xg.id)
    }
    (root / "m.py").write_text(
        NAMES.replace(
            "return get_call_sites()\n\n\ndef GetCallSites",
            "return get_call_sites() + 1\n\n\ndef GetCallSites",
        )
    )
    upd = indexer.update_file(store, pid, root, "m.py")
    assert gcs.id in upd.changed_symbol_ids and xg.id not in upd.changed_symbol_ids
    assert cached() == {("semantic_analysis_cache", xg.id), ("pattern_validation_cache", xg.id)}
    with store.write() as conn:
        assert invalidate_symbols(conn, [], [xg.content_hash]) == 2
    assert cached() == set()


def run_cli(*args: str, db: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return support_cli.run_cli(*args, env={"MIRA_DB": str(db)}, cwd=cwd)


def test_cli_index_symbols_callers(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"m.py": NAMES, "lib.rs": "fn a() { b() }\nfn b() {}\n"})
    db = tmp_path / "cli.db"
    out = run_cli("index", str(root), "--json", db=db)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {
        "files",
        "symbols",
        "edges",
        "resolved",
        "external",
        "unresolved",
        "seconds",
        "languages",
    }
    assert data["files"] == 2 and data["edges"] == 4 and data["resolved"] == 4
    assert data["external"] == 0 and data["unresolved"] == 0
    assert data["languages"] == {
        "python": {"files": 1, "symbols": 7},
        "rust": {"files": 1, "symbols": 3},
    }
    again = run_cli("index", str(root), "--quiet", db=db)
    assert again.returncode == 0 and again.stdout.startswith("2 files, 10 symbols, 4 call edges")
    out = run_cli("symbols", "gcs", "--json", "--limit", "2", db=db, cwd=root)
    assert [s["name"] for s in json.loads(out.stdout)] == ["gcs", "GetCallSites"]
    out = run_cli("symbols", "gcs", db=db, cwd=root)
    assert out.stdout.splitlines()[0].split() == ["m.py:9:5", "function", "m.gcs"]
    out = run_cli("callers", "get_call_sites", "--json", "--root", str(root), db=db)
    got = json.loads(out.stdout)
    assert [c["caller"] for c in got[0]["callers"]] == ["m.gcs", "m.recall_sites"]
    assert got[0]["callers"][0] == {
        "path": "m.py",
        "line": 10,
        "col": 12,
        "caller": "m.gcs",
        "resolved_by": "scope",
    }
    out = run_cli("callers", "nothing_like_this", "--root", str(root), db=db)
    assert out.returncode == 1 and "no symbol named" in out.stderr
    out = run_cli("index", str(tmp_path / "missing"), db=db)
    assert out.returncode == 1 and "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_cli_index_says_what_it_left_out_and_why(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"small.py": "def s():\n    pass\n", "big.py": "x = 1\n" * 400})
    (root / "blob.py").write_bytes(b"\x00\x01binary" * 50)
    env_out = subprocess.run(
        [sys.executable, "-m", "mira_ls", "index", str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "MIRA_DB": str(tmp_path / "t.db"), "MIRA_INDEX_MAX_FILE_BYTES": "1000"},
        timeout=120,
    )
    assert env_out.returncode == 0, env_out.stderr
    assert "skipped: 1 binary, 1 over index.maxFileBytes" in env_out.stderr
    assert env_out.stdout.startswith("1 files, ")


def test_process_pool_gives_the_same_index(tmp_path: Path) -> None:
    files = {
        f"pkg/m{i}.py": f"from pkg.m{(i + 1) % 60} import f{(i + 1) % 60}\n\n\n"
        f"def f{i}():\n    return f{(i + 1) % 60}()\n"
        for i in range(60)
    }
    files["pkg/__init__.py"] = ""
    root = tmp_path / "ws"
    write_files(root, files)
    pooled = new_store(tmp_path / "a")
    inline = new_store(tmp_path / "b")
    progress: list[tuple[int, int]] = []
    from mira_ls.config import IndexSettings

    s1 = indexer.index_workspace(
        pooled, root, IndexSettings(workers=2), progress=lambda d, t, m: progress.append((d, t))
    )
    s2 = index(inline, root, workers=1)
    assert s1.as_json() | {"seconds": 0} == s2.as_json() | {"seconds": 0}
    assert s1.resolved == 60 and s1.files == 61
    assert edges(pooled, s1.project_id) == edges(inline, s2.project_id)
    assert progress[-1] == (61, 61)


def test_pool_assigns_ids_in_listing_order(tmp_path: Path) -> None:
    """Results are taken in listing order, whichever worker finishes first: the ids (and so
    which of two same-named definitions resolution prefers) match an inline index."""
    big = "".join(f"def g{k}(x):\n    return h(x) + {k}\n\n\n" for k in range(300))
    files = {
        f"a{i:03}.py": (big if i < 64 else "") + f"def f{i}():\n    return 1\n" for i in range(260)
    }
    root = tmp_path / "ws"
    write_files(root, files)
    from mira_ls.config import IndexSettings

    pooled = new_store(tmp_path / "a")
    inline = new_store(tmp_path / "b")
    s1 = indexer.index_workspace(pooled, root, IndexSettings(workers=2))
    s2 = index(inline, root, workers=1)
    assert s1.workers == 2 and s2.workers == 0
    q = "SELECT id, file_path, qualified_name FROM code_elements ORDER BY id"
    rows = pooled.conn().execute(q).fetchall()
    assert rows == inline.conn().execute(q).fetchall()
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
