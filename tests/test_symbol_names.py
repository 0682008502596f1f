"""symbol_names (migration 024) follows code_elements through every write: index, update of
one file, removal, deletion from disk, a project's deletion; and a database whose names have
no words yet (as migration 024 leaves them) answers the same and is filled by an index run."""

from __future__ import annotations

from pathlib import Path

from mira_ls.index import indexer
from mira_ls.store import Store
from mira_ls.store import code as cs
from tests.index_helpers import index, new_store, write_files
from tests.support.symbol_search_reference import search_symbols_reference

A = """def alpha_one():
    return 1


class Beta:
    def alpha_one(self):
        return 2

    def get_call_sites(self):
        return 3
"""
B = """def beta_only():
    return 4


def getCallSites():
    return 5
"""


def _names(store: Store) -> dict[tuple[int, str], tuple[str, int, int, str | None, str | None]]:
    return {
        (r[0], r[1]): tuple(r[2:])
        for r in store.conn().execute(
            "SELECT project_id, name, lower, len, symbols, initials, words FROM symbol_names"
        )
    }


def _expected(store: Store) -> dict[tuple[int, str], tuple[str, int, int, str | None, str | None]]:
    out: dict[tuple[int, str], tuple[str, int, int, str | None, str | None]] = {}
    for pid, name, low, n, count in store.conn().execute(
        "SELECT project_id, name, lower(name), length(name), count(*) FROM code_elements"
        " WHERE kind <> 'module' GROUP BY project_id, name"
    ):
        out[(pid, name)] = (low, n, count, *cs.name_words(name))
    return out


def test_the_table_follows_index_update_and_removal(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"a.py": A, "b.py": B})
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    names = _names(store)
    assert names == _expected(store)
    assert names[(pid, "alpha_one")][2] == 2  # the function and the method
    assert names[(pid, "get_call_sites")][3:] == ("gcs", "\ue000get\ue001call\ue002sites")
    assert (pid, "a") not in names  # modules are never answers

    # one definition of alpha_one goes: the count drops, the name stays
    write_files(root, {"a.py": A.replace("def alpha_one():\n    return 1\n", "X = 1\n")})
    indexer.update_file(store, pid, root, "a.py")
    assert _names(store) == _expected(store)
    assert _names(store)[(pid, "alpha_one")][2] == 1

    # a renamed definition: the old name is gone, the new one is searchable at once
    write_files(root, {"b.py": B.replace("beta_only", "gamma_only")})
    indexer.update_file(store, pid, root, "b.py")
    assert (pid, "beta_only") not in _names(store)
    assert _names(store) == _expected(store)
    conn = store.conn()
    assert [r.name for r in cs.search_symbols(conn, pid, "beta_o")] == []
    assert [r.name for r in cs.search_symbols(conn, pid, "gamma")] == ["gamma_only"]

    # the file deleted from disk and indexed again: its names are gone
    (root / "b.py").unlink()
    index(store, root)
    names = _names(store)
    assert {n for _, n in names} == {"alpha_one", "Beta", "get_call_sites"}
    assert names == _expected(store)
    assert cs.search_symbols(conn, pid, "gamma") == []
    assert [r.name for r in cs.search_symbols(conn, pid, "gcs")] == ["get_call_sites"]

    # removed through the incremental path
    indexer.remove_file(store, pid, "a.py")
    assert _names(store) == {}
    assert cs.search_symbols(conn, pid, "alpha") == []
    store.close()


def test_a_deleted_project_takes_its_names(tmp_path: Path) -> None:
    write_files(tmp_path / "one", {"a.py": A})
    write_files(tmp_path / "two", {"b.py": B})
    store = new_store(tmp_path)
    one = index(store, tmp_path / "one").project_id
    two = index(store, tmp_path / "two").project_id
    assert {p for p, _ in _names(store)} == {one, two}
    with store.write() as c:
        c.execute("DELETE FROM projects WHERE id = ?", (one,))
    assert {p for p, _ in _names(store)} == {two}
    assert _names(store) == _expected(store)
    store.close()


