"""Extract symbols, call sites and imports from one file's bytes with tree-sitter.

``extract`` is pure and fast: the indexer runs it in worker processes, and the server runs
it on the live buffer for every hover, document symbol and code lens. The definitions and
calls come from ``queries/<lang>.scm``; what a query cannot say (qualified names, spans with
decorators and doc comments, hashes, docstrings) is computed here.

Hashing rules (CONVENTIONS "Symbols and hashing"): a symbol's span includes its decorators
and doc comments; ``content_hash`` is SHA-256 of the span's exact bytes; ``signature_hash``
is SHA-256 of the normalized signature (decorators + head up to the body, whitespace
removed wherever it does not separate two words), so a whitespace-only edit of a signature
changes ``content_hash`` but not ``signature_hash``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import operator
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from tree_sitter import Node, Query, QueryCursor, Tree

from mira_ls.index import metrics
from mira_ls.index.languages import (
    get_language,
    get_query,
    is_python_test_file,
    new_parser,
    pattern_roles,
    query_source,
)

CLASS_KINDS = frozenset({"class", "struct", "union", "enum", "trait", "interface", "impl"})
CALLABLE_KINDS = frozenset({"function", "method", "constructor", "macro"})
SHAPED_KINDS = frozenset({"function", "method", "constructor"})  # store/quality.CALLABLES

SIGNATURE_DISPLAY_MAX = 400
DOCSTRING_MAX = 4000
RECEIVER_MAX = 200
HEAD_HASH_MAX = 4000
# Per-file bound. A query match may start at most this many nodes deep: tree-sitter's query
# cursor slows down badly on pathological nesting (``g(g(...50,000 deep...))`` took 75 s,
# holding the GIL, so a server froze), and real code stays far shallower (a few dozen).
MAX_QUERY_DEPTH = 1000
# Nesting that deep needs long lines (or indentation as deep); only then is the tree walked
# to see whether the bound cut anything, and the file marked as indexed partially.
LONG_LINE_BYTES = 1000


@dataclass(slots=True)
class Symbol:
    """One definition. Lines 1-based; columns 0-based code points; end column exclusive."""

    kind: str
    name: str
    qualified_name: str
    ordinal: int
    parent: int | None  # index into FileExtract.symbols
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    name_line: int
    name_col: int
    signature: str | None
    docstring: str | None
    content_hash: str
    signature_hash: str
    complexity: int = 1
    nesting: int | None = None  # functions only (index/metrics.py); None for other kinds
    params: int | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        """Identity within a file: (qualified_name, kind, ordinal)."""
        return (self.qualified_name, self.kind, self.ordinal)


@dataclass(slots=True)
class Call:
    """A call site inside ``symbols[caller]``; position of the called name."""

    caller: int
    name: str
    receiver: str | None
    line: int
    col: int


@dataclass(slots=True)
class Import:
    """One imported binding as written.

    ``module``: what is imported from ('os.path', '.core', './util', 'std::io', 'fmt',
    '"foo.h"' / '<stdio.h>' for C includes); ``name``: the member imported from it (None for
    a whole-module import, '*' for a star import); ``alias``: the local name when renamed.
    """

    module: str
    name: str | None
    alias: str | None
    line: int


# per definition (kind, SHA-256 of its text): (display signature, signature hash, docstring,
# nesting, parameters)
Known = dict[tuple[str, str], tuple[str, str, str | None, int | None, int | None]]


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parse to start the next one from (tree-sitter reuses what did not change)."""

    language: str
    source: bytes  # the bytes that were parsed (after invalid UTF-8 was replaced)
    tree: Tree
    # Python: what each definition's text alone decides; the next extract of the file works
    # it out again only for the definitions whose text changed
    known: Known | None = None


@dataclass(slots=True)
class FileExtract:
    language: str
    symbols: list[Symbol]
    calls: list[Call]
    imports: list[Import]
    parse_errors: int = 0
    line_count: int = 0
    decoded_with_replacement: bool = False
    children: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    parsed: Parsed | None = None  # pass to the next extract() of the same file
    spans: list[tuple[int, int]] = field(default_factory=list)  # byte span per symbol
    partial: str | None = None  # why some of the file is not indexed (a per-file bound)
    # Python: the query's captures of what names hold (role "type"), for py_types
    type_matches: list[dict[str, list[Node]]] | None = None

    @property
    def module(self) -> Symbol:
        return self.symbols[0]


# --- per-language shape -----------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    wrappers: frozenset[str]  # parents that belong to the definition (decorators, export)
    prelude: frozenset[str]  # preceding siblings absorbed into the span (doc comments, attributes)
    decorators: frozenset[str]  # node types whose text is part of the signature
    comments: frozenset[str]
    self_names: frozenset[str]


