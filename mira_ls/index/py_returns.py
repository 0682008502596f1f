"""What an unannotated Python function returns, read from its source: the one call its
``return`` (or ``yield``, for a generator fixture) statements all give, as a type
expression (``return CliRunner()`` -> ``CliRunner()``; ``r = Runner(x); return r`` ->
``Runner()``).

Used for pytest fixtures, whose values reach test parameters by name and are rarely
annotated, and for unannotated factories (``s = fixture_session()`` where the function
ends in ``return Session(...)``). A plain function is read stricter: a generator, an
``async def`` (a coroutine) or a returned parameter gives nothing. Anything else (two
different values, a literal, an operator, a bare name with no single call assigned to it)
is unknown: a wrong type would make a wrong edge."""

from __future__ import annotations

import textwrap

from tree_sitter import Node

from mira_ls.index.languages import new_parser
from mira_ls.index.py_types import receiver_expression

_NESTED = frozenset({"function_definition", "lambda", "class_definition"})


def _walk(node: Node, out: list[Node]) -> None:
    """Return statements and yields of this function, not of functions inside it."""
    for child in node.named_children:
        if child.type in _NESTED:
            continue
        if child.type in ("return_statement", "yield"):
            out.append(child)
        _walk(child, out)


def _name_is(node: Node | None, name: str) -> bool:
    return (
        node is not None
        and node.type == "identifier"
        and node.text is not None
        and node.text.decode("utf-8", "replace") == name
    )


def _assigned(body: Node, name: str) -> list[str]:
    """The values assigned to ``name`` in the function (not in functions inside it)."""
    values: list[str] = []
    stack = list(body.named_children)
    while stack:
        n = stack.pop()
        if n.type in _NESTED:
            continue
        if n.type == "assignment":
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            if _name_is(left, name) and right is not None:
                values.append(right.text.decode("utf-8", "replace") if right.text else "")
        stack.extend(n.named_children)
    return values


def returned_expression(source: str, *, fixture: bool = True) -> str | None:
    """The type expression of what the function defined in ``source`` returns, if a single
    call gives every returned value; None otherwise. A fixture's value may be yielded; a
    plain function (``fixture=False``) that yields or is ``async`` returns no such value."""
    tree = new_parser("python").parse(textwrap.dedent(source).encode("utf-8"))
    fn = next(
        (n for n in _decorated_or_plain(tree.root_node) if n.type == "function_definition"),
        None,
    )
    body = fn.child_by_field_name("body") if fn is not None else None
    if fn is None or body is None:
        return None
    found: list[Node] = []
    _walk(body, found)
    if not fixture and (
        any(n.type == "yield" for n in found) or any(c.type == "async" for c in fn.children)
    ):
        return None
    params = _parameters(fn) if not fixture else set()
    exprs: set[str | None] = set()
    for n in found:
        value = n.named_children[0] if n.named_child_count else None
        if value is None:
            continue  # a bare return/yield ends a generator fixture's setup: no value
        text = value.text.decode("utf-8", "replace") if value.text else ""
        if value.type == "identifier":
            if text in params:
                return None  # what the caller passed in
            assigned = {receiver_expression(v) for v in _assigned(body, text)}
            exprs.add(assigned.pop() if len(assigned) == 1 else None)
        else:
            exprs.add(receiver_expression(text))
    if len(exprs) != 1:
        return None
    expr = exprs.pop()
    return expr if expr is not None and expr.endswith("()") else None


def _decorated_or_plain(root: Node) -> list[Node]:
    out = []
    for n in root.named_children:
        if n.type == "decorated_definition":
            d = n.child_by_field_name("definition")
            if d is not None:
                out.append(d)
        else:
            out.append(n)
    return out


def _parameters(fn: Node) -> set[str]:
    """The names of a function's parameters (``x``, ``x=1``, ``x: T``, ``*a``, ``**k``)."""
    out: set[str] = set()
    params = fn.child_by_field_name("parameters")
    for p in params.named_children if params is not None else []:
        node = p if p.type == "identifier" else p.child_by_field_name("name")
        if node is None:
            node = next((c for c in p.named_children if c.type == "identifier"), None)
        if node is not None and node.text is not None:
            out.add(node.text.decode("utf-8", "replace"))
    return out
