"""Call resolution: scope, imports, unique names, never a wrong edge; jedi for the rest."""

from __future__ import annotations

from pathlib import Path

from mira_ls.index import indexer
from mira_ls.store import code as cs
from tests.index_helpers import edge_map, edges, index, new_store, write_files

PY_FILES = {
    "pkg/__init__.py": "from .core import Engine, start\n",
    "pkg/core.py": """import os
import os.path as osp


def start():
    return helper() + len([])


def helper():
    def nested():
        return 1
    return nested()


class Engine:
    def run(self):
        return self.step() + Engine.build() + helper()

    def step(self):
        return os.getcwd() and osp.join("a")

    @classmethod
    def build(cls):
        return cls.step(None)

    def save(self, item):
        return item.save()
""",
    "pkg/util.py": """from . import core
from .core import helper as h
import pkg


def use():
    core.start()
    h()
    pkg.start()
    return pkg.Engine()


def typed():
    e = core.Engine()
    return e.run()


def make():
    return [core.Engine()][0]  # no rule of the index follows a subscript; jedi does


def inferred():
    return make().run()
""",
    "pkg/star.py": "from .core import *\n\n\ndef go():\n    return start()\n",
    "other.py": "def start():\n    return 0\n",
}


def test_python_resolution(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, PY_FILES)
    store = new_store(tmp_path)
    stats = index(store, root, jedi=True)
    pid = stats.project_id
    em = edge_map(store, pid)
    by = {(a, n): r for a, n, _, r in edges(store, pid)}
    assert em[("pkg.core.start", "helper")] == "pkg.core.helper"  # same module
    assert by[("pkg.core.start", "helper")] == "scope"
    assert em[("pkg.core.start", "len")] is None  # builtin: never a workspace symbol
    assert em[("pkg.core.helper", "nested")] == "pkg.core.helper.nested"  # nested def
    assert em[("pkg.core.Engine.run", "step")] == "pkg.core.Engine.step"  # self.
    assert em[("pkg.core.Engine.run", "build")] == "pkg.core.Engine.build"  # ClassName.
    assert em[("pkg.core.Engine.build", "step")] == "pkg.core.Engine.step"  # cls.
    assert em[("pkg.core.Engine.step", "getcwd")] is None  # external module
    assert em[("pkg.core.Engine.step", "join")] is None
    assert em[("pkg.core.Engine.save", "save")] is None  # unknown receiver: no guess
    assert em[("pkg.util.use", "start")] == "pkg.core.start"  # module alias (from . import core)
    assert by[("pkg.util.use", "start")] == "import"
    assert em[("pkg.util.use", "h")] == "pkg.core.helper"  # import alias
    assert em[("pkg.util.use", "Engine")] == "pkg.core.Engine"  # re-export via __init__
    assert em[("pkg.star.go", "start")] == "pkg.core.start"  # star import, not other.start
    # jedi has not run yet: the inferred call waits for it
    conn = store.conn()
    waiting = conn.execute(
        "SELECT count(*) FROM call_graph WHERE project_id = ? AND needs_resolution = 2", (pid,)
    ).fetchone()[0]
    assert waiting > 0
    # a constructor's instance: the method through the receiver's type, no jedi needed
    assert em[("pkg.util.typed", "run")] == "pkg.core.Engine.run"
    # an unannotated factory's subscripted result: only jedi can tell
    assert em[("pkg.util.inferred", "run")] is None
    n = indexer.resolve_python_with_jedi(store, pid, root)
    assert n >= 1
    em = edge_map(store, pid)
    by = {(a, n): r for a, n, _, r in edges(store, pid)}
    assert em[("pkg.util.inferred", "run")] == "pkg.core.Engine.run"
    assert by[("pkg.util.inferred", "run")] == "jedi"
    assert em[("pkg.core.Engine.save", "save")] is None  # still nothing to point at
    assert (
        conn.execute(
            "SELECT count(*) FROM call_graph WHERE project_id = ? AND needs_resolution <> 0", (pid,)
        ).fetchone()[0]
        == 0
    )


def test_jedi_pass_can_be_cancelled(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, PY_FILES)
    store = new_store(tmp_path)
    stats = index(store, root)
    assert indexer.resolve_python_with_jedi(store, stats.project_id, root, cancel=lambda: True) == 0


