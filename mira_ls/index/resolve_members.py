"""Method calls of the other languages through a known receiver type, over the stored project.

- TypeScript/JavaScript, Java, C++: ``this.m()`` / ``super.m()`` (and, in Java and C++, a
  bare ``m()`` inside a class) reach the class's own and inherited methods. Bases are read
  from the stored class head (``class B extends A``, ``class B extends A implements I``,
  ``class B : public A``) and named the way the class's file names them: its own classes,
  its imports, Java's package, a C++ class unique in the project.
- Rust: a type's methods are those of all its ``impl`` blocks, then the default methods of
  the traits it implements (``impl T for X``); reached by ``self.m()``, ``Self::m()`` and
  ``x.m()`` where the parser recorded what ``x`` holds (``lang_types``: ``let x =
  X::new()`` through ``new``'s ``-> Self``, ``let x: X``, a parameter ``x: &X``).
- Go: the methods of a type of the package, on a receiver, parameter or variable whose type
  the parser recorded (``var c Client``, ``c := &Client{}``, ``c := NewClient()`` through
  the function's declared result).
- Java, TypeScript/JavaScript: ``x.m()`` / ``this.x.m()`` where the parser recorded the
  declared type of the parameter, variable or field ``x`` (or the class it was made with,
  ``new Client()``): the method along that class's bases.

Only a known type's methods are ever candidates: a same-named method of an unrelated class
is never a target, and a receiver of unknown type leaves the call unresolved.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from mira_ls.index.resolve_scope import TARGET_KINDS, TOP_PARENTS, enclosing_class, family
from mira_ls.index.symbols import CLASS_KINDS
from mira_ls.store import code as cs

if TYPE_CHECKING:
    from mira_ls.index.resolve_project import Resolver, _FileCtx

_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_GENERIC = re.compile(r"<[^<>]*>")
_JS_EXTENDS = re.compile(r"\bextends\s+([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)")
_CPP_COLON = re.compile(r"(?<!:):(?!:)")
_CPP_ACCESS = frozenset({"public", "private", "protected", "virtual"})
_RUST_DEREF = frozenset({"Box", "Rc", "Arc"})
_TYPE_KINDS = (CLASS_KINDS - {"impl"}) | {"type"}


def _strip_generics(text: str) -> str:
    while True:
        t = _GENERIC.sub("", text)
        if t == text:
            return t
        text = t


def _split_commas(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def base_texts(language: str, kind: str, signature: str) -> list[str]:
    """The base types a class head names, as written (``a.B``, ``ns::C``), in lookup
    order: ``extends`` before ``implements`` (Java interfaces may hold default methods)."""
    sig = _strip_generics(signature)
    if family(language) == "js":
        if kind != "class":
            return []
        m = _JS_EXTENDS.search(sig)
        return [m.group(1)] if m else []
    if language == "java":
        sig = re.sub(r"\([^)]*\)", " ", sig)  # a record's components
        sig = re.split(r"\bpermits\b", sig, maxsplit=1)[0]
        out: list[str] = []
        m = re.search(r"\bextends\b(.*?)(?:\bimplements\b|$)", sig)
        if m:
            out += _split_commas(m.group(1))
        m = re.search(r"\bimplements\b(.*)$", sig)
        if m:
            out += _split_commas(m.group(1))
        return [p for p in out if re.fullmatch(r"[\w$]+(?:\.[\w$]+)*", p)]
    if language == "cpp":
        parts = _CPP_COLON.split(sig, maxsplit=1)
        if len(parts) != 2:
            return []
        out = []
        for p in _split_commas(parts[1]):
            words = [w for w in p.split() if w not in _CPP_ACCESS]
            if len(words) == 1 and re.fullmatch(r"(?:::)?\w+(?:::\w+)*", words[0]):
                out.append(words[0].lstrip(":"))
        return out
    return []


class MemberEval:
    """Memoized class hierarchies and member look-ups for one pass (one per ``Resolver``)."""

    def __init__(self, resolver: Resolver) -> None:
        self.r = resolver
        self._refs: dict[int, cs.SymbolRef | None] = {}
        self._sigs: dict[int, str] = {}
        self._linear: dict[int, list[int]] = {}
        self._member: dict[tuple[int, str, bool], int | None] = {}
        self._blocks: dict[int, list[int]] = {}
        self._traits: dict[int, list[int]] = {}
        self._owner: dict[tuple[int, int], int | None] = {}
        self._types: dict[tuple[int, str], int | None] = {}
        self._classes: dict[tuple[int, int], int | None] = {}

    # --- the questions the resolver asks ----------------------------------------------------

    def self_call(self, ctx: _FileCtx, caller: int, name: str, receiver: str | None) -> int | None:
        """``this.m()`` / ``self.m()`` / ``super.m()`` / (Java, C++) a bare ``m()``."""
        cls = self._class_of(ctx, caller)
        if cls is None:
            return None
        if ctx.language == "rust":
            return self.rust_member(cls, name)
        hit = self.member(cls, name, skip_own=receiver == "super")
        if hit is None and receiver is None and ctx.language == "java":
            # an inner class sees the (inherited) members of the classes around it
            scope = ctx.scope
            outer = scope.parent.get(cls)
            while hit is None and outer is not None:
                if scope.kind.get(outer) in CLASS_KINDS:
                    hit = self.member(int(outer), name)
                outer = scope.parent.get(outer)
        return hit

    def typed_call(self, ctx: _FileCtx, caller: int, name: str, rtype: str) -> int | None:
        """``x.m()`` where the parser recorded the type expression ``rtype`` for ``x``."""
        cls = self.type_of(ctx, caller, rtype)
        if cls is None:
            return None
        if ctx.language == "rust":
            return self.rust_member(cls, name)
        if ctx.language == "go":
            return self.go_member(cls, name)
        return self.member(cls, name)  # Java, TypeScript/JavaScript: along the bases

    # --- symbols ----------------------------------------------------------------------------

    def ref(self, sid: int) -> cs.SymbolRef | None:
        if sid not in self._refs:
            self._refs[sid] = cs.ref_by_id(self.r.conn, sid)
        return self._refs[sid]

    def sig(self, sid: int) -> str:
        if sid not in self._sigs:
            self._sigs[sid] = cs.signature_of(self.r.conn, sid) or ""
        return self._sigs[sid]

    def _ctx(self, ref: cs.SymbolRef) -> _FileCtx:
        return self.r.ctx_of(ref.file_id, ref.file_path, ref.language)

    def _class_of(self, ctx: _FileCtx, caller: int) -> int | None:
        """The class a method belongs to: the enclosing one, or for a C++ out-of-line
        definition (``void B::run()``) the class its qualified name names."""
        key = (ctx.file_id, caller)
        if key not in self._classes:
            self._classes[key] = self._class_of_uncached(ctx, caller)
        return self._classes[key]

    def _class_of_uncached(self, ctx: _FileCtx, caller: int) -> int | None:
        scope = ctx.scope
        if caller not in scope.kind:
            return None
        cls = enclosing_class(scope, caller)
        if cls is not None:
            return int(cls)
        if ctx.language == "cpp" and scope.kind[caller] == "method":
            parts = scope.qn[caller].rsplit(".", 2)
            if len(parts) == 3:
                return self.type_named(ctx, caller, parts[1])
        return None

    # --- naming a type from a file ----------------------------------------------------------

    def type_path(self, ctx: _FileCtx, anchor: int, text: str) -> int | None:
        """The project type a (possibly qualified) name written in ``ctx``'s file denotes."""
        segs = [s for s in re.split(r"::|\.", text) if s]
        if not segs or not all(_IDENT.fullmatch(s) for s in segs):
            return None
        if ctx.language == "rust":
            while segs and segs[0] in ("crate", "self", "super"):
                segs = segs[1:]
            if not segs:
                return None
        if len(segs) == 1:
            return self.type_named(ctx, anchor, segs[0])
        hit: tuple[int, str] | None
        if segs[0] in ctx.bindings and ctx.language != "java":
            hit = self.r._through_import(ctx, ctx.bindings[segs[0]], segs[:-1], segs[-1])
        else:
            hit = self.r._suffix(ctx, segs[:-1], segs[-1])
            if hit is None and ctx.language == "java":  # com.x.Base: class Base of Base.java
                hit = self.r._suffix(ctx, segs, segs[-1])
        return self._if_type(hit[0] if hit else None)

    def _if_type(self, sid: int | None) -> int | None:
        if sid is None:
            return None
        ref = self.ref(sid)
        return sid if ref is not None and ref.kind in _TYPE_KINDS else None

    def type_named(self, ctx: _FileCtx, anchor: int, name: str) -> int | None:
        """A type ``name`` as ``ctx``'s file sees it: its own, imported, the same package
        (Go, Java), or (C++, Rust) the only one of that name in the project."""
        lang = ctx.language
        scope = ctx.scope
        own = [k for k in scope.by_name.get(name, []) if scope.kind[k] in _TYPE_KINDS]
        if own:
            # a nested class is seen by name only from inside the class that holds it
            around: set[object] = set()
            k = scope.parent.get(anchor) if anchor in scope.kind else None
            while k is not None:
                around.add(k)
                k = scope.parent.get(k)
            seen = [
                k
                for k in own
                if scope.kind.get(scope.parent.get(k)) in TOP_PARENTS
                or scope.parent.get(k) in around
            ]
            if seen:
                return int(seen[0])
        if name in ctx.bindings:
            target = ctx.bindings[name]
            if lang == "java":
                want = f".{target}.{name}"
                hits = [
                    r
                    for r in self.r.by_name(name)
                    if r.kind in _TYPE_KINDS
                    and r.language == "java"
                    and (f".{r.qualified_name}".endswith(want) or f".{r.qualified_name}" == want)
                ]
                return hits[0].id if len(hits) == 1 else None
            return self._if_type(self.r._import_target(ctx, target, None))
        same = [
            r
            for r in self.r.by_name(name)
            if r.kind in _TYPE_KINDS and family(r.language) == family(lang)
        ]
        if lang in ("go", "java"):
            d = posixpath.dirname(ctx.path)
            here = [
                r
                for r in same
                if posixpath.dirname(r.file_path) == d and r.parent_kind in TOP_PARENTS
            ]
            if len(here) == 1:
                return here[0].id
            if lang == "go" or here:
                return None
        for star in ctx.stars:
            hit = self._if_type(self.r._import_target(ctx, star, name))
            if hit is not None:
                return hit
        if lang in ("cpp", "rust"):
            # by name from anywhere: only a type of a namespace (not one nested in a class,
            # which is named through its class), the only one of that name in the project
            same = [r for r in same if r.parent_kind in TOP_PARENTS]
            if len(same) == 1:
                return same[0].id
            if lang == "cpp" and len(same) > 1:
                inc = [
                    r
                    for r in same
                    if posixpath.splitext(posixpath.basename(r.file_path))[0] in ctx.include_stems
                ]
                if len(inc) == 1:
                    return inc[0].id
        return None

    # --- classes with bases (TypeScript/JavaScript, Java, C++) -------------------------------

    def bases(self, cls: int) -> list[int]:
        ref = self.ref(cls)
        if ref is None or ref.kind not in CLASS_KINDS:
            return []
        texts = base_texts(ref.language, ref.kind, self.sig(cls))
        if not texts:
            return []
        ctx = self._ctx(ref)
        out: list[int] = []
        for t in texts:
            b = self.type_path(ctx, cls, t)
            if b is not None and b != cls and b not in out:
                out.append(b)
        return out

    def linear(self, cls: int) -> list[int]:
        """``cls`` and its ancestors, depth first in the order the heads name them."""
        hit = self._linear.get(cls)
        if hit is not None:
            return hit
        self._linear[cls] = [cls]  # a cyclic hierarchy stops here
        out = [cls]
        for b in self.bases(cls):
            for c in self.linear(b):
                if c not in out:
                    out.append(c)
        self._linear[cls] = out
        return out

    def member(self, cls: int, name: str, *, skip_own: bool = False) -> int | None:
        key = (cls, name, skip_own)
        if key in self._member:
            return self._member[key]
        hit: int | None = None
        for c in self.linear(cls)[1 if skip_own else 0 :]:
            hit = self.own(c, name)
            if hit is not None:
                break
        self._member[key] = hit
        return hit

    def own(self, cls: int, name: str) -> int | None:
        """A member ``name`` defined in the class body, or (C++) out of line as ``C::name``."""
        found = sorted(
            r.id for r in self.r.by_name(name) if r.parent_id == cls and r.kind in TARGET_KINDS
        )
        if found:
            return found[0]
        ref = self.ref(cls)
        if ref is None or ref.language != "cpp":
            return None
        outside = sorted(
            r.id
            for r in self.r.by_name(name)
            if r.kind == "method"
            and r.parent_kind in TOP_PARENTS
            and family(r.language) == "c"
            and r.qualified_name.rsplit(".", 2)[-2:-1] == [ref.name]
            and self._out_of_line_owner(r) == cls
        )
        return outside[0] if outside else None

    def _out_of_line_owner(self, r: cs.SymbolRef) -> int | None:
        """The class an out-of-line C++ method ``C::m`` belongs to, as its file names C."""
        key = (r.file_id, r.id)
        if key not in self._owner:
            cname = r.qualified_name.rsplit(".", 2)[-2]
            self._owner[key] = self.type_named(self._ctx(r), r.id, cname)
        return self._owner[key]

    # --- Rust: impl blocks and traits -------------------------------------------------------

    def rust_blocks(self, cls: int) -> list[int]:
        """The impl blocks of the type ``cls`` (a struct, enum or one of its impl blocks)
        names: every ``impl X`` of the crate when X is the only type of that name, else those
        in the same file. Inherent impls first."""
        hit = self._blocks.get(cls)
        if hit is not None:
            return hit
        ref = self.ref(cls)
        out: list[int] = []
        if ref is not None:
            named = [r for r in self.r.by_name(ref.name) if r.language == "rust"]
            types = [r for r in named if r.kind in _TYPE_KINDS]
            impls = [r for r in named if r.kind == "impl"]
            if len(types) > 1 or (not types and len({r.file_id for r in impls}) > 1):
                impls = [r for r in impls if r.file_id == ref.file_id]
            impls.sort(key=lambda r: (" for " in self.sig(r.id), r.id))
            out = [r.id for r in impls]
        self._blocks[cls] = out
        return out

    def rust_traits(self, cls: int) -> list[int]:
        """The project traits the type ``cls`` names implements (``impl T for X``)."""
        hit = self._traits.get(cls)
        if hit is not None:
            return hit
        out: list[int] = []
        for b in self.rust_blocks(cls):
            sig = _strip_generics(self.sig(b))
            m = re.match(r"(?:unsafe\s+)?impl\s*(?:<>)?\s*(.+?)\s+for\s+", sig)
            if m is None:
                continue
            ref = self.ref(b)
            if ref is None:
                continue
            t = self.type_path(self._ctx(ref), b, m.group(1).lstrip("!"))
            tref = self.ref(t) if t is not None else None
            if t is not None and tref is not None and tref.kind == "trait" and t not in out:
                out.append(t)
        self._traits[cls] = out
        return out

    def rust_member(self, cls: int, name: str) -> int | None:
        key = (cls, name, False)
        if key in self._member:
            return self._member[key]
        ref = self.ref(cls)
        hit: int | None = None
        if ref is not None and ref.kind == "trait":
            hit = self.own(cls, name)
        elif ref is not None:
            for b in self.rust_blocks(cls):
                hit = self.own(b, name)
                if hit is not None:
                    break
            if hit is None:
                for t in self.rust_traits(cls):
                    hit = self.own(t, name)
                    if hit is not None:
                        break
        self._member[key] = hit
        return hit

    # --- Go: methods of a package type --------------------------------------------------------

    def go_member(self, cls: int, name: str) -> int | None:
        ref = self.ref(cls)
        if ref is None:
            return None
        d = posixpath.dirname(ref.file_path)
        hits = sorted(
            r.id
            for r in self.r.by_name(name)
            if r.kind == "method"
            and r.language == "go"
            and r.qualified_name.rsplit(".", 2)[-2:-1] == [ref.name]
            and posixpath.dirname(r.file_path) == d
        )
        return hits[0] if hits else None

    # --- what a recorded type expression denotes (Go, Rust) ---------------------------------

    def type_of(self, ctx: _FileCtx, caller: int, expr: str) -> int | None:
        """``T`` (a type as the file writes it), ``T::f()`` (Rust: what the associated
        function returns, when its declared result is ``Self`` or ``T``) or ``f()`` (Go:
        a package function's declared result). The same in all of a file."""
        key = (ctx.file_id, expr)
        if key not in self._types:
            self._types[key] = self._type_of(ctx, caller, expr)
        return self._types[key]

    def _type_of(self, ctx: _FileCtx, caller: int, expr: str) -> int | None:
        if not expr.endswith("()"):
            return self.type_path(ctx, caller, expr)
        call = expr[:-2]
        if ctx.language == "rust" and "::" in call:
            owner_text, fn_name = call.rsplit("::", 1)
            owner = self.type_path(ctx, caller, owner_text)
            if owner is None:
                return None
            fn = self.rust_member(owner, fn_name)
            if fn is None:
                return None
            ret = _rust_return(self.sig(fn))
            oref = self.ref(owner)
            if ret == "Self" or (oref is not None and ret == oref.name):
                return owner
            return None
        if ctx.language == "go" and _IDENT.fullmatch(call):
            res = self.r._bare(ctx, call)
            if res is None:
                return None
            fref = self.ref(res[0])
            if fref is None or fref.kind != "function":
                return None
            ret = _go_result(self.sig(res[0]))
            if ret is None:
                return None
            return self.type_named(self._ctx(fref), res[0], ret)
        return None


def _rust_return(signature: str) -> str | None:
    m = re.search(r"->\s*(.+?)\s*(?:where\b.*)?;?$", signature)
    if m is None:
        return None
    t = m.group(1).strip()
    return t if _IDENT.fullmatch(t) else None


def _go_result(signature: str) -> str | None:
    """The (first) declared result type of ``func F(a int) (*Client, error)``, as a name."""
    s = signature
    i = s.find("(")
    if i < 0:
        return None
    depth = 0
    end = -1
    for j in range(i, len(s)):
        if s[j] == "(":
            depth += 1
        elif s[j] == ")":
            depth -= 1
            if depth == 0:
                end = j
                break
    if end < 0:
        return None
    rest = s[end + 1 :].strip()
    if rest.startswith("("):
        rest = rest[1:].split(",", 1)[0].rstrip(")").strip()
        parts = rest.split()
        rest = parts[-1] if parts else ""
    rest = rest.lstrip("*").split("[", 1)[0]
    return rest if re.fullmatch(r"[A-Za-z_]\w*", rest) else None
