"""Project-wide call resolution over stored rows: imports, re-exports, unique names.

Runs once every symbol of a full index is stored (in the parser processes, read-only), and
for the pending edges of an incremental update. Conservative: a call whose target cannot
be named with confidence stays unresolved, never a guessed edge.
"""

from __future__ import annotations

import hashlib
import pickle
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.confined import OutsideWorkspace, resolve_inside
from mira_ls.index.resolve_members import MemberEval
from mira_ls.index.resolve_scope import (
    BUILTINS,
    PY_BUILTINS,
    TARGET_KINDS,
    TOP_PARENTS,
    Scope,
    enclosing_class,
    family,
    local_target,
    scope_from_rows,
)
from mira_ls.index.resolve_types import TypeEval
from mira_ls.index.symbols import CLASS_KINDS, SPECS, module_name
from mira_ls.store import code as cs
from mira_ls.store import projects
from mira_ls.store.connection import Connection

_IDENT = re.compile(r"[A-Za-z_]\w*")
_PY_SELF = frozenset({"self", "cls", "super()"})
# Receivers that name the caller's own class, whose (inherited) members resolve_members
# looks up; languages where a bare name inside a class can be an inherited member.
_MEMBER_SELF: dict[str, frozenset[str]] = {
    "javascript": frozenset({"this", "super"}),
    "typescript": frozenset({"this", "super"}),
    "tsx": frozenset({"this", "super"}),
    "java": frozenset({"this", "super"}),
    "cpp": frozenset({"this"}),
    "rust": frozenset({"self", "Self"}),
}
_BARE_MEMBERS = frozenset({"java", "cpp"})
_JS_EXTS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")

# --- project-wide resolution over stored rows ----------------------------------------------


@dataclass
class _FileCtx:
    file_id: int
    path: str
    language: str
    bindings: dict[str, str]  # local name -> target path (dotted; Go: import path)
    stars: list[str]
    include_stems: set[str]
    has_imports: bool
    conn: Connection
    _scope: Scope | None = None

    @property
    def scope(self) -> Scope:
        """The file's stored symbols, loaded on first need (most calls never need them)."""
        if self._scope is None:
            rows = cs.scope_rows(self.conn, self.file_id)
            self._scope = scope_from_rows(rows, self.language, self.path)
        return self._scope


@dataclass
class ResolveStats:
    resolved: int = 0
    unresolved: int = 0
    by: dict[str, int] = field(default_factory=dict)

    def count(self, by: str | None) -> None:
        if by is None:
            self.unresolved += 1
        else:
            self.resolved += 1
            self.by[by] = self.by.get(by, 0) + 1


