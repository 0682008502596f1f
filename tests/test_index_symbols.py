"""Extraction: symbols per language, spans, hashing rules, robustness of the parser."""

from __future__ import annotations

import hashlib

from mira_ls.index.languages import language_for_path
from mira_ls.index.symbols import extract, module_name, normalize_signature, symbol_at

PY = '''"""Module doc."""
import os


@decorator
def compute(a, b=1) -> int:
    """Add things."""
    if a and b:
        return a + b
    return helper(a)


class Box(Base):
    """A box."""

    @property
    def size(self):
        return self._size

    @size.setter
    def size(self, value):
        def check(v):
            return v > 0
        self._size = value if check(value) else 0
'''


def by_qn(fx):
    return {(s.qualified_name, s.ordinal): s for s in fx.symbols}


def test_python_symbols_spans_docstrings_and_ordinals() -> None:
    fx = extract(PY.encode(), "src/pkg/mod.py", "python")
    syms = by_qn(fx)
    mod = fx.symbols[0]
    assert (mod.kind, mod.name, mod.qualified_name, mod.docstring) == (
        "module",
        "mod",
        "pkg.mod",
        "Module doc.",
    )
    f = syms[("pkg.mod.compute", 0)]
    assert f.kind == "function" and f.parent == 0
    assert (f.start_line, f.start_col) == (5, 0)  # the decorator starts the span
    assert (f.name_line, f.name_col) == (6, 4)
    assert f.signature == "def compute(a, b=1) -> int"
    assert f.docstring == "Add things."
    assert f.complexity == 3  # if + and + 1
    box = syms[("pkg.mod.Box", 0)]
    assert box.kind == "class" and box.docstring == "A box."
    getter, setter = syms[("pkg.mod.Box.size", 0)], syms[("pkg.mod.Box.size", 1)]
    assert getter.kind == setter.kind == "method"
    assert getter.parent == setter.parent == fx.symbols.index(box)
    assert getter.signature_hash != setter.signature_hash
    check = syms[("pkg.mod.Box.size.check", 0)]
    assert check.kind == "function" and check.parent == fx.symbols.index(setter)
    span = "\n".join(PY.splitlines()[f.start_line - 1 : f.end_line])
    assert f.content_hash == hashlib.sha256(span.encode()).hexdigest()
    calls = {(c.name, c.receiver, fx.symbols[c.caller].name) for c in fx.calls}
    assert ("helper", None, "compute") in calls
    assert ("check", None, "size") in calls
    # a bare decorator is called with the function (issue 15: @app.before_request)
    assert ("decorator", None, "compute") in calls
    assert [(i.module, i.name) for i in fx.imports] == [("os", None)]


def _hashes(src: str) -> dict[str, tuple[str, str]]:
    fx = extract(src.encode(), "m.py", "python")
    return {s.qualified_name: (s.content_hash, s.signature_hash) for s in fx.symbols}


def test_hashing_rules() -> None:
    base = _hashes("def f(a, b):\n    return a\n\n\ndef g():\n    return 1\n")
    body = _hashes("def f(a, b):\n    return b\n\n\ndef g():\n    return 1\n")
    sig = _hashes("def f(a, b, c):\n    return a\n\n\ndef g():\n    return 1\n")
    ws = _hashes("def f( a,\n      b ):\n    return a\n\n\ndef g():\n    return 1\n")
    deco = _hashes("@cache\ndef f(a, b):\n    return a\n\n\ndef g():\n    return 1\n")
    # body edit: content_hash only
    assert body["m.f"][0] != base["m.f"][0] and body["m.f"][1] == base["m.f"][1]
    # signature edit: both
    assert sig["m.f"][0] != base["m.f"][0] and sig["m.f"][1] != base["m.f"][1]
    # whitespace-only signature edit: content_hash changes, signature_hash does not
    assert ws["m.f"][0] != base["m.f"][0] and ws["m.f"][1] == base["m.f"][1]
    # decorators belong to the signature
    assert deco["m.f"][1] != base["m.f"][1]
    # an untouched neighbour keeps both
    for other in (body, sig, ws, deco):
        assert other["m.g"] == base["m.g"]


def test_normalize_signature_is_whitespace_insensitive_only() -> None:
    assert normalize_signature("def f( a ,b )  -> int") == normalize_signature("def f(a, b)->int")
    assert normalize_signature("def f(a, b)") != normalize_signature("def g(a, b)")
    assert normalize_signature("def f(a, b)") != normalize_signature("def f(a, b=1)")