_JS = _Spec(
    wrappers=frozenset({"export_statement", "lexical_declaration", "variable_declaration"}),
    prelude=frozenset({"comment", "decorator"}),
    decorators=frozenset({"decorator"}),
    comments=frozenset({"comment"}),
    self_names=frozenset({"this"}),
)
_C = _Spec(
    wrappers=frozenset(),
    prelude=frozenset({"comment"}),
    decorators=frozenset(),
    comments=frozenset({"comment"}),
    self_names=frozenset({"this"}),
)
SPECS: dict[str, _Spec] = {
    "python": _Spec(
        wrappers=frozenset({"decorated_definition"}),
        prelude=frozenset(),
        decorators=frozenset({"decorator"}),
        comments=frozenset({"comment"}),
        self_names=frozenset({"self", "cls"}),
    ),
    "javascript": _JS,
    "typescript": _JS,
    "tsx": _JS,
    "rust": _Spec(
        wrappers=frozenset(),
        prelude=frozenset({"line_comment", "block_comment", "attribute_item"}),
        decorators=frozenset({"attribute_item"}),
        comments=frozenset({"line_comment", "block_comment"}),
        self_names=frozenset({"self", "Self"}),
    ),
    "go": _Spec(
        wrappers=frozenset({"type_declaration"}),
        prelude=frozenset({"comment"}),
        decorators=frozenset(),
        comments=frozenset({"comment"}),
        self_names=frozenset(),
    ),
    "java": _Spec(
        wrappers=frozenset(),
        prelude=frozenset({"block_comment", "line_comment"}),
        decorators=frozenset(),
        comments=frozenset({"block_comment", "line_comment"}),
        self_names=frozenset({"this"}),
    ),
    "c": _C,
    "cpp": _Spec(
        wrappers=frozenset({"template_declaration"}),
        prelude=frozenset({"comment"}),
        decorators=frozenset(),
        comments=frozenset({"comment"}),
        self_names=frozenset({"this"}),
    ),
}

_WS = re.compile(r"\s+")
_GENERICS = re.compile(r"<[^<>]*>")
_STRING_PREFIX = re.compile(r"^[rRbBuUfF]*")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_sha = hashlib.sha256


def normalize_signature(text: str) -> str:
    """Whitespace-insensitive form: all whitespace removed (two signatures that differ only
    in spacing hash alike; valid code never needs a space to tell two signatures apart)."""
    return "".join(text.split())


def decode(source: bytes) -> tuple[bytes, bool]:
    """UTF-8 bytes to parse: invalid sequences replaced (U+FFFD) so offsets stay consistent."""
    if source.isascii():  # valid UTF-8, checked without decoding a copy
        return source, False
    try:
        source.decode("utf-8")
        return source, False
    except UnicodeDecodeError:
        return source.decode("utf-8", "replace").encode("utf-8"), True


def module_name(rel_path: str, language: str) -> str:
    """Python: dotted module (``src/`` layout prefix and ``__init__`` dropped); others: the
    path without extension with '/' -> '.' (Rust drops a trailing ``mod``)."""
    if (
        rel_path
        and rel_path[0] != "/"
        and rel_path[-1] != "/"
        and "//" not in rel_path
        and "/./" not in f"/{rel_path}/"
    ):  # already normal (as the walker lists them): plain string work, no PurePath
        head, _, name = rel_path.rpartition("/")
        parts = head.split("/") if head else []
        dot = name.rfind(".")
        stem = name[:dot] if 0 < dot < len(name) - 1 else name
    else:
        p = PurePosixPath(rel_path)
        parts = list(p.parent.parts) if str(p.parent) != "." else []
        stem = p.stem
    if language == "python":
        if parts and parts[0] == "src" and len(parts) > 1:
            parts = parts[1:]
        if stem != "__init__":
            parts.append(stem)
        return ".".join(parts) or stem
    if not (language == "rust" and stem == "mod" and parts):
        parts.append(stem)
    return ".".join(parts)


# --- extraction ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Def:
    start: int  # span start byte (decorators, doc comments)
    end: int
    kind: str
    node: Node
    name_node: Node | None
    name: str
    scope: str | None  # extra qualifier (Go receiver type, C++ Foo:: of an out-of-line method)
    outer: Node
    prelude: list[Node]


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace")  # type: ignore[union-attr]


def _col(src: bytes, ascii_only: bool, byte_offset: int, byte_col: int) -> int:
    if ascii_only or byte_col == 0:
        return byte_col
    return len(src[byte_offset - byte_col : byte_offset].decode("utf-8", "replace"))


def _base_type_name(text: str) -> str:
    """'&mut a::Foo<T>' / '*Server[T]' -> 'Foo' / 'Server'."""
    t = text
    while True:
        t2 = _GENERICS.sub("", t)
        if t2 == t:
            break
        t = t2
    t = re.sub(r"\[.*\]", "", t)
    t = t.replace("&", " ").replace("*", " ").replace("mut ", " ").strip()
    t = re.split(r"::|\.", t)[-1].strip()
    return t.split()[-1] if t.split() else text.strip()