OTHER_FILES = {
    # Go: same package across files, package-qualified calls, method receivers
    "go.mod": "module example.com/app\n\ngo 1.22\n\nrequire github.com/pkg/errors v0.9.1\n",
    "main.go": 'package main\n\nimport (\n\t"fmt"\n\t"example.com/app/util"\n)\n\n'
    "func main() {\n\tfmt.Println(run())\n\tutil.Help()\n}\n",
    "run.go": "package main\n\nfunc run() int { return 1 }\n",
    "util/help.go": "package util\n\n// Help helps.\nfunc Help() {}\n",
    # C: unique global names, includes
    "c/main.c": '#include "lib.h"\n#include <stdio.h>\n'
    'int main(void) { printf("x"); return add(1); }\n',
    "c/lib.c": '#include "lib.h"\nint add(int a) { return a + 1; }\n',
    # Rust: Self::, self., module paths, use
    "src/lib.rs": "mod shapes;\nuse crate::shapes::area;\n\n"
    "pub fn total() -> i32 { area() + shapes::count() }\n",
    "src/shapes.rs": "pub struct Sq { s: i32 }\nimpl Sq {\n"
    "    pub fn new() -> Self { Self::zero() }\n"
    "    fn zero() -> Self { Sq { s: 0 } }\n    fn side(&self) -> i32 { self.get() }\n"
    "    fn get(&self) -> i32 { self.s }\n}\npub fn area() -> i32 { Sq::new().side() }\n"
    "pub fn count() -> i32 { 1 }\n",
    # TypeScript: relative imports, namespace imports, this.
    "web/lib.ts": "export function fmt(n: number): string { return String(n); }\n"
    "export class Box { open(): void { this.close(); }\n  close(): void {} }\n",
    "web/app.ts": 'import { fmt } from "./lib";\nimport * as lib from "./lib";\n'
    'import { z } from "zod";\n'
    "export function show(): string { z.string(); new lib.Box().open(); "
    "return fmt(1) + lib.fmt(2); }\n",
    # Java: this., same class, static call on a class
    "java/App.java": "class App {\n  void a() { this.b(); c(); Util.help(); }\n  void b() {}\n"
    "  void c() {}\n}\n",
    "java/Util.java": "class Util {\n  static void help() {}\n}\n",
    # C++: this->, namespace-qualified calls
    "cpp/w.cpp": "namespace n { void f() {}\nclass W { public: void a() { this->b(); n::f(); }\n"
    "  void b() {} }; }\n",
}


def test_resolution_in_other_languages(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, OTHER_FILES)
    store = new_store(tmp_path)
    stats = index(store, root)
    em = edge_map(store, stats.project_id)
    # Go
    assert em[("main.main", "run")] == "run.run"
    assert em[("main.main", "Help")] == "util.help.Help"
    assert em[("main.main", "Println")] is None
    # C
    assert em[("c.main.main", "add")] == "c.lib.add"
    assert em[("c.main.main", "printf")] is None
    # Rust
    assert em[("src.shapes.Sq.new", "zero")] == "src.shapes.Sq.zero"
    assert em[("src.shapes.Sq.side", "get")] == "src.shapes.Sq.get"
    assert em[("src.shapes.area", "new")] == "src.shapes.Sq.new"
    assert em[("src.shapes.area", "side")] is None  # method on a value of unknown type
    assert em[("src.lib.total", "area")] == "src.shapes.area"
    assert em[("src.lib.total", "count")] == "src.shapes.count"
    # TypeScript
    assert em[("web.app.show", "fmt")] == "web.lib.fmt"
    assert em[("web.lib.Box.open", "close")] == "web.lib.Box.close"
    assert em[("web.app.show", "string")] is None
    assert em[("web.app.show", "Box")] == "web.lib.Box"
    # Java
    assert em[("java.App.App.a", "b")] == "java.App.App.b"
    assert em[("java.App.App.a", "c")] == "java.App.App.c"
    assert em[("java.App.App.a", "help")] == "java.Util.Util.help"
    # C++
    assert em[("cpp.w.n.W.a", "b")] == "cpp.w.n.W.b"
    assert em[("cpp.w.n.W.a", "f")] == "cpp.w.n.f"
    summary = cs.index_summary(store.conn(), stats.project_id)
    assert summary["resolved"] + summary["unresolved"] == summary["edges"]
    assert set(summary["languages"]) == {"c", "cpp", "go", "java", "rust", "typescript"}