SAMPLES = {
    "rust": (
        "src/shapes.rs",
        "/// A point.\n#[derive(Debug)]\npub struct Point { x: i32 }\n\nimpl Point {\n"
        "    pub fn new() -> Self { Self::origin() }\n    fn origin() -> Self { Point { x: 0 } }\n"
        "}\n\ntrait Shape { fn area(&self) -> f64; }\nenum Color { Red }\n"
        "fn helper(a: i32) -> i32 { a }\nmod inner { pub fn f() {} }\n"
        "macro_rules! m { () => {} }\nuse crate::a::{b, c as d};\n",
        {
            ("src.shapes.Point", "struct"),
            ("src.shapes.Point", "impl"),
            ("src.shapes.Point.new", "method"),
            ("src.shapes.Point.origin", "method"),
            ("src.shapes.Shape", "trait"),
            ("src.shapes.Shape.area", "method"),
            ("src.shapes.Color", "enum"),
            ("src.shapes.helper", "function"),
            ("src.shapes.inner", "namespace"),
            ("src.shapes.inner.f", "function"),
            ("src.shapes.m", "macro"),
        },
    ),
    "go": (
        "pkg/server/server.go",
        'package server\n\nimport f "fmt"\n\n// Server serves.\ntype Server struct{ n int }\n\n'
        "// Run runs it.\nfunc (s *Server) Run(a int) error {\n\tf.Println(a)\n\treturn helper()\n}"
        "\n\nfunc helper() error { return nil }\n\ntype Runner interface { Run(a int) error }\n",
        {
            ("pkg.server.server.Server", "struct"),
            ("pkg.server.server.Server.Run", "method"),
            ("pkg.server.server.helper", "function"),
            ("pkg.server.server.Runner", "interface"),
            ("pkg.server.server.Runner.Run", "method"),
        },
    ),
    "java": (
        "src/App.java",
        "package x;\nimport java.util.List;\n/** The app. */\npublic class App {\n"
        "  App() { init(); }\n  void init() { this.run(); }\n  void run() {}\n"
        "  interface I { void q(); }\n  enum E { X }\n}\n",
        {
            ("src.App.App", "class"),
            ("src.App.App.App", "constructor"),
            ("src.App.App.init", "method"),
            ("src.App.App.run", "method"),
            ("src.App.App.I", "interface"),
            ("src.App.App.I.q", "method"),
            ("src.App.App.E", "enum"),
        },
    ),
    "c": (
        "src/util.c",
        '#include <stdio.h>\n#include "util.h"\n\n/* Add one. */\nstatic int *add(int a) '
        "{ helper(a); return 0; }\nint helper(int a) { return a; }\nstruct S { int a; };\n"
        "typedef struct { int b; } T;\nenum E { A };\n#define M(x) x\n",
        {
            ("src.util.add", "function"),
            ("src.util.helper", "function"),
            ("src.util.S", "struct"),
            ("src.util.T", "type"),
            ("src.util.E", "enum"),
            ("src.util.M", "macro"),
        },
    ),
    "cpp": (
        "src/a.cpp",
        "namespace n {\nclass A {\n public:\n  void m() { this->k(); }\n  void k();\n};\n}\n"
        "void n::A::k() { n::f(); }\ntemplate<typename T> T id(T x) { return x; }\n",
        {
            ("src.a.n", "namespace"),
            ("src.a.n.A", "class"),
            ("src.a.n.A.m", "method"),
            ("src.a.n.A.k", "method"),
            ("src.a.id", "function"),
        },
    ),
    "javascript": (
        "src/app.js",
        'import x, {a as b} from "./m";\n/** Doc f. */\nexport function f(a) { return b(a); }\n'
        "class C {\n  constructor() { this.m(); }\n  m() { return f(1); }\n}\n"
        "const h = async (q) => { };\n",
        {
            ("src.app.f", "function"),
            ("src.app.C", "class"),
            ("src.app.C.constructor", "constructor"),
            ("src.app.C.m", "method"),
            ("src.app.h", "function"),
        },
    ),
    "typescript": (
        "src/t.ts",
        "interface I { m(a: string): void; }\nenum E { A }\ntype T = string;\n"
        "namespace NS { export function f() {} }\nabstract class A { abstract q(): void; }\n"
        "function o(a: string): void;\nfunction o(a: any) {}\n",
        {
            ("src.t.I", "interface"),
            ("src.t.I.m", "method"),
            ("src.t.E", "enum"),
            ("src.t.T", "type"),
            ("src.t.NS", "namespace"),
            ("src.t.NS.f", "function"),
            ("src.t.A", "class"),
            ("src.t.A.q", "method"),
            ("src.t.o", "function"),
        },
    ),
    "tsx": (
        "src/c.tsx",
        "export function App(props: {n: number}) { return <div>{f(props.n)}</div>; }\n"
        "const f = (n: number) => n * 2;\n",
        {("src.c.App", "function"), ("src.c.f", "function")},
    ),
}


