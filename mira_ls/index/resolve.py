"""Resolve call sites to symbols; the entry points, re-exported from the passes.

Conservative by design: a call whose target cannot be named with confidence stays
unresolved (``callee_id`` NULL, ``callee_name`` kept), never a guessed edge.

The passes, in order:

- ``resolve_scope``: file-local rules a parser process applies to a fresh extract (nested
  definitions, the enclosing class for self/this/cls/Self, the same module, Go's package);
- ``resolve_project``: over stored rows once every symbol is stored (imports and Python
  re-exports, a unique top-level name, ``Type.member`` for a static-looking receiver),
  with ``resolve_types`` (Python receiver types, MRO) and ``resolve_members`` (the other
  languages: inherited members, Rust impls and traits, typed receivers from ``lang_types``);
- ``resolve_jedi``: what is left of Python, in the background.
"""

from __future__ import annotations

from mira_ls.index.resolve_jedi import resolve_python_with_jedi
from mira_ls.index.resolve_project import (
    Resolver,
    ResolveStats,
    StagedCalls,
    js_module_qn,
    pack_staged,
    python_absolute,
    resolve_pending,
    resolve_staged,
    staged_as_pending,
)
from mira_ls.index.resolve_scope import (
    BUILTINS,
    NEEDS_JEDI,
    NEEDS_PROJECT,
    PY_BUILTINS,
    SETTLED,
    TARGET_KINDS,
    Scope,
    after_local,
    derived_callers,
    local_bindings,
    local_target,
    resolve_local,
    scope_from_extract,
    scope_from_refs,
)

__all__ = [
    "BUILTINS",
    "NEEDS_JEDI",
    "NEEDS_PROJECT",
    "PY_BUILTINS",
    "SETTLED",
    "TARGET_KINDS",
    "ResolveStats",
    "Resolver",
    "Scope",
    "StagedCalls",
    "after_local",
    "derived_callers",
    "js_module_qn",
    "local_bindings",
    "local_target",
    "pack_staged",
    "python_absolute",
    "resolve_local",
    "resolve_pending",
    "resolve_python_with_jedi",
    "resolve_staged",
    "scope_from_extract",
    "scope_from_refs",
    "staged_as_pending",
]
