"""Python method calls resolved through their receiver's type (issue 15), on small real
projects: each rule with a case it resolves and one it must not (a same-named method of an
unrelated class is never a caller)."""

from __future__ import annotations

import os
from pathlib import Path

from mira_ls.index import indexer
from mira_ls.index.resolve_external import CalleeCounts, callee_counts
from mira_ls.store import Store
from tests.index_helpers import index, new_store, write_files

APP = """\
from typing import Optional, TYPE_CHECKING

if TYPE_CHECKING:
    from .client import Client


class Base:
    def setup(self):
        return 1

    def run(self):
        return self.setup()

    def make_client(self) -> "Client":
        from .client import Client
        return Client(self)


class App(Base):
    def __init__(self):
        self.client = self.make_client()
        self.other = Unrelated()

    def route(self, rule):
        def deco(f):
            return f
        return deco

    def setup(self):
        return super().setup()

    def before(self, f):
        return f

    def go(self):
        return self.other.route("/o")


class Unrelated:
    def route(self, rule):
        return rule

    def get(self):
        return None
"""

CLIENT = """\
class Client:
    def __init__(self, app):
        self.app = app

    def get(self, url):
        return url
"""

VIEWS = """\
from typing import Optional

from pkg.app import App, Unrelated
from pkg.client import Client

app = App()


@app.route("/")
def index():
    return "hi"


@app.before
def first():
    return None


def use(a: Optional[App], b: "Unrelated", c: App | None):
    a.route("/a")
    b.route("/b")
    c.run()


def chain():
    app.make_client().get("/x")
    client = app.make_client()
    client.get("/y")


def unknown(x):
    x.route("/nope")
    x.get("/nope")


def external(path: str):
    import os
    os.path.join(path, "x")
    len(path)
    path.upper()
    return sorted([path])
"""

CONFTEST = """\
import pytest

from pkg.app import App
from pkg.client import Client


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def client(app) -> Client:
    return app.make_client()
"""

TESTS = """\
def test_route(app, client):
    app.route("/t")
    client.get("/t")


def helper(app):
    app.route("/not-a-test")
"""


def _project(tmp_path: Path) -> tuple[Store, int, Path]:
    root = tmp_path / "proj"
    write_files(
        root,
        {
            "pkg/__init__.py": "",
            "pkg/app.py": APP,
            "pkg/client.py": CLIENT,
            "pkg/views.py": VIEWS,
            "tests/conftest.py": CONFTEST,
            "tests/test_app.py": TESTS,
        },
    )
    store = new_store(tmp_path)
    index(store, root, jedi=False)
    pid = store.conn().execute("SELECT id FROM projects").fetchone()[0]
    return store, pid, root


def _sites(store: Store, callee_qn: str) -> set[tuple[str, int]]:
    """(caller file, line) of every call resolved to ``callee_qn``."""
    rows = store.conn().execute(
        "SELECT a.file_path, g.line FROM call_graph g JOIN code_elements a ON a.id = g.caller_id"
        " JOIN code_elements b ON b.id = g.callee_id WHERE b.qualified_name = ?",
        (callee_qn,),
    )
    return {(r[0], r[1]) for r in rows}