def test_symbols_for_each_language() -> None:
    for lang, (path, src, expected) in SAMPLES.items():
        assert language_for_path(path) == lang
        fx = extract(src.encode(), path, lang)
        got = {(s.qualified_name, s.kind) for s in fx.symbols[1:]}
        assert got == expected, lang
        assert fx.parse_errors == 0, lang
        assert fx.symbols[0].kind == "module"
        for s in fx.symbols[1:]:
            parent = fx.symbols[s.parent]
            assert s.qualified_name.startswith(parent.qualified_name + "."), (lang, s)
            assert (parent.start_line, parent.start_col) <= (s.start_line, s.start_col)


def test_doc_comments_and_attributes_are_in_the_span() -> None:
    path, src, _ = SAMPLES["rust"]
    fx = extract(src.encode(), path, "rust")
    point = next(s for s in fx.symbols if s.kind == "struct")
    assert point.start_line == 1 and point.docstring == "A point."
    assert point.name_line == 3
    go_path, go_src, _ = SAMPLES["go"]
    fx = extract(go_src.encode(), go_path, "go")
    run = next(s for s in fx.symbols if s.qualified_name.endswith("Server.Run"))
    assert run.docstring == "Run runs it." and run.start_line == run.name_line - 1
    js_path, js_src, _ = SAMPLES["javascript"]
    fx = extract(js_src.encode(), js_path, "javascript")
    f = next(s for s in fx.symbols if s.name == "f")
    assert f.docstring == "Doc f." and f.start_line == 2


def test_calls_and_imports_other_languages() -> None:
    fx = extract(SAMPLES["go"][1].encode(), SAMPLES["go"][0], "go")
    assert {(c.name, c.receiver) for c in fx.calls} == {("Println", "f"), ("helper", None)}
    assert [(i.module, i.alias) for i in fx.imports] == [("fmt", "f")]
    fx = extract(SAMPLES["rust"][1].encode(), SAMPLES["rust"][0], "rust")
    assert ("origin", "Self") in {(c.name, c.receiver) for c in fx.calls}
    assert [(i.module, i.name, i.alias) for i in fx.imports] == [
        ("crate::a", "b", None),
        ("crate::a", "c", "d"),
    ]
    fx = extract(SAMPLES["c"][1].encode(), SAMPLES["c"][0], "c")
    assert [i.module for i in fx.imports] == ["<stdio.h>", '"util.h"']


def test_module_names() -> None:
    assert module_name("src/click/core.py", "python") == "click.core"
    assert module_name("click/__init__.py", "python") == "click"
    assert module_name("tests/test_x.py", "python") == "tests.test_x"
    assert module_name("setup.py", "python") == "setup"
    assert module_name("src/a/mod.rs", "rust") == "src.a"
    assert module_name("web/app.test.ts", "typescript") == "web.app.test"


def test_header_language_detection() -> None:
    assert language_for_path("x.h") == "c"
    assert language_for_path("x.h", b"#include <stdio.h>\nint f(void);\n") == "c"
    assert language_for_path("x.h", b"namespace a {\nclass B {};\n}\n") == "cpp"
    assert language_for_path("x.hpp") == "cpp"
    assert language_for_path("README.md") is None


def test_invalid_utf8_is_replaced_and_indexed() -> None:
    src = (
        b"# caf\xe9 \xff\xfe\ndef cafe(x='\xe9'):\n    return 1\n\n\ndef ok():\n    return cafe()\n"
    )
    fx = extract(src, "bad.py", "python")
    assert fx.decoded_with_replacement
    assert [s.name for s in fx.symbols[1:]] == ["cafe", "ok"]
    ok = fx.symbols[2]
    assert (ok.name_line, ok.name_col) == (6, 4)
    assert [(c.name, c.line, c.col) for c in fx.calls] == [("cafe", 7, 11)]


