"""Receiver types of Go and Rust calls, inferred by the parser process from one file's tree.

What a local variable holds is written as a type expression that ``resolve_members`` names
once every file is stored: ``Client`` (a type as the file writes it, ``a::B`` in Rust),
``X::new()`` (Rust: what an associated function returns) or ``NewClient()`` (Go: what a
package function returns).

Go: a method's receiver and parameters (``func (c *Client) Get(o Other)``), ``var c
Client``, ``var c = Client{}``, ``c := Client{}``, ``c := &Client{}``, ``c := new(Client)``,
``c := NewClient()`` (and ``c, err := NewClient()``). Rust: parameters (``x: &X``,
``x: Box<X>``), ``let x: X``, ``let x = X::new()``, ``let x = X { .. }``.

A name given two different things in a function (a shadowing ``let``, a reassignment) is
unknown: a wrong type would make a wrong edge, an unknown one only a missing edge.
"""

from __future__ import annotations

import functools
import re

from tree_sitter import Node, Query, QueryCursor

from mira_ls.index.languages import get_language
from mira_ls.index.resolve_scope import local_bindings
from mira_ls.index.symbols import FileExtract

# A variable's static type is set where it is declared (an assignment cannot change it);
# what else declares a name (a range clause, a pattern) makes it unknown there.
_GO = """
(parameter_declaration) @param
(var_spec) @var
(short_var_declaration) @short
(range_clause) @rebind
(type_switch_statement alias: (expression_list) @rebind)
"""
_RUST = """
(parameter pattern: (identifier) @name type: (_) @type) @param
(let_declaration) @let
(for_expression pattern: (identifier) @name) @rebind
(tuple_struct_pattern (identifier) @name) @rebind
(tuple_pattern (identifier) @name) @rebind
(closure_parameters (identifier) @name) @rebind
(field_pattern (shorthand_field_identifier) @name) @rebind
(captured_pattern (identifier) @name) @rebind
"""
_OUTER = ("param", "let", "rebind", "var", "short")
_IDENT = re.compile(r"[A-Za-z_]\w*")
_RUST_PATH = re.compile(r"[A-Za-z_]\w*(?:::[A-Za-z_]\w*)*")
_RUST_DEREF = frozenset({"Box", "Rc", "Arc"})
_UNKNOWN = "?"


@functools.cache
def _query(language: str) -> Query:
    return Query(get_language(language), _GO if language == "go" else _RUST)


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


# --- type expressions of type and value nodes ----------------------------------------------


def _go_type(node: Node | None) -> str | None:
    """``*Client`` / ``Client`` / ``Client[T]`` -> ``Client``; another package's or a
    composite type -> None."""
    if node is None:
        return None
    if node.type == "pointer_type":
        return _go_type(node.named_child(0))
    if node.type == "generic_type":
        return _go_type(node.child_by_field_name("type"))
    if node.type == "type_identifier":
        return _text(node)
    return None


def _go_value(node: Node | None) -> str | None:
    if node is None:
        return None
    t = node.type
    if t == "composite_literal":
        return _go_type(node.child_by_field_name("type"))
    if t == "unary_expression" and _text(node.child_by_field_name("operator")) == "&":
        return _go_value(node.child_by_field_name("operand"))
    if t == "parenthesized_expression":
        return _go_value(node.named_child(0))
    if t == "call_expression":
        fn = node.child_by_field_name("function")
        if fn is None or fn.type != "identifier":
            return None
        name = _text(fn)
        if name == "new":
            args = node.child_by_field_name("arguments")
            return _go_type(args.named_child(0)) if args is not None else None
        return f"{name}()"
    if t == "identifier":
        return "=" + _text(node)  # what another variable holds
    return None


def _rust_type(node: Node | None) -> str | None:
    """``&mut X`` / ``X<T>`` / ``Box<X>`` / ``a::X`` -> ``X`` / ``X`` / ``X`` / ``a::X``."""
    if node is None:
        return None
    t = node.type
    if t == "reference_type":
        return _rust_type(node.child_by_field_name("type"))
    if t == "generic_type":
        base = node.child_by_field_name("type")
        if base is not None and _text(base) in _RUST_DEREF:
            args = node.child_by_field_name("type_arguments")
            return _rust_type(args.named_child(0)) if args is not None else None
        return _rust_type(base)
    if t in ("type_identifier", "scoped_type_identifier"):
        text = re.sub(r"\s+", "", _text(node))
        return text if _RUST_PATH.fullmatch(text) else None
    return None


def _rust_value(node: Node | None) -> str | None:
    if node is None:
        return None
    t = node.type
    if t == "call_expression":
        fn = node.child_by_field_name("function")
        if fn is not None and fn.type == "scoped_identifier":
            path = re.sub(r"\s+", "", _text(fn))
            if _RUST_PATH.fullmatch(path):
                return f"{path}()"
        return None
    if t == "struct_expression":
        return _rust_type(node.child_by_field_name("name"))
    if t == "reference_expression":
        return _rust_value(node.child_by_field_name("value"))
    if t == "identifier":
        return "=" + _text(node)
    return None


# --- one file's declarations ---------------------------------------------------------------

_SCOPES = {
    "go": frozenset(
        {
            "block",
            "if_statement",
            "for_statement",
            "expression_switch_statement",
            "type_switch_statement",
            "select_statement",
            "communication_case",
            "expression_case",
            "type_case",
            "func_literal",
            "function_declaration",
            "method_declaration",
            "source_file",
        }
    ),
    "rust": frozenset(
        {
            "block",
            "function_item",
            "closure_expression",
            "if_expression",
            "while_expression",
            "match_arm",
            "for_expression",
            "source_file",
        }
    ),
}