def _line(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_constructor_assignment_and_decorators(tmp_path: Path) -> None:
    store, _, _ = _project(tmp_path)
    route = _sites(store, "pkg.app.App.route")
    assert ("pkg/views.py", _line(VIEWS, '@app.route("/")')) in route
    assert ("pkg/views.py", _line(VIEWS, "@app.before")) in _sites(store, "pkg.app.App.before")


def test_annotations_optional_union_and_string(tmp_path: Path) -> None:
    store, _, _ = _project(tmp_path)
    assert ("pkg/views.py", _line(VIEWS, 'a.route("/a")')) in _sites(store, "pkg.app.App.route")
    unrelated = _sites(store, "pkg.app.Unrelated.route")
    assert ("pkg/views.py", _line(VIEWS, 'b.route("/b")')) in unrelated
    # the annotated App is not a caller of the same-named method of an unrelated class
    assert ("pkg/views.py", _line(VIEWS, 'a.route("/a")')) not in unrelated
    # c: App | None; run is inherited from Base
    assert ("pkg/views.py", _line(VIEWS, "c.run()")) in _sites(store, "pkg.app.Base.run")


def test_unknown_receiver_is_no_caller(tmp_path: Path) -> None:
    store, _, _ = _project(tmp_path)
    nope = _line(VIEWS, 'x.route("/nope")')
    assert ("pkg/views.py", nope) not in _sites(store, "pkg.app.App.route")
    assert ("pkg/views.py", nope) not in _sites(store, "pkg.app.Unrelated.route")
    assert ("pkg/views.py", nope + 1) not in _sites(store, "pkg.client.Client.get")
    assert ("pkg/views.py", nope + 1) not in _sites(store, "pkg.app.Unrelated.get")


def test_return_annotations_and_attributes(tmp_path: Path) -> None:
    store, _, _ = _project(tmp_path)
    get = _sites(store, "pkg.client.Client.get")
    for needle in ('app.make_client().get("/x")', 'client.get("/y")'):
        assert ("pkg/views.py", _line(VIEWS, needle)) in get, needle
    # self.other = Unrelated() in __init__: its route, not App's
    go = ("pkg/app.py", _line(APP, 'self.other.route("/o")'))
    assert go in _sites(store, "pkg.app.Unrelated.route")
    assert go not in _sites(store, "pkg.app.App.route")
    assert ("pkg/views.py", _line(VIEWS, 'client.get("/y")')) not in _sites(
        store, "pkg.app.Unrelated.get"
    )


def test_inheritance_override_and_super(tmp_path: Path) -> None:
    store, _, _ = _project(tmp_path)
    # Base.run calls self.setup(): on a Base it is Base.setup (the known type)
    assert ("pkg/app.py", _line(APP, "return self.setup()")) in _sites(store, "pkg.app.Base.setup")
    # App.setup's super().setup() reaches Base.setup, not itself
    sup = _line(APP, "return super().setup()")
    assert ("pkg/app.py", sup) in _sites(store, "pkg.app.Base.setup")
    assert ("pkg/app.py", sup) not in _sites(store, "pkg.app.App.setup")
    # self.make_client() inside App.__init__ is inherited from Base
    mk = _line(APP, "self.client = self.make_client()")
    assert ("pkg/app.py", mk) in _sites(store, "pkg.app.Base.make_client")


def test_fixture_typed_parameters(tmp_path: Path) -> None:
    store, _, _ = _project(tmp_path)
    assert ("tests/test_app.py", _line(TESTS, 'app.route("/t")')) in _sites(
        store, "pkg.app.App.route"
    )
    assert ("tests/test_app.py", _line(TESTS, 'client.get("/t")')) in _sites(
        store, "pkg.client.Client.get"
    )
    # a helper that is neither a test nor a fixture takes no fixtures
    assert ("tests/test_app.py", _line(TESTS, "not-a-test")) not in _sites(
        store, "pkg.app.App.route"
    )


def test_externals_stored_apart(tmp_path: Path) -> None:
    store, _, _ = _project(tmp_path)
    rows = store.conn().execute(
        "SELECT g.callee_name, g.external, g.callee_id FROM call_graph g"
        " JOIN code_elements a ON a.id = g.caller_id WHERE a.qualified_name = 'pkg.views.external'"
    )
    got = {r[0]: (r[1], r[2]) for r in rows}
    assert got["join"] == ("os.path", None)
    assert got["upper"] == ("builtins", None)
    fn = (
        store.conn()
        .execute("SELECT id FROM code_elements WHERE qualified_name = 'pkg.views.external'")
        .fetchone()[0]
    )
    # join (os.path), upper (str), len and sorted (builtins, settled by the parser): external
    counts = callee_counts(store.conn(), fn, "python")
    assert counts == CalleeCounts(project=0, external=4, unresolved=0)
    assert counts.describe() == "0 callees, 4 external"
    unknown = (
        store.conn()
        .execute("SELECT id FROM code_elements WHERE qualified_name = 'pkg.views.unknown'")
        .fetchone()[0]
    )
    # x.route() / x.get() on an unknown x: unresolved, not external
    assert callee_counts(store.conn(), unknown, "python").describe() == "0 callees (2 unresolved)"


def test_rename_method_then_new_one(tmp_path: Path) -> None:
    store, pid, root = _project(tmp_path)
    line = _line(VIEWS, 'client.get("/y")')
    assert ("pkg/views.py", line) in _sites(store, "pkg.client.Client.get")
    (root / "pkg/client.py").write_text(CLIENT.replace("def get(", "def fetch("))
    indexer.update_file(store, pid, root, "pkg/client.py")
    assert ("pkg/views.py", line) not in _sites(store, "pkg.client.Client.get")
    assert _sites(store, "pkg.client.Client.fetch") == set()
    (root / "pkg/client.py").write_text(CLIENT + "\n    def get(self, url):\n        return 2\n")
    indexer.update_file(store, pid, root, "pkg/client.py")
    assert ("pkg/views.py", line) in _sites(store, "pkg.client.Client.get")


DECO_LIB = """\
import typing as t


class Group:
    def command(self, name=None) -> t.Callable[[t.Any], "Command"]:
        return lambda f: Command()


class Command:
    def main(self):
        return 0


def group(name=None) -> t.Callable[[t.Any], Group]:
    return lambda f: Group()


def command(f) -> "Command | t.Callable[[t.Any], Command]":
    return Command()
"""

DECO_CLI = """\
from lib import group, Group


@group()
def cli():
    pass


@cli.command()
def sub():
    pass


def plain():
    pass


def run():
    sub.main()
    plain.main()
"""


def test_decorated_functions_hold_what_the_decorator_returns(tmp_path: Path) -> None:
    root = tmp_path / "deco"
    write_files(root, {"lib.py": DECO_LIB, "cli.py": DECO_CLI})
    store = new_store(tmp_path)
    index(store, root, jedi=False)
    # cli = group()(cli): a Group, so @cli.command() calls Group.command
    assert ("cli.py", _line(DECO_CLI, "@cli.command()")) in _sites(store, "lib.Group.command")
    # sub = cli.command()(sub): a Command
    assert ("cli.py", _line(DECO_CLI, "sub.main()")) in _sites(store, "lib.Command.main")
    # an undecorated function has no main
    assert ("cli.py", _line(DECO_CLI, "plain.main()")) not in _sites(store, "lib.Command.main")


def test_a_save_that_changes_a_receiver_type(tmp_path: Path) -> None:
    root = tmp_path / "swap"
    lib = (
        "class A:\n    def go(self):\n        return 1\n\n\n"
        "class B:\n    def go(self):\n        return 2\n"
    )
    use = "from lib import A, B\n\n\ndef f():\n    x = A()\n    return x.go()\n"
    write_files(root, {"lib.py": lib, "use.py": use})
    store = new_store(tmp_path)
    index(store, root, jedi=False)
    pid = store.conn().execute("SELECT id FROM projects").fetchone()[0]
    assert ("use.py", 6) in _sites(store, "lib.A.go")
    (root / "use.py").write_text(use.replace("x = A()", "x = B()"))
    indexer.update_file(store, pid, root, "use.py")
    assert ("use.py", 6) in _sites(store, "lib.B.go")
    assert ("use.py", 6) not in _sites(store, "lib.A.go")


FIXTURES = """\
import pytest

from pkg.client import Client
from pkg import app as app_module


@pytest.fixture
def plain_client():
    return Client(None)


@pytest.fixture()
def held_client(request):
    c = Client(request)
    yield c
    c.close()


@pytest.fixture(scope="module")
def two_kinds(request):
    if request.param:
        return Client(None)
    return app_module.App()


def not_a_fixture():
    return Client(None)
"""

FIXTURE_TESTS = """\
def test_plain(plain_client):
    plain_client.get("/plain")


def test_held(held_client):
    held_client.get("/held")


def test_two(two_kinds):
    two_kinds.get("/two")


def test_helper(not_a_fixture):
    not_a_fixture.get("/helper")
"""


def test_unannotated_fixtures_are_typed_by_the_call_they_return(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_files(
        root,
        {
            "pkg/__init__.py": "",
            "pkg/app.py": APP,
            "pkg/client.py": CLIENT + "\n    def close(self):\n        return None\n",
            "tests/conftest.py": FIXTURES,
            "tests/test_values.py": FIXTURE_TESTS,
        },
    )
    store = new_store(tmp_path)
    index(store, root)
    got = _sites(store, "pkg.client.Client.get")
    assert ("tests/test_values.py", _line(FIXTURE_TESTS, '"/plain"')) in got  # return Client()
    assert ("tests/test_values.py", _line(FIXTURE_TESTS, '"/held"')) in got  # c = ...; yield c
    # two different values: unknown; a plain function is no fixture
    assert ("tests/test_values.py", _line(FIXTURE_TESTS, '"/two"')) not in got
    assert ("tests/test_values.py", _line(FIXTURE_TESTS, '"/helper"')) not in got


def test_a_fixture_file_changed_since_it_was_indexed_is_not_read(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_files(
        root,
        {
            "pkg/__init__.py": "",
            "pkg/app.py": APP,
            "pkg/client.py": CLIENT,
            "tests/conftest.py": FIXTURES.replace("    c.close()\n", ""),
            "tests/test_values.py": FIXTURE_TESTS,
        },
    )
    store = new_store(tmp_path)
    stats = index(store, root)
    plain = ("tests/test_values.py", _line(FIXTURE_TESTS, '"/plain"'))
    assert plain in _sites(store, "pkg.client.Client.get")
    # the fixture file edited, not indexed again: its definitions are not read
    from mira_ls.index.resolve_project import Resolver
    from mira_ls.store import code as cs

    resolver = Resolver(store.conn(), stats.project_id)
    (ref,) = [r for r in cs.refs_by_name(store.conn(), stats.project_id, "plain_client")]
    assert "return Client(None)" in (resolver.stored_source(ref) or "")
    (root / "tests/conftest.py").write_text(FIXTURES.replace("Client(None)", "App()"))
    # a pass reads a file once; the next pass sees the edit
    assert Resolver(store.conn(), stats.project_id).stored_source(ref) is None


def test_returned_expression_rules() -> None:
    from mira_ls.index.py_returns import returned_expression

    assert returned_expression("def f():\n    return Runner(x, y=2)\n") == "Runner()"
    assert returned_expression("def f():\n    r = a.Runner()\n    return r\n") == "a.Runner()"
    assert returned_expression("def f():\n    return 3\n") is None
    assert returned_expression("def f():\n    def g():\n        return X()\n    return g\n") is None
    method = "    @pytest.fixture\n    def f(self):\n        yield X()\n"
    assert returned_expression(method) == "X()"


SHAPES = """\
class Base:
    def setup(self):
        return 1

    def run(self):
        return self.setup()


class App(Base):
    def setup(self):
        return super().setup()


class Sibling(Base):
    def go(self):
        return self.setup()


def typed(b: Base, s: Sibling):
    b.setup()
    s.setup()
    Base.setup(b)
"""


def test_calls_through_a_base_typed_receiver_reach_the_override(tmp_path: Path) -> None:
    from mira_ls.index.overrides import dispatched_callers

    root = tmp_path / "proj"
    write_files(root, {"pkg/__init__.py": "", "pkg/shapes.py": SHAPES})
    store = new_store(tmp_path)
    index(store, root, jedi=False)
    conn = store.conn()
    # stored against the method the receiver's type names
    base_setup = _sites(store, "pkg.shapes.Base.setup")
    for needle in ("return self.setup()", "b.setup()", "s.setup()", "super().setup()"):
        assert ("pkg/shapes.py", _line(SHAPES, needle)) in base_setup, needle
    app_setup = conn.execute(
        "SELECT id FROM code_elements WHERE qualified_name = 'pkg.shapes.App.setup'"
    ).fetchone()[0]
    got = {(d.site.line, d.through.qualified_name) for d in dispatched_callers(conn, app_setup)}
    # Base.run's self.setup() and b: Base run App.setup on an App
    assert got == {
        (_line(SHAPES, "return self.setup()"), "pkg.shapes.Base.setup"),
        (_line(SHAPES, "b.setup()"), "pkg.shapes.Base.setup"),
    }
    # not: super().setup() and Base.setup(b) (they name the class), a Sibling's self and
    # s: Sibling (never an App); a method that overrides nothing has no such callers
    run = conn.execute(
        "SELECT id FROM code_elements WHERE qualified_name = 'pkg.shapes.Base.run'"
    ).fetchone()[0]
    assert dispatched_callers(conn, run) == []


def test_a_held_resolver_sees_a_class_lose_its_base_after_a_save(tmp_path: Path) -> None:
    """The server keeps one resolver across requests; a re-indexed file moves the project's
    code generation, so the hierarchy it evaluated before the save is not served after."""
    from mira_ls.index.held_resolver import HeldResolvers
    from mira_ls.index.overrides import dispatched_callers
    from mira_ls.store import code as cs

    root = tmp_path / "proj"
    write_files(root, {"pkg/__init__.py": "", "pkg/shapes.py": SHAPES})
    store = new_store(tmp_path)
    index(store, root, jedi=False)
    conn = store.conn()
    pid = conn.execute("SELECT id FROM projects").fetchone()[0]
    held = HeldResolvers()

    def app_setup() -> int:
        return int(
            conn.execute(
                "SELECT id FROM code_elements WHERE qualified_name = 'pkg.shapes.App.setup'"
            ).fetchone()[0]
        )

    assert len(dispatched_callers(conn, app_setup(), held)) == 2
    before = cs.code_generation(conn, pid)
    assert len(dispatched_callers(conn, app_setup(), held)) == 2  # served by the held one
    os.utime(root / "pkg/shapes.py", ns=(1_000_000_000, 1_000_000_000))  # a touch, same bytes
    indexer.update_file(store, pid, root, "pkg/shapes.py")
    assert cs.code_generation(conn, pid) == before  # the stored stat moved, not the code
    (root / "pkg/shapes.py").write_text(SHAPES.replace("class App(Base):", "class App:"))
    indexer.update_file(store, pid, root, "pkg/shapes.py")
    assert cs.code_generation(conn, pid) > before
    # App no longer subclasses Base: no call through Base.setup reaches App.setup
    assert dispatched_callers(conn, app_setup(), held) == []


FACTORIES = """\
from pkg.client import Client
from pkg.app import Unrelated


def make(app=None):
    c = Client(app)
    c.app = app
    return c


def make_again():
    return make()


class Holder:
    def client(self):
        return make_again()


def either(flag):
    if flag:
        return Client(None)
    return Unrelated()


def passed(c):
    return c


def many():
    yield Client(None)


async def later():
    return Client(None)


def ping():
    return pong()


def pong():
    return ping()
"""

FACTORY_USES = """\
from pkg.factories import Holder, either, later, make, make_again, many, passed, ping


def use():
    a = make()
    a.get("/make")
    b = make_again()
    b.get("/again")
    h = Holder().client()
    h.get("/holder")
    e = either(True)
    e.get("/either")
    p = passed(None)
    p.get("/passed")
    g = many()
    g.get("/many")
    w = later()
    w.get("/later")
    q = ping()
    q.get("/cycle")
"""


def test_unannotated_factories_are_typed_by_the_call_they_return(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_files(
        root,
        {
            "pkg/__init__.py": "",
            "pkg/app.py": APP,
            "pkg/client.py": CLIENT,
            "pkg/factories.py": FACTORIES,
            "pkg/use.py": FACTORY_USES,
        },
    )
    store = new_store(tmp_path)
    index(store, root, jedi=False)
    got = _sites(store, "pkg.client.Client.get")
    unrelated = _sites(store, "pkg.app.Unrelated.get")
    # a constructor assigned then returned; a factory of a factory; a method returning one
    for needle in ('"/make"', '"/again"', '"/holder"'):
        assert ("pkg/use.py", _line(FACTORY_USES, needle)) in got, needle
    # two kinds of value, a parameter, a generator, a coroutine, a cycle: no type, and a
    # same-named method of the other class is no caller either
    for needle in ('"/either"', '"/passed"', '"/many"', '"/later"', '"/cycle"'):
        site = ("pkg/use.py", _line(FACTORY_USES, needle))
        assert site not in got and site not in unrelated, needle


def test_returned_expression_of_plain_functions() -> None:
    from mira_ls.index.py_returns import returned_expression

    assert returned_expression("def f(**kw):\n    s = S(**kw)\n    return s\n", fixture=False) == (
        "S()"
    )
    assert returned_expression("def f():\n    yield X()\n", fixture=False) is None
    assert returned_expression("def f():\n    yield X()\n") == "X()"
    assert returned_expression("async def f():\n    return X()\n", fixture=False) is None
    assert returned_expression("def f(s=None):\n    s = X()\n    return s\n", fixture=False) is None