def _declarator_name(decl: Node) -> tuple[Node | None, str | None]:
    """The name node of a C/C++ function declarator and its 'Foo::' scope, if any."""
    d: Node | None = decl
    while d is not None and d.type in (
        "function_declarator",
        "pointer_declarator",
        "reference_declarator",
        "parenthesized_declarator",
        "attributed_declarator",
    ):
        nxt = d.child_by_field_name("declarator")
        if nxt is None and d.named_child_count:
            nxt = d.named_child(0)
        d = nxt
    if d is None:
        return None, None
    scope_parts: list[str] = []
    while d is not None and d.type == "qualified_identifier":
        sc = d.child_by_field_name("scope")
        if sc is not None:
            scope_parts.append(_base_type_name(_text(sc)))
        d = d.child_by_field_name("name")
    if d is None:
        return None, None
    if d.type == "template_function":
        inner = d.child_by_field_name("name")
        d = inner if inner is not None else d
    if d.type not in (
        "identifier",
        "field_identifier",
        "destructor_name",
        "operator_name",
        "type_identifier",
    ):
        return None, None
    return d, ".".join(p for p in scope_parts if p) or None


def _outer_and_prelude(node: Node, spec: _Spec) -> tuple[Node, list[Node]]:
    outer = node
    parent = outer.parent
    while parent is not None and parent.type in spec.wrappers:
        if parent.type in ("lexical_declaration", "variable_declaration", "type_declaration"):
            count = sum(1 for c in parent.named_children if c.type not in spec.comments)
            if count != 1:
                break
        outer = parent
        parent = outer.parent
    prelude: list[Node] = []
    if spec.prelude:
        cur = outer
        sib = cur.prev_sibling
        while sib is not None and sib.type in spec.prelude:
            if sib.end_point[0] < cur.start_point[0] - 1:
                break  # a blank line separates it
            if sib.type in spec.comments:
                before = sib.prev_sibling
                if before is not None and before.end_point[0] == sib.start_point[0]:
                    break  # a trailing comment of the previous line's code
            prelude.append(sib)
            cur = sib
            sib = cur.prev_sibling
        prelude.reverse()
    return outer, prelude


def _clean_comment(text: str) -> str:
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        for marker in ("/**", "/*!", "/*", "*/", "///", "//!", "//"):
            if line.startswith(marker):
                line = line[len(marker) :]
                break
        if line.endswith("*/"):
            line = line[:-2]
        if line.startswith("*"):
            line = line[1:]
        lines.append(line.strip())
    return "\n".join(lines).strip()


def _python_docstring(body: Node | None) -> str | None:
    if body is None:
        return None
    for i in range(body.named_child_count):  # not .named_children: a module may be huge
        child = body.named_child(i)
        if child is None or child.type == "comment":
            continue
        if child.type == "expression_statement" and child.named_child_count:
            s = child.named_child(0)
            if s is not None and s.type == "string":
                return _clean_python_string(_text(s))
        return None
    return None


def _clean_python_string(lit: str) -> str:
    lit = _STRING_PREFIX.sub("", lit)
    for q in ('"""', "'''", '"', "'"):
        if lit.startswith(q) and lit.endswith(q) and len(lit) >= 2 * len(q):
            lit = lit[len(q) : -len(q)]
            break
    if "\n" not in lit:
        return lit.strip()[:DOCSTRING_MAX]
    return inspect.cleandoc(lit)[:DOCSTRING_MAX]


def _count_errors(root: Node) -> int:
    count = 0
    cursor = root.walk()
    visited_children = False
    while True:
        node = cursor.node
        if not visited_children:
            if node is not None and (node.is_error or node.is_missing):
                count += 1
            if node is not None and node.has_error and cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
            continue
        if not cursor.goto_parent():
            break
        visited_children = True
    return count


def _def_from_match(
    lang: str, kind: str, role: str, caps: dict[str, list[Node]], spec: _Spec
) -> _Def | None:
    node = caps[role][0]
    scope: str | None = None
    name_nodes = caps.get("name")
    if name_nodes:
        name_node: Node | None = name_nodes[0]
        name = _text(name_nodes[0])
    elif "declarator" in caps:
        name_node, scope = _declarator_name(caps["declarator"][0])
        if name_node is None:
            return None
        name = _text(name_node)
    else:
        return None
    if kind == "impl":
        name = _base_type_name(name)
        if name_node is not None and name_node.type in ("generic_type", "scoped_type_identifier"):
            inner = name_node.child_by_field_name("type") or name_node.child_by_field_name("name")
            name_node = inner if inner is not None else name_node
    elif lang == "go":
        if kind == "type":
            t = node.child_by_field_name("type")
            if t is not None and t.type == "struct_type":
                kind = "struct"
            elif t is not None and t.type == "interface_type":
                kind = "interface"
        elif kind == "method" and node.type == "method_declaration":
            recv = node.child_by_field_name("receiver")
            if recv is not None:
                for param in recv.named_children:
                    t = param.child_by_field_name("type")
                    if t is not None:
                        scope = _base_type_name(_text(t))
                        break
    elif kind == "method" and name == "constructor" and lang in ("javascript", "typescript", "tsx"):
        kind = "constructor"
    outer, prelude = _outer_and_prelude(node, spec)
    start = prelude[0].start_byte if prelude else outer.start_byte
    return _Def(start, outer.end_byte, kind, node, name_node, name, scope, outer, prelude)