def test_names_without_words_answer_the_same_until_an_index_fills_them(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"a.py": A, "b.py": B, "_private.py": "def _get_call_x():\n    pass\n"})
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    conn = store.conn()
    queries = ["gcs", "getcs", "gecasi", "alpha", "bo", "al_o", "get", "_gcx", "gcx", "sites"]
    before = {q: [r.id for r in cs.search_symbols(conn, pid, q)] for q in queries}
    assert before == {q: [r.id for r in search_symbols_reference(conn, pid, q)] for q in queries}
    with store.write() as c:  # as migration 024 leaves an existing database
        c.execute("UPDATE symbol_names SET initials = NULL, words = NULL")
    assert {q: [r.id for r in cs.search_symbols(conn, pid, q)] for q in queries} == before
    assert {q: [r.id for r in cs.search_symbols(conn, None, q)] for q in queries} == before
    index(store, root)  # nothing changed on disk: the run only fills the words
    assert _names(store) == _expected(store)
    assert {q: [r.id for r in cs.search_symbols(conn, pid, q)] for q in queries} == before
    store.close()


def test_a_query_longer_than_eight_letters_matches_initials_too(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"a.py": A, "b.py": B})
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    conn = store.conn()
    for q in ("getcallsites", "getcasites", "gecasites", "getcallsit", "get_call_sites"):
        got = [r.name for r in cs.search_symbols(conn, pid, q)]
        assert got == [r.name for r in search_symbols_reference(conn, pid, q)], q
        assert set(got) >= ({"get_call_sites", "getCallSites"} if q.isalnum() else set()), q
    store.close()


def test_a_renamed_row_moves_its_count(tmp_path: Path) -> None:
    """No store path renames a symbol today; the triggers keep the table right if one does."""
    root = tmp_path / "ws"
    write_files(root, {"a.py": A})
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    with store.write() as c:
        c.execute("UPDATE code_elements SET name = 'omega_call' WHERE name = 'get_call_sites'")
        c.execute("UPDATE code_elements SET kind = 'module' WHERE name = 'Beta'")
    names = _names(store)
    assert (pid, "get_call_sites") not in names and (pid, "Beta") not in names
    assert names[(pid, "omega_call")][2:] == (1, None, None)  # words come with the next index
    conn = store.conn()
    assert [r.name for r in cs.search_symbols(conn, pid, "oc")] == ["omega_call"]
    with store.write() as c:
        assert cs.fill_symbol_words(c, pid) == 1
    assert _names(store)[(pid, "omega_call")][3:] == cs.name_words("omega_call")
    store.close()


def test_the_names_a_search_keeps_in_memory_follow_every_change(tmp_path: Path) -> None:
    """The search holds a project's names in memory between calls, kept up to date from the
    log of migration 041: a name that comes, goes or is renamed shows at the next search,
    also after the log rows it has not read were pruned."""
    root = tmp_path / "ws"
    write_files(root, {"a.py": A, "b.py": B})
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    conn = store.conn()

    def found(q: str) -> list[str]:
        got = [r.name for r in cs.search_symbols(conn, pid, q)]
        assert got == [r.name for r in search_symbols_reference(conn, pid, q)], q
        return got

    assert found("gmon") == [] and found("btol") == ["beta_only"]
    write_files(root, {"b.py": B.replace("beta_only", "gamma_only")})
    indexer.update_file(store, pid, root, "b.py")
    assert found("gmon") == ["gamma_only"] and found("btol") == []
    with store.write() as c:  # a rename by the triggers alone
        c.execute("UPDATE code_elements SET name = 'gamma_twin' WHERE name = 'getCallSites'")
    assert found("gmtw") == ["gamma_twin"] and found("gmon") == ["gamma_only"]
    indexer.remove_file(store, pid, "b.py")
    assert found("gmon") == [] and found("gmtw") == []
    write_files(root, {"c.py": "def delta_nine():\n    pass\n"})
    indexer.update_file(store, pid, root, "c.py")
    with store.write() as c:
        cs.prune_symbol_names_log(c, pid, keep=0)
    assert found("dtnn") == ["delta_nine"] and found("alon") == ["alpha_one", "alpha_one"]
    write_files(root, {"d.py": "def epsilon_ten():\n    pass\n"})
    index(store, root)  # a full index logs "read them all again", not each name
    assert found("epsten") == ["epsilon_ten"] and found("dtnn") == ["delta_nine"]
    store.close()