class Resolver:
    """Resolves stored edges with memoized look-ups (one instance per pass)."""

    def __init__(self, conn: Connection, project_id: int) -> None:
        self.conn = conn
        self.project_id = project_id
        self._by_name: dict[str, list[cs.SymbolRef]] = {}
        self._by_qn: dict[str, list[cs.SymbolRef]] = {}
        self._go_dirs: set[str] | None = None
        self._py_memo: dict[str, int | None] = {}
        self._packages: dict[str, bool] = {}
        self._exports_memo: dict[int, tuple[dict[str, str | None], list[str]]] = {}
        self._ctx_memo: dict[int, _FileCtx] = {}
        self._lines_memo: dict[int, list[str] | None] = {}
        self._settled: dict[tuple[Any, ...], tuple[int | None, str | None, int, str | None]] = {}
        self.types = TypeEval(self)
        self.members = MemberEval(self)

    # memoized look-ups
    def by_name(self, name: str) -> list[cs.SymbolRef]:
        hit = self._by_name.get(name)
        if hit is None:
            hit = cs.refs_by_name(self.conn, self.project_id, name)
            if len(self._by_name) > 50_000:
                self._by_name.clear()
            self._by_name[name] = hit
        return hit

    def by_qn(self, qn: str) -> list[cs.SymbolRef]:
        hit = self._by_qn.get(qn)
        if hit is None:
            hit = cs.refs_by_qualified(self.conn, self.project_id, qn)
            if len(self._by_qn) > 50_000:
                self._by_qn.clear()
            self._by_qn[qn] = hit
        return hit

    def go_dirs(self) -> set[str]:
        if self._go_dirs is None:
            self._go_dirs = cs.module_dirs(self.conn, self.project_id, "go")
        return self._go_dirs

    def stored_source(self, fn: cs.SymbolRef) -> str | None:
        """A definition's text read from its file, only while the file is what the index
        stored (same SHA-256); never through a link out of the project. A file is read
        once per pass (a conftest.py holds many fixtures)."""
        sym = cs.get_symbol(self.conn, fn.id)
        if sym is None:
            return None
        lines = self._stored_lines(fn.file_id, fn.file_path)
        if lines is None:
            return None
        return "\n".join(lines[sym.start_line - 1 : sym.end_line])

    def _stored_lines(self, file_id: int, path: str) -> list[str] | None:
        if file_id in self._lines_memo:
            return self._lines_memo[file_id]
        lines: list[str] | None = None
        project = projects.by_id(self.conn, self.project_id)
        stored = cs.get_file(self.conn, self.project_id, path)
        if project is not None and stored is not None:
            try:
                data = resolve_inside(Path(project.root_path), path).read_bytes()
            except (OSError, OutsideWorkspace):
                data = None
            if data is not None and hashlib.sha256(data).hexdigest() == stored.content_hash:
                lines = data.decode("utf-8", "replace").splitlines()
        if len(self._lines_memo) > 200:
            self._lines_memo.clear()
        self._lines_memo[file_id] = lines
        return lines

    # file context
    def file_ctx(self, file_id: int, path: str, language: str) -> _FileCtx:
        imports = cs.imports_of_file(self.conn, file_id)
        bindings: dict[str, str] = {}
        stars: list[str] = []
        stems: set[str] = {posixpath.splitext(posixpath.basename(path))[0]}
        module_qn = module_name(path, language)
        for imp in imports:
            self._bind(language, path, module_qn, imp, bindings, stars, stems)
        return _FileCtx(file_id, path, language, bindings, stars, stems, bool(imports), self.conn)

    def ctx_of(self, file_id: int, path: str, language: str) -> _FileCtx:
        """A file's context, kept for the pass (another file's classes and functions are
        looked at many times while following types)."""
        hit = self._ctx_memo.get(file_id)
        if hit is None:
            if len(self._ctx_memo) > 5_000:
                self._ctx_memo.clear()
            hit = self._ctx_memo[file_id] = self.file_ctx(file_id, path, language)
        return hit

    def _bind(
        self,
        lang: str,
        path: str,
        module_qn: str,
        imp: cs.ImportRow,
        bindings: dict[str, str],
        stars: list[str],
        stems: set[str],
    ) -> None:
        """What one import binds in its file. Cyclomatic above 20 on purpose: one flat
        branch per language, each a few lines, read side by side (split apart, the rules
        of six languages would hide from each other)."""
        if lang == "python":
            base = python_absolute(imp.module, module_qn, path.endswith("__init__.py"))
            if base is None:
                return
            if imp.name is None:
                if imp.alias:
                    bindings[imp.alias] = base
                else:
                    first = base.split(".", 1)[0]
                    bindings.setdefault(first, first)
            elif imp.name == "*":
                stars.append(base)
            else:
                bindings[imp.alias or imp.name] = f"{base}.{imp.name}" if base else imp.name
        elif lang in ("javascript", "typescript", "tsx"):
            mod = js_module_qn(imp.module, path)
            if mod is None:
                return
            if imp.name == "*":
                stars.append(mod)
            elif imp.name in (None, "default"):
                if imp.alias and imp.name is None:
                    bindings[imp.alias] = mod
            elif imp.name:
                bindings[imp.alias or imp.name] = f"{mod}.{imp.name}"
        elif lang == "go":
            segs = [s for s in imp.module.split("/") if s]
            if not segs:
                return
            local = imp.alias or (
                segs[-2] if re.fullmatch(r"v\d+", segs[-1]) and len(segs) > 1 else segs[-1]
            )
            if local in ("_", "."):
                return
            bindings[local] = "go:" + imp.module
        elif lang == "rust":
            segs = [s for s in imp.module.split("::") if s]
            if imp.name == "*":
                stars.append(".".join(_rust_strip(segs)))
            elif imp.name is None or imp.name == "self":
                if segs:
                    bindings[imp.alias or segs[-1]] = ".".join(_rust_strip(segs))
            else:
                bindings[imp.alias or imp.name] = ".".join(_rust_strip([*segs, imp.name]))
        elif lang == "java":
            if imp.name == "*":
                stars.append(imp.module)
            elif imp.name:
                bindings[imp.name] = f"{imp.module}.{imp.name}"
        elif lang in ("c", "cpp"):
            inc = imp.module.strip('"<>')
            stems.add(posixpath.splitext(posixpath.basename(inc))[0])

    # the rules
    def resolve(
        self,
        ctx: _FileCtx,
        caller: int,
        name: str,
        receiver: str | None,
        *,
        local_done: bool = False,
        receiver_type: str | None = None,
    ) -> tuple[int, str] | None:
        """The target of one call; ``local_done``: the file-local rules already failed
        (the worker tried them on this very content); ``receiver_type``: what the parser
        inferred the receiver to be (py_types)."""
        if not local_done:
            scope = ctx.scope
            if caller not in scope.kind:
                return None
            hit = local_target(scope, caller, name, receiver)
            if hit is not None:
                return hit, "scope"
        lang = ctx.language
        if receiver is None:
            if lang in _BARE_MEMBERS:  # a class's (inherited) members before globals
                sid = self.members.self_call(ctx, caller, name, None)
                if sid is not None:
                    return sid, "type"
            return self._bare(ctx, name)
        if lang == "python":
            if receiver_type or receiver in _PY_SELF:
                hit = self.types.method_call(ctx, caller, name, receiver_type or receiver)
                if hit is not None:
                    return hit, "type"
        elif receiver_type is not None:
            sid = self.members.typed_call(ctx, caller, name, receiver_type)
            if sid is not None:
                return sid, "type"
        elif receiver in _MEMBER_SELF.get(lang, ()):
            sid = self.members.self_call(ctx, caller, name, receiver)
            if sid is not None:
                return sid, "type"
        if receiver in SPECS[lang].self_names:
            return self._own_type(ctx, caller, name)
        return self._dotted(ctx, name, receiver)

    def settle(
        self,
        ctx: _FileCtx,
        caller: int,
        name: str,
        receiver: str | None,
        receiver_type: str | None,
        *,
        jedi_next: bool,
        local_done: bool = False,
    ) -> tuple[int | None, str | None, int, str | None]:
        """(callee id, resolved_by, needs_resolution, external module) for one call: its
        target, else whether jedi may still find one, else the module it leaves for.
        A typed Python call whose receiver means the same to every caller in the file
        (``runner.invoke`` in 300 tests) is settled once per file."""
        key: tuple[Any, ...] | None = None
        if local_done and receiver_type and ctx.language == "python" and receiver not in _PY_SELF:
            tkey = self.types.target_key(ctx, caller, name, receiver_type)
            if tkey[1] == 0:
                key = (tkey, receiver, jedi_next)
                hit = self._settled.get(key)
                if hit is not None:
                    return hit
        out = self._settle(ctx, caller, name, receiver, receiver_type, jedi_next, local_done)
        if key is not None:
            if len(self._settled) > 200_000:
                self._settled.clear()
            self._settled[key] = out
        return out

    def _settle(
        self,
        ctx: _FileCtx,
        caller: int,
        name: str,
        receiver: str | None,
        receiver_type: str | None,
        jedi_next: bool,
        local_done: bool,
    ) -> tuple[int | None, str | None, int, str | None]:
        try:
            res = self.resolve(
                ctx, caller, name, receiver, local_done=local_done, receiver_type=receiver_type
            )
        except RecursionError:
            res = None
        if res is not None:
            return res[0], res[1], 0, None
        ext = self.types.external_module(ctx, caller, name, receiver, receiver_type)
        if ext is not None:
            return None, None, 0, ext
        wait = 2 if jedi_next and self.jedi_may_help(ctx, name, receiver) else 0
        return None, None, wait, None

    def _bare(self, ctx: _FileCtx, name: str) -> tuple[int, str] | None:
        """``f()``: imported, the same Go package, a star import, or a unique global."""
        lang = ctx.language
        if name in ctx.bindings:
            t = self._import_target(ctx, ctx.bindings[name], None)
            return (t, "import") if t is not None else None
        if name in BUILTINS.get(lang, ()):
            return None
        if lang == "go":
            d = posixpath.dirname(ctx.path)
            c = self._top_level(name, lang, lambda r: posixpath.dirname(r.file_path) == d)
            return (c, "scope") if c is not None else None
        for star in ctx.stars:
            t = self._import_target(ctx, star, name)
            if t is not None:
                return t, "import"
        return self._unique(ctx, name)

    def _own_type(self, ctx: _FileCtx, caller: int, name: str) -> tuple[int, str] | None:
        """``self.f()``: the enclosing type's members defined in other files (Rust impls,
        C++ out-of-line definitions)."""
        lang = ctx.language
        scope = ctx.scope
        if caller not in scope.kind:
            return None
        cls = enclosing_class(scope, caller)
        base = scope.qn[cls] if cls is not None else scope.qn[caller].rsplit(".", 1)[0]
        if cls is None and scope.kind[caller] not in ("method", "constructor"):
            return None
        short = base.rsplit(".", 1)[-1]
        cands = [
            r
            for r in self.by_name(name)
            if r.parent_name == short
            and r.kind in TARGET_KINDS
            and family(r.language) == family(lang)
            and r.qualified_name.rsplit(".", 1)[0].endswith(short)
        ]
        exact = [r for r in cands if r.qualified_name == f"{base}.{name}"]
        if len(exact) == 1:
            return exact[0].id, "scope"
        if lang in ("rust", "cpp") and len({r.id for r in cands}) == 1:
            return cands[0].id, "scope"
        return None

    def _dotted(self, ctx: _FileCtx, name: str, receiver: str) -> tuple[int, str] | None:
        """``a.b.f()`` / ``a::f()`` whose receiver names an import or a type."""
        lang = ctx.language
        segs = [s for s in re.split(r"::|\.|->", receiver) if s]
        if not segs or not all(_IDENT.fullmatch(s) for s in segs):
            return None
        head = segs[0]
        if head in ctx.bindings:
            return self._through_import(ctx, ctx.bindings[head], segs, name)
        if lang == "cpp" and not self._names_a_scope(segs[-1], lang):
            return None  # obj.f() / p->f(): a value of unknown type
        if lang in ("rust", "cpp"):
            segs = _rust_strip(segs) if lang == "rust" else segs
            if not segs:
                hit = self._top_level_in_file(ctx, name)
                return (hit, "scope") if hit is not None else None
            return self._suffix(ctx, segs, name)
        if head[:1].isupper() and lang in ("java", "javascript", "typescript", "tsx", "python"):
            if lang == "python" and len(segs) > 1:
                return None
            return self._suffix(ctx, segs, name)
        return None

    def _through_import(
        self, ctx: _FileCtx, target: str, segs: list[str], name: str
    ) -> tuple[int, str] | None:
        if target.startswith("go:"):
            if len(segs) != 1:
                return None
            c = self._go_package_member(target[3:], name)
            return (c, "import") if c is not None else None
        rest = ".".join(segs[1:])
        path = f"{target}.{rest}" if rest else target
        t = self._import_target(ctx, path, name)
        return (t, "import") if t is not None else None

    def jedi_may_help(self, ctx: _FileCtx, name: str, receiver: str | None) -> bool:
        """Whether jedi could find a project symbol scope resolution missed (Python only):
        not for builtins, nor for names reached through a module outside the project
        (``os.path.join``, ``np.array``), which jedi would place outside the project."""
        if ctx.language != "python":
            return False
        head = name if receiver is None else re.split(r"[.(\[]", receiver, maxsplit=1)[0]
        if receiver is None and name in PY_BUILTINS:
            return False
        if head in PY_BUILTINS and receiver is not None and head not in ("super", "type"):
            return False  # str.join, dict.get ... and literals' methods
        target = ctx.bindings.get(head)
        if target is not None:
            top = target.split(".", 1)[0]
            return self._project_has_package(top)
        return True

    def _project_has_package(self, top: str) -> bool:
        hit = self._packages.get(top)
        if hit is None:
            hit = (
                any(r.kind == "module" for r in self.by_qn(top))
                or bool(cs.module_prefix_exists(self.conn, self.project_id, top + "."))
                or self._in_lib(top)
            )
            self._packages[top] = hit
        return hit

    def _names_a_scope(self, name: str, lang: str) -> bool:
        """A class, struct or namespace of this name exists (so ``name::f`` is static)."""
        return any(
            r.kind in CLASS_KINDS or r.kind == "namespace"
            for r in self.by_name(name)
            if family(r.language) == family(lang)
        )

    def _top_level_in_file(self, ctx: _FileCtx, name: str) -> int | None:
        scope = ctx.scope
        for k in scope.by_name.get(name, []):
            if scope.kind[k] in TARGET_KINDS and scope.kind.get(scope.parent.get(k)) == "module":
                return int(k)
        return None

    def _top_level(self, name: str, lang: str, keep: Callable[[cs.SymbolRef], bool]) -> int | None:
        cands = [
            r
            for r in self.by_name(name)
            if r.kind in TARGET_KINDS
            and r.parent_kind in TOP_PARENTS
            and r.kind != "method"  # C++ 'void A::f()', Go methods: not called by bare name
            and family(r.language) == family(lang)
            and keep(r)
        ]
        return cands[0].id if len(cands) == 1 else None

    def _unique(self, ctx: _FileCtx, name: str) -> tuple[int, str] | None:
        lang = ctx.language
        # Module-scoped languages: a bare name must be local or imported, unless a star
        # import (or, for scripts, no import at all) may have brought it in.
        if lang in ("python", "rust", "java") and not ctx.stars:
            return None
        if lang in ("javascript", "typescript", "tsx") and ctx.has_imports and not ctx.stars:
            return None
        cands = [
            r
            for r in self.by_name(name)
            if r.kind in TARGET_KINDS
            and r.parent_kind in TOP_PARENTS
            and r.kind != "method"  # C++ 'void A::f()', Go methods: not called by bare name
            and family(r.language) == family(lang)
        ]
        if len(cands) == 1:
            return cands[0].id, "unique"
        if len(cands) > 1 and lang in ("c", "cpp"):
            inc = [
                r
                for r in cands
                if posixpath.splitext(posixpath.basename(r.file_path))[0] in ctx.include_stems
            ]
            if len(inc) == 1:
                return inc[0].id, "import"
        return None

    def _suffix(self, ctx: _FileCtx, segs: list[str], name: str) -> tuple[int, str] | None:
        want = "." + ".".join([*segs, name])
        cands = [
            r
            for r in self.by_name(name)
            if r.kind in TARGET_KINDS
            and family(r.language) == family(ctx.language)
            and ("." + r.qualified_name).endswith(want)
        ]
        if len(cands) == 1:
            return cands[0].id, "unique"
        if len(cands) > 1:
            # Rust: several impl blocks define no duplicate method; prefer a struct's impl.
            ids = {r.id for r in cands}
            if len(ids) == 1:
                return cands[0].id, "unique"
        return None

    def _go_package_member(self, import_path: str, name: str) -> int | None:
        dirs = [
            d for d in self.go_dirs() if d and (import_path == d or import_path.endswith("/" + d))
        ]
        if not dirs:
            return None
        d = max(dirs, key=len)
        return self._top_level(name, "go", lambda r: posixpath.dirname(r.file_path) == d)

    def _import_target(self, ctx: _FileCtx, path: str, name: str | None) -> int | None:
        """The symbol a dotted import path (plus member ``name``) names, if in the project."""
        lang = ctx.language
        full = f"{path}.{name}" if name else path
        if lang == "python":
            return self._python_target(full)
        if lang in ("javascript", "typescript", "tsx"):
            for qn in (full, full.replace(".", ".index.", 1) if False else None):
                if qn is None:
                    continue
                hits = [r for r in self.by_qn(qn) if r.kind in TARGET_KINDS]
                if len(hits) >= 1:
                    return hits[0].id
            if path and name:
                hits = [r for r in self.by_qn(f"{path}.index.{name}") if r.kind in TARGET_KINDS]
                if hits:
                    return hits[0].id
            return None
        segs = [s for s in full.split(".") if s]
        if not segs:
            return None
        res = self._suffix(ctx, segs[:-1], segs[-1])
        return res[0] if res else None

    def _python_target(self, qn: str, depth: int = 0) -> int | None:
        if qn in self._py_memo:
            return self._py_memo[qn]
        self._py_memo[qn] = None  # guards import cycles
        res = self._python_target_uncached(qn, depth)
        if res is None and depth == 0 and self._in_lib(qn.split(".", 1)[0]):
            res = self._python_target(f"lib.{qn}", depth + 1)
        self._py_memo[qn] = res
        return res

    def _in_lib(self, top: str) -> bool:
        """Whether ``top`` is a package of a ``lib/`` layout (sqlalchemy's ``lib/sqlalchemy``,
        imported as ``sqlalchemy``): the index names its modules ``lib.<top>...`` and
        ``lib`` itself is no package of the project."""
        key = f"lib:{top}"
        hit = self._packages.get(key)
        if hit is None:
            hit = top != "lib" and any(r.kind == "module" for r in self.by_qn(f"lib.{top}"))
            hit = hit and not any(r.kind == "module" for r in self.by_qn("lib"))
            self._packages[key] = hit
        return hit

    def _python_target_uncached(self, qn: str, depth: int) -> int | None:
        hits = [r for r in self.by_qn(qn) if r.kind in TARGET_KINDS]
        if hits:
            return hits[-1].id
        if depth >= 4 or "." not in qn:
            return None
        # Re-export: 'pkg.Name' where pkg/__init__.py does 'from .core import Name'.
        mod, member = qn.rsplit(".", 1)
        mods = [r for r in self.by_qn(mod) if r.kind == "module"]
        if not mods:
            parent = self._python_target(mod, depth + 1)
            if parent is None:
                return None
            pref = cs.ref_by_id(self.conn, parent)
            if pref is None or pref.qualified_name == mod:
                return None
            return self._python_target(f"{pref.qualified_name}.{member}", depth + 1)
        names, stars = self._exports(mods[0])
        if member in names:
            target = names[member]
            return self._python_target(target, depth + 1) if target else None
        for base in stars:
            t = self._python_target(f"{base}.{member}", depth + 1)
            if t is not None:
                return t
        return None

    def _exports(self, m: cs.SymbolRef) -> tuple[dict[str, str | None], list[str]]:
        """What a Python module's imports bind: name -> absolute dotted target (None for a
        module imported under an alias), plus its star-imported modules."""
        hit = self._exports_memo.get(m.id)
        if hit is not None:
            return hit
        names: dict[str, str | None] = {}
        stars: list[str] = []
        is_pkg = m.file_path.endswith("__init__.py")
        for imp in cs.imports_of_file(self.conn, m.file_id):
            base = python_absolute(imp.module, m.qualified_name, is_pkg)
            if base is None:
                continue
            if imp.name == "*":
                stars.append(base)
            elif imp.name is not None:
                names[imp.alias or imp.name] = f"{base}.{imp.name}" if base else imp.name
            elif imp.alias:
                names[imp.alias] = base
        self._exports_memo[m.id] = (names, stars)
        return names, stars


