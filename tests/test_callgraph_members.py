"""Method calls of the other languages through a known receiver type (issue 15, part 3), on
small real projects: each rule with a case it resolves and one it must not (a same-named
method of an unrelated class is never a target; an unknown receiver stays unresolved)."""

from __future__ import annotations

from pathlib import Path

from mira_ls.index import indexer
from tests.index_helpers import edge_map, index, new_store, write_files


def _edges(tmp_path: Path, files: dict[str, str]) -> dict[tuple[str, str], str | None]:
    root = tmp_path / "proj"
    write_files(root, files)
    store = new_store(tmp_path)
    stats = index(store, root)
    return edge_map(store, stats.project_id)


TS_FILES = {
    "web/base.ts": "export class Base {\n  save(): void {}\n  log(): void {}\n}\n"
    "export class Other {\n  save(): void {}\n  close(): void {}\n}\n",
    "web/model.ts": 'import { Base, Other } from "./base";\n'
    'import * as b from "./base";\n'
    "export class Model extends Base {\n"
    "  run(): void { this.save(); this.helper(); super.log(); this.close(); }\n"
    "  helper(): void {}\n}\n"
    "export class Deep extends Model {\n  go(): void { this.log(); this.helper(); }\n}\n"
    "class Loose {\n  go(): void { this.save(); }\n}\n"
    "class Sib extends Other {\n  go(): void { this.log(); this.close(); }\n}\n"
    "class ViaNs extends b.Base {\n  go(): void { this.save(); }\n}\n",
    "js/shapes.js": "class A {\n  ping() {}\n}\nclass B extends A {\n  go() { this.ping(); }\n}\n"
    "class C {\n  go() { this.ping(); }\n}\nclass D {\n  ping() {}\n}\n",
}


def test_typescript_this_reaches_inherited_methods(tmp_path: Path) -> None:
    em = _edges(tmp_path, TS_FILES)
    # across files through an import; own methods still first
    assert em[("web.model.Model.run", "save")] == "web.base.Base.save"
    assert em[("web.model.Model.run", "helper")] == "web.model.Model.helper"
    assert em[("web.model.Model.run", "log")] == "web.base.Base.log"  # super.log()
    # two levels up, and through a namespace import
    assert em[("web.model.Deep.go", "log")] == "web.base.Base.log"
    assert em[("web.model.Deep.go", "helper")] == "web.model.Model.helper"
    assert em[("web.model.ViaNs.go", "save")] == "web.base.Base.save"
    assert em[("web.model.Sib.go", "close")] == "web.base.Other.close"
    # same file (JavaScript)
    assert em[("js.shapes.B.go", "ping")] == "js.shapes.A.ping"


def test_typescript_unrelated_class_is_no_target(tmp_path: Path) -> None:
    em = _edges(tmp_path, TS_FILES)
    # Model's bases do not define close(); Other does, but Model is not an Other
    assert em[("web.model.Model.run", "close")] is None
    # no base: the same-named methods of Base and Other are not candidates
    assert em[("web.model.Loose.go", "save")] is None
    # Sib extends Other, which has no log(); Base.log is unrelated
    assert em[("web.model.Sib.go", "log")] is None
    assert em[("js.shapes.C.go", "ping")] is None


J = "src/main/java/com/"
JAVA_FILES = {
    J + "x/Base.java": "package com.x;\n\npublic class Base {\n  protected void save() {}\n"
    "  void log() {}\n}\n",
    J + "x/Other.java": "package com.x;\n\npublic class Other {\n  void save() {}\n"
    "  void close() {}\n  void log() {}\n}\n",
    J + "x/Named.java": "package com.x;\n\npublic interface Named {\n"
    '  default String name() { return ""; }\n}\n',
    J + "x/Model.java": "package com.x;\n\npublic class Model extends Base implements Named {\n"
    "  void run() { this.save(); log(); super.log(); close(); name(); }\n"
    "  void log() {}\n}\n",
    J + "y/Sub.java": "package com.y;\n\nimport com.x.Model;\n\n"
    "public class Sub extends Model {\n  void go() { save(); this.run(); super.log(); }\n}\n",
    J + "y/Loose.java": "package com.y;\n\nclass Loose {\n"
    "  void go() { save(); this.close(); }\n}\n",
    J + "y/Full.java": "package com.y;\n\nclass Full extends com.x.Base {\n"
    "  void go() { save(); }\n}\n",
    J + "y/Outer.java": "package com.y;\n\nimport com.x.Base;\n\nclass Outer extends Base {\n"
    "  class Inner {\n    void go() { save(); }\n  }\n}\n",
    J + "y/Stray.java": "package com.y;\n\nclass Stray extends Missing {\n"
    "  void go() { save(); }\n}\n",
}


