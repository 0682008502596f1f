"""Resolve call sites to symbols: scope, imports, unique names, and jedi for Python.

Conservative by design: a call whose target cannot be named with confidence stays
unresolved (``callee_id`` NULL, ``callee_name`` kept), never a guessed edge. In particular an
attribute call on a receiver of unknown type (``obj.save()``) is not resolved here; jedi
may resolve Python ones later.

Order: (1) scope - nested definitions, the enclosing class for self/this/cls/Self, the same
module, Go's same package; (2) imports - the bindings of the caller's file, following
Python re-exports through ``__init__`` files; (3) unique - a single top-level candidate in
the project (C/C++, files with star imports) or a single ``Type.member`` for a static-looking
receiver (``Foo::new``, ``Util.helper``).
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import pickle
import posixpath
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.index.symbols import CALLABLE_KINDS, CLASS_KINDS, SPECS, FileExtract, module_name
from mira_ls.store import Store
from mira_ls.store import code as cs
from mira_ls.store.connection import Connection
from mira_ls.testhooks import pause_point

log = logging.getLogger(__name__)

TARGET_KINDS = CALLABLE_KINDS | (CLASS_KINDS - {"impl"}) | {"type"}
TOP_PARENTS = frozenset({"module", "namespace"})

PY_BUILTINS = frozenset(dir(builtins))
JS_GLOBALS = frozenset(
    [
        "require",
        "parseInt",
        "parseFloat",
        "isNaN",
        "isFinite",
        "setTimeout",
        "setInterval",
        "clearTimeout",
        "clearInterval",
        "setImmediate",
        "queueMicrotask",
        "fetch",
        "structuredClone",
        "encodeURIComponent",
        "decodeURIComponent",
        "encodeURI",
        "decodeURI",
        "Number",
        "String",
        "Boolean",
        "Array",
        "Object",
        "Symbol",
        "BigInt",
        "Promise",
        "Error",
        "TypeError",
        "RangeError",
        "Date",
        "Map",
        "Set",
        "WeakMap",
        "WeakSet",
        "RegExp",
        "Proxy",
    ]
)
GO_BUILTINS = frozenset(
    [
        "append",
        "cap",
        "clear",
        "close",
        "complex",
        "copy",
        "delete",
        "imag",
        "len",
        "make",
        "max",
        "min",
        "new",
        "panic",
        "print",
        "println",
        "real",
        "recover",
    ]
)
C_LIBC = frozenset(
    [
        "printf",
        "fprintf",
        "sprintf",
        "snprintf",
        "puts",
        "putchar",
        "malloc",
        "calloc",
        "realloc",
        "free",
        "memcpy",
        "memmove",
        "memset",
        "memcmp",
        "strlen",
        "strcmp",
        "strncmp",
        "strcpy",
        "strncpy",
        "strcat",
        "strdup",
        "strchr",
        "strrchr",
        "strstr",
        "exit",
        "abort",
        "assert",
        "fopen",
        "fclose",
        "fread",
        "fwrite",
        "fgets",
        "fputs",
        "perror",
        "atoi",
        "atol",
        "strtol",
        "qsort",
    ]
)
BUILTINS: dict[str, frozenset[str]] = {
    "python": PY_BUILTINS,
    "javascript": JS_GLOBALS,
    "typescript": JS_GLOBALS,
    "tsx": JS_GLOBALS,
    "go": GO_BUILTINS,
    "c": C_LIBC,
    "cpp": C_LIBC,
}
# Languages where a bare name inside a class body refers to the class's members.
BARE_SEES_MEMBERS = frozenset({"java", "cpp"})
FAMILY = {"typescript": "js", "tsx": "js", "javascript": "js", "c": "c", "cpp": "c"}
_JS_EXTS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


_IDENT = re.compile(r"[A-Za-z_]\w*")
_HEAD = re.compile(r"::|\.|->|\(|\[")


def family(lang: str) -> str:
    return FAMILY.get(lang, lang)


# --- a file's scope, from a fresh extract or from stored rows -------------------------------


@dataclass
class Scope:
    """One file's symbols keyed by list index (fresh extract) or row id (stored)."""

    language: str
    file_path: str
    module_qn: str
    kind: dict[Any, str]
    name: dict[Any, str]
    qn: dict[Any, str]
    parent: dict[Any, Any]
    children: dict[tuple[Any, str], list[Any]]
    by_name: dict[str, list[Any]]