def _rust_strip(segs: list[str]) -> list[str]:
    out = list(segs)
    while out and out[0] in ("crate", "self", "super", "Self"):
        out = out[1:]
    return out


def python_absolute(module: str, module_qn: str, is_package: bool) -> str | None:
    """The absolute dotted name of an import ('.core' in click.decorators -> click.core)."""
    if not module.startswith("."):
        return module
    level = len(module) - len(module.lstrip("."))
    rest = module[level:]
    parts = module_qn.split(".") if module_qn else []
    if not is_package:
        parts = parts[:-1]
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if rest:
        base.append(rest)
    return ".".join(base)


def js_module_qn(module: str, importer: str) -> str | None:
    """'./util' imported by 'src/app.ts' -> 'src.util'; bare package names -> None."""
    if not module.startswith("."):
        return None
    p = posixpath.normpath(posixpath.join(posixpath.dirname(importer), module))
    if p.startswith(".."):
        return None
    for ext in _JS_EXTS:
        if p.endswith(ext):
            p = p[: -len(ext)]
            break
    return p.replace("/", ".")


def resolve_pending(
    conn: Connection,
    project_id: int,
    *,
    jedi_next: bool = True,
    batch: int = 5000,
    write: Callable[[Callable[[Any], None]], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    file_ids: list[int] | None = None,
) -> ResolveStats:
    """Resolve every edge flagged needs_resolution=1 in a project.

    Unresolved Python edges become needs_resolution=2 (jedi pending) when ``jedi_next``.
    ``write(fn)`` runs ``fn(conn)`` inside a write transaction (the caller's store); without
    it, updates run on ``conn`` directly (the caller already holds a transaction).
    ``file_ids`` limits the pass to edges whose caller is in these files."""
    stats = ResolveStats()
    resolver = Resolver(conn, project_id)
    updates: list[tuple[int | None, str | None, int, str | None, int]] = []

    def flush() -> None:
        if not updates:
            return
        rows = list(updates)
        updates.clear()
        if write is None:
            cs.set_edge_resolutions(conn, rows)
        else:
            write(lambda c: cs.set_edge_resolutions(c, rows))

    files = (
        cs.pending_files(conn, project_id, 1) if file_ids is None else cs.file_info(conn, file_ids)
    )
    for file_id, path, lang in files:
        if cancel is not None and cancel():
            break
        ctx = resolver.file_ctx(file_id, path, lang)
        for e in cs.pending_edges_in_file(conn, file_id, 1):
            callee, by, wait, ext = resolver.settle(
                ctx, e.caller_id, e.callee_name, e.receiver, e.receiver_type, jedi_next=jedi_next
            )
            stats.count(by)
            updates.append((callee, by, wait, ext, e.id))
        if len(updates) >= batch:
            flush()
    flush()
    return stats


@dataclass(frozen=True)
class StagedCalls:
    """One file's calls that need project-wide resolution, kept by a full index until every
    symbol is stored. ``calls`` is a pickled list of (caller index, name, receiver, line,
    col, receiver type), compact and opaque to the
    writer; ``ids`` maps a caller index to its symbol id (a ``range`` for a new file)."""

    file_id: int
    path: str
    language: str
    ids: Sequence[int]
    calls: bytes
    count: int


def pack_staged(calls: list[tuple[Any, ...]]) -> bytes:
    return pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL)