def test_syntax_errors_keep_valid_parts() -> None:
    src = (
        b"def good():\n    return 1\n\n\ndef broken(:\n    pass\n\n\n"
        b"class Fine:\n    def m(self):\n        return good()\n"
    )
    fx = extract(src, "m.py", "python")
    assert fx.parse_errors > 0
    qns = {s.qualified_name for s in fx.symbols}
    assert {"m.good", "m.Fine", "m.Fine.m"} <= qns
    assert any(c.name == "good" for c in fx.calls)


def test_non_ascii_columns_are_code_points() -> None:
    src = "x = 'ééé'; y = f()\ndef g():\n    return 'ü' + h()\n".encode()
    fx = extract(src, "m.py", "python")
    f_call = next(c for c in fx.calls if c.name == "f")
    assert f_call.col == 15  # characters, not bytes
    h_call = next(c for c in fx.calls if c.name == "h")
    assert h_call.col == 17


def test_symbol_at_prefers_name_then_innermost() -> None:
    fx = extract(PY.encode(), "src/pkg/mod.py", "python")
    i = symbol_at(fx, 6, 6)  # on 'compute'
    assert fx.symbols[i].name == "compute"
    i = symbol_at(fx, 9, 10)  # inside compute's body
    assert fx.symbols[i].name == "compute"
    i = symbol_at(fx, 23, 16)  # inside check() nested in the setter
    assert fx.symbols[i].name == "check"
    i = symbol_at(fx, 2, 0)  # module level
    assert fx.symbols[i].kind == "module"


def test_wrapped_headers_display_on_one_line_as_written_by_hand() -> None:
    src = b"def f(\n    a: int,\n    b: list[str] = [],\n) -> dict[\n    str, int\n]:\n    pass\n"
    src_ts = b"function g(\n  a: number,\n  b: string,\n): void {\n}\n"
    (f,) = [s for s in extract(src, "w.py", "python").symbols if s.name == "f"]
    assert f.signature == "def f(a: int, b: list[str] = []) -> dict[str, int]"
    (g,) = [s for s in extract(src_ts, "w.ts", "typescript").symbols if s.name == "g"]
    assert g.signature == "function g(a: number, b: string): void"
    # The hash ignores whitespace only: the same tokens on one line hash alike.
    one = b"def f(a: int, b: list[str] = [],) -> dict[str, int]:\n    pass\n"
    (f1,) = [s for s in extract(one, "w.py", "python").symbols if s.name == "f"]
    assert f1.signature_hash == f.signature_hash


def test_a_reparse_takes_unchanged_definitions_as_known_and_changed_ones_afresh() -> None:
    """What a save keeps from the last extract (signatures, docstrings, shapes of the
    definitions whose text it did not change) gives what a full extract gives."""
    first = PY.encode()
    edits = [
        # a body made deeper, a parameter added, a docstring changed
        PY.replace(
            "    if a and b:\n        return a + b",
            "    if a:\n        if b:\n            return a + b",
        )
        .replace("def size(self, value):", "def size(self, value, notify=True):")
        .replace('"""A box."""', '"""A bigger box."""'),
        # a function appended, another with the same text as one above
        PY
        + "\n\ndef appended(x, y=lambda: 1):\n    for i in x:\n"
        + "        while i:\n            i -= 1\n"
        + '\n\n@decorator\ndef compute(a, b=1) -> int:\n    """Add things."""\n    if a and b:\n'
        + "        return a + b\n    return helper(a)\n",
        # a definition removed, the file back to its start
        PY.replace("@decorator\ndef compute", "@decorator\ndef computed"),
        PY,
    ]
    previous = extract(first, "pkg/mod.py", "python").parsed
    assert previous is not None and previous.known
    for text in edits:
        src = text.encode()
        again = extract(src, "pkg/mod.py", "python", previous)
        full = extract(src, "pkg/mod.py", "python")
        assert again.symbols == full.symbols
        assert again.calls == full.calls
        previous = again.parsed
    changed = extract(edits[0].encode(), "pkg/mod.py", "python", previous)
    setter = [s for s in changed.symbols if s.name == "size"][-1]
    assert setter.signature == "def size(self, value, notify=True)"
    assert [s.nesting for s in changed.symbols if s.name == "compute"] == [2]
    assert [s.docstring for s in changed.symbols if s.name == "Box"] == ["A bigger box."]
