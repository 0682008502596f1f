"""Calls that reach a Python override through the method it overrides.

A call stored against ``Base.setup`` whose receiver dispatches at run time (``self.setup()``
inside ``Base``, ``b.setup()`` where ``b: Base``) runs ``App.setup`` when the object is an
``App``: the receiver's class is known (the caller's own class for ``self``/``cls``, the
evaluated receiver type otherwise) and ``App`` is a subclass of it. The stored edge stays
on ``Base.setup`` (what jedi and the type say); the call hierarchy of ``App.setup`` lists
these calls beside its own. Not: ``super().setup()`` and ``Base.setup(self)`` (they name
the class), a receiver whose class is not a base of ``App`` (a sibling subclass's
``self.setup()`` never runs ``App.setup``), an unknown receiver.
"""

from __future__ import annotations

from dataclasses import dataclass

from mira_ls.index.held_resolver import HeldResolvers
from mira_ls.index.resolve_project import Resolver
from mira_ls.index.resolve_scope import enclosing_class
from mira_ls.store import code as cs
from mira_ls.store.connection import Connection

_SELF = frozenset({"self", "cls"})


@dataclass(frozen=True)
class DispatchedCall:
    site: cs.CallSite  # site.symbol: the caller
    through: cs.SymbolRef  # the overridden method the call is stored against


def overridden(resolver: Resolver, method: cs.SymbolRef) -> list[cs.SymbolRef]:
    """The project methods ``method`` overrides: the same name in the classes after its
    own in its class's method resolution order."""
    if method.language != "python" or method.kind != "method" or method.parent_id is None:
        return []
    others = [
        r
        for r in resolver.by_name(method.name)
        if r.kind == "method" and r.name == method.name and r.parent_id != method.parent_id
    ]
    if not others:
        return []  # no other class has the name: nothing to override, no MRO to evaluate
    mro, _ = resolver.types.mro(method.parent_id)
    by_class = {r.parent_id: r for r in others if r.parent_id in mro[1:]}
    return [by_class[c] for c in mro[1:] if c in by_class]


def dispatched_callers(
    conn: Connection, method_id: int, held: HeldResolvers | None = None
) -> list[DispatchedCall]:
    """Calls stored against the methods ``method_id`` overrides that reach it when the
    object is of its class (see the module docstring). ``held``: a resolver kept across
    calls while the code stands still (the server's), else one for this call."""
    ref = cs.ref_by_id(conn, method_id)
    row = cs.get_symbol(conn, method_id)
    if ref is None or row is None or ref.parent_id is None:
        return []
    if held is None:
        return _dispatched(Resolver(conn, row.project_id), ref)
    with held.hold(conn, row.project_id) as resolver:
        return _dispatched(resolver, ref)


def _dispatched(resolver: Resolver, ref: cs.SymbolRef) -> list[DispatchedCall]:
    conn = resolver.conn
    bases = overridden(resolver, ref)
    if not bases or ref.parent_id is None:
        return []
    mro = set(resolver.types.mro(ref.parent_id)[0])
    out: list[DispatchedCall] = []
    for base in bases:
        for site in cs.callers(conn, base.id):
            caller = resolver.types.ref(site.symbol.id) if site.symbol is not None else None
            if caller is None or site.receiver is None or site.receiver == "super()":
                continue
            ctx = resolver.ctx_of(caller.file_id, caller.file_path, caller.language)
            if site.receiver in _SELF and site.receiver_type is None:
                owner = enclosing_class(ctx.scope, caller.id)
            elif site.receiver_type is not None:
                ty = resolver.types.evaluate(ctx, caller.id, site.receiver_type)
                owner = ty.ref if ty is not None and ty.kind in ("instance", "class") else None
            else:
                continue  # Base.setup(self), an untyped receiver: not a dispatch we can tell
            if owner is not None and owner in mro and owner != ref.parent_id:
                out.append(DispatchedCall(site, base))
    return out