def _signature(d: _Def, lang: str, spec: _Spec, src: bytes) -> tuple[str, str]:
    """(display signature, normalized hash input)."""
    node = d.node
    body = node.child_by_field_name("body")
    if body is None and node.type == "variable_declarator":
        value = node.child_by_field_name("value")
        body = value.child_by_field_name("body") if value is not None else None
    head_end = body.start_byte if body is not None else node.end_byte
    head = src[node.start_byte : min(head_end, node.start_byte + HEAD_HASH_MAX)]
    text = head.decode("utf-8", "replace").strip()
    if lang == "python":
        text = text.rstrip(":").rstrip()
    elif body is not None:
        text = text.rstrip("{").rstrip()
    decorators: list[str] = []
    if spec.decorators:
        for p in d.prelude:
            if p.type in spec.decorators:
                decorators.append(_text(p))
        o = node.parent
        while o is not None and o.type in spec.wrappers:
            for c in o.named_children:
                if c.type in spec.decorators:
                    decorators.append(_text(c))
            if o is d.outer:
                break
            o = o.parent
    words = text.split()
    norm = "".join(words)
    if decorators:
        norm = "\n".join([*(normalize_signature(x) for x in decorators), norm])
    display = " ".join(words)
    if "\n" in text:  # a wrapped header: joining its lines left "( a, b, )"
        display = _tidy_wrapped(display)
    if len(display) > SIGNATURE_DISPLAY_MAX:
        display = display[: SIGNATURE_DISPLAY_MAX - 1] + "…"
    return display, norm


_AFTER_OPEN = re.compile(r"([(\[{]) ")
_BEFORE_CLOSE = re.compile(r" ([)\]}])")
_TRAILING_COMMA = re.compile(r",([)\]}])")


def _tidy_wrapped(display: str) -> str:
    """One-line form of a header written over several lines, as a person would write it."""
    display = _BEFORE_CLOSE.sub(r"\1", _AFTER_OPEN.sub(r"\1", display))
    return _TRAILING_COMMA.sub(r"\1", display)


def _docstring(d: _Def, lang: str, spec: _Spec) -> str | None:
    if lang == "python":
        return _python_docstring(d.node.child_by_field_name("body"))
    comments = [_text(p) for p in d.prelude if p.type in spec.comments]
    if not comments:
        return None
    doc = _clean_comment("\n".join(comments))
    return doc[:DOCSTRING_MAX] or None


def _point(data: bytes, offset: int) -> tuple[int, int]:
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


def _common_prefix(a: bytes, b: bytes) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search over C-speed slice comparisons
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def parse(src: bytes, language: str, previous: Parsed | None = None) -> Tree:
    """Parse ``src``; from ``previous`` (the same file's last parse) only the edited region
    is re-parsed: one changed span is found by common prefix and suffix."""
    parser = new_parser(language)
    if previous is None or previous.language != language:
        return parser.parse(src)
    old = previous.source
    if old == src:
        return previous.tree
    start = _common_prefix(old, src)
    limit = min(len(old), len(src)) - start
    suffix = _common_prefix(old[::-1][:limit], src[::-1][:limit]) if limit > 0 else 0
    old_end, new_end = len(old) - suffix, len(src) - suffix
    tree = previous.tree.copy()
    tree.edit(
        start_byte=start,
        old_end_byte=old_end,
        new_end_byte=new_end,
        start_point=_point(old, start),
        old_end_point=_point(old, old_end),
        new_end_point=_point(src, new_end),
    )
    return parser.parse(src, tree)