def test_java_inherited_methods(tmp_path: Path) -> None:
    em = _edges(tmp_path, JAVA_FILES)
    x, y = "src.main.java.com.x", "src.main.java.com.y"
    # same package, no import: this.m(), a bare m(), super.m(), an interface's default
    assert em[(f"{x}.Model.Model.run", "save")] == f"{x}.Base.Base.save"
    assert em[(f"{x}.Model.Model.run", "name")] == f"{x}.Named.Named.name"
    # through an import, two levels up; super.log() from Sub reaches Model's override
    assert em[(f"{y}.Sub.Sub.go", "save")] == f"{x}.Base.Base.save"
    assert em[(f"{y}.Sub.Sub.go", "run")] == f"{x}.Model.Model.run"
    assert em[(f"{y}.Sub.Sub.go", "log")] == f"{x}.Model.Model.log"
    assert em[(f"{y}.Full.Full.go", "save")] == f"{x}.Base.Base.save"  # a qualified base
    assert em[(f"{y}.Outer.Outer.Inner.go", "save")] == f"{x}.Base.Base.save"  # the outer's


def test_java_super_skips_the_override(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_files(root, JAVA_FILES)
    store = new_store(tmp_path)
    stats = index(store, root)
    rows = store.conn().execute(
        "SELECT g.receiver, b.qualified_name FROM call_graph g"
        " JOIN code_elements a ON a.id = g.caller_id"
        " LEFT JOIN code_elements b ON b.id = g.callee_id"
        " WHERE g.project_id = ? AND a.name = 'run' AND g.callee_name = 'log'",
        (stats.project_id,),
    )
    x = "src.main.java.com.x"
    assert dict(rows.fetchall()) == {None: f"{x}.Model.Model.log", "super": f"{x}.Base.Base.log"}


def test_java_unrelated_class_is_no_target(tmp_path: Path) -> None:
    em = _edges(tmp_path, JAVA_FILES)
    x, y = "src.main.java.com.x", "src.main.java.com.y"
    assert em[(f"{x}.Model.Model.run", "close")] is None  # only Other has close()
    assert em[(f"{y}.Loose.Loose.go", "save")] is None  # no base class
    assert em[(f"{y}.Loose.Loose.go", "close")] is None
    assert em[(f"{y}.Stray.Stray.go", "save")] is None  # a base outside the project


CPP_FILES = {
    "cpp/base.h": "class Base {\n public:\n  void save() {}\n  void log();\n};\n",
    "cpp/base.cpp": '#include "base.h"\n\nvoid Base::log() {}\n',
    "cpp/other.h": "class Other {\n public:\n  void save() {}\n  void close() {}\n};\n",
    "cpp/model.h": '#include "base.h"\n\nnamespace app {\n'
    "class Model : public Base {\n public:\n  void run() { this->save(); log(); close(); }\n"
    "  void step();\n};\n}\n",
    "cpp/model.cpp": '#include "model.h"\n\nnamespace app {\n'
    "void Model::step() { save(); this->log(); }\n}\n",
    "cpp/loose.cpp": '#include "other.h"\n\nclass Loose {\n public:\n'
    "  void go() { this->save(); close(); log(); }\n};\n"
    "struct Kid : Other {\n  void go() { log(); this->close(); }\n};\n",
}


def test_cpp_base_class_methods(tmp_path: Path) -> None:
    em = _edges(tmp_path, CPP_FILES)
    assert em[("cpp.model.app.Model.run", "save")] == "cpp.base.Base.save"  # this->
    assert em[("cpp.model.app.Model.run", "log")] == "cpp.base.Base.log"  # bare, out of line
    # an out-of-line method of a derived class
    assert em[("cpp.model.app.Model.step", "save")] == "cpp.base.Base.save"
    assert em[("cpp.model.app.Model.step", "log")] == "cpp.base.Base.log"
    assert em[("cpp.loose.Kid.go", "close")] == "cpp.other.Other.close"  # struct, default public


def test_cpp_unrelated_class_is_no_target(tmp_path: Path) -> None:
    em = _edges(tmp_path, CPP_FILES)
    assert em[("cpp.model.app.Model.run", "close")] is None  # Other's, not a base of Model
    assert em[("cpp.loose.Loose.go", "save")] is None
    assert em[("cpp.loose.Loose.go", "close")] is None
    # a method defined out of line is no global function a bare name could call
    assert em[("cpp.loose.Loose.go", "log")] is None
    assert em[("cpp.loose.Kid.go", "log")] is None


RUST_FILES = {
    "src/lib.rs": "mod more;\nmod other;\nmod shape;\nmod util;\n",
    "src/shape.rs": "pub trait Area {\n    fn area(&self) -> i32;\n"
    "    fn describe(&self) -> i32 { self.area() }\n}\n\n"
    "pub struct Sq { pub s: i32 }\n\nimpl Sq {\n"
    "    pub fn new(s: i32) -> Self { Sq { s } }\n"
    "    pub fn grow(&self) -> i32 { self.double() + self.describe() }\n}\n\n"
    "impl Area for Sq {\n    fn area(&self) -> i32 { self.s }\n}\n",
    "src/more.rs": "use crate::shape::Sq;\n\nimpl Sq {\n"
    "    pub fn double(&self) -> i32 { self.area() * 2 }\n}\n",
    "src/other.rs": "pub struct Circle { pub r: i32 }\n\nimpl Circle {\n"
    "    pub fn double(&self) -> i32 { 0 }\n    pub fn describe(&self) -> i32 { 1 }\n"
    "    pub fn make() -> Option<Circle> { None }\n"
    "    pub fn spin(&self) -> i32 { self.area() + self.grow() }\n}\n",
    "src/util.rs": "use crate::other::Circle;\nuse crate::shape::{Area, Sq};\n\n"
    "pub fn run(p: &Sq) -> i32 {\n    let a = Sq::new(1);\n    let mut b: Sq = Sq::new(2);\n"
    "    a.grow() + b.double() + p.describe()\n}\n\n"
    "pub fn negative(q: i32) -> i32 {\n    let c = Circle::make();\n    let d = unknown(q);\n"
    "    c.double() + d.grow()\n}\n\n"
    "pub fn shadowed() -> i32 {\n    let a = Sq::new(1);\n    let a = a.grow();\n"
    "    a.describe()\n}\n",
}


def test_rust_impl_blocks_traits_and_typed_locals(tmp_path: Path) -> None:
    em = _edges(tmp_path, RUST_FILES)
    # self.m(): another impl block of the type (another file), a trait's default method
    assert em[("src.shape.Sq.grow", "double")] == "src.more.Sq.double"
    assert em[("src.shape.Sq.grow", "describe")] == "src.shape.Area.describe"
    assert em[("src.more.Sq.double", "area")] == "src.shape.Sq.area"  # impl Area for Sq
    # x.m(): let x = X::new() (-> Self), let x: X, a parameter x: &X
    assert em[("src.util.run", "grow")] == "src.shape.Sq.grow"
    assert em[("src.util.run", "double")] == "src.more.Sq.double"
    assert em[("src.util.run", "describe")] == "src.shape.Area.describe"


def test_rust_unrelated_type_is_no_target(tmp_path: Path) -> None:
    em = _edges(tmp_path, RUST_FILES)
    # Circle implements no Area and has no grow(): Sq's are not candidates
    assert em[("src.other.Circle.spin", "area")] is None
    assert em[("src.other.Circle.spin", "grow")] is None
    # make() returns Option<Circle>, not a Circle; d's type is unknown
    assert em[("src.util.negative", "double")] is None
    assert em[("src.util.negative", "grow")] is None
    # a shadowing let whose value's type is unknown
    assert em[("src.util.shadowed", "describe")] is None


GO_FILES = {
    "api/client.go": "package api\n\ntype Client struct{}\n\n"
    "func NewClient() *Client { return &Client{} }\n\n"
    "func (c *Client) Get() int { return c.Put() }\n",
    "api/put.go": "package api\n\nfunc (c *Client) Put() int { return 1 }\n\n"
    "type Other struct{}\n\nfunc (o Other) Get() int { return 0 }\n\nfunc (o Other) Close() {}\n\n"
    "func NewOther() (*Other, error) { return &Other{}, nil }\n",
    "api/use.go": "package api\n\n"
    "func useVar() int {\n\tvar a Client\n\treturn a.Get()\n}\n\n"
    "func useLit() int {\n\tb := Client{}\n\treturn b.Put()\n}\n\n"
    "func usePtr() int {\n\tc := &Client{}\n\treturn c.Get()\n}\n\n"
    "func useCtor() int {\n\td := NewClient()\n\treturn d.Put()\n}\n\n"
    "func useParam(p *Client) int {\n\treturn p.Get()\n}\n\n"
    "func useTuple() int {\n\te, err := NewOther()\n\t_ = err\n\treturn e.Get()\n}\n\n"
    "func neg(x Getter) {\n\tc := Client{}\n\tc.Close()\n\tx.Get()\n\tGet()\n}\n\n"
    "func loop(c Client) {\n\tfor _, c := range others() {\n\t\tc.Close()\n\t}\n}\n",
    "other/o.go": "package other\n\ntype Client struct{}\n\n"
    "func (c Client) Put() int { return 2 }\n",
}


def test_go_methods_on_typed_receivers(tmp_path: Path) -> None:
    em = _edges(tmp_path, GO_FILES)
    assert em[("api.client.Client.Get", "Put")] == "api.put.Client.Put"  # the receiver
    assert em[("api.use.useVar", "Get")] == "api.client.Client.Get"  # var a Client
    assert em[("api.use.useLit", "Put")] == "api.put.Client.Put"  # b := Client{}
    assert em[("api.use.usePtr", "Get")] == "api.client.Client.Get"  # c := &Client{}
    assert em[("api.use.useCtor", "Put")] == "api.put.Client.Put"  # d := NewClient()
    assert em[("api.use.useParam", "Get")] == "api.client.Client.Get"
    assert em[("api.use.useTuple", "Get")] == "api.put.Other.Get"  # e, err := NewOther()


def test_go_unrelated_type_is_no_target(tmp_path: Path) -> None:
    em = _edges(tmp_path, GO_FILES)
    assert em[("api.use.neg", "Close")] is None  # Client has no Close; Other's is unrelated
    assert em[("api.use.neg", "Get")] is None  # an interface value; a bare Get() is no method
    assert em[("api.use.loop", "Close")] is None  # the range variable shadows the parameter


def test_save_of_a_base_class_re_resolves_inherited_calls(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_files(root, TS_FILES)
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    assert edge_map(store, pid)[("web.model.Model.run", "close")] is None
    # Base gains close(): Model's this.close() now reaches it
    base = root / "web/base.ts"
    base.write_text(
        base.read_text().replace("  log(): void {}\n", "  log(): void {}\n  close(): void {}\n", 1)
    )
    indexer.update_file(store, pid, root, "web/base.ts")
    em = edge_map(store, pid)
    assert em[("web.model.Model.run", "close")] == "web.base.Base.close"
    # save() renamed: the inherited call is unresolved again, not moved to Other.save
    base.write_text(base.read_text().replace("  save(): void {}\n", "  store(): void {}\n", 1))
    indexer.update_file(store, pid, root, "web/base.ts")
    em = edge_map(store, pid)
    assert em[("web.model.Model.run", "save")] is None
    assert em[("web.model.Model.run", "close")] == "web.base.Base.close"


TS_TYPED = {
    "web/base.ts": TS_FILES["web/base.ts"],
    "web/model.ts": TS_FILES["web/model.ts"],
    "web/use.ts": 'import { Model } from "./model";\nimport { Other } from "./base";\n'
    'import * as b from "./base";\n\n'
    "export class Service {\n  private other: Other;\n  made = new b.Other();\n"
    "  constructor(private readonly model: Model) {}\n"
    "  a(): void { this.model.save(); this.other.close(); this.made.close(); }\n"
    "  b(m: Model | undefined): void { m.helper(); }\n"
    "  c(): void { const x = new Model(); x.run(); }\n"
    "  d(): void { const y = new b.Base(); y.log(); }\n"
    "  e(o: Other): void { o.log(); }\n"
    "  f(u): void { u.save(); }\n"
    "  g(m: Model, p: any): void { if (p) { const { m } = p; m.run(); } }\n"
    "}\n",
    "js/app.js": "class Client {\n  get() {}\n}\nclass Other {\n  get() {}\n}\n"
    "class App {\n  constructor() { this.client = new Client(); this.mixed = new Client();"
    " this.mixed = new Other(); }\n"
    "  run() { this.client.get(); }\n  mix() { this.mixed.get(); }\n"
    "  loop() { let c = new Client(); c.get(); c = new Other(); }\n}\n",
}


def test_typescript_typed_receivers(tmp_path: Path) -> None:
    em = _edges(tmp_path, TS_TYPED)
    s = "web.use.Service"
    assert em[(f"{s}.a", "save")] == "web.base.Base.save"  # a parameter property, inherited
    assert em[(f"{s}.a", "close")] == "web.base.Other.close"  # a field (annotated / new)
    assert em[(f"{s}.b", "helper")] == "web.model.Model.helper"  # Model | undefined
    assert em[(f"{s}.c", "run")] == "web.model.Model.run"  # const x = new Model()
    assert em[(f"{s}.d", "log")] == "web.base.Base.log"  # new b.Base() (namespace import)
    assert em[("js.app.App.run", "get")] == "js.app.Client.get"  # this.client = new Client()


def test_typescript_typed_receivers_stay_precise(tmp_path: Path) -> None:
    em = _edges(tmp_path, TS_TYPED)
    assert em[("web.use.Service.e", "log")] is None  # Other has no log(); Base's is unrelated
    assert em[("web.use.Service.f", "save")] is None  # no annotation
    assert em[("web.use.Service.g", "run")] is None  # destructuring shadows the parameter
    assert em[("js.app.App.mix", "get")] is None  # a field set to two classes
    assert em[("js.app.App.loop", "get")] is None  # a reassigned variable (JavaScript)


JAVA_TYPED = {
    **JAVA_FILES,
    J + "y/Use.java": "package com.y;\n\nimport com.x.Model;\nimport com.x.Other;\n"
    "import java.util.List;\n\n"
    "class Use {\n  private Model model = new Model();\n  Other other;\n\n"
    "  void a(Model m) { m.save(); }\n"
    "  void b() { var s = new Sub(); s.go(); }\n"
    "  void c() { this.model.run(); other.close(); }\n"
    "  void d(List<Model> ms) { for (Model e : ms) { e.name(); } ms.clear(); }\n"
    "  void e(Other o) { o.run(); }\n"
    "  void f(Object x) { x.save(); }\n"
    "  void g() { Other model = null; model.run(); }\n"
    "  void h(Object o) { if (o instanceof Model mm) { mm.run(); } }\n}\n",
}


def test_java_typed_receivers(tmp_path: Path) -> None:
    em = _edges(tmp_path, JAVA_TYPED)
    x, u = "src.main.java.com.x", "src.main.java.com.y.Use.Use"
    assert em[(f"{u}.a", "save")] == f"{x}.Base.Base.save"  # a parameter, inherited
    assert em[(f"{u}.b", "go")] == "src.main.java.com.y.Sub.Sub.go"  # var s = new Sub()
    assert em[(f"{u}.c", "run")] == f"{x}.Model.Model.run"  # this.model
    assert em[(f"{u}.c", "close")] == f"{x}.Other.Other.close"  # a bare field
    assert em[(f"{u}.d", "name")] == f"{x}.Named.Named.name"  # for (Model e : ms)
    assert em[(f"{u}.h", "run")] == f"{x}.Model.Model.run"  # o instanceof Model mm


def test_java_typed_receivers_stay_precise(tmp_path: Path) -> None:
    em = _edges(tmp_path, JAVA_TYPED)
    u = "src.main.java.com.y.Use.Use"
    assert em[(f"{u}.d", "clear")] is None  # java.util.List is not the project's
    assert em[(f"{u}.e", "run")] is None  # Other has no run(); Model's is unrelated
    assert em[(f"{u}.f", "save")] is None
    assert em[(f"{u}.g", "run")] is None  # a local Other shadows the Model field


def test_go_method_added_in_another_file_is_picked_up(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_files(root, GO_FILES)
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    assert edge_map(store, pid)[("api.use.neg", "Close")] is None
    # Client gains Close() in another file of the package: the stored receiver type of
    # c.Close() in use.go resolves it, without use.go being parsed again
    put = root / "api/put.go"
    put.write_text(put.read_text() + "\nfunc (c *Client) Close() {}\n")
    indexer.update_file(store, pid, root, "api/put.go")
    assert edge_map(store, pid)[("api.use.neg", "Close")] == "api.put.Client.Close"


def test_parameters_of_signatures_type_no_code(tmp_path: Path) -> None:
    """A parameter of an interface's method, a function type or a trait's method without a
    body is seen by no code: a same-named free variable stays of unknown type."""
    em = _edges(
        tmp_path,
        {
            "web/base.ts": TS_FILES["web/base.ts"],
            "web/sig.ts": 'import { Base } from "./base";\n\n'
            "export interface Saver {\n  keep(x: Base): void;\n}\n"
            "export type Cb = (y: Base) => void;\n\n"
            "export function free(): void {\n  x.save();\n  y.save();\n}\n"
            "export function typed(z: Base): void {\n  z.save();\n}\n",
            "api/client.go": GO_FILES["api/client.go"],
            "api/sig.go": "package api\n\ntype Getter interface {\n\tFetch(c Client) int\n}\n\n"
            "type Hook func(d Client)\n\nfunc free() {\n\tc.Get()\n\td.Get()\n}\n",
        },
    )
    assert em[("web.sig.typed", "save")] == "web.base.Base.save"
    assert em[("web.sig.free", "save")] is None
    assert em[("api.sig.free", "Get")] is None


CPP_TYPED = {
    **CPP_FILES,
    "cpp/use.cpp": '#include "model.h"\n#include "other.h"\n\n'
    "void use(app::Model& m, Other* o) {\n  m.save();\n  o->close();\n}\n\n"
    "void local() {\n  app::Model here;\n  here.step();\n  auto* p = new Other();\n"
    "  p->save();\n}\n\n"
    "class Holder {\n  Other* other;\n  void go() { other->close(); }\n"
    "  void again() { this->other->save(); }\n};\n\n"
    "void neg(Other o, Unknown u, std::unique_ptr<Other> s) {\n  o.log();\n  u.save();\n"
    "  s->close();\n}\n\n"
    "void nested(Iter* it) {\n  it->next();\n}\n",
    "cpp/list.h": "class List {\n public:\n  class Iter {\n   public:\n    void next() {}\n  };\n"
    "  void walk(Iter* it) { it->next(); }\n};\n",
}


def test_cpp_typed_receivers(tmp_path: Path) -> None:
    em = _edges(tmp_path, CPP_TYPED)
    assert em[("cpp.use.use", "save")] == "cpp.base.Base.save"  # app::Model&, inherited
    assert em[("cpp.use.use", "close")] == "cpp.other.Other.close"  # Other*
    assert em[("cpp.use.local", "step")] == "cpp.model.app.Model.step"  # out of line
    assert em[("cpp.use.local", "save")] == "cpp.other.Other.save"  # auto* p = new Other()
    assert em[("cpp.use.Holder.go", "close")] == "cpp.other.Other.close"  # a field
    assert em[("cpp.use.Holder.again", "save")] == "cpp.other.Other.save"  # this->field


def test_cpp_typed_receivers_stay_precise(tmp_path: Path) -> None:
    em = _edges(tmp_path, CPP_TYPED)
    assert em[("cpp.use.neg", "log")] is None  # Other has no log(); Base's is unrelated
    assert em[("cpp.use.neg", "save")] is None  # a type outside the project
    assert em[("cpp.use.neg", "close")] is None  # a template: -> and . differ
    # a class nested in another is named by its short name only inside that class
    assert em[("cpp.list.List.walk", "next")] == "cpp.list.List.Iter.next"
    assert em[("cpp.use.nested", "next")] is None  # another Iter (std's, a macro'd one)
