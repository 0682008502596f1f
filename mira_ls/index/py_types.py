"""Receiver types of Python calls, inferred by the parser process from one file's tree.

What a name holds is written as a *type expression* in the file's own namespace, resolved
to symbols later by ``resolve_types`` once every file is stored:

- ``Flask()``: an instance of whatever ``Flask`` names in the file (a class, or a function
  whose return annotation says what it returns); ``mod.Flask()`` through a module;
- ``Flask().test_client()``: what ``test_client`` returns when called on that instance;
- ``self.app`` / ``self``: the enclosing class's instance (and an attribute of it);
- ``Flask``: the class itself (``type[Flask]``); ``fixture:app``: a pytest fixture's value.

Sources, cheapest first: parameter annotations (``Optional``, ``X | None`` and string
annotations included), annotated and constructor assignments in the function and at module
level, ``self.x = ...`` / ``self.x: T`` in the class's methods, and for test functions and
fixtures a parameter named like a fixture. A name assigned two different things is
unknown: a wrong type would make a wrong edge, an unknown one only a missing edge.
"""

from __future__ import annotations

import functools
import re

from tree_sitter import Node, Query, QueryCursor

from mira_ls.index.languages import get_language, is_python_test_file, pattern_roles, query_source
from mira_ls.index.symbols import CLASS_KINDS, FileExtract, _innermost

_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_HEAD = re.compile(r"[A-Za-z_]\w*")
_OPTIONAL = re.compile(r"^(?:[A-Za-z_]\w*\.)?Optional\[(.*)\]$", re.S)
_UNION = re.compile(r"^(?:[A-Za-z_]\w*\.)?Union\[(.*)\]$", re.S)
_TYPE_OF = re.compile(r"^(?:[A-Za-z_]\w*\.)?[Tt]ype\[(.*)\]$", re.S)
_ANNOTATED = re.compile(r"^(?:[A-Za-z_]\w*\.)?Annotated\[([^,\]]*)", re.S)
_CALLABLE = re.compile(r"^(?:[A-Za-z_]\w*\.)*Callable\[\s*(?:\[[^\]]*\]|\.\.\.)\s*,(.*)\]$", re.S)
_ARGS = re.compile(r"\((?:[^()]|\(\))+\)")  # innermost non-empty argument list
_EMPTY = re.compile(r"\(\)")
_EXPR = re.compile(r"[A-Za-z_]\w*(?:\(\)){0,2}(?:\.[A-Za-z_]\w*(?:\(\)){0,2})*")
_KINDS = ("assign", "attr", "param", "bare", "rebind", "decorated")
_UNKNOWN = object()  # assigned two different things