def extract(
    source: bytes,
    rel_path: str,
    language: str,
    previous: Parsed | None = None,
    source_hash: str | None = None,
) -> FileExtract:
    """Symbols, calls and imports of one file (``rel_path``: project-relative POSIX path).

    ``previous``: the ``parsed`` of this file's last extract, to re-parse incrementally;
    ``source_hash``: SHA-256 hex of ``source`` when the caller has it (saves hashing it
    again for the module symbol)."""
    src, replaced = decode(source)
    spec = SPECS[language]
    tree = parse(src, language, previous)
    root = tree.root_node
    ascii_only = src.isascii()
    fixtures = language != "python" or is_python_test_file(rel_path)
    cursor = QueryCursor(get_query(language, fixtures))
    cursor.set_max_start_depth(MAX_QUERY_DEPTH)
    matches = cursor.matches(root)
    partial = _depth_note(src, root)

    defs: list[_Def] = []
    seen_defs: set[tuple[int, int, str]] = set()
    raw_calls: list[tuple[int, Node, Node | None]] = []
    import_nodes: list[tuple[Node, dict[str, list[Node]]]] = []
    branches: list[int] = []
    type_matches: list[dict[str, list[Node]]] = []
    roles = pattern_roles(language)
    for idx, caps in matches:
        role = roles[idx]
        if role == "type":
            type_matches.append(caps)
        elif role == "call":
            recv = caps.get("call.receiver")
            raw_calls.append(
                (caps["call"][0].start_byte, caps["call.name"][0], recv[0] if recv else None)
            )
        elif role == "branch":
            branches.append(caps["branch"][0].start_byte)
        elif role == "import":
            import_nodes.append((caps["import"][0], caps))
        elif role:
            d = _def_from_match(language, role[11:], role, caps, spec)
            if d is not None:
                ident = (d.node.start_byte, d.node.end_byte, d.kind)
                if ident not in seen_defs:
                    seen_defs.add(ident)
                    defs.append(d)

    defs.sort(key=lambda d: (d.start, -d.end))
    mod_qn = module_name(rel_path, language)
    line_count = src.count(b"\n") + (1 if src and not src.endswith(b"\n") else 0)
    end_row, end_bcol = root.end_point
    end_byte = root.end_byte
    if end_bcol == 0 and end_row > 0:  # ends with a newline: the module ends on the last line
        end_row -= 1
        end_byte = max(root.end_byte - 1, 0)
        end_bcol = end_byte - (src.rfind(b"\n", 0, end_byte) + 1)
    mod_doc = _python_docstring(root) if language == "python" else None
    symbols: list[Symbol] = [
        Symbol(
            kind="module",
            name=mod_qn.rsplit(".", 1)[-1],
            qualified_name=mod_qn,
            ordinal=0,
            parent=None,
            start_line=1,
            start_col=0,
            end_line=max(end_row + 1, 1),
            end_col=_col(src, ascii_only, end_byte, end_bcol),
            name_line=1,
            name_col=0,
            signature=None,
            docstring=mod_doc,
            content_hash=source_hash if source_hash and not replaced else sha256(src),
            signature_hash=sha256(f"module {mod_qn}".encode()),
        )
    ]
    known = _known(previous, language, partial)
    reused: set[int] = set()  # symbols whose signature and shape came from ``known``
    spans: list[tuple[int, int]] = [(0, max(len(src), root.end_byte))]
    ordinals: dict[tuple[str, str], int] = {}
    children: dict[tuple[int, str], list[int]] = {}
    stack: list[int] = [0]
    for d in defs:
        while len(stack) > 1 and spans[stack[-1]][1] <= d.start:
            stack.pop()
        parent = stack[-1]
        parent_sym = symbols[parent]
        kind = d.kind
        if kind == "function" and parent_sym.kind in CLASS_KINDS:
            kind = "method"
        if d.scope and parent_sym.kind not in CLASS_KINDS:
            qn = f"{parent_sym.qualified_name}.{d.scope}.{d.name}"
            if kind == "function":
                kind = "method"
        else:
            qn = f"{parent_sym.qualified_name}.{d.name}"
        okey = (qn, kind)
        ordinal = ordinals.get(okey, 0)
        ordinals[okey] = ordinal + 1
        sp, ep = d.prelude[0].start_point if d.prelude else d.outer.start_point, d.outer.end_point
        nn = d.name_node if d.name_node is not None else d.node
        np_ = nn.start_point
        content_hash = _sha(src[d.start : d.end]).hexdigest()
        hit = known.get((d.kind, content_hash)) if known is not None else None
        if hit is not None:
            display, signature_hash, doc = hit[0], hit[1], hit[2]
            reused.add(len(symbols))
        else:
            display, norm = _signature(d, language, spec, src)
            signature_hash = _sha(norm.encode("utf-8")).hexdigest()
            doc = _docstring(d, language, spec)
        end_line, end_col = _end(src, ascii_only, d.end, ep, sp[0])
        idx = len(symbols)
        symbols.append(
            Symbol(
                kind,
                d.name,
                qn,
                ordinal,
                parent,
                sp[0] + 1,
                sp[1] if ascii_only else _col(src, False, d.start, sp[1]),
                end_line,
                end_col,
                np_[0] + 1,
                np_[1] if ascii_only else _col(src, False, nn.start_byte, np_[1]),
                display,
                doc,
                content_hash,
                signature_hash,
            )
        )
        if hit is not None:
            symbols[-1].nesting, symbols[-1].params = hit[3], hit[4]
        spans.append((d.start, d.end))
        children.setdefault((parent, d.name), []).append(idx)
        stack.append(idx)

    calls = _assign_calls(raw_calls, spans, src, ascii_only)
    _count_branches(branches, spans, symbols)
    _shape_functions(root, language, symbols, spans, reused)
    imports = _imports(language, import_nodes)
    parse_errors = _count_errors(root) if root.has_error else 0
    return FileExtract(
        language=language,
        symbols=symbols,
        calls=calls,
        imports=imports,
        parse_errors=parse_errors,
        line_count=line_count,
        decoded_with_replacement=replaced,
        children=children,
        parsed=Parsed(language, src, tree, _remember(defs, symbols, language, partial)),
        spans=spans,
        partial=partial,
        type_matches=type_matches if language == "python" else None,
    )