def scope_from_extract(fx: FileExtract, file_path: str) -> Scope:
    kind, name, qn, parent = {}, {}, {}, {}
    by_name: dict[str, list[Any]] = {}
    for i, s in enumerate(fx.symbols):
        kind[i], name[i], qn[i], parent[i] = s.kind, s.name, s.qualified_name, s.parent
        by_name.setdefault(s.name, []).append(i)
    return Scope(
        fx.language,
        file_path,
        fx.symbols[0].qualified_name,
        kind,
        name,
        qn,
        parent,
        fx.children,
        by_name,
    )


def scope_from_refs(refs: list[cs.SymbolRef], language: str, file_path: str) -> Scope:
    kind, name, qn, parent = {}, {}, {}, {}
    children: dict[tuple[Any, str], list[Any]] = {}
    by_name: dict[str, list[Any]] = {}
    module_qn = ""
    for r in sorted(refs, key=lambda r: r.id):
        kind[r.id], name[r.id], qn[r.id], parent[r.id] = (
            r.kind,
            r.name,
            r.qualified_name,
            r.parent_id,
        )
        if r.kind == "module" and r.parent_id is None:
            module_qn = r.qualified_name
        else:
            children.setdefault((r.parent_id, r.name), []).append(r.id)
        by_name.setdefault(r.name, []).append(r.id)
    return Scope(language, file_path, module_qn, kind, name, qn, parent, children, by_name)


def _pick(scope: Scope, cands: list[Any]) -> Any | None:
    cands = [c for c in cands if scope.kind[c] in TARGET_KINDS]
    if not cands:
        return None
    # Python: a later definition of the same name wins; elsewhere, overloads -> the first.
    return cands[-1] if scope.language == "python" else cands[0]


def enclosing_class(scope: Scope, key: Any) -> Any | None:
    k = key
    while k is not None:
        if scope.kind[k] in CLASS_KINDS:
            return k
        k = scope.parent.get(k)
    return None


def _class_members(scope: Scope, cls: Any, name: str) -> list[Any]:
    """Members named ``name`` of a class, including other impl/struct blocks of the same type
    in this file (Rust ``impl Foo`` blocks, a struct and its impls)."""
    out = list(scope.children.get((cls, name), []))
    if not out:
        cname = scope.name[cls]
        for other in scope.by_name.get(cname, []):
            if other != cls and scope.kind[other] in CLASS_KINDS:
                out.extend(scope.children.get((other, name), []))
    return out


def local_target(scope: Scope, caller: Any, name: str, receiver: str | None) -> Any | None:
    """A call's target within its own file, or None."""
    lang = scope.language
    spec = SPECS[lang]
    if receiver is None:
        k = caller
        while k is not None:
            kk = scope.kind[k]
            if kk not in CLASS_KINDS or k == caller or lang in BARE_SEES_MEMBERS:
                hit = _pick(scope, scope.children.get((k, name), []))
                if hit is not None:
                    return hit
            k = scope.parent.get(k)
        return None
    if receiver in spec.self_names:
        cls = enclosing_class(scope, caller)
        if cls is not None:
            return _pick(scope, _class_members(scope, cls, name))
        # An out-of-line method (C++ 'void Foo::bar()', Go methods): its siblings by name.
        cqn = scope.qn[caller]
        if "." in cqn:
            prefix = cqn.rsplit(".", 1)[0] + "." + name
            return _pick(scope, [k for k in scope.by_name.get(name, []) if scope.qn[k] == prefix])
        return None
    # A type named in this file: Foo.bar() / Foo::bar().
    if _IDENT.fullmatch(receiver):
        classes = [k for k in scope.by_name.get(receiver, []) if scope.kind[k] in CLASS_KINDS]
        if classes and (lang != "python" or receiver[:1].isupper() or len(classes) == 1):
            members: list[Any] = []
            for c in classes:
                members.extend(scope.children.get((c, name), []))
            return _pick(scope, members)
    return None


def resolve_local(fx: FileExtract, file_path: str = "") -> list[int | None]:
    """Per call of a fresh extract: the index of its target symbol in the same file, or None.

    A caller often repeats a call (``self.x()`` in a loop body): each distinct
    (caller, name, receiver) is looked up once."""
    if not fx.calls:
        return []
    scope = scope_from_extract(fx, file_path)
    memo: dict[tuple[int, str, str | None], int | None] = {}
    out: list[int | None] = []
    for c in fx.calls:
        key = (c.caller, c.name, c.receiver)
        if key in memo:
            out.append(memo[key])
        else:
            out.append(memo.setdefault(key, local_target(scope, c.caller, c.name, c.receiver)))
    return out


