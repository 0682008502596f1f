"""Receiver types of Go, Rust, Java and TypeScript/JavaScript calls, inferred by the parser
process from one file's tree.

What a variable holds is written as a type expression that ``resolve_members`` names once
every file is stored: ``Client`` (a type as the file writes it: ``a::B`` in Rust, ``lib.B``
in TypeScript), ``X::new()`` (Rust: what an associated function returns) or ``NewClient()``
(Go: what a package function returns).

- Go: a method's receiver and parameters (``func (c *Client) Get(o Other)``), ``var c
  Client``, ``var c = Client{}``, ``c := Client{}``, ``c := &Client{}``, ``c := new(Client)``,
  ``c := NewClient()`` (and ``c, err := NewClient()``).
- Rust: parameters (``x: &X``, ``x: Box<X>``), ``let x: X``, ``let x = X::new()``,
  ``let x = X { .. }``.
- Java: parameters, locals and fields by their declared type (``Client c``, ``var c = new
  Client()``), ``this.c`` for a field.
- TypeScript/JavaScript: annotated parameters, variables and fields (``c: Client``,
  constructor parameter properties), ``const c = new Client()``, ``this.c = new Client()``.

A use sees the latest declaration before it in a scope around it (block, function, loop,
``if let``, match arm, closure); a name declared again in a way these rules do not follow
(a pattern, a loop variable, a JavaScript reassignment) is unknown there: a wrong type would
make a wrong edge, an unknown one only a missing edge.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tree_sitter import Node, Point, Query, QueryCursor

from mira_ls.index.languages import get_language
from mira_ls.index.resolve_scope import local_bindings
from mira_ls.index.symbols import MAX_QUERY_DEPTH, FileExtract

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
_JAVA = """
(formal_parameter type: (_) @type name: (identifier) @name) @param
(enhanced_for_statement type: (_) @type name: (identifier) @name) @param
(resource type: (_) @type name: (identifier) @name) @param
(instanceof_expression right: (_) @type name: (identifier) @name) @param
(catch_formal_parameter name: (identifier) @name) @rebind
(lambda_expression parameters: (identifier) @name) @rebind
(inferred_parameters (identifier) @name) @rebind
(local_variable_declaration) @let
(field_declaration) @field
"""
_JS = """
(variable_declarator name: (identifier) @name) @let
(assignment_expression
  left: (member_expression object: (this) property: (property_identifier) @name)) @field