def test_ambiguous_names_stay_unresolved(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(
        root,
        {
            "a.c": "int dup(void) { return 1; }\n",
            "b.c": "int dup(void) { return 2; }\n",
            "main.c": "int main(void) { return dup(); }\n",
        },
    )
    store = new_store(tmp_path)
    stats = index(store, root)
    assert edge_map(store, stats.project_id)[("main.main", "dup")] is None


def test_jedi_reaches_the_project_copy_of_a_package_mira_ls_also_has(tmp_path: Path) -> None:
    """A project named like one of mira-ls's own installed packages (here httpx, which
    mira-ls installs): jedi's imports go to the project's copy, not mira-ls's."""
    import httpx  # noqa: F401  (installed beside mira-ls: the copy jedi must not use)

    root = tmp_path / "ws"
    write_files(
        root,
        {
            "src/httpx/__init__.py": "from .core import make\n",
            "src/httpx/core.py": (
                "class Conn:\n    def fetch_project_only(self):\n        return 1\n\n\n"
                "def make():\n    return Conn()\n"
            ),
            "tests/test_core.py": (
                "import httpx\n\n\ndef test_fetch():\n"
                "    return httpx.make().fetch_project_only()\n"
            ),
        },
    )
    store = new_store(tmp_path)
    stats = index(store, root, jedi=True)
    indexer.resolve_python_with_jedi(store, stats.project_id, root)
    em = edge_map(store, stats.project_id)
    assert (
        em[("tests.test_core.test_fetch", "fetch_project_only")]
        == "httpx.core.Conn.fetch_project_only"
    )


def test_jedi_sees_a_lib_layouts_packages(tmp_path: Path) -> None:
    """sqlalchemy's layout: the package in lib/ (not itself a package), imported by its
    own name from the tests; a lib/ that is a package stays one."""
    root = tmp_path / "ws"
    write_files(
        root,
        {
            "lib/shop/__init__.py": "from .core import make\n",
            "lib/shop/core.py": (
                "class Conn:\n    def fetch_lib_only(self):\n        return 1\n\n\n"
                "def make():\n    return [Conn()][0]\n"  # for jedi, not the index
            ),
            "test/test_core.py": (
                "import shop\n\n\ndef test_fetch():\n    return shop.make().fetch_lib_only()\n"
            ),
        },
    )
    store = new_store(tmp_path)
    stats = index(store, root, jedi=True)
    em = edge_map(store, stats.project_id)
    assert em[("test.test_core.test_fetch", "make")] == "lib.shop.core.make"  # the import
    assert em[("test.test_core.test_fetch", "fetch_lib_only")] is None  # the index cannot tell
    waiting = (
        store.conn()
        .execute(
            "SELECT needs_resolution, external FROM call_graph WHERE callee_name = 'fetch_lib_only'"
        )
        .fetchone()
    )
    assert waiting == (2, None)  # the project's own package: for jedi, not external
    indexer.resolve_python_with_jedi(store, stats.project_id, root)
    em = edge_map(store, stats.project_id)
    assert (
        em[("test.test_core.test_fetch", "fetch_lib_only")] == "lib.shop.core.Conn.fetch_lib_only"
    )


def test_a_lib_folder_that_is_a_package_keeps_its_name(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(
        root,
        {
            "lib/__init__.py": "",
            "lib/shop/__init__.py": "def make():\n    return 1\n",
            "main.py": "import shop\nimport lib.shop\n\n\ndef run():\n"
            "    shop.make()\n    return lib.shop.make()\n",
        },
    )
    store = new_store(tmp_path)
    stats = index(store, root, jedi=False)
    rows = (
        store.conn()
        .execute(
            "SELECT g.receiver, b.qualified_name, g.external FROM call_graph g"
            " LEFT JOIN code_elements b ON b.id = g.callee_id WHERE g.callee_name = 'make'"
            " AND g.project_id = ? ORDER BY g.line",
            (stats.project_id,),
        )
        .fetchall()
    )
    # 'import shop' is another package here (lib is a package of its own)
    assert [tuple(r) for r in rows] == [("shop", None, "shop"), ("lib.shop", "lib.shop.make", None)]
