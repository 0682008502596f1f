"""Python method calls through their receiver's type, over the stored project.

The parser process writes what a receiver holds as a type expression (``py_types``); this
pass names the class it denotes and finds the method in the class's method resolution
order (C3 over the project's classes, bases read from the stored class signature). What a
function returns comes from its stored return annotation, else (``py_returns``) from the
one call all its ``return`` statements give. A method is only ever looked up
on a known class: a same-named method of an unrelated class is never a candidate, which is
what keeps the call graph's precision.

A receiver whose type leaves the project (an installed package, the standard library,
builtins) is *external*, with its module where known; the caller stores it apart from the
unresolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mira_ls.index.py_types import annotation_type
from mira_ls.index.resolve_scope import PY_BUILTINS, TARGET_KINDS, enclosing_class, local_target
from mira_ls.index.symbols import CLASS_KINDS
from mira_ls.store import code as cs

if TYPE_CHECKING:
    from mira_ls.index.resolve_project import Resolver, _FileCtx

_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_PART = re.compile(r"([A-Za-z_]\w*)(\(\))?(\(\))?$")
_RETURN = re.compile(r"\)\s*->\s*(.+?)\s*$")
_SELF_TYPES = frozenset({"Self", "typing.Self", "typing_extensions.Self"})
_LITERAL_START = re.compile(r"""^(?:[rRbBuUfF]*["']|\d|\[|\{)""")


@dataclass(frozen=True, slots=True)
class Ty:
    """What an expression denotes: ``instance``/``class`` of a project class (``ref``), a
    project ``module`` or an ``external`` one (``path``), or ``super`` of a class."""

    kind: str
    ref: int = 0
    path: str = ""


_MAX_DEPTH = 4  # unannotated factories followed one into another (f -> g -> h -> X())
_GUARD = Ty("guard")  # memo placeholder while an evaluation is under way (cycles)


class TypeEval:
    """Memoized type evaluation for one resolution pass (one per ``Resolver``)."""

    def __init__(self, resolver: Resolver) -> None:
        self.r = resolver
        self._refs: dict[int, cs.SymbolRef | None] = {}
        self._eval: dict[tuple[int, int, str], Ty | None] = {}
        self._returns: dict[int, Ty | None] = {}
        self._mro: dict[int, tuple[list[int], str | None]] = {}
        self._member: dict[tuple[int, str, int], int | str | None] = {}
        self._fixtures: dict[str, dict[str, cs.SymbolRef]] = {}
        self._values: dict[tuple[int, bool], Ty | None] = {}
        self._depth = 0  # unannotated functions being read, one inside another
        self._targets: dict[tuple[int, int, str, str], int | str | None] = {}
        self._file_names: dict[int, set[str]] = {}
        self._shared: dict[tuple[int, int, str], bool] = {}

    # --- the two questions the resolver asks ------------------------------------------------

    def method_call(self, ctx: _FileCtx, caller: int, name: str, expr: str) -> int | None:
        hit = self._target(ctx, caller, name, expr)
        return hit if isinstance(hit, int) else None

    def external_module(
        self,
        ctx: _FileCtx,
        caller: int,
        name: str,
        receiver: str | None,
        receiver_type: str | None,
    ) -> str | None:
        """The module an unresolved call goes into outside the project, or None."""
        if ctx.language != "python":
            return None
        if receiver is None:
            if name in ctx.bindings:
                return self._outside(ctx.bindings[name], member=True)
            return "builtins" if name in PY_BUILTINS else None
        if _LITERAL_START.match(receiver):
            return "builtins"  # "".join, [].append, {}.get
        expr = receiver_type or receiver
        if receiver_type is not None or expr in ("self", "cls", "super()"):
            hit = self._target(ctx, caller, name, expr)
            return hit if isinstance(hit, str) else None
        head = re.split(r"[.(\[]", receiver, maxsplit=1)[0]
        if head in ctx.bindings:
            module = self._outside(ctx.bindings[head], member=False)
            if module is not None and _DOTTED.fullmatch(receiver):
                module += receiver[len(head) :]  # os.path.join -> os.path
            return module
        if head in PY_BUILTINS and head not in ("super", "type"):
            return "builtins"
        return None

    def _outside(self, target: str, *, member: bool) -> str | None:
        """The module of an import binding that is not the project's."""
        top = target.split(".", 1)[0]
        if not top or self.r._project_has_package(top):
            return None
        return target.rsplit(".", 1)[0] if member and "." in target else target

    # --- evaluation -------------------------------------------------------------------------

    def _target(self, ctx: _FileCtx, caller: int, name: str, expr: str) -> int | str | None:
        """The method ``name`` on what ``expr`` denotes: its id, an external module, None.
        Memoized: per file when what ``expr`` starts with means the same to every caller
        there (a fixture, an import, a module-level name: ``runner.invoke`` in 300 tests is
        one evaluation), else per caller (the resolver asks again for an external one).
        A fixture's value needs no scope of the caller's file (most test files' calls)."""
        key = self.target_key(ctx, caller, name, expr)
        if key in self._targets:
            return self._targets[key]
        hit = self._target_uncached(ctx, caller, name, expr)
        if len(self._targets) > 200_000:
            self._targets.clear()
        self._targets[key] = hit
        return hit

    def target_key(
        self, ctx: _FileCtx, caller: int, name: str, expr: str
    ) -> tuple[int, int, str, str]:
        """The memo key of a typed call: caller 0 when ``expr`` means the same to every
        caller in the file."""
        seen = (ctx.file_id, caller, expr)
        shared = self._shared.get(seen)
        if shared is None:
            shared = self._shared[seen] = self._is_shared(ctx, caller, expr)
        return (ctx.file_id, 0 if shared else caller, name, expr)

    def _is_shared(self, ctx: _FileCtx, caller: int, expr: str) -> bool:
        head = expr.split(".", 1)[0]
        if head.startswith("fixture:"):
            return True
        m = _PART.match(head)
        if m is None or m.group(1) in ("self", "cls", "super"):
            return False
        return self._local(ctx, caller, m.group(1)) is None  # not the caller's own nested one

    def _target_uncached(
        self, ctx: _FileCtx, caller: int, name: str, expr: str
    ) -> int | str | None:
        if expr in ("self", "cls", "super()"):
            cls = _enclosing(ctx, caller)
            if cls is None:
                return None
            ty = Ty("super" if expr == "super()" else "instance", int(cls))
        else:
            got = self.evaluate(ctx, caller, expr)
            if got is None:
                return None
            ty = got
        if ty.kind == "external":
            return ty.path
        if ty.kind in ("instance", "class"):
            return self.member(ty.ref, name)
        if ty.kind == "super":
            return self.member(ty.ref, name, skip=1)
        return None

    def evaluate(self, ctx: _FileCtx, caller: int, expr: str) -> Ty | None:
        key = (ctx.file_id, caller, expr)
        if key in self._eval:
            hit = self._eval[key]
            return None if hit is _GUARD else hit
        self._eval[key] = _GUARD
        res = self._evaluate(ctx, caller, expr)
        self._eval[key] = res
        return res

    def _evaluate(self, ctx: _FileCtx, caller: int, expr: str) -> Ty | None:
        parts = expr.split(".")
        head = parts[0]
        ty: Ty | None
        if head.startswith("fixture:"):
            ty = self._fixture(ctx, head[8:])
        else:
            m = _PART.match(head)
            if m is None:
                return None
            ty = self._name(ctx, caller, m.group(1), called=bool(m.group(2)))
            ty = _applied(ty) if m.group(3) else ty
        for part in parts[1:]:
            if ty is None:
                return None
            m = _PART.match(part)
            if m is None:
                return None
            ty = self._attribute(ctx, ty, m.group(1), called=bool(m.group(2)))
            ty = _applied(ty) if m.group(3) else ty
        return ty

    def _name(self, ctx: _FileCtx, caller: int, name: str, *, called: bool) -> Ty | None:
        if name in ("self", "cls"):
            cls = _enclosing(ctx, caller)
            return Ty("instance", int(cls)) if cls is not None and not called else None
        if name == "super" and called:
            cls = _enclosing(ctx, caller)
            return Ty("super", int(cls)) if cls is not None else None
        local = self._local(ctx, caller, name)
        if local is not None:
            return self._of_symbol(int(local), called=called)
        target = ctx.bindings.get(name)
        if target is not None:
            sid = self.r._import_target(ctx, target, None)
            if sid is not None:
                return self._of_symbol(sid, called=called)
            outside = self._outside(target, member=True)
            if outside is not None:
                return Ty("external", path=outside)
            return None if called else Ty("module", path=target)
        if name in PY_BUILTINS:
            return Ty("external", path="builtins")
        res = self.r._bare(ctx, name)
        return self._of_symbol(res[0], called=called) if res is not None else None

    def _local(self, ctx: _FileCtx, caller: int, name: str) -> int | None:
        """A definition of ``name`` in the caller's file visible from the caller; the file's
        scope is loaded only when the file defines ``name`` (its names are one light query)."""
        if name not in self._names_in(ctx):
            return None
        scope = ctx.scope
        hit = local_target(scope, caller, name, None) if caller in scope.kind else None
        return int(hit) if hit is not None else None

    def _names_in(self, ctx: _FileCtx) -> set[str] | dict[str, list[object]]:
        if ctx._scope is not None:
            return ctx._scope.by_name
        hit = self._file_names.get(ctx.file_id)
        if hit is None:
            if len(self._file_names) > 5_000:
                self._file_names.clear()
            hit = self._file_names[ctx.file_id] = cs.names_in_file(self.r.conn, ctx.file_id)
        return hit

    def _attribute(self, ctx: _FileCtx, ty: Ty, name: str, *, called: bool) -> Ty | None:
        if ty.kind == "external":
            return ty
        if ty.kind == "module":
            sid = self.r._import_target(ctx, ty.path, name)
            if sid is not None:
                return self._of_symbol(sid, called=called)
            return None if called else Ty("module", path=f"{ty.path}.{name}")
        if ty.kind not in ("instance", "class", "super"):
            return None
        hit = self.member(ty.ref, name, skip=1 if ty.kind == "super" else 0)
        if isinstance(hit, str):
            return Ty("external", path=hit)
        if hit is None:
            return None
        return self._of_symbol(hit, called=called)

    def _of_symbol(self, sid: int, *, called: bool) -> Ty | None:
        ref = self.ref(sid)
        if ref is None:
            return None
        if ref.kind in CLASS_KINDS:
            return Ty("instance" if called else "class", sid)
        if called and ref.kind in ("function", "method"):
            return self.returns(ref)
        return None

    def returns(self, fn: cs.SymbolRef) -> Ty | None:
        """What a function returns, from its return annotation."""
        if fn.id in self._returns:
            hit = self._returns[fn.id]
            return None if hit is _GUARD else hit
        self._returns[fn.id] = _GUARD
        res = self._annotated_return(fn)
        if res is None:
            # @overload: the implementation's annotation is often a union; the overloads
            # that name a type, when they all name the same one, say what it returns
            seen = {
                self._annotated_return(o)
                for o in self.r.by_qn(fn.qualified_name)
                if o.id != fn.id and o.kind == fn.kind and o.file_id == fn.file_id
            }
            seen.discard(None)
            res = seen.pop() if len(seen) == 1 else None
        if res is None and fn.language == "python":
            res = self._returned_value(fn, fixture=False)
        self._returns[fn.id] = res
        return res

    def _annotated_return(self, fn: cs.SymbolRef) -> Ty | None:
        res: Ty | None = None
        m = _RETURN.search(cs.signature_of(self.r.conn, fn.id) or "")
        if m is not None:
            ann = m.group(1).strip()
            if ann in _SELF_TYPES or ann.strip("'\"") in _SELF_TYPES:
                parent = self.ref(fn.parent_id) if fn.parent_id else None
                res = Ty("instance", parent.id) if parent and parent.kind in CLASS_KINDS else None
            else:
                expr = annotation_type(ann)
                if expr is not None:
                    fctx = self.r.ctx_of(fn.file_id, fn.file_path, fn.language)
                    res = self.evaluate(fctx, fn.id, expr)
        return res

    def _fixture(self, ctx: _FileCtx, name: str) -> Ty | None:
        """A pytest fixture ``name`` visible from this file (the file itself, then the
        ``conftest.py`` files of its directories, nearest first): its return annotation.
        A fixture is a decorated module-level function of that name there (the decorator's
        text is not stored)."""
        dirs = ctx.path.split("/")[:-1]
        places = [ctx.path] + [
            "/".join([*dirs[:i], "conftest.py"]) for i in range(len(dirs), -1, -1)
        ]
        defined = self._fixtures_named(name)
        for place in places:
            r = defined.get(place)
            if r is not None:
                return self.returns(r) or self._returned_value(r, fixture=True)
        return None

    def _fixtures_named(self, name: str) -> dict[str, cs.SymbolRef]:
        """The decorated module-level functions named ``name``, by file (the first one of
        a file, as the file's order gives them)."""
        hit = self._fixtures.get(name)
        if hit is None:
            hit = {}
            for r in self.r.by_name(name):
                if (
                    r.kind in ("function", "method")
                    and r.parent_kind == "module"
                    and r.file_path not in hit
                    and cs.is_decorated(self.r.conn, r.id)
                ):
                    hit[r.file_path] = r
            self._fixtures[name] = hit
        return hit

    def _returned_value(self, fn: cs.SymbolRef, *, fixture: bool) -> Ty | None:
        """An unannotated function's value: the one call its returns (or, for a fixture,
        yields) give, read from the file as stored (a file changed since it was indexed is
        not read), then evaluated where the function is (``return fixture_session()`` ->
        that function's value, ``return orm.Session(bind)`` -> a ``Session``). Memoized
        per function; cycles stop at the guard, chains of factories at ``_MAX_DEPTH``."""
        key = (fn.id, fixture)
        if key in self._values:
            hit = self._values[key]
            return None if hit is _GUARD else hit
        if self._depth >= _MAX_DEPTH:
            return None  # not memoized: a shallower caller may still read it
        self._values[key] = _GUARD
        from mira_ls.index.py_returns import returned_expression

        self._depth += 1
        try:
            source = self.r.stored_source(fn)
            expr = returned_expression(source, fixture=fixture) if source is not None else None
            res = None
            if expr is not None:
                fctx = self.r.ctx_of(fn.file_id, fn.file_path, fn.language)
                res = self.evaluate(fctx, fn.id, expr)
        finally:
            self._depth -= 1
        self._values[key] = res
        return res

    # --- classes ----------------------------------------------------------------------------

    def ref(self, sid: int) -> cs.SymbolRef | None:
        if sid not in self._refs:
            self._refs[sid] = cs.ref_by_id(self.r.conn, sid)
        return self._refs[sid]

    def member(self, cls: int, name: str, skip: int = 0) -> int | str | None:
        """``name`` looked up along the class's MRO (from position ``skip``): the member's
        id; else the module of an external base that may define it; else None."""
        key = (cls, name, skip)
        if key in self._member:
            return self._member[key]
        mro, external = self.mro(cls)
        owners = set(mro[skip:])
        found: dict[int, int] = {}
        for r in self.r.by_name(name):
            if r.name == name and r.parent_id in owners and r.kind in TARGET_KINDS:
                found[r.parent_id] = r.id  # a later definition of the same name wins
        hit: int | str | None = external
        for c in mro[skip:]:
            if c in found:
                hit = found[c]
                break
        self._member[key] = hit
        return hit

    def mro(self, cls: int) -> tuple[list[int], str | None]:
        """The project classes of ``cls``'s method resolution order (C3), and the module of
        the first base outside the project, if any."""
        if cls in self._mro:
            return self._mro[cls]
        self._mro[cls] = ([cls], None)  # cycles (a broken hierarchy) stop here
        ref = self.ref(cls)
        bases: list[int] = []
        external: str | None = None
        if ref is not None and ref.language == "python":
            ctx = self.r.ctx_of(ref.file_id, ref.file_path, ref.language)
            for text in _bases(cs.signature_of(self.r.conn, cls) or ""):
                ty = self.evaluate(ctx, cls, text)
                if ty is not None and ty.kind == "class" and ty.ref != cls:
                    bases.append(ty.ref)
                elif ty is not None and ty.kind == "external" and external is None:
                    external = ty.path
        seqs = [list(self.mro(b)[0]) for b in bases] + [list(bases)]
        for b in bases:
            external = external or self.mro(b)[1]
        res = ([cls, *_c3(seqs)], external)
        self._mro[cls] = res
        return res


def _enclosing(ctx: _FileCtx, caller: int) -> int | None:
    """The class around the caller (None for a caller the file does not hold)."""
    scope = ctx.scope
    cls = enclosing_class(scope, caller) if caller in scope.kind else None
    return int(cls) if cls is not None else None


def _applied(ty: Ty | None) -> Ty | None:
    """A decorator's result applied to the function (``click.group()()``): a return
    annotation ``Callable[..., Group]`` was already read as a ``Group``."""
    if ty is None or ty.kind not in ("instance", "external"):
        return None
    return ty


def _bases(signature: str) -> list[str]:
    """The base class expressions of ``class Foo(Base, m.Mixin[T], metaclass=M)``."""
    start = signature.find("(")
    end = signature.rfind(")")
    if start < 0 or end <= start:
        return []
    out: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in signature[start + 1 : end] + ",":
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            text = "".join(cur).strip()
            cur = []
            if text and "=" not in text and not text.startswith("*"):
                base = text.split("[", 1)[0].strip()
                if re.fullmatch(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", base):
                    out.append(base)
        else:
            cur.append(ch)
    return out


def _c3(seqs: list[list[int]]) -> list[int]:
    """C3 merge; an inconsistent hierarchy falls back to first-seen order."""
    out: list[int] = []
    seqs = [s for s in seqs if s]
    while seqs:
        for s in seqs:
            head = s[0]
            if not any(head in t[1:] for t in seqs):
                break
        else:
            rest = [c for s in seqs for c in s if c not in out]
            return out + list(dict.fromkeys(rest))
        out.append(head)
        seqs = [[c for c in s if c != head] for s in seqs]
        seqs = [s for s in seqs if s]
    return out