(assignment_expression left: (identifier) @name) @reassign
(for_in_statement left: (identifier) @name) @rebind
(catch_clause parameter: (identifier) @name) @rebind
(arrow_function parameter: (identifier) @name) @rebind
(shorthand_property_identifier_pattern) @name @rebind
(pair_pattern value: (identifier) @name) @rebind
(array_pattern (identifier) @name) @rebind
(assignment_pattern left: (identifier) @name) @rebind
(rest_pattern (identifier) @name) @rebind
"""
_JS_ONLY = """
(formal_parameters (identifier) @name) @rebind
"""
_TS = """
(required_parameter pattern: (identifier) @name) @param
(optional_parameter pattern: (identifier) @name) @param
(public_field_definition name: (property_identifier) @name) @field
"""
_CPP = """
(parameter_declaration type: (_) @type declarator: (_) @decl) @param
(optional_parameter_declaration type: (_) @type declarator: (_) @decl) @param
(declaration) @let
(field_declaration) @field
(for_range_loop) @rebind
(structured_binding_declarator) @rebind
"""
_QUERIES = {
    "cpp": _CPP,
    "go": _GO,
    "rust": _RUST,
    "java": _JAVA,
    "javascript": _JS + _JS_ONLY,
    "typescript": _JS + _TS,
    "tsx": _JS + _TS,
}
_OUTER = ("param", "let", "rebind", "var", "short", "field", "reassign")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_DOTTED = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
_JS_LANGS = frozenset({"javascript", "typescript", "tsx"})
_RUST_PATH = re.compile(r"[A-Za-z_]\w*(?:::[A-Za-z_]\w*)*")
_RUST_DEREF = frozenset({"Box", "Rc", "Arc"})
_CPP_PATH = re.compile(r"[A-Za-z_]\w*(?:::[A-Za-z_]\w*)*")
_UNKNOWN = "?"
_ORIGIN = Point(0, 0)


@functools.cache
def _query(language: str) -> Query:
    return Query(get_language(language), _QUERIES[language])


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


def _java_type(node: Node | None) -> str | None:
    """``Client`` / ``List<X>`` / ``a.b.Client`` -> ``Client`` / ``List`` / ``a.b.Client``;
    ``var``, primitives and arrays -> None."""
    if node is None:
        return None
    t = node.type
    if t == "generic_type":
        return _java_type(node.named_child(0))
    if t in ("type_identifier", "scoped_type_identifier"):
        text = re.sub(r"\s+", "", _text(node))
        return text if text != "var" and _DOTTED.fullmatch(text) else None
    return None


def _java_value(node: Node | None) -> str | None:
    if node is None:
        return None
    if node.type == "object_creation_expression":
        return _java_type(node.child_by_field_name("type"))
    if node.type == "parenthesized_expression":
        return _java_value(node.named_child(0))
    if node.type == "identifier":
        return "=" + _text(node)
    return None


def _ts_type(node: Node | None) -> str | None:
    """The type a TypeScript annotation names: ``Client``, ``lib.Client``, ``Client<T>``,
    ``Client | undefined`` -> ``Client`` / ``lib.Client``; anything else -> None."""
    if node is None:
        return None
    t = node.type
    if t == "type_annotation":
        return _ts_type(node.named_child(0))
    if t == "generic_type":
        return _ts_type(node.child_by_field_name("name"))
    if t in ("type_identifier", "nested_type_identifier"):
        text = re.sub(r"\s+", "", _text(node))
        return text if _DOTTED.fullmatch(text) else None
    if t == "union_type":
        parts = [
            c
            for c in node.named_children
            if _text(c) not in ("null", "undefined") and c.type != "literal_type"
        ]
        return _ts_type(parts[0]) if len(parts) == 1 else None
    return None


def _js_value(node: Node | None) -> str | None:
    if node is None:
        return None
    t = node.type
    if t == "new_expression":
        ctor = node.child_by_field_name("constructor")
        text = re.sub(r"\s+", "", _text(ctor)) if ctor is not None else ""
        ok = ctor is not None and ctor.type in ("identifier", "member_expression")
        return text if ok and _DOTTED.fullmatch(text) else None
    if t == "parenthesized_expression":
        return _js_value(node.named_child(0))
    if t == "identifier":
        return "=" + _text(node)
    return None


# --- one file's declarations ---------------------------------------------------------------

_JS_SCOPES = frozenset(
    {
        "statement_block",
        "method_definition",
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "arrow_function",
        "for_statement",
        "for_in_statement",
        "catch_clause",
        "switch_case",
        "class_body",
        "program",
    }
)
_SCOPES = {
    "cpp": frozenset(
        {
            "compound_statement",
            "function_definition",
            "lambda_expression",
            "for_statement",
            "for_range_loop",
            "if_statement",
            "while_statement",
            "switch_statement",
            "catch_clause",
            "field_declaration_list",
            "translation_unit",
        }
    ),
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
    "java": frozenset(
        {
            "block",
            "method_declaration",
            "constructor_declaration",
            "lambda_expression",
            "for_statement",
            "enhanced_for_statement",
            "catch_clause",
            "try_with_resources_statement",
            "switch_block",
            "class_body",
            "program",
        }
    ),
    "javascript": _JS_SCOPES,
    "typescript": _JS_SCOPES,
    "tsx": _JS_SCOPES,
}
_FUNCTIONS = frozenset(
    {
        "method_definition",
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "arrow_function",
        "program",
    }
)


@dataclass(frozen=True, slots=True)
class _Decl:
    start: Point  # the scope's (row, byte column) span
    end: Point
    at: Point  # in effect from
    expr: str  # or _UNKNOWN
    field: bool = False
    kills: bool = False  # a reassignment: unknown anywhere in its function


class _Env:
    """Each name's declarations; a use sees the latest declaration in effect before it
    whose scope (the innermost block, function, loop, ``if let``, arm, closure or class
    body around it) holds it."""

    def __init__(self, language: str) -> None:
        self.scopes = _SCOPES[language]
        self.decls: dict[str, list[_Decl]] = {}

    @staticmethod
    def _scope(node: Node, kinds: frozenset[str]) -> Node | None:
        scope: Node | None = node
        while scope is not None and scope.type not in kinds:
            scope = scope.parent
        return scope

    def record(self, node: Node, var: str, expr: str | None, at: Point | None = None) -> None:
        """A declaration of ``var`` at ``node`` (its scope: the nearest around it), in
        effect from ``at`` (default: the end of ``node``)."""
        if not var or var == "_":
            return
        scope = self._scope(node, self.scopes)
        if scope is None:
            return
        if expr is not None and expr.startswith("="):
            expr = self.lookup(expr[1:], node.start_point)  # what that variable holds there
        decl = _Decl(
            scope.start_point,
            scope.end_point,
            node.end_point if at is None else at,
            expr or _UNKNOWN,
        )
        self.decls.setdefault(var, []).append(decl)

    def field(self, node: Node, var: str, expr: str | None, body_kind: str = "class_body") -> None:
        """A field of the class around ``node``: known in all of its body; set two
        different ways, unknown."""
        body = self._scope(node, frozenset({body_kind}))
        if not var or body is None:
            return
        entries = self.decls.setdefault(var, [])
        value = expr if expr is not None and not expr.startswith("=") else _UNKNOWN
        for i, d in enumerate(entries):
            if d.field and d.start == body.start_point:
                if d.expr != value:
                    entries[i] = _Decl(d.start, d.end, d.at, _UNKNOWN, True)
                return
        entries.append(_Decl(body.start_point, body.end_point, body.start_point, value, True))

    def reassigned(self, node: Node, var: str) -> None:
        """JavaScript ``x = ...``: ``x`` is unknown in the whole function (a loop may come
        back to an earlier use)."""
        scope = self._scope(node, _FUNCTIONS)
        if scope is not None and var:
            decl = _Decl(scope.start_point, scope.end_point, _ORIGIN, _UNKNOWN, kills=True)
            self.decls.setdefault(var, []).append(decl)

    def lookup(self, var: str, pos: Point, *, fields: bool | None = None) -> str | None:
        """``fields``: True only fields (``this.x``), False no fields (a bare name in
        TypeScript/JavaScript), None both (Java)."""
        best: _Decl | None = None
        for d in self.decls.get(var, ()):
            if not d.start <= pos < d.end or (fields is not None and d.field != fields):
                continue
            if d.kills:
                return None
            if d.at <= pos and (best is None or d.at >= best.at):
                best = d
        return None if best is None or best.expr == _UNKNOWN else best.expr


def _go_collect(env: _Env, caps: dict[str, list[Node]], wanted: set[str]) -> None:
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
            env.record(node, _text(n), None, at=n.end_point)
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


def _rust_collect(env: _Env, caps: dict[str, list[Node]], wanted: set[str]) -> None:
    if "param" in caps:
        env.record(caps["param"][0], _text(caps["name"][0]), _rust_type(caps["type"][0]))
        return
    if "rebind" in caps:
        name = caps["name"][0]
        env.record(caps["rebind"][0], _text(name), None, at=name.end_point)
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


def _java_collect(env: _Env, caps: dict[str, list[Node]], wanted: set[str]) -> None:
    if "param" in caps:
        name = caps["name"][0]
        env.record(caps["param"][0], _text(name), _java_type(caps["type"][0]), at=name.end_point)
        return
    if "rebind" in caps:
        name = caps["name"][0]
        env.record(caps["rebind"][0], _text(name), None, at=name.end_point)
        return
    node = caps["let"][0] if "let" in caps else caps["field"][0]
    declared: str | None = None
    for i, d in enumerate(node.children_by_field_name("declarator")):
        var = d.child_by_field_name("name")
        if var is None or _text(var) not in wanted:
            continue
        if d.child_by_field_name("dimensions") is not None:
            continue
        if i == 0 or declared is None:
            declared = _java_type(node.child_by_field_name("type"))
        ty = declared or _java_value(d.child_by_field_name("value"))
        if "field" in caps:
            env.field(node, _text(var), ty)
        else:
            env.record(node, _text(var), ty)


def _js_collect(env: _Env, caps: dict[str, list[Node]], wanted: set[str]) -> None:
    name = caps["name"][0]
    var = _text(name)
    if "param" in caps:
        node = caps["param"][0]
        ty = _ts_type(node.child_by_field_name("type"))
        env.record(node, var, ty, at=name.end_point)
        if any(c.type in ("accessibility_modifier", "readonly") for c in node.children):
            env.field(node, var, ty)  # constructor(private client: Client)
        return
    if "rebind" in caps:
        env.record(caps["rebind"][0], var, None, at=name.end_point)
        return
    if "reassign" in caps:
        env.reassigned(caps["reassign"][0], var)
        return
    if "field" in caps:
        node = caps["field"][0]
        if node.type == "assignment_expression":  # this.x = new X()
            env.field(node, var, _js_value(node.child_by_field_name("right")))
        else:
            declared = _ts_type(node.child_by_field_name("type"))
            env.field(node, var, declared or _js_value(node.child_by_field_name("value")))
        return
    node = caps["let"][0]
    declared = _ts_type(node.child_by_field_name("type"))
    value = declared or _js_value(node.child_by_field_name("value"))
    env.record(node, var, value, at=node.end_point)


def _cpp_type(node: Node | None) -> str | None:
    """``Foo`` / ``ns::Foo`` (as written, ``const``, ``*`` and ``&`` being outside the
    type node); a template (``std::unique_ptr<Foo>``: ``->`` and ``.`` reach different
    classes, which a call's receiver text does not tell apart), ``auto`` or a primitive ->
    None."""
    if node is None:
        return None
    if node.type == "type_identifier":
        return _text(node)
    if node.type == "qualified_identifier":
        text = re.sub(r"\s+", "", _text(node))
        return text if _CPP_PATH.fullmatch(text) else None
    return None


def _cpp_declared(node: Node | None) -> tuple[Node | None, Node | None]:
    """(the declared name, its initial value) of a declarator: ``x``, ``*x``, ``&x``,
    ``x = v``; an array or a function declarator names no variable of the type."""
    value = None
    while node is not None:
        t = node.type
        if t in ("identifier", "field_identifier"):
            return node, value
        if t == "init_declarator":
            value = node.child_by_field_name("value")
            node = node.child_by_field_name("declarator")
        elif t in ("pointer_declarator", "reference_declarator"):
            node = node.child_by_field_name("declarator") or (
                node.named_child(0) if node.named_child_count else None
            )
        else:
            return None, None
    return None, None


def _cpp_value(node: Node | None) -> str | None:
    if node is not None and node.type == "new_expression":
        return _cpp_type(node.child_by_field_name("type"))
    return None


def _cpp_collect(env: _Env, caps: dict[str, list[Node]], wanted: set[str]) -> None:
    if "param" in caps:
        name, _ = _cpp_declared(caps["decl"][0])
        if name is not None and _text(name) in wanted:
            env.record(caps["param"][0], _text(name), _cpp_type(caps["type"][0]), at=name.end_point)
        return
    node = caps.get("rebind", caps.get("let", caps.get("field")))[0]  # type: ignore[index]
    if "rebind" in caps:
        if node.type == "for_range_loop":
            name, _ = _cpp_declared(node.child_by_field_name("declarator"))
            ty = _cpp_type(node.child_by_field_name("type"))
            if name is not None:
                env.record(node, _text(name), ty, at=name.end_point)
        else:
            for n in node.named_children:
                if n.type == "identifier":
                    env.record(node, _text(n), None, at=n.end_point)
        return
    declared = _cpp_type(node.child_by_field_name("type"))
    for d in node.children_by_field_name("declarator"):
        name, value = _cpp_declared(d)
        if name is None or _text(name) not in wanted:
            continue
        ty = declared or _cpp_value(value)
        if "field" in caps:
            env.field(node, _text(name), ty, body_kind="field_declaration_list")
        else:
            env.record(node, _text(name), ty)


_COLLECT = {
    "cpp": _cpp_collect,
    "go": _go_collect,
    "rust": _rust_collect,
    "java": _java_collect,
    "javascript": _js_collect,
    "typescript": _js_collect,
    "tsx": _js_collect,
}
_THIS_LANGS = frozenset({"java", "javascript", "typescript", "tsx"})
_NOT_VARIABLES = frozenset(
    {"self", "Self", "this", "super", "console", "process", "window", "document", "globalThis"}
    | {"module", "exports", "require", "arguments"}
)


def _receiver_var(lang: str, receiver: str) -> tuple[str, bool | None] | None:
    """(variable, fields) for a receiver these rules follow: a plain name, or (Java,
    TypeScript/JavaScript) ``this.name``."""
    if _IDENT.fullmatch(receiver):
        if receiver in _NOT_VARIABLES or (receiver[0].isupper() and lang in _THIS_LANGS):
            return None  # Foo.bar(): a class (resolve_project); console.log(): a global
        return receiver, (False if lang in _JS_LANGS else None)
    if lang in _THIS_LANGS and receiver.startswith("this."):
        rest = receiver[5:]
        if _IDENT.fullmatch(rest):
            return rest, True
    if lang == "cpp" and receiver.startswith("this->"):
        rest = receiver[6:]
        if _IDENT.fullmatch(rest):
            return rest, True
    return None


def receiver_types(fx: FileExtract, unresolved: list[bool]) -> list[str | None]:
    """Per call of a Go, Rust, Java or TypeScript/JavaScript extract: the type expression
    of its receiver when the receiver is a variable (or field) whose type the file declares
    (else None). Only calls with ``unresolved`` True (the local rules failed) are looked at."""
    out: list[str | None] = [None] * len(fx.calls)
    lang = fx.language
    if lang not in _QUERIES or fx.parsed is None:
        return out
    bound = local_bindings(fx)[0]  # fmt.Println, io::stdin: a package, not a variable
    todo: list[tuple[int, str, bool | None]] = []
    for i, c in enumerate(fx.calls):
        if not unresolved[i] or c.receiver is None or c.receiver in bound:
            continue
        rv = _receiver_var(lang, c.receiver)
        if rv is not None:
            todo.append((i, rv[0], rv[1]))
    if not todo:
        return out
    if lang == "javascript" and b"new" not in fx.parsed.source:
        return out  # untyped: only `x = new X()` says what a name holds
    wanted = {var for _, var, _ in todo}
    cursor = QueryCursor(_query(lang))
    cursor.set_max_start_depth(MAX_QUERY_DEPTH)
    caps_list = [caps for _, caps in cursor.matches(fx.parsed.tree.root_node)]
    caps_list.sort(key=lambda c: next(c[k] for k in _OUTER if k in c)[0].start_byte)
    env = _Env(lang)
    collect = _COLLECT[lang]
    for caps in caps_list:
        if "name" in caps and _text(caps["name"][0]) not in wanted:
            continue
        if lang == "rust" and "let" in caps and _let_name(caps) not in wanted:
            continue
        if "param" in caps and not _code_param(caps["param"][0], env.scopes):
            continue
        try:
            collect(env, caps, wanted)
        except (AttributeError, IndexError, KeyError, TypeError):  # a broken tree: skip it
            continue
    for i, var, fields in todo:
        c = fx.calls[i]
        # a code-point column: on a line with non-ASCII text before the call, a little
        # left of the byte column the declarations carry (errs towards "declared after")
        out[i] = env.lookup(var, Point(c.line - 1, c.col), fields=fields)
    return out


def _code_param(node: Node, scopes: frozenset[str]) -> bool:
    """Whether a parameter belongs to code (a function, method, closure, loop) rather than
    to a signature without a body (an interface's or trait's method, a function type,
    ``function f(x: T);`` overloads), whose names no code sees."""
    if node.type in scopes or node.type == "instanceof_expression":
        return True
    owner = node.parent.parent if node.parent is not None else None
    if owner is not None and owner.type in ("function_declarator", "abstract_function_declarator"):
        owner = owner.parent  # C++: the declarator's definition, or a prototype's declaration
    return owner is not None and owner.type in scopes and owner.type not in _NOT_OWNERS


# Scopes that hold code but own no parameter list (a parameter two levels below one is in
# a type: ``let f: (x: T) => void`` in a block).
_NOT_OWNERS = frozenset(
    {"block", "statement_block", "class_body", "program", "source_file", "switch_block"}
)


def _let_name(caps: dict[str, list[Node]]) -> str | None:
    node = caps.get("let", [None])[0]
    if node is None:
        return None
    pat = node.child_by_field_name("pattern")
    return _text(pat) if pat is not None else None