@functools.cache
def _query() -> Query:
    """The index's query with only the patterns of what names hold (role "type"): for an
    extract that did not keep them."""
    q = Query(get_language("python"), query_source("python"))
    for i, role in enumerate(pattern_roles("python")):
        if role != "type":
            q.disable_pattern(i)
    return q


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside brackets."""
    out: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [p.strip() for p in out]


def annotation_type(text: str | None) -> str | None:
    """The type expression an annotation promises: ``Optional["Foo"]`` -> ``Foo()``,
    ``a.B | None`` -> ``a.B()``, ``type[Foo]`` -> ``Foo``, ``list[Foo]`` -> ``list()``;
    None when it names no single type (a union of two, a literal, ``Any``)."""
    if not text:
        return None
    t = text.strip()
    for _ in range(4):
        if len(t) >= 2 and t[0] in "'\"" and t[-1] == t[0]:
            t = t[1:-1].strip()
            continue
        m = _OPTIONAL.match(t) or _ANNOTATED.match(t)
        if m:
            t = m.group(1).strip()
            continue
        m = _UNION.match(t)
        parts = _split_top(m.group(1), ",") if m else _split_top(t, "|")
        if len(parts) > 1:
            rest = [p for p in parts if p not in ("None", "'None'", '"None"')]
            kinds = {annotation_type(p) for p in rest}
            if len(rest) > 1 and len(kinds) == 1 and None not in kinds:
                return kinds.pop()  # Command | Callable[..., Command]: a Command either way
            if len(rest) != 1:
                return None
            t = rest[0]
            continue
        break
    m = _CALLABLE.match(t)
    if m:  # what calling it gives; a decorator factory's result is applied (f()())
        return annotation_type(m.group(1))
    m = _TYPE_OF.match(t)
    if m:
        inner = annotation_type(m.group(1))
        return inner[:-2] if inner and inner.endswith("()") else None
    base = t.split("[", 1)[0].strip()
    if not _DOTTED.fullmatch(base) or base in ("Any", "None", "object", "typing.Any"):
        return None
    return base + "()"


def receiver_expression(receiver: str) -> str | None:
    """A receiver as written, as a type expression: call arguments dropped
    (``Flask(__name__).test_client()`` -> ``Flask().test_client()``); None for what no
    rule here follows (subscripts, literals, operators)."""
    expr = receiver
    while "(" in expr:
        inner = _ARGS.sub("()", expr)
        if inner == expr:
            break
        expr = inner
        if "(" not in _EMPTY.sub("", expr):
            break
    return expr if _EXPR.fullmatch(expr) else None


def _value_expression(node: Node | None) -> str | None:
    """The type expression of an assigned value: a call of a (dotted) name, a name."""
    if node is None:
        return None
    if node.type == "call":
        fn = node.child_by_field_name("function")
        inner = _value_expression(fn)
        return inner + "()" if inner is not None and not inner.endswith("()") else None
    if node.type == "identifier":
        return node.text.decode("utf-8", "replace") if node.text else None
    if node.type == "attribute":
        obj = _value_expression(node.child_by_field_name("object"))
        attr = node.child_by_field_name("attribute")
        if obj is None or attr is None or attr.text is None:
            return None
        return f"{obj}.{attr.text.decode('utf-8', 'replace')}"
    return None


def _record(env: dict[str, object], var: str, expr: str | None, *, annotated: bool) -> None:
    if annotated and expr is not None:
        env[var] = ("ann", expr)
        return
    old = env.get(var)
    if isinstance(old, tuple) and old[0] == "ann":
        return  # the annotation says what it holds whatever is assigned
    if expr is None or (old is not None and old != expr):
        env[var] = _UNKNOWN
    else:
        env[var] = expr


class _Types:
    """The environments of one file: per symbol index, name -> expression."""

    def __init__(self, fx: FileExtract, rel: str) -> None:
        self.fx = fx
        self.env: dict[int, dict[str, object]] = {}
        self.attrs: dict[int, dict[str, object]] = {}
        self.tests = is_python_test_file(rel)

    def collect(self, root: Node, names: set[str], attrs: set[str]) -> None:
        """Record what the file says about ``names`` (and ``self.<attrs>``), then about
        the names those are made from, and so on: the rest of the file is not looked at
        (most assignments never reach a call's receiver)."""
        found = self.fx.type_matches
        if found is None:
            found = [caps for _, caps in QueryCursor(_query()).matches(root)]
        tests = self.tests
        # the captures by (variable name as the source's bytes, self.<attr>): a round
        # looks up the names it wants; most captures never reach a receiver
        by_var: dict[tuple[bytes | None, bool], list[dict[str, list[Node]]]] = {}
        for caps in found:
            if tests or "bare" not in caps:  # untyped parameters: fixtures in test files only
                by_var.setdefault((caps["var"][0].text, "attr" in caps), []).append(caps)
        want = {n.encode("utf-8") for n in names}
        want_attrs = {n.encode("utf-8") for n in attrs}
        for _ in range(4):
            take: list[tuple[int, dict[str, list[Node]]]] = []
            for key in [(n, False) for n in want] + [(a, True) for a in want_attrs]:
                for caps in by_var.pop(key, ()):
                    take.append((next(caps[k][0].start_byte for k in _KINDS if k in caps), caps))
            if not take:
                break
            take.sort(key=lambda t: t[0])
            owners = _innermost([t[0] for t in take], self.fx.spans)
            for (_, caps), owner in zip(take, owners, strict=True):
                self._one(caps, owner)
            want, want_attrs = {n.encode("utf-8") for n in self._heads()}, set()
            for env in self.attrs.values():
                for v in env.values():
                    held = v[1] if isinstance(v, tuple) else v
                    if isinstance(held, str) and held.startswith("self."):
                        attr = held[5:].split(".", 1)[0].split("(", 1)[0]
                        want_attrs.add(attr.encode("utf-8"))

    def _heads(self) -> set[str]:
        """The leading names of every recorded expression."""
        out: set[str] = set()
        for envs in (self.env, self.attrs):
            for env in envs.values():
                for v in env.values():
                    held = v[1] if isinstance(v, tuple) else v
                    if isinstance(held, str):
                        m = _HEAD.match(held)
                        if m:
                            out.add(m.group(0))
        return out

    def _one(self, caps: dict[str, list[Node]], owner: int) -> None:
        var_node = caps["var"][0]
        var = var_node.text.decode("utf-8", "replace") if var_node.text else ""
        if "param" in caps:
            ann = caps["ann"][0].text
            expr = annotation_type(ann.decode("utf-8", "replace") if ann else None)
            _record(self.env.setdefault(owner, {}), var, expr, annotated=True)
            return
        if "decorated" in caps:
            self._decorated(caps, var, owner)
            return
        if "rebind" in caps:  # a loop, with or := target: what it holds is not followed
            _record(self.env.setdefault(owner, {}), var, None, annotated=False)
            return
        if "bare" in caps:
            if self.tests and var not in ("self", "cls") and self._takes_fixtures(owner):
                _record(self.env.setdefault(owner, {}), var, f"fixture:{var}", annotated=True)
            return
        node = caps["assign"][0] if "assign" in caps else caps["attr"][0]
        ann_node = node.child_by_field_name("type")
        if ann_node is not None and ann_node.text:
            expr = annotation_type(ann_node.text.decode("utf-8", "replace"))
            annotated = True
        else:
            expr = _value_expression(node.child_by_field_name("right"))
            if expr is not None:
                expr = self.substitute(expr, owner)
            annotated = False
        if "assign" in caps:
            _record(self.env.setdefault(owner, {}), var, expr, annotated=annotated)
            return
        obj = caps["obj"][0].text
        if obj != b"self":
            return
        cls = self._class_of_method(owner)
        if cls is not None:
            _record(self.attrs.setdefault(cls, {}), var, expr, annotated=annotated)

    def _decorated(self, caps: dict[str, list[Node]], var: str, owner: int) -> None:
        """``@click.group() def cli()``: the name holds what the outermost decorator
        returns when applied to the function (``click.group()()``)."""
        parent = self.fx.symbols[owner].parent
        if self.fx.symbols[owner].name == var and parent is not None:
            owner = parent  # the span of a definition starts at its decorators
        dec = caps["dec"][0]
        inner = dec.named_children[0] if dec.named_child_count else None
        expr = _value_expression(inner)
        if expr is not None:
            expr = self.substitute(expr + "()", owner)
        _record(self.env.setdefault(owner, {}), var, expr, annotated=False)

    def _takes_fixtures(self, owner: int) -> bool:
        s = self.fx.symbols[owner]
        if s.kind not in ("function", "method"):
            return False
        if s.name.startswith("test"):
            return True
        if s.start_line == s.name_line or self.fx.parsed is None:
            return False  # not decorated: not a fixture
        src = self.fx.parsed.source
        lines = src.split(b"\n", s.name_line)[s.start_line - 1 : s.name_line - 1]
        return any(b"fixture" in ln for ln in lines)

    def _class_of_method(self, k: int) -> int | None:
        syms = self.fx.symbols
        p = syms[k].parent
        return p if syms[k].kind == "method" and p is not None else None

    def _lookup(self, owner: int, var: str) -> str | None:
        """What ``var`` holds seen from ``owner``: its own scope, then enclosing function
        and module scopes (a class body is not an enclosing scope of its methods)."""
        syms = self.fx.symbols
        k: int | None = owner
        first = True
        while k is not None:
            if first or syms[k].kind not in CLASS_KINDS:
                hit = self.env.get(k, {}).get(var)
                if hit is not None:
                    if hit is _UNKNOWN:
                        return None
                    return hit[1] if isinstance(hit, tuple) else str(hit)
            first = False
            k = syms[k].parent
        return None

    def substitute(self, expr: str, owner: int, depth: int = 0) -> str | None:
        """``expr`` with a leading variable replaced by what it holds (``client.get`` where
        ``client = app.test_client()`` -> ``Flask().test_client().get``)."""
        m = _HEAD.match(expr)
        if m is None or depth > 6:
            return expr if m else None
        head, rest = m.group(0), expr[m.end() :]
        if head in ("self", "cls"):
            cls = self._class_of_method(owner)
            am = re.match(r"\.([A-Za-z_]\w*)", rest)
            if cls is not None and am and not rest[am.end() :].startswith("()"):
                hit = self.attrs.get(cls, {}).get(am.group(1))
                if hit is _UNKNOWN:
                    return None
                if hit is not None:
                    held = hit[1] if isinstance(hit, tuple) else str(hit)
                    return self.substitute(held + rest[am.end() :], owner, depth + 1)
            return expr
        held = self._lookup(owner, head)
        if held is None:
            return expr
        if held.startswith("fixture:"):
            return held + rest
        return self.substitute(held + rest, owner, depth + 1)


def receiver_types(fx: FileExtract, rel: str, unresolved: list[bool]) -> list[str | None]:
    """Per call of a Python extract: its receiver's type expression, where the file says
    more than the receiver's own text (else None). Only calls with ``unresolved`` True
    (the local rules failed) are looked at."""
    out: list[str | None] = [None] * len(fx.calls)
    if fx.language != "python" or fx.parsed is None or not any(unresolved):
        return out
    todo: list[tuple[int, str]] = []
    names: set[str] = set()
    attrs: set[str] = set()
    seen: dict[str, str | None] = {}  # receiver text -> its expression (receivers repeat)
    for i, c in enumerate(fx.calls):
        receiver = c.receiver
        if not unresolved[i] or receiver is None or receiver in ("self", "cls"):
            continue
        if receiver in seen:
            expr = seen[receiver]
            if expr is not None:
                todo.append((i, expr))
            continue
        expr = seen[receiver] = receiver_expression(receiver)
        if expr is None:
            continue
        todo.append((i, expr))
        m = _HEAD.match(expr)
        if m is None:
            continue
        head = m.group(0)
        if head in ("self", "cls"):
            attrs.add(expr[len(head) + 1 :].split(".", 1)[0].split("(", 1)[0])
        else:
            names.add(head)
    if not todo:
        return out
    types = _Types(fx, rel)
    if names or attrs:
        types.collect(fx.parsed.tree.root_node, names, attrs)
    typed_memo: dict[tuple[str, int], str | None] = {}  # one caller's calls on one receiver
    for i, expr in todo:
        key = (expr, fx.calls[i].caller)
        if key in typed_memo:
            typed = typed_memo[key]
        else:
            typed = typed_memo[key] = types.substitute(expr, key[1])
        if typed is not None and (typed != expr or "()" in expr):
            out[i] = typed
    return out
