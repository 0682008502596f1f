"""Incremental updates keep ids stable and touch only what changed."""

from __future__ import annotations

import os
from pathlib import Path

from mira_ls.config import IndexSettings
from mira_ls.index import indexer
from mira_ls.store import code as cs
from tests.index_helpers import edge_map, index, new_store, sym, write_files
from tests.support.repo import Repo

CORE = """def helper(x):
    return x * 2


def other():
    return 0


class Greeter:
    def greet(self, name):
        return helper(name) + self.suffix()

    def suffix(self):
        return "!"
"""

APP = """from pkg.core import helper, other


def run():
    return helper(3) + other()
"""


def setup(tmp_path: Path):
    root = tmp_path / "ws"
    repo = Repo(root)
    repo.commit("init", {"pkg/__init__.py": "", "pkg/core.py": CORE, "pkg/app.py": APP})
    store = new_store(tmp_path)
    stats = index(store, root)
    return root, store, stats.project_id


def ids(store, pid) -> dict[str, int]:
    return {
        r[0]: r[1]
        for r in store.conn().execute(
            "SELECT qualified_name || ':' || ordinal, id FROM code_elements WHERE project_id = ?",
            (pid,),
        )
    }


def test_unchanged_file_costs_one_hash(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    before = ids(store, pid)
    upd = indexer.update_file(store, pid, root, "pkg/core.py")
    assert upd.status == "unchanged"
    assert ids(store, pid) == before


def test_unchanged_symbol_keeps_row_and_id_even_when_moved(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    before = ids(store, pid)
    suffix_before = sym(store, pid, "pkg.core.Greeter.suffix")
    # a blank line at the top moves everything down without changing any symbol's bytes
    new = "\n\n" + CORE
    (root / "pkg/core.py").write_text(new)
    upd = indexer.update_file(store, pid, root, "pkg/core.py")
    # only the module's bytes changed; helper, other, Greeter, greet, suffix did not
    assert (upd.body_changed, upd.signature_changed, upd.added, upd.removed) == (1, 0, 0, 0)
    assert upd.unchanged == 5
    assert ids(store, pid) == before
    suffix = sym(store, pid, "pkg.core.Greeter.suffix")
    assert suffix.content_hash == suffix_before.content_hash
    assert suffix.start_line == suffix_before.start_line + 2
    # the edges moved with their caller
    greet = sym(store, pid, "pkg.core.Greeter.greet")
    lines = [s.line for s in cs.callees(store.conn(), greet.id)]
    assert lines == [greet.start_line + 1, greet.start_line + 1]


def test_body_change_updates_row_and_outgoing_edges_only(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    before = ids(store, pid)
    helper_before = sym(store, pid, "pkg.core.helper")
    greet_before = sym(store, pid, "pkg.core.Greeter.greet")
    new = CORE.replace("return helper(name) + self.suffix()", "return self.suffix() + other()")
    (root / "pkg/core.py").write_text(new)
    upd = indexer.update_file(store, pid, root, "pkg/core.py")
    assert upd.body_changed == 3  # greet, its class Greeter, and the module
    assert (upd.signature_changed, upd.added, upd.removed) == (0, 0, 0)
    assert ids(store, pid) == before
    greet = sym(store, pid, "pkg.core.Greeter.greet")
    assert greet.content_hash != greet_before.content_hash
    assert greet.signature_hash == greet_before.signature_hash
    assert greet_before.id in upd.changed_symbol_ids
    assert greet_before.content_hash in upd.changed_content_hashes
    assert sym(store, pid, "pkg.core.helper") == helper_before  # untouched row
    em = edge_map(store, pid)
    assert em[("pkg.core.Greeter.greet", "other")] == "pkg.core.other"
    assert ("pkg.core.Greeter.greet", "helper") not in em
    callers = [s.symbol.qualified_name for s in cs.callers(store.conn(), helper_before.id)]
    assert callers == ["pkg.app.run"]


def test_signature_change_re_resolves_callers(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    helper_before = sym(store, pid, "pkg.core.helper")
    conn = store.conn()
    # callers' edges in another file point at helper by id
    run = sym(store, pid, "pkg.app.run")
    edge_ids_before = {
        r[0] for r in conn.execute("SELECT id FROM call_graph WHERE caller_id = ?", (run.id,))
    }
    (root / "pkg/core.py").write_text(CORE.replace("def helper(x):", "def helper(x, y=1):"))
    upd = indexer.update_file(store, pid, root, "pkg/core.py")
    assert upd.signature_changed == 1 and upd.added == 0 and upd.removed == 0
    helper = sym(store, pid, "pkg.core.helper")
    assert helper.id == helper_before.id
    assert helper.signature_hash != helper_before.signature_hash
    assert helper.signature == "def helper(x, y=1)"
    # callers' edges were re-resolved (same target, nothing left pending)
    rows = conn.execute(
        "SELECT id, callee_id, needs_resolution, resolved_by FROM call_graph WHERE caller_id = ?"
        " AND callee_name = 'helper'",
        (run.id,),
    ).fetchall()
    assert [(r[1], r[2], r[3]) for r in rows] == [(helper.id, 0, "import")]
    assert {r[0] for r in rows} <= edge_ids_before  # the caller's edge rows themselves stay


def test_removed_symbol_deletes_row_and_edges_and_unresolves_callers(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    other = sym(store, pid, "pkg.core.other")
    (root / "pkg/core.py").write_text(CORE.replace("def other():\n    return 0\n\n\n", ""))
    upd = indexer.update_file(store, pid, root, "pkg/core.py")
    assert upd.removed == 1 and other.id in upd.changed_symbol_ids
    conn = store.conn()
    assert cs.get_symbol(conn, other.id) is None
    em = edge_map(store, pid)
    assert em[("pkg.app.run", "other")] is None  # kept by name, unresolved
    assert em[("pkg.app.run", "helper")] == "pkg.core.helper"
    # the symbol comes back: the unresolved caller finds it again
    (root / "pkg/core.py").write_text(CORE)
    upd = indexer.update_file(store, pid, root, "pkg/core.py")
    assert upd.added == 1
    assert edge_map(store, pid)[("pkg.app.run", "other")] == "pkg.core.other"


def test_added_local_helper_takes_over_calls(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    (root / "pkg/app.py").write_text(APP + "\n\ndef helper(x):\n    return x\n")
    upd = indexer.update_file(store, pid, root, "pkg/app.py")
    assert upd.added == 1
    # Python: the later module-level definition wins over the import
    assert edge_map(store, pid)[("pkg.app.run", "helper")] == "pkg.app.helper"


def test_an_added_function_leaves_the_edges_that_do_not_name_it(tmp_path: Path) -> None:
    """Adding a definition re-places only the calls that name it (as the callee, in the
    receiver or its type); every other edge of the file keeps its row, resolved as it was."""
    root, store, pid = setup(tmp_path)

    def edge_rows() -> dict[tuple[str, str], tuple[int, int | None]]:
        return {
            (r[0], r[1]): (r[2], r[3])
            for r in store.conn().execute(
                "SELECT e.qualified_name, g.callee_name, g.id, g.callee_id FROM call_graph g"
                " JOIN code_elements e ON e.id = g.caller_id WHERE e.file_path = 'pkg/core.py'"
            )
        }

    before = edge_rows()
    added = "\n\nclass Suffixer:\n    def make(self):\n        return 1\n"
    added += "\n\ndef use():\n    return Suffixer().make()\n"
    (root / "pkg/core.py").write_text(CORE + added)
    upd = indexer.update_file(store, pid, root, "pkg/core.py")
    assert upd.added == 3 and upd.removed == 0
    after = edge_rows()
    assert {k: v for k, v in after.items() if k in before} == before  # same rows, same targets
    edges = edge_map(store, pid)
    assert edges[("pkg.core.use", "make")] == "pkg.core.Suffixer.make"


def test_an_added_method_that_types_a_receiver_re_places_its_calls(tmp_path: Path) -> None:
    """A new definition can give another call's receiver a type (``self.thing = Engine()``
    in a new method): that call is placed again though it names nothing new, and the
    edges are those of a full index of the same files."""
    holder = (
        "class Engine:\n    def start(self):\n        return 1\n\n\n"
        "class Motor:\n    def start(self):\n        return 2\n\n\n"
        "class Holder:\n    def go(self):\n        return self.thing.start()\n"
    )
    added = "\n    def setup(self):\n        self.thing = Engine()\n"
    root = tmp_path / "ws"
    write_files(root, {"pkg/__init__.py": "", "pkg/h.py": holder})
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    write_files(root, {"pkg/h.py": holder + added})
    indexer.update_file(store, pid, root, "pkg/h.py")
    incremental = edge_map(store, pid)
    assert incremental[("pkg.h.Holder.go", "start")] == "pkg.h.Engine.start"
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    store2 = new_store(fresh)
    assert edge_map(store2, index(store2, root).project_id) == incremental


def test_file_delete_and_rename(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    before = ids(store, pid)
    os.rename(root / "pkg/app.py", root / "pkg/main.py")
    upd = indexer.rename_file(store, pid, "pkg/app.py", "pkg/main.py")
    assert upd.status in ("unchanged", "indexed")
    after = ids(store, pid)
    assert after["pkg.main.run:0"] == before["pkg.app.run:0"]
    assert "pkg.app.run:0" not in after
    run = sym(store, pid, "pkg.main.run")
    assert run.file_path == "pkg/main.py"
    assert cs.get_file(store.conn(), pid, "pkg/app.py") is None
    assert edge_map(store, pid)[("pkg.main.run", "helper")] == "pkg.core.helper"
    # delete core: callers become unresolved, rows are gone
    helper = sym(store, pid, "pkg.core.helper")
    (root / "pkg/core.py").unlink()
    upd = indexer.remove_file(store, pid, "pkg/core.py")
    assert upd.status == "removed" and helper.id in upd.changed_symbol_ids
    assert cs.get_symbol(store.conn(), helper.id) is None
    assert edge_map(store, pid)[("pkg.main.run", "helper")] is None
    # update_file on a vanished path removes it too
    os.remove(root / "pkg/main.py")
    upd = indexer.update_file(store, pid, root, "pkg/main.py")
    assert upd.status == "removed"
    assert cs.symbols_in_file(store.conn(), pid, "pkg/main.py") == []


def test_reindex_is_incremental_and_catches_outside_changes(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    before = ids(store, pid)
    stats = index(store, root)
    assert stats.parsed == 0 and stats.unchanged == 3
    assert ids(store, pid) == before
    # changed outside the editor: a scan finds it, the catch-up index applies it
    (root / "pkg/core.py").write_text(CORE.replace("return 0", "return 42"))
    (root / "pkg/extra.py").write_text("def extra():\n    return 1\n")
    (root / "pkg/app.py").unlink()
    assert indexer.scan_changes(store, pid, root) == ["pkg/app.py", "pkg/core.py", "pkg/extra.py"]
    stats = index(store, root)
    assert (stats.parsed, stats.removed) == (2, 1)
    after = ids(store, pid)
    assert after["pkg.core.other:0"] == before["pkg.core.other:0"]
    assert "pkg.extra.extra:0" in after and "pkg.app.run:0" not in after
    assert indexer.scan_changes(store, pid, root) == []
    # a touch without a change is not a change
    st = os.stat(root / "pkg/core.py")
    os.utime(root / "pkg/core.py", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert indexer.scan_changes(store, pid, root) == []


def test_update_with_buffer_bytes_and_invalidation_hook(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    greet = sym(store, pid, "pkg.core.Greeter.greet")
    data = CORE.replace("self.suffix()", "self.suffix() + '?'").encode()
    (root / "pkg/core.py").write_bytes(data)
    upd = indexer.update_file(store, pid, root, "pkg/core.py", data, settings=IndexSettings())
    assert greet.id in upd.changed_symbol_ids
    assert upd.body_changed == 3
    assert indexer.update_file(store, pid, root, "pkg/core.py", data).status == "unchanged"


def test_cancelled_index_loses_no_calls_and_resumes(tmp_path: Path) -> None:
    files = {
        f"pkg/m{i:03d}.py": f"from pkg.m{(i + 1) % 100:03d} import f{(i + 1) % 100}\n\n\n"
        f"def f{i}():\n    return f{(i + 1) % 100}() + g{i}()\n\n\ndef g{i}():\n    return 1\n"
        for i in range(100)
    }
    files["pkg/__init__.py"] = ""
    root = tmp_path / "ws"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    store = new_store(tmp_path)
    seen: list[str] = []

    def cancel() -> bool:
        return any(m.startswith("parsed") for m in seen)

    stats = indexer.index_workspace(
        store,
        root,
        IndexSettings(workers=1),
        progress=lambda d, t, m: seen.append(m),
        cancel=cancel,
    )
    assert stats.cancelled and 0 < stats.parsed < 101
    first = stats.parsed
    conn = store.conn()
    pending = conn.execute("SELECT count(*) FROM call_graph WHERE needs_resolution = 1").fetchone()[
        0
    ]
    assert pending > 0  # cross-file calls kept, waiting
    stats = index(store, root)
    assert not stats.cancelled
    assert (stats.parsed, stats.unchanged) == (101 - first, first)
    assert (stats.edges, stats.resolved) == (200, 200)
    assert (
        conn.execute("SELECT count(*) FROM call_graph WHERE needs_resolution <> 0").fetchone()[0]
        == 0
    )


def test_parse_cache_gives_the_same_rows_as_a_full_parse(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    cache = indexer.ParseCache(size=2)
    text = CORE
    for k in range(5):
        text = text.replace("return x * 2", f"return x * 2 + {k}", 1) if k else text + "\n"
        (root / "pkg/core.py").write_text(text)
        indexer.update_file(store, pid, root, "pkg/core.py", text.encode(), cache=cache)
    assert cache.get(pid, "pkg/core.py") is not None
    cached_rows = [
        (s.qualified_name, s.content_hash, s.start_line, s.end_line, s.signature_hash)
        for s in cs.symbols_in_file(store.conn(), pid, "pkg/core.py")
    ]
    fresh = new_store(tmp_path / "fresh")
    stats = index(fresh, root)
    fresh_rows = [
        (s.qualified_name, s.content_hash, s.start_line, s.end_line, s.signature_hash)
        for s in cs.symbols_in_file(fresh.conn(), stats.project_id, "pkg/core.py")
    ]
    assert cached_rows == fresh_rows
    assert edge_map(store, pid) == edge_map(fresh, stats.project_id)


def test_index_cancelled_while_resolving_keeps_calls_pending(tmp_path: Path) -> None:
    """A cancel after every file is parsed (parser processes resolving, or this process):
    the calls not yet resolved are stored pending, and the next run resolves them."""
    files = {
        f"pkg/m{i:03d}.py": f"from pkg.m{(i + 1) % 80:03d} import f{(i + 1) % 80}\n\n\n"
        f"def f{i}():\n    return f{(i + 1) % 80}() + g{i}()\n\n\ndef g{i}():\n    return 1\n"
        for i in range(80)
    }
    files["pkg/__init__.py"] = ""
    root = tmp_path / "ws"
    write_files(root, files)
    for workers in (2, 1):
        store = new_store(tmp_path / f"w{workers}")
        seen: list[str] = []
        stats = indexer.index_workspace(
            store,
            root,
            IndexSettings(workers=workers),
            progress=lambda d, t, m, seen=seen: seen.append(m),
            cancel=lambda seen=seen: "resolving calls" in seen,
        )
        assert stats.cancelled and stats.parsed == 81
        assert (stats.edges, stats.resolved) == (160, 80)  # the local calls only
        conn = store.conn()
        pending = "SELECT count(*) FROM call_graph WHERE needs_resolution = 1"
        assert conn.execute(pending).fetchone()[0] == 80
        assert conn.execute("SELECT last_indexed_at FROM projects").fetchone()[0] is None
        stats = index(store, root)
        assert not stats.cancelled and stats.unchanged == 81
        assert (stats.edges, stats.resolved) == (160, 160)
        assert conn.execute(pending).fetchone()[0] == 0


def test_a_new_file_picks_up_the_calls_naming_its_definitions(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    # app.py imports from a module that does not exist yet, and calls a method of a class
    # that module will define, through a typed receiver
    (root / "pkg/app.py").write_text(
        APP
        + "\n\nfrom pkg.extra import Extra, late\n\n\ndef later():\n"
        + "    e: Extra = make()\n    e.shine()\n    return late()\n"
    )
    indexer.update_file(store, pid, root, "pkg/app.py")
    em = edge_map(store, pid)
    assert em[("pkg.app.later", "late")] is None
    assert em[("pkg.app.later", "shine")] is None
    # the new file is saved: the calls naming its definitions resolve to them
    (root / "pkg/extra.py").write_text(
        "class Extra:\n    def shine(self):\n        return 1\n\n\ndef late():\n    return 2\n"
    )
    upd = indexer.update_file(store, pid, root, "pkg/extra.py")
    assert upd.added == 4  # module, class, method, function
    em = edge_map(store, pid)
    assert em[("pkg.app.later", "late")] == "pkg.extra.late"
    assert em[("pkg.app.later", "shine")] == "pkg.extra.Extra.shine"
    # an unrelated same-named method elsewhere is not a caller of the new one
    assert em[("pkg.core.Greeter.greet", "suffix")] == "pkg.core.Greeter.suffix"


def test_a_new_file_does_not_take_calls_it_does_not_define(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    (root / "pkg/app.py").write_text(APP + "\n\ndef later():\n    return missing()\n")
    indexer.update_file(store, pid, root, "pkg/app.py")
    (root / "pkg/extra.py").write_text("def present():\n    return 2\n")
    indexer.update_file(store, pid, root, "pkg/extra.py")
    assert edge_map(store, pid)[("pkg.app.later", "missing")] is None


def test_a_catch_up_index_with_a_new_file_resolves_the_calls_naming_it(tmp_path: Path) -> None:
    root, store, pid = setup(tmp_path)
    (root / "pkg/app.py").write_text(
        APP + "\n\nfrom pkg.extra import late\n\n\ndef later():\n    return late()\n"
    )
    index(store, root)
    assert edge_map(store, pid)[("pkg.app.later", "late")] is None
    (root / "pkg/extra.py").write_text("def late():\n    return 2\n")
    index(store, root)  # only the new file is parsed
    assert edge_map(store, pid)[("pkg.app.later", "late")] == "pkg.extra.late"