class _Env:
    """Each name's declarations: (scope start, scope end, declared at, expression or
    ``_UNKNOWN``), in byte offsets; a use sees the latest declaration before it whose scope
    (the innermost block, function, ``if let``, arm, loop or closure around it) holds it."""

    def __init__(self, language: str) -> None:
        self.scopes = _SCOPES[language]
        self.decls: dict[str, list[tuple[int, int, int, str]]] = {}

    def record(self, node: Node, var: str, expr: str | None) -> None:
        if not var or var == "_":
            return
        scope = node.parent
        while scope is not None and scope.type not in self.scopes:
            scope = scope.parent
        if scope is None:
            return
        if expr is not None and expr.startswith("="):
            expr = self.lookup(expr[1:], node.start_byte)  # what that variable holds there
        self.decls.setdefault(var, []).append(
            (scope.start_byte, scope.end_byte, node.start_byte, expr or _UNKNOWN)
        )

    def lookup(self, var: str, pos: int) -> str | None:
        best: tuple[int, str] | None = None
        for s, e, at, expr in self.decls.get(var, ()):
            if s <= pos < e and at < pos and (best is None or at > best[0]):
                best = (at, expr)
        return None if best is None or best[1] == _UNKNOWN else best[1]


def _go_collect(env: _Env, caps: dict[str, list[Node]]) -> None:
    if "param" in caps:
        node = caps["param"][0]
        ty = _go_type(node.child_by_field_name("type"))
        for n in node.children_by_field_name("name"):
            env.record(node, _text(n), ty)
        return
    if "rebind" in caps:
        node = caps["rebind"][0]
        left = node.child_by_field_name("left") if node.type == "range_clause" else node
        for n in left.named_children if left is not None else []:
            env.record(node, _text(n), None)
        return
    node = caps["var"][0] if "var" in caps else caps["short"][0]
    if "var" in caps:
        names = node.children_by_field_name("name")
        declared = _go_type(node.child_by_field_name("type"))
        value = node.child_by_field_name("value")
    else:
        left = node.child_by_field_name("left")
        names = list(left.named_children) if left is not None else []
        declared = None
        value = node.child_by_field_name("right")
    values = list(value.named_children) if value is not None else []
    for i, n in enumerate(names):
        if n.type != "identifier":
            continue
        if node.child_by_field_name("type") is not None:
            ty = declared
        elif len(values) == len(names):
            ty = _go_value(values[i])
        elif len(values) == 1 and i == 0 and values[0].type == "call_expression":
            ty = _go_value(values[0])  # c, err := NewClient(): the first result
        else:
            ty = None
        env.record(node, _text(n), ty)


def _rust_collect(env: _Env, caps: dict[str, list[Node]]) -> None:
    if "param" in caps:
        env.record(caps["param"][0], _text(caps["name"][0]), _rust_type(caps["type"][0]))
        return
    if "rebind" in caps:
        env.record(caps["rebind"][0], _text(caps["name"][0]), None)
        return
    node = caps["let"][0]
    pat = node.child_by_field_name("pattern")
    if pat is None or pat.type != "identifier":
        return  # a destructuring let: its names are recorded (unknown) as patterns
    declared = node.child_by_field_name("type")
    if declared is not None:
        ty = _rust_type(declared)
    else:
        ty = _rust_value(node.child_by_field_name("value"))
    env.record(node, _text(pat), ty)


def receiver_types(fx: FileExtract, unresolved: list[bool]) -> list[str | None]:
    """Per call of a Go or Rust extract: the type expression of its receiver when the
    receiver is a plain variable whose type the file declares (else None). Only calls with
    ``unresolved`` True (the local rules failed) are looked at."""
    out: list[str | None] = [None] * len(fx.calls)
    lang = fx.language
    if lang not in ("go", "rust") or fx.parsed is None:
        return out
    bound = local_bindings(fx)[0]  # fmt.Println, io::stdin: a package, not a variable
    todo = [
        i
        for i, c in enumerate(fx.calls)
        if unresolved[i]
        and c.receiver is not None
        and c.receiver not in ("self", "Self")
        and c.receiver not in bound
        and _IDENT.fullmatch(c.receiver)
    ]
    if not todo:
        return out
    wanted = {fx.calls[i].receiver for i in todo}
    src = fx.parsed.source
    caps_list = [caps for _, caps in QueryCursor(_query(lang)).matches(fx.parsed.tree.root_node)]
    caps_list.sort(key=lambda c: next(c[k] for k in _OUTER if k in c)[0].start_byte)
    env = _Env(lang)
    collect = _go_collect if lang == "go" else _rust_collect
    for caps in caps_list:
        if lang == "rust" and "name" not in caps and _let_name(caps) not in wanted:
            continue
        collect(env, caps)
    starts = _line_starts(src)
    for i in todo:
        c = fx.calls[i]
        out[i] = env.lookup(c.receiver or "", _offset(src, starts, c.line, c.col))
    return out


def _line_starts(src: bytes) -> list[int]:
    out = [0]
    i = src.find(b"\n")
    while i >= 0:
        out.append(i + 1)
        i = src.find(b"\n", i + 1)
    return out


def _offset(src: bytes, starts: list[int], line: int, col: int) -> int:
    """The byte offset of a 1-based line and a code-point column."""
    base = starts[min(line - 1, len(starts) - 1)]
    head = src[base : base + 4 * col + 4]
    if head.isascii():
        return base + col
    return base + len(head.decode("utf-8", "replace")[:col].encode("utf-8"))


def _let_name(caps: dict[str, list[Node]]) -> str | None:
    node = caps.get("let", [None])[0]
    if node is None:
        return None
    pat = node.child_by_field_name("pattern")
    return _text(pat) if pat is not None else None