def resolve_staged(
    conn: Connection,
    project_id: int,
    items: Iterable[StagedCalls],
    *,
    jedi_next: bool = True,
    resolver: Resolver | None = None,
) -> tuple[list[tuple[Any, ...]], ResolveStats]:
    """Resolve staged calls into call_graph rows (EDGE_WRITE_COLS order), read-only.

    Pure over the stored symbols, so any process with a connection to the database can do
    it (a full index spreads the files over its parser processes) and the rows are the same
    whichever does."""
    stats = ResolveStats()
    resolver = resolver or Resolver(conn, project_id)
    out: list[tuple[Any, ...]] = []
    for item in items:
        ctx = resolver.file_ctx(item.file_id, item.path, item.language)
        ids = item.ids
        for caller, name, receiver, line, col, rtype in pickle.loads(item.calls):
            caller_id = ids[caller]
            callee, by, wait, ext = resolver.settle(
                ctx, caller_id, name, receiver, rtype, jedi_next=jedi_next, local_done=True
            )
            stats.count(by)
            out.append(
                (project_id, caller_id, callee, name, receiver, line, col, by, wait, rtype, ext)
            )
    return out, stats


def staged_as_pending(project_id: int, items: Iterable[StagedCalls]) -> list[tuple[Any, ...]]:
    """Rows for staged calls left unresolved (an interrupted index): pending
    (needs_resolution=1), so the next pass resolves them."""
    return [
        (project_id, item.ids[caller], None, name, receiver, line, col, None, 1, rtype, None)
        for item in items
        for caller, name, receiver, line, col, rtype in pickle.loads(item.calls)
    ]