def _depth_note(src: bytes, root: Node) -> str | None:
    """Why the file is indexed only partially (nesting beyond MAX_QUERY_DEPTH), or None.

    Walking the tree costs about 0.5 s per million nodes, so it is done only for files with
    a line longer than LONG_LINE_BYTES, and it stops at the first node too deep."""
    if len(src) <= LONG_LINE_BYTES or max(map(len, src.split(b"\n"))) <= LONG_LINE_BYTES:
        return None
    c = root.walk()
    depth = 0
    while True:
        if c.goto_first_child():
            depth += 1
            if depth > MAX_QUERY_DEPTH:
                line = c.node.start_point[0] + 1 if c.node is not None else 1
                return (
                    f"indexed partially: code nested more than {MAX_QUERY_DEPTH} levels deep"
                    f" (from line {line}) is left out"
                )
            continue
        while not c.goto_next_sibling():
            if not c.goto_parent():
                return None
            depth -= 1


def _end(src: bytes, ascii_only: bool, end: int, ep: Any, start_row: int) -> tuple[int, int]:
    """1-based end line and code-point column; a span ending with its newline ends on the
    line before (a C macro's definition includes the line break)."""
    row, bcol = ep
    if bcol == 0 and row > start_row and end > 0:
        line_start = src.rfind(b"\n", 0, end - 1) + 1
        return row, _col(src, ascii_only, end - 1, end - 1 - line_start)
    return row + 1, _col(src, ascii_only, end, bcol)


def _innermost(positions: list[int], spans: list[tuple[int, int]]) -> list[int]:
    """For sorted byte positions, the index of the innermost span containing each one.

    ``spans`` are in document order (start ascending, outer before inner) and nest."""
    out: list[int] = []
    stack = [0]
    nxt = 1
    n = len(spans)
    for pos in positions:
        while nxt < n and spans[nxt][0] <= pos:
            start = spans[nxt][0]
            while len(stack) > 1 and spans[stack[-1]][1] <= start:
                stack.pop()
            stack.append(nxt)
            nxt += 1
        while len(stack) > 1 and spans[stack[-1]][1] <= pos:
            stack.pop()
        out.append(stack[-1])
    return out


def _assign_calls(
    raw: list[tuple[int, Node, Node | None]],
    spans: list[tuple[int, int]],
    src: bytes,
    ascii_only: bool,
) -> list[Call]:
    raw.sort(key=_first)
    owners = _innermost([c[0] for c in raw], spans)
    calls: list[Call] = []
    seen: set[int] = set()
    for (_, name_node, recv_node), owner in zip(raw, owners, strict=True):
        nb = name_node.start_byte
        if nb in seen:
            continue
        seen.add(nb)
        receiver: str | None = None
        if recv_node is not None:
            rs = recv_node.start_byte
            rb = src[rs : min(recv_node.end_byte, rs + 4 * RECEIVER_MAX)]
            receiver = rb.translate(None, b" \t\r\n").decode("utf-8", "replace")[:RECEIVER_MAX]
        row, bcol = name_node.start_point
        calls.append(
            Call(
                owner,
                src[nb : name_node.end_byte].decode("utf-8", "replace"),
                receiver,
                row + 1,
                bcol if ascii_only or bcol == 0 else _col(src, False, nb, bcol),
            )
        )
    return calls


_first = operator.itemgetter(0)


def _count_branches(
    branches: list[int], spans: list[tuple[int, int]], symbols: list[Symbol]
) -> None:
    if not branches:
        return
    branches.sort()
    for owner in _innermost(branches, spans):
        symbols[owner].complexity += 1


def _shape_functions(
    root: Node,
    language: str,
    symbols: list[Symbol],
    spans: list[tuple[int, int]],
    reused: set[int],
) -> None:
    """Nesting depth and parameters of the functions, from the tree parsed for the index
    (what quality measuring would otherwise parse the file again for). Those in ``reused``
    have theirs already; the others are measured over the bytes they span."""
    todo = [i for i, s in enumerate(symbols) if s.kind in SHAPED_KINDS and i not in reused]
    if not todo:
        return
    span = (min(spans[i][0] for i in todo), max(spans[i][1] for i in todo)) if reused else None
    found = metrics.shapes(root, language, span)
    for i in todo:
        s = symbols[i]
        shape = found.get(s.name_line)
        s.nesting, s.params = (shape.nesting, shape.params) if shape else (0, 0)


def _known(previous: Parsed | None, language: str, partial: str | None) -> Known | None:
    """What the last extract of this file worked out per definition, where it can be taken
    as is: Python (a definition's text alone decides it; one definition starts a line) and
    the whole file indexed."""
    if previous is None or previous.language != language or partial is not None:
        return None
    return previous.known


def _remember(
    defs: list[_Def], symbols: list[Symbol], language: str, partial: str | None
) -> Known | None:
    if language != "python" or partial is not None:
        return None
    return {
        (d.kind, s.content_hash): (
            s.signature or "",
            s.signature_hash,
            s.docstring,
            s.nesting,
            s.params,
        )
        for d, s in zip(defs, symbols[1:], strict=True)
    }