# What a call that failed locally still needs: 1 = project-wide resolution may find it (it
# is staged / left pending); 2 = no project rule can, but jedi may (Python); 0 = settled
# as unresolved (a builtin, a method on a value of unknown type).
NEEDS_PROJECT, NEEDS_JEDI, SETTLED = 1, 2, 0


def local_bindings(fx: FileExtract) -> tuple[set[str], bool, bool]:
    """(names bound by the file's imports, has a star import, has any import)."""
    names: set[str] = set()
    star = False
    for imp in fx.imports:
        if imp.name == "*":
            star = True
        elif imp.alias:
            names.add(imp.alias)
        elif imp.name and imp.name not in ("default", "self"):
            names.add(imp.name)
        else:
            mod = imp.module.strip('"<>')
            if fx.language == "python":
                names.add(mod.lstrip(".").split(".", 1)[0])
            else:
                names.add(re.split(r"::|/|\.", mod)[-1] if mod else mod)
                if fx.language == "go":
                    segs = [x for x in mod.split("/") if x]
                    if len(segs) > 1 and re.fullmatch(r"v\d+", segs[-1]):
                        names.add(segs[-2])
    return names, star, bool(fx.imports)


def after_local(
    lang: str, name: str, receiver: str | None, bound: set[str], star: bool, has_imports: bool
) -> int:
    """For a call the file-local rules could not resolve: NEEDS_PROJECT, NEEDS_JEDI or
    SETTLED. Mirrors ``Resolver.resolve``: a call it could never resolve is not staged."""
    if lang in ("rust", "cpp"):
        return NEEDS_PROJECT  # paths (a::b::f, Type::new) and out-of-line impls elsewhere
    builtins_ = BUILTINS.get(lang, frozenset())
    if receiver is None:
        if name in bound or star:
            return NEEDS_PROJECT
        if name in builtins_:
            return SETTLED
        if lang in ("go", "c"):
            return NEEDS_PROJECT  # same package / unique global name
        if lang in ("javascript", "typescript", "tsx") and not has_imports:
            return NEEDS_PROJECT  # a script: unique global name
        return SETTLED
    head = _HEAD.split(receiver, maxsplit=1)[0]
    if head in bound:
        return NEEDS_PROJECT
    single = _IDENT.fullmatch(receiver) is not None
    static_langs = ("java", "javascript", "typescript", "tsx", "python")
    if head[:1].isupper() and lang in static_langs and (lang != "python" or single):
        return NEEDS_PROJECT  # Foo.bar(): a static call on a class defined elsewhere
    if lang != "python":
        return SETTLED
    if head in PY_BUILTINS and head not in ("super", "type"):
        return SETTLED
    return NEEDS_JEDI


# --- project-wide resolution over stored rows ----------------------------------------------


@dataclass
class _FileCtx:
    file_id: int
    path: str
    language: str
    bindings: dict[str, str]  # local name -> target path (dotted; Go: import path)
    stars: list[str]
    include_stems: set[str]
    has_imports: bool
    conn: Connection
    _scope: Scope | None = None

    @property
    def scope(self) -> Scope:
        """The file's stored symbols, loaded on first need (most calls never need them)."""
        if self._scope is None:
            refs = cs.refs_in_file(self.conn, self.file_id)
            self._scope = scope_from_refs(refs, self.language, self.path)
        return self._scope


@dataclass
class ResolveStats:
    resolved: int = 0
    unresolved: int = 0
    by: dict[str, int] = field(default_factory=dict)


