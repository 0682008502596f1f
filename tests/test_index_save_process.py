"""The save indexer's child process: a save re-indexed there is stored as the server's own
process would store it, and a child that died is replaced by the next save."""

from __future__ import annotations

from pathlib import Path

from mira_ls.config import IndexSettings
from mira_ls.index.save_process import SaveProcess
from tests.index_helpers import index, new_store, write_files


def _names(store: object, pid: int) -> set[str]:
    conn = store.conn()  # type: ignore[attr-defined]
    return {
        r[0]
        for r in conn.execute(
            "SELECT qualified_name FROM code_elements WHERE project_id = ?", (pid,)
        )
    }


def test_a_save_is_indexed_in_the_child_and_a_dead_child_is_replaced(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"app.py": "def one():\n    return 1\n"})
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    saves = SaveProcess(store.path)
    settings = IndexSettings()
    try:
        saves.edited(pid, root, "app.py", settings)  # starts it and parses ahead
        (root / "app.py").write_text("def one():\n    return 1\n\n\ndef two():\n    return one()\n")
        upd = saves.update(pid, root, "app.py", settings)
        assert upd is not None and upd.status == "indexed" and upd.added == 1
        assert {"app.one", "app.two"} <= _names(store, pid)
        edge = (
            "SELECT b.qualified_name FROM call_graph g JOIN code_elements a ON a.id = g.caller_id"
            " JOIN code_elements b ON b.id = g.callee_id WHERE a.qualified_name = 'app.two'"
        )
        assert store.conn().execute(edge).fetchall() == [("app.one",)]

        saves._proc.kill()  # the child dies between two saves
        saves._proc.join(5)
        (root / "app.py").write_text("def three():\n    return 3\n")
        upd = saves.update(pid, root, "app.py", settings)  # a new child, a full parse
        assert upd is not None and upd.status == "indexed"
        assert "app.three" in _names(store, pid) and "app.two" not in _names(store, pid)
    finally:
        saves.stop()
