"""Per-function nesting depth and parameter count from the tree-sitter tree of a file (the
index computes them with the tree it parsed, into code_elements.nesting and .params).

Cyclomatic complexity is already counted by the index (``code_elements.complexity``:
decision points + 1, boolean operators included) and length is the stored span, so this
adds only what needs the tree: how deeply control structures nest inside a function (an
``else if`` chain is one level, as lizard counts it) and how many parameters it declares
(Python's ``self``/``cls`` and Rust's ``self`` receiver not counted). The nodes are found
with one query per file (run in C), and each is given to its innermost enclosing
function, so a nested function's structure never counts for its parent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from tree_sitter import Node, Query, QueryCursor

from mira_ls.index.languages import get_language

_JS_FUNCS = (
    "function_declaration", "function_expression", "arrow_function", "method_definition",
    "generator_function_declaration", "generator_function",
)  # fmt: skip
_JS_NEST = (
    "if_statement", "for_statement", "for_in_statement", "while_statement", "do_statement",
    "try_statement", "switch_statement",
)  # fmt: skip
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "python": ("function_definition",),
    "javascript": _JS_FUNCS,
    "typescript": _JS_FUNCS,
    "tsx": _JS_FUNCS,
    "go": ("function_declaration", "method_declaration", "func_literal"),
    "rust": ("function_item", "closure_expression"),
    "java": ("method_declaration", "constructor_declaration", "lambda_expression"),
    "c": ("function_definition",),
    "cpp": ("function_definition", "lambda_expression"),
}
NESTING: dict[str, tuple[str, ...]] = {
    "python": ("if_statement", "for_statement", "while_statement", "try_statement",
               "with_statement", "match_statement"),
    "javascript": _JS_NEST,
    "typescript": _JS_NEST,
    "tsx": _JS_NEST,
    "go": ("if_statement", "for_statement", "expression_switch_statement",
           "type_switch_statement", "select_statement"),
    "rust": ("if_expression", "for_expression", "while_expression", "loop_expression",
             "match_expression"),
    "java": ("if_statement", "for_statement", "enhanced_for_statement", "while_statement",
             "do_statement", "try_statement", "try_with_resources_statement",
             "switch_expression"),
    "c": ("if_statement", "for_statement", "while_statement", "do_statement",
          "switch_statement"),
    "cpp": ("if_statement", "for_statement", "for_range_loop", "while_statement",
            "do_statement", "switch_statement", "try_statement"),
}  # fmt: skip
_IFS = frozenset({"if_statement", "if_expression"})
_NOT_PARAMS = frozenset(
    {"comment", "line_comment", "block_comment", "keyword_separator", "positional_separator",
     "self_parameter", "receiver_parameter"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FunctionShape:
    nesting: int
    params: int


@functools.cache
def _query(language: str) -> Query:
    kinds = " ".join(f"({k})" for k in (*FUNCTIONS[language], *NESTING[language]))
    return Query(get_language(language), f"[{kinds}] @node")


def _params_node(fn: Node) -> Node | None:
    p = fn.child_by_field_name("parameters") or fn.child_by_field_name("parameter")
    if p is not None:
        return p
    d = fn.child_by_field_name("declarator")  # C/C++: through pointer/reference declarators
    while d is not None:
        if d.type == "function_declarator":
            return d.child_by_field_name("parameters")
        d = d.child_by_field_name("declarator")
    return None


def _param_count(fn: Node, language: str) -> int:
    p = _params_node(fn)
    if p is None:
        return 0
    if p.type == "identifier":  # an arrow function's single bare parameter
        return 1
    items = [c for c in p.named_children if c.type not in _NOT_PARAMS]
    first = items[0] if items else None
    if language == "python" and first is not None and first.text in (b"self", b"cls"):
        items = items[1:]
    if language in ("c", "cpp") and len(items) == 1 and items[0].text == b"void":
        return 0
    return len(items)


def _is_else_if(node: Node) -> bool:
    """An ``if`` that is the else branch of another ``if`` (``else if``: no new level)."""
    parent = node.parent
    if parent is None or node.type not in _IFS:
        return False
    if parent.type == "else_clause":
        return parent.parent is not None and parent.parent.type in _IFS
    return parent.type in _IFS and parent.child_by_field_name("alternative") == node


def shapes(
    root: Node, language: str, span: tuple[int, int] | None = None
) -> dict[int, FunctionShape]:
    """Shape of every function of a parsed file, keyed by the 1-based line of its name (the
    line of the node's start when it has no name: a lambda). ``span``: only the functions
    within these bytes are wanted (the caller knows the others)."""
    if language not in FUNCTIONS:
        return {}
    funcs = frozenset(FUNCTIONS[language])
    nest = frozenset(NESTING[language])
    depth: dict[int, int] = {}  # function node id -> deepest nesting
    fnodes: dict[int, Node] = {}
    cursor = QueryCursor(_query(language))
    if span is not None:
        cursor.set_byte_range(span[0], span[1])
    for node in cursor.captures(root).get("node", []):
        if node.type in funcs:
            fnodes.setdefault(node.id, node)
            continue
        if node.type not in nest or _is_else_if(node):
            continue
        level = 1
        up = node.parent
        while up is not None and up.type not in funcs:
            if up.type in nest and not _is_else_if(up):
                level += 1
            up = up.parent
        if up is not None and level > depth.get(up.id, 0):
            depth[up.id] = level
    out: dict[int, FunctionShape] = {}
    for nid, fn in fnodes.items():
        name = fn.child_by_field_name("name")
        if name is None and fn.type == "function_definition":  # C/C++: the declarator's name
            d = fn.child_by_field_name("declarator")
            while d is not None and d.child_by_field_name("declarator") is not None:
                d = d.child_by_field_name("declarator")
            name = d
        line = (name or fn).start_point[0] + 1
        shape = FunctionShape(depth.get(nid, 0), _param_count(fn, language))
        prev = out.get(line)
        if prev is None or shape.nesting > prev.nesting:
            out[line] = shape
    return out