class Resolver:
    """Resolves stored edges with memoized look-ups (one instance per pass)."""

    def __init__(self, conn: Connection, project_id: int) -> None:
        self.conn = conn
        self.project_id = project_id
        self._by_name: dict[str, list[cs.SymbolRef]] = {}
        self._by_qn: dict[str, list[cs.SymbolRef]] = {}
        self._go_dirs: set[str] | None = None
        self._py_memo: dict[str, int | None] = {}
        self._packages: dict[str, bool] = {}
        self._exports_memo: dict[int, tuple[dict[str, str | None], list[str]]] = {}

    # memoized look-ups
    def by_name(self, name: str) -> list[cs.SymbolRef]:
        hit = self._by_name.get(name)
        if hit is None:
            hit = cs.refs_by_name(self.conn, self.project_id, name)
            if len(self._by_name) > 50_000:
                self._by_name.clear()
            self._by_name[name] = hit
        return hit

    def by_qn(self, qn: str) -> list[cs.SymbolRef]:
        hit = self._by_qn.get(qn)
        if hit is None:
            hit = cs.refs_by_qualified(self.conn, self.project_id, qn)
            if len(self._by_qn) > 50_000:
                self._by_qn.clear()
            self._by_qn[qn] = hit
        return hit

    def go_dirs(self) -> set[str]:
        if self._go_dirs is None:
            self._go_dirs = cs.module_dirs(self.conn, self.project_id, "go")
        return self._go_dirs

    # file context
    def file_ctx(self, file_id: int, path: str, language: str) -> _FileCtx:
        imports = cs.imports_of_file(self.conn, file_id)
        bindings: dict[str, str] = {}
        stars: list[str] = []
        stems: set[str] = {posixpath.splitext(posixpath.basename(path))[0]}
        module_qn = module_name(path, language)
        for imp in imports:
            self._bind(language, path, module_qn, imp, bindings, stars, stems)
        return _FileCtx(file_id, path, language, bindings, stars, stems, bool(imports), self.conn)

    def _bind(
        self,
        lang: str,
        path: str,
        module_qn: str,
        imp: cs.ImportRow,
        bindings: dict[str, str],
        stars: list[str],
        stems: set[str],
    ) -> None:
        if lang == "python":
            base = python_absolute(imp.module, module_qn, path.endswith("__init__.py"))
            if base is None:
                return
            if imp.name is None:
                if imp.alias:
                    bindings[imp.alias] = base
                else:
                    first = base.split(".", 1)[0]
                    bindings.setdefault(first, first)
            elif imp.name == "*":
                stars.append(base)
            else:
                bindings[imp.alias or imp.name] = f"{base}.{imp.name}" if base else imp.name
        elif lang in ("javascript", "typescript", "tsx"):
            mod = js_module_qn(imp.module, path)
            if mod is None:
                return
            if imp.name == "*":
                stars.append(mod)
            elif imp.name in (None, "default"):
                if imp.alias and imp.name is None:
                    bindings[imp.alias] = mod
            elif imp.name:
                bindings[imp.alias or imp.name] = f"{mod}.{imp.name}"
        elif lang == "go":
            segs = [s for s in imp.module.split("/") if s]
            if not segs:
                return
            local = imp.alias or (
                segs[-2] if re.fullmatch(r"v\d+", segs[-1]) and len(segs) > 1 else segs[-1]
            )
            if local in ("_", "."):
                return
            bindings[local] = "go:" + imp.module
        elif lang == "rust":
            segs = [s for s in imp.module.split("::") if s]
            if imp.name == "*":
                stars.append(".".join(_rust_strip(segs)))
            elif imp.name is None or imp.name == "self":
                if segs:
                    bindings[imp.alias or segs[-1]] = ".".join(_rust_strip(segs))
            else:
                bindings[imp.alias or imp.name] = ".".join(_rust_strip([*segs, imp.name]))
        elif lang == "java":
            if imp.name == "*":
                stars.append(imp.module)
            elif imp.name:
                bindings[imp.name] = f"{imp.module}.{imp.name}"
        elif lang in ("c", "cpp"):
            inc = imp.module.strip('"<>')
            stems.add(posixpath.splitext(posixpath.basename(inc))[0])

    # the rules
    def resolve(
        self,
        ctx: _FileCtx,
        caller: int,
        name: str,
        receiver: str | None,
        *,
        local_done: bool = False,
    ) -> tuple[int, str] | None:
        """The target of one call; ``local_done``: the file-local rules already failed
        (the worker tried them on this very content)."""
        lang = ctx.language
        if not local_done:
            scope = ctx.scope
            if caller not in scope.kind:
                return None
            hit = local_target(scope, caller, name, receiver)
            if hit is not None:
                return hit, "scope"
        spec = SPECS[lang]
        if receiver is None:
            if name in ctx.bindings:
                t = self._import_target(ctx, ctx.bindings[name], None)
                return (t, "import") if t is not None else None
            if name in BUILTINS.get(lang, ()):
                return None
            if lang == "go":
                d = posixpath.dirname(ctx.path)
                c = self._top_level(name, lang, lambda r: posixpath.dirname(r.file_path) == d)
                return (c, "scope") if c is not None else None
            for star in ctx.stars:
                t = self._import_target(ctx, star, name)
                if t is not None:
                    return t, "import"
            return self._unique(ctx, name)
        if receiver in spec.self_names:
            # The enclosing type's members defined in other files (Rust impls, C++ out-of-line).
            scope = ctx.scope
            if caller not in scope.kind:
                return None
            cls = enclosing_class(scope, caller)
            base = scope.qn[cls] if cls is not None else scope.qn[caller].rsplit(".", 1)[0]
            if cls is None and scope.kind[caller] not in ("method", "constructor"):
                return None
            cands = [
                r
                for r in self.by_name(name)
                if r.parent_name == base.rsplit(".", 1)[-1]
                and r.kind in TARGET_KINDS
                and family(r.language) == family(lang)
                and r.qualified_name.rsplit(".", 1)[0].endswith(base.rsplit(".", 1)[-1])
            ]
            exact = [r for r in cands if r.qualified_name == f"{base}.{name}"]
            if len(exact) == 1:
                return exact[0].id, "scope"
            if lang in ("rust", "cpp") and len({r.id for r in cands}) == 1:
                return cands[0].id, "scope"
            return None
        segs = [s for s in re.split(r"::|\.|->", receiver) if s]
        if not segs or not all(re.fullmatch(r"[A-Za-z_]\w*", s) for s in segs):
            return None
        head = segs[0]
        if head in ctx.bindings:
            target = ctx.bindings[head]
            if target.startswith("go:"):
                if len(segs) != 1:
                    return None
                c = self._go_package_member(target[3:], name)
                return (c, "import") if c is not None else None
            rest = ".".join(segs[1:])
            path = f"{target}.{rest}" if rest else target
            t = self._import_target(ctx, path, name)
            return (t, "import") if t is not None else None
        if lang == "cpp" and not self._names_a_scope(segs[-1], lang):
            return None  # obj.f() / p->f(): a value of unknown type
        if lang in ("rust", "cpp"):
            segs = _rust_strip(segs) if lang == "rust" else segs
            if not segs:
                hit2 = self._top_level_in_file(ctx, name)
                return (hit2, "scope") if hit2 is not None else None
            return self._suffix(ctx, segs, name)
        if head[:1].isupper() and lang in ("java", "javascript", "typescript", "tsx", "python"):
            if lang == "python" and len(segs) > 1:
                return None
            return self._suffix(ctx, segs, name)
        return None

    def jedi_may_help(self, ctx: _FileCtx, name: str, receiver: str | None) -> bool:
        """Whether jedi could find a project symbol scope resolution missed (Python only):
        not for builtins, nor for names reached through a module outside the project
        (``os.path.join``, ``np.array``), which jedi would place outside the project."""
        if ctx.language != "python":
            return False
        head = name if receiver is None else re.split(r"[.(\[]", receiver, maxsplit=1)[0]
        if receiver is None and name in PY_BUILTINS:
            return False
        if head in PY_BUILTINS and receiver is not None and head not in ("super", "type"):
            return False  # str.join, dict.get ... and literals' methods
        target = ctx.bindings.get(head)
        if target is not None:
            top = target.split(".", 1)[0]
            return self._project_has_package(top)
        return True

    def _project_has_package(self, top: str) -> bool:
        hit = self._packages.get(top)
        if hit is None:
            hit = any(r.kind == "module" for r in self.by_qn(top)) or bool(
                cs.module_prefix_exists(self.conn, self.project_id, top + ".")
            )
            self._packages[top] = hit
        return hit

    def _names_a_scope(self, name: str, lang: str) -> bool:
        """A class, struct or namespace of this name exists (so ``name::f`` is static)."""
        return any(
            r.kind in CLASS_KINDS or r.kind == "namespace"
            for r in self.by_name(name)
            if family(r.language) == family(lang)
        )

    def _top_level_in_file(self, ctx: _FileCtx, name: str) -> int | None:
        scope = ctx.scope
        for k in scope.by_name.get(name, []):
            if scope.kind[k] in TARGET_KINDS and scope.kind.get(scope.parent.get(k)) == "module":
                return int(k)
        return None

    def _top_level(self, name: str, lang: str, keep: Callable[[cs.SymbolRef], bool]) -> int | None:
        cands = [
            r
            for r in self.by_name(name)
            if r.kind in TARGET_KINDS
            and r.parent_kind in TOP_PARENTS
            and family(r.language) == family(lang)
            and keep(r)
        ]
        return cands[0].id if len(cands) == 1 else None

    def _unique(self, ctx: _FileCtx, name: str) -> tuple[int, str] | None:
        lang = ctx.language
        # Module-scoped languages: a bare name must be local or imported, unless a star
        # import (or, for scripts, no import at all) may have brought it in.
        if lang in ("python", "rust", "java") and not ctx.stars:
            return None
        if lang in ("javascript", "typescript", "tsx") and ctx.has_imports and not ctx.stars:
            return None
        cands = [
            r
            for r in self.by_name(name)
            if r.kind in TARGET_KINDS
            and r.parent_kind in TOP_PARENTS
            and family(r.language) == family(lang)
        ]
        if len(cands) == 1:
            return cands[0].id, "unique"
        if len(cands) > 1 and lang in ("c", "cpp"):
            inc = [
                r
                for r in cands
                if posixpath.splitext(posixpath.basename(r.file_path))[0] in ctx.include_stems
            ]
            if len(inc) == 1:
                return inc[0].id, "import"
        return None

    def _suffix(self, ctx: _FileCtx, segs: list[str], name: str) -> tuple[int, str] | None:
        want = "." + ".".join([*segs, name])
        cands = [
            r
            for r in self.by_name(name)
            if r.kind in TARGET_KINDS
            and family(r.language) == family(ctx.language)
            and ("." + r.qualified_name).endswith(want)
        ]
        if len(cands) == 1:
            return cands[0].id, "unique"
        if len(cands) > 1:
            # Rust: several impl blocks define no duplicate method; prefer a struct's impl.
            ids = {r.id for r in cands}
            if len(ids) == 1:
                return cands[0].id, "unique"
        return None

    def _go_package_member(self, import_path: str, name: str) -> int | None:
        dirs = [
            d for d in self.go_dirs() if d and (import_path == d or import_path.endswith("/" + d))
        ]
        if not dirs:
            return None
        d = max(dirs, key=len)
        return self._top_level(name, "go", lambda r: posixpath.dirname(r.file_path) == d)

    def _import_target(self, ctx: _FileCtx, path: str, name: str | None) -> int | None:
        """The symbol a dotted import path (plus member ``name``) names, if in the project."""
        lang = ctx.language
        full = f"{path}.{name}" if name else path
        if lang == "python":
            return self._python_target(full)
        if lang in ("javascript", "typescript", "tsx"):
            for qn in (full, full.replace(".", ".index.", 1) if False else None):
                if qn is None:
                    continue
                hits = [r for r in self.by_qn(qn) if r.kind in TARGET_KINDS]
                if len(hits) >= 1:
                    return hits[0].id
            if path and name:
                hits = [r for r in self.by_qn(f"{path}.index.{name}") if r.kind in TARGET_KINDS]
                if hits:
                    return hits[0].id
            return None
        segs = [s for s in full.split(".") if s]
        if not segs:
            return None
        res = self._suffix(ctx, segs[:-1], segs[-1])
        return res[0] if res else None

    def _python_target(self, qn: str, depth: int = 0) -> int | None:
        if qn in self._py_memo:
            return self._py_memo[qn]
        self._py_memo[qn] = None  # guards import cycles
        res = self._python_target_uncached(qn, depth)
        self._py_memo[qn] = res
        return res

    def _python_target_uncached(self, qn: str, depth: int) -> int | None:
        hits = [r for r in self.by_qn(qn) if r.kind in TARGET_KINDS]
        if hits:
            return hits[-1].id
        if depth >= 4 or "." not in qn:
            return None
        # Re-export: 'pkg.Name' where pkg/__init__.py does 'from .core import Name'.
        mod, member = qn.rsplit(".", 1)
        mods = [r for r in self.by_qn(mod) if r.kind == "module"]
        if not mods:
            parent = self._python_target(mod, depth + 1)
            if parent is None:
                return None
            pref = cs.ref_by_id(self.conn, parent)
            if pref is None or pref.qualified_name == mod:
                return None
            return self._python_target(f"{pref.qualified_name}.{member}", depth + 1)
        names, stars = self._exports(mods[0])
        if member in names:
            target = names[member]
            return self._python_target(target, depth + 1) if target else None
        for base in stars:
            t = self._python_target(f"{base}.{member}", depth + 1)
            if t is not None:
                return t
        return None

    def _exports(self, m: cs.SymbolRef) -> tuple[dict[str, str | None], list[str]]:
        """What a Python module's imports bind: name -> absolute dotted target (None for a
        module imported under an alias), plus its star-imported modules."""
        hit = self._exports_memo.get(m.id)
        if hit is not None:
            return hit
        names: dict[str, str | None] = {}
        stars: list[str] = []
        is_pkg = m.file_path.endswith("__init__.py")
        for imp in cs.imports_of_file(self.conn, m.file_id):
            base = python_absolute(imp.module, m.qualified_name, is_pkg)
            if base is None:
                continue
            if imp.name == "*":
                stars.append(base)
            elif imp.name is not None:
                names[imp.alias or imp.name] = f"{base}.{imp.name}" if base else imp.name
            elif imp.alias:
                names[imp.alias] = base
        self._exports_memo[m.id] = (names, stars)
        return names, stars