def symbol_at(fx: FileExtract, line: int, col: int) -> int | None:
    """Innermost symbol containing (1-based line, 0-based col); a name under the cursor wins."""
    best: int | None = None
    best_size: tuple[int, int] | None = None
    pos = (line, col)
    for i, s in enumerate(fx.symbols):
        if s.name_line == line and s.name_col <= col <= s.name_col + len(s.name) and i > 0:
            return i
        if (s.start_line, s.start_col) <= pos <= (s.end_line, s.end_col):
            size = (s.end_line - s.start_line, s.end_col - s.start_col)
            if best_size is None or size <= best_size:
                best, best_size = i, size
    return best


# --- imports -------------------------------------------------------------------------------


def _imports(lang: str, nodes: list[tuple[Node, dict[str, list[Node]]]]) -> list[Import]:
    out: list[Import] = []
    for node, caps in nodes:
        line = node.start_point[0] + 1
        try:
            _IMPORT_PARSERS[lang](node, caps, line, out)
        except (AttributeError, IndexError, TypeError):  # a broken tree: skip that import
            continue
    return out


def _py_imports(node: Node, caps: dict[str, list[Node]], line: int, out: list[Import]) -> None:
    if node.type == "import_statement":
        for c in node.named_children:
            if c.type == "dotted_name":
                out.append(Import(_text(c), None, None, line))
            elif c.type == "aliased_import":
                n, a = c.child_by_field_name("name"), c.child_by_field_name("alias")
                if n is not None:
                    out.append(Import(_text(n), None, _text(a) if a else None, line))
        return
    mod = node.child_by_field_name("module_name")
    if mod is None:
        return
    module = _WS.sub("", _text(mod))
    names = node.children_by_field_name("name")
    if not names:
        if any(c.type == "wildcard_import" for c in node.named_children):
            out.append(Import(module, "*", None, line))
        return
    for n in names:
        if n.type == "aliased_import":
            nn, a = n.child_by_field_name("name"), n.child_by_field_name("alias")
            if nn is not None:
                out.append(Import(module, _text(nn), _text(a) if a else None, line))
        else:
            out.append(Import(module, _text(n), None, line))


def _string_value(node: Node) -> str:
    t = _text(node).strip()
    if len(t) >= 2 and t[0] in "\"'`" and t[-1] == t[0]:
        return t[1:-1]
    return t


def _js_imports(node: Node, caps: dict[str, list[Node]], line: int, out: list[Import]) -> None:
    if "import.source" in caps:  # require("x")
        module = _string_value(caps["import.source"][0])
        alias = None
        parent = node.parent
        if parent is not None and parent.type == "variable_declarator":
            n = parent.child_by_field_name("name")
            if n is not None and n.type == "identifier":
                alias = _text(n)
        out.append(Import(module, None, alias, line))
        return
    src_node = node.child_by_field_name("source")
    if src_node is None:
        return
    module = _string_value(src_node)
    if node.type == "export_statement":
        out.append(Import(module, "*", None, line))
        return
    clause = next((c for c in node.named_children if c.type == "import_clause"), None)
    if clause is None:
        out.append(Import(module, None, None, line))
        return
    for c in clause.named_children:
        if c.type == "identifier":
            out.append(Import(module, "default", _text(c), line))
        elif c.type == "namespace_import":
            ident = next((x for x in c.named_children if x.type == "identifier"), None)
            out.append(Import(module, None, _text(ident) if ident else None, line))
        elif c.type == "named_imports":
            for spec in c.named_children:
                if spec.type != "import_specifier":
                    continue
                n, a = spec.child_by_field_name("name"), spec.child_by_field_name("alias")
                if n is not None:
                    out.append(Import(module, _text(n), _text(a) if a else None, line))


def _rust_use(node: Node, prefix: str, line: int, out: list[Import]) -> None:
    t = node.type
    if t in ("identifier", "crate", "self", "super", "metavariable"):
        name = _text(node)
        if prefix:
            out.append(Import(prefix, name, None, line))
        else:
            out.append(Import(name, None, None, line))
    elif t == "scoped_identifier":
        path = node.child_by_field_name("path")
        name_node = node.child_by_field_name("name")
        full = prefix + "::" if prefix else ""
        p = full + _text(path) if path is not None else prefix
        if name_node is not None:
            out.append(Import(_WS.sub("", p), _text(name_node), None, line))
    elif t == "use_as_clause":
        path = node.child_by_field_name("path")
        alias = node.child_by_field_name("alias")
        if path is None:
            return
        before = len(out)
        _rust_use(path, prefix, line, out)
        if alias is not None and len(out) > before:
            out[-1].alias = _text(alias)
    elif t == "use_wildcard":
        inner = node.named_child(0)
        p = _text(inner) if inner is not None else ""
        full = f"{prefix}::{p}" if prefix and p else (prefix or p)
        out.append(Import(_WS.sub("", full), "*", None, line))
    elif t == "scoped_use_list":
        path = node.child_by_field_name("path")
        lst = node.child_by_field_name("list")
        p = _text(path) if path is not None else ""
        full = f"{prefix}::{p}" if prefix and p else (prefix or p)
        if lst is not None:
            for c in lst.named_children:
                _rust_use(c, _WS.sub("", full), line, out)
    elif t == "use_list":
        for c in node.named_children:
            _rust_use(c, prefix, line, out)


