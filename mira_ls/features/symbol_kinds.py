"""Our symbol kinds as LSP SymbolKinds."""

from __future__ import annotations

from lsprotocol import types

_K = types.SymbolKind
KINDS: dict[str, types.SymbolKind] = {
    "module": _K.Module,
    "namespace": _K.Namespace,
    "class": _K.Class,
    "struct": _K.Struct,
    "union": _K.Struct,
    "enum": _K.Enum,
    "trait": _K.Interface,
    "interface": _K.Interface,
    "impl": _K.Class,
    "type": _K.TypeParameter,
    "function": _K.Function,
    "method": _K.Method,
    "constructor": _K.Constructor,
    "property": _K.Property,
    "field": _K.Field,
    "constant": _K.Constant,
    "variable": _K.Variable,
    "macro": _K.Function,
}

CALLABLE = frozenset({"function", "method", "constructor", "macro"})


def lsp_kind(kind: str) -> types.SymbolKind:
    return KINDS.get(kind, _K.Variable)
