"""File-local call resolution: the rules a parser process applies to a fresh extract.

Nested definitions, the enclosing class for self/this/cls/Self, the same module, Go's same
package. What they cannot place is classified (``after_local``) as needing the project, jedi,
or nothing (a builtin, a method on a value of unknown type).
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from typing import Any

from mira_ls.index.symbols import CALLABLE_KINDS, CLASS_KINDS, SPECS, FileExtract
from mira_ls.store import code as cs

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


_PY_SELF = frozenset({"self", "cls", "super()"})
_INHERITS = frozenset({"java", "javascript", "typescript", "tsx"})
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
    rows = [(r.id, r.kind, r.name, r.qualified_name, r.parent_id) for r in refs]
    return scope_from_rows(sorted(rows), language, file_path)


def scope_from_rows(
    rows: list[tuple[int, str, str, str, int | None]], language: str, file_path: str
) -> Scope:
    """A stored file's scope from ``cs.scope_rows`` (sorted by id)."""
    kind, name, qn, parent = {}, {}, {}, {}
    children: dict[tuple[Any, str], list[Any]] = {}
    by_name: dict[str, list[Any]] = {}
    module_qn = ""
    for sid, k, n, q, p in rows:
        kind[sid], name[sid], qn[sid], parent[sid] = k, n, q, p
        if k == "module" and p is None:
            module_qn = q
        else:
            children.setdefault((p, n), []).append(sid)
        by_name.setdefault(n, []).append(sid)
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


_BASES_NAMED = re.compile(r"\b(?:extends|implements)\b")


def derived_callers(fx: FileExtract) -> set[int]:
    """The symbols (indices) inside a class whose head names a base (TypeScript/JavaScript,
    Java), directly or through an enclosing class."""
    out: set[int] = set()
    if fx.language not in _INHERITS:
        return out
    for i in range(len(fx.symbols)):
        k: int | None = i
        while k is not None:
            sk = fx.symbols[k]
            if sk.kind in CLASS_KINDS and sk.signature and _BASES_NAMED.search(sk.signature):
                out.add(i)
                break
            k = sk.parent
    return out


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
    lang: str,
    name: str,
    receiver: str | None,
    bound: set[str],
    star: bool,
    has_imports: bool,
    *,
    receiver_type: str | None = None,
    derived: bool = True,
) -> int:
    """For a call the file-local rules could not resolve: NEEDS_PROJECT, NEEDS_JEDI or
    SETTLED. Mirrors ``Resolver.resolve``: a call it could never resolve is not staged.
    ``derived``: the caller is inside a class that names a base (``extends``), whose
    inherited members a ``this.m()`` may reach."""
    if receiver_type is not None or (lang == "python" and receiver in _PY_SELF):
        return NEEDS_PROJECT  # a known receiver type, or an inherited method
    if lang in ("rust", "cpp"):
        return NEEDS_PROJECT  # paths (a::b::f, Type::new) and out-of-line impls elsewhere
    own = receiver in ("this", "super") or (lang == "java" and not receiver)
    if derived and own and lang in _INHERITS:
        return NEEDS_PROJECT  # a member of a base class (resolve_members)
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