def _rust_strip(segs: list[str]) -> list[str]:
    out = list(segs)
    while out and out[0] in ("crate", "self", "super", "Self"):
        out = out[1:]
    return out


def python_absolute(module: str, module_qn: str, is_package: bool) -> str | None:
    """The absolute dotted name of an import ('.core' in click.decorators -> click.core)."""
    if not module.startswith("."):
        return module
    level = len(module) - len(module.lstrip("."))
    rest = module[level:]
    parts = module_qn.split(".") if module_qn else []
    if not is_package:
        parts = parts[:-1]
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if rest:
        base.append(rest)
    return ".".join(base)


def js_module_qn(module: str, importer: str) -> str | None:
    """'./util' imported by 'src/app.ts' -> 'src.util'; bare package names -> None."""
    if not module.startswith("."):
        return None
    p = posixpath.normpath(posixpath.join(posixpath.dirname(importer), module))
    if p.startswith(".."):
        return None
    for ext in _JS_EXTS:
        if p.endswith(ext):
            p = p[: -len(ext)]
            break
    return p.replace("/", ".")


def resolve_pending(
    conn: Connection,
    project_id: int,
    *,
    jedi_next: bool = True,
    batch: int = 5000,
    write: Callable[[Callable[[Any], None]], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    file_ids: list[int] | None = None,
) -> ResolveStats:
    """Resolve every edge flagged needs_resolution=1 in a project.

    Unresolved Python edges become needs_resolution=2 (jedi pending) when ``jedi_next``.
    ``write(fn)`` runs ``fn(conn)`` inside a write transaction (the caller's store); without
    it, updates run on ``conn`` directly (the caller already holds a transaction).
    ``file_ids`` limits the pass to edges whose caller is in these files."""
    stats = ResolveStats()
    resolver = Resolver(conn, project_id)
    updates: list[tuple[int | None, str | None, int, int]] = []

    def flush() -> None:
        if not updates:
            return
        rows = list(updates)
        updates.clear()
        if write is None:
            cs.set_edge_resolutions(conn, rows)
        else:
            write(lambda c: cs.set_edge_resolutions(c, rows))

    files = (
        cs.pending_files(conn, project_id, 1) if file_ids is None else cs.file_info(conn, file_ids)
    )
    for file_id, path, lang in files:
        if cancel is not None and cancel():
            break
        ctx = resolver.file_ctx(file_id, path, lang)
        for e in cs.pending_edges_in_file(conn, file_id, 1):
            try:
                res = resolver.resolve(ctx, e.caller_id, e.callee_name, e.receiver)
            except RecursionError:
                res = None
            if res is None:
                stats.unresolved += 1
                wait = (
                    2 if jedi_next and resolver.jedi_may_help(ctx, e.callee_name, e.receiver) else 0
                )
                updates.append((None, None, wait, e.id))
            else:
                stats.resolved += 1
                stats.by[res[1]] = stats.by.get(res[1], 0) + 1
                updates.append((res[0], res[1], 0, e.id))
        if len(updates) >= batch:
            flush()
    flush()
    return stats


@dataclass(frozen=True)
class StagedCalls:
    """One file's calls that need project-wide resolution, kept by a full index until every
    symbol is stored. ``calls`` is a pickled list of (caller index, name, receiver, line,
    col), compact and opaque to the writer; ``ids`` maps a caller index to its symbol id (a
    ``range`` for a new file)."""

    file_id: int
    path: str
    language: str
    ids: Sequence[int]
    calls: bytes
    count: int


def pack_staged(calls: list[tuple[Any, ...]]) -> bytes:
    return pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL)