def _rust_imports(node: Node, caps: dict[str, list[Node]], line: int, out: list[Import]) -> None:
    if node.type == "extern_crate_declaration":
        name = node.child_by_field_name("name")
        alias = node.child_by_field_name("alias")
        if name is not None:
            out.append(Import(_text(name), None, _text(alias) if alias else None, line))
        return
    arg = node.child_by_field_name("argument")
    if arg is not None:
        _rust_use(arg, "", line, out)


def _go_imports(node: Node, caps: dict[str, list[Node]], line: int, out: list[Import]) -> None:
    path = node.child_by_field_name("path")
    if path is None:
        return
    name = node.child_by_field_name("name")
    out.append(Import(_string_value(path), None, _text(name) if name else None, line))


def _java_imports(node: Node, caps: dict[str, list[Node]], line: int, out: list[Import]) -> None:
    target = next(
        (c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None
    )
    if target is None:
        return
    full = _text(target)
    star = any(c.type == "asterisk" for c in node.named_children)
    if star:
        out.append(Import(full, "*", None, line))
    elif "." in full:
        module, name = full.rsplit(".", 1)
        out.append(Import(module, name, None, line))
    else:
        out.append(Import(full, None, None, line))


def _c_imports(node: Node, caps: dict[str, list[Node]], line: int, out: list[Import]) -> None:
    src = caps.get("import.source")
    if not src:
        return
    text = _text(src[0]).strip()
    out.append(Import(text, None, None, line))


_IMPORT_PARSERS: dict[str, Any] = {
    "python": _py_imports,
    "javascript": _js_imports,
    "typescript": _js_imports,
    "tsx": _js_imports,
    "rust": _rust_imports,
    "go": _go_imports,
    "java": _java_imports,
    "c": _c_imports,
    "cpp": _c_imports,
}


# --- definitions only (the X-Ray walks hundreds of versions of one file) ------------------


@dataclass(frozen=True, slots=True)
class DefSpan:
    """One definition's lines, named as ``extract`` names it minus the module prefix
    (``Class.method``). ``indent``: the byte column its span starts at."""

    start_line: int
    end_line: int
    name: str
    kind: str
    indent: int


@functools.cache
def _definition_query(language: str) -> Query:
    """The index's query for ``language`` with everything but definitions disabled."""
    q = Query(get_language(language), query_source(language))
    for i, role in enumerate(pattern_roles(language)):
        if not role.startswith("definition."):
            q.disable_pattern(i)
    return q


def definition_spans(
    tree: Tree, language: str, lines: tuple[int, int] | None = None
) -> list[DefSpan]:
    """The definitions of a parsed file, sorted by start line, with the index's query,
    spans and naming rules; with ``lines`` (1-based, inclusive) only those intersecting
    that range (their ancestors included, so names stay qualified)."""
    spec = SPECS[language]
    cursor = QueryCursor(_definition_query(language))
    if lines is not None:
        cursor.set_point_range((max(lines[0] - 1, 0), 0), (lines[1], 0))
    roles = pattern_roles(language)
    defs: list[_Def] = []
    seen: set[tuple[int, int, str]] = set()
    for idx, caps in cursor.matches(tree.root_node):
        role = roles[idx]
        if not role.startswith("definition."):
            continue
        d = _def_from_match(language, role[11:], role, caps, spec)
        if d is None:
            continue
        ident = (d.node.start_byte, d.node.end_byte, d.kind)
        if ident not in seen:
            seen.add(ident)
            defs.append(d)
    defs.sort(key=lambda d: (d.start, -d.end))
    out: list[DefSpan] = []
    stack: list[tuple[int, str, str]] = []  # (end byte, qualified name, kind)
    for d in defs:
        while stack and stack[-1][0] <= d.start:
            stack.pop()
        parent_qn, parent_kind = (stack[-1][1], stack[-1][2]) if stack else ("", "module")
        kind = d.kind
        if kind == "function" and parent_kind in CLASS_KINDS:
            kind = "method"
        if d.scope and parent_kind not in CLASS_KINDS:
            qn = f"{parent_qn}.{d.scope}.{d.name}" if parent_qn else f"{d.scope}.{d.name}"
            if kind == "function":
                kind = "method"
        else:
            qn = f"{parent_qn}.{d.name}" if parent_qn else d.name
        sp = d.prelude[0].start_point if d.prelude else d.outer.start_point
        ep = d.outer.end_point
        end_line = ep[0] if ep[1] == 0 and ep[0] > sp[0] else ep[0] + 1
        out.append(DefSpan(sp[0] + 1, end_line, qn, kind, sp[1]))
        stack.append((d.end, qn, kind))
    return out