def resolve_staged(
    conn: Connection,
    project_id: int,
    items: Iterable[StagedCalls],
    *,
    jedi_next: bool = True,
    resolver: Resolver | None = None,
) -> tuple[list[tuple[Any, ...]], ResolveStats]:
    """Resolve staged calls into call_graph rows (EDGE_WRITE_COLS order), read-only.

    Pure over the stored symbols, so any process with a connection to the database can do
    it (a full index spreads the files over its parser processes) and the rows are the same
    whichever does."""
    stats = ResolveStats()
    resolver = resolver or Resolver(conn, project_id)
    out: list[tuple[Any, ...]] = []
    for item in items:
        ctx = resolver.file_ctx(item.file_id, item.path, item.language)
        ids = item.ids
        for caller, name, receiver, line, col in pickle.loads(item.calls):
            caller_id = ids[caller]
            try:
                res = resolver.resolve(ctx, caller_id, name, receiver, local_done=True)
            except RecursionError:
                res = None
            if res is None:
                stats.unresolved += 1
                wait = 2 if jedi_next and resolver.jedi_may_help(ctx, name, receiver) else 0
                out.append((project_id, caller_id, None, name, receiver, line, col, None, wait))
            else:
                stats.resolved += 1
                stats.by[res[1]] = stats.by.get(res[1], 0) + 1
                out.append((project_id, caller_id, res[0], name, receiver, line, col, res[1], 0))
    return out, stats


def staged_as_pending(project_id: int, items: Iterable[StagedCalls]) -> list[tuple[Any, ...]]:
    """Rows for staged calls left unresolved (an interrupted index): pending
    (needs_resolution=1), so the next pass resolves them."""
    return [
        (project_id, item.ids[caller], None, name, receiver, line, col, None, 1)
        for item in items
        for caller, name, receiver, line, col in pickle.loads(item.calls)
    ]


# --- jedi (background, Python only) ----------------------------------------------------------


def resolve_python_with_jedi(
    store: Store,
    project_id: int,
    root: Path,
    cancel: Callable[[], bool] | None = None,
    *,
    time_budget_s: float | None = None,
) -> int:
    """Resolve Python edges left for jedi (needs_resolution=2); returns how many resolved.

    Each file is read once and asked ``goto(follow_imports=True)`` at every pending call;
    a definition inside the project maps to the code_elements row whose name is on that
    line. Edges jedi cannot place are settled as unresolved (needs_resolution=0)."""
    try:
        import jedi
    except ImportError:  # pragma: no cover - jedi is a dependency
        log.warning("jedi is not installed; Python calls stay resolved by scope only")
        return 0
    root = Path(root).resolve()
    conn = store.conn()
    project = jedi.Project(str(root))
    resolved = 0
    started = time.monotonic()
    files = cs.pending_files(conn, project_id, 2)
    for n, (file_id, rel, _lang) in enumerate(files):
        if cancel is not None and cancel():
            break
        if time_budget_s is not None and time.monotonic() - started > time_budget_s:
            break
        edges = cs.pending_edges_in_file(conn, file_id, 2)
        try:
            data = (root / rel).read_bytes()
        except OSError as exc:
            log.debug("jedi cannot read %s: %s", rel, exc)
            data = None
        stored = cs.get_file(conn, project_id, rel)
        if data is not None and (
            stored is None or hashlib.sha256(data).hexdigest() != stored.content_hash
        ):
            continue  # changed since it was indexed: positions are stale; its update re-queues
        try:
            script = (
                jedi.Script(data.decode("utf-8", "replace"), path=str(root / rel), project=project)
                if data is not None
                else None
            )
        except ValueError as exc:
            log.debug("jedi cannot read %s: %s", rel, exc)
            script = None
        rows: list[tuple[int | None, str | None, int, int]] = []
        for e in edges:
            if cancel is not None and cancel():
                break
            target = None
            if script is not None:
                target = _jedi_target(conn, project_id, root, script, e)
            if target is not None:
                resolved += 1
                rows.append((target, "jedi", 0, e.id))
            else:
                rows.append((None, None, 0, e.id))
        with store.write() as c:
            cs.set_edge_resolutions(c, rows)
        if n == 0 and len(files) > 1:
            pause_point("index:jedi:middle")  # each file's edges are settled in one write
    return resolved


def _jedi_target(
    conn: Connection, project_id: int, root: Path, script: Any, e: cs.PendingEdge
) -> int | None:
    try:
        names = script.goto(e.line, e.col, follow_imports=True)
    except Exception as exc:
        log.debug("jedi goto failed at %s:%s: %s", e.line, e.col, exc)
        return None
    for n in names:
        mp = n.module_path
        if mp is None or n.line is None:
            continue
        try:
            rel = Path(mp).resolve().relative_to(root).as_posix()
        except ValueError:
            continue  # outside the project (stdlib, site-packages)
        sid = cs.symbol_containing_line(conn, project_id, rel, n.line)
        if sid is not None:
            return sid
    return None
