"""external_dependencies from imports that leave the workspace and from manifests.

Imports: a Python top-level package that is neither in the project nor in the standard
library, a bare npm specifier, a Rust crate, a Go module outside the go.mod module, a Java
package outside the project, a C/C++ system header that is not the standard library.
Manifests: pyproject.toml ([project] dependencies and optional-dependencies, Poetry),
requirements*.txt, package.json, Cargo.toml, go.mod, pom.xml. A malformed manifest is
logged and skipped; it never stops indexing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mira_ls.index.resolve import python_absolute
from mira_ls.index.walk import skipped_dir
from mira_ls.store import code as cs
from mira_ls.store import dependencies as dep_store
from mira_ls.store.connection import Connection
from mira_ls.store.dependencies import Dependency, replace_dependencies

log = logging.getLogger(__name__)

MANIFESTS = ("pyproject.toml", "package.json", "Cargo.toml", "go.mod", "pom.xml")
_PEP508 = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
NODE_BUILTINS = frozenset(
    [
        "assert",
        "buffer",
        "child_process",
        "cluster",
        "crypto",
        "dgram",
        "dns",
        "events",
        "fs",
        "http",
        "http2",
        "https",
        "net",
        "os",
        "path",
        "perf_hooks",
        "process",
        "querystring",
        "readline",
        "stream",
        "string_decoder",
        "timers",
        "tls",
        "tty",
        "url",
        "util",
        "v8",
        "vm",
        "worker_threads",
        "zlib",
    ]
)
RUST_BUILTIN_ROOTS = frozenset({"crate", "self", "super", "std", "core", "alloc", "Self"})
C_STD_HEADERS = frozenset(
    [
        "assert.h",
        "complex.h",
        "ctype.h",
        "errno.h",
        "fenv.h",
        "float.h",
        "inttypes.h",
        "iso646.h",
        "limits.h",
        "locale.h",
        "math.h",
        "setjmp.h",
        "signal.h",
        "stdalign.h",
        "stdarg.h",
        "stdatomic.h",
        "stdbool.h",
        "stddef.h",
        "stdint.h",
        "stdio.h",
        "stdlib.h",
        "stdnoreturn.h",
        "string.h",
        "tgmath.h",
        "threads.h",
        "time.h",
        "uchar.h",
        "wchar.h",
        "wctype.h",
        "unistd.h",
        "fcntl.h",
        "sys/types.h",
        "sys/stat.h",
        "pthread.h",
        "algorithm",
        "any",
        "array",
        "atomic",
        "bitset",
        "chrono",
        "cmath",
        "cstdint",
        "cstdio",
        "cstdlib",
        "cstring",
        "deque",
        "exception",
        "functional",
        "iomanip",
        "iostream",
        "istream",
        "iterator",
        "limits",
        "list",
        "map",
        "memory",
        "mutex",
        "numeric",
        "optional",
        "ostream",
        "queue",
        "random",
        "regex",
        "set",
        "sstream",
        "stack",
        "stdexcept",
        "string",
        "string_view",
        "thread",
        "tuple",
        "type_traits",
        "unordered_map",
        "unordered_set",
        "utility",
        "variant",
        "vector",
    ]
)


def python_requirement(line: str) -> tuple[str, str | None] | None:
    """'requests[socks] >=2.31 ; python_version>"3"' -> ('requests', '>=2.31')."""
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith("-") or "://" in text.split(";")[0]:
        return None
    m = _PEP508.match(text)
    if m is None:
        return None
    spec = m.group(3).split(";", 1)[0].strip() or None
    return m.group(1), spec


def _manifest_deps(root: Path, rel: str) -> list[Dependency]:
    # Cyclomatic 31 on purpose: one short branch per manifest format (pyproject, requirements,
    # package.json, Cargo.toml, go.mod, ...), each read top to bottom; splitting them would
    # spread one table of formats over as many functions.
    path = root / rel
    name = posixpath.basename(rel)
    out: list[Dependency] = []

    def add(dep: str, spec: Any, eco: str, dev: bool = False) -> None:
        version = spec if isinstance(spec, str) and spec else None
        if isinstance(spec, dict):
            version = spec.get("version") if isinstance(spec.get("version"), str) else None
        out.append(Dependency(dep, version, eco, "manifest", rel, rel, None, dev))

    try:
        if name == "pyproject.toml":
            data = tomllib.loads(path.read_text("utf-8"))
            proj = data.get("project") or {}
            reqs = [(r, False) for r in proj.get("dependencies") or []]
            for group in (proj.get("optional-dependencies") or {}).values():
                reqs.extend((r, True) for r in group or [])
            for r, dev in reqs:
                parsed = python_requirement(str(r))
                if parsed:
                    add(parsed[0], parsed[1], "python", dev)
            poetry = (data.get("tool") or {}).get("poetry") or {}
            for key in ("dependencies", "dev-dependencies"):
                for dep, spec in (poetry.get(key) or {}).items():
                    if dep.lower() != "python":
                        add(dep, spec, "python", key != "dependencies")
        elif name.startswith("requirements") and name.endswith(".txt"):
            dev = "dev" in name or "test" in name
            for line in path.read_text("utf-8", errors="replace").splitlines():
                parsed = python_requirement(line)
                if parsed:
                    add(parsed[0], parsed[1], "python", dev)
        elif name == "package.json":
            data = json.loads(path.read_text("utf-8"))
            for key in (
                "dependencies",
                "devDependencies",
                "peerDependencies",
                "optionalDependencies",
            ):
                for dep, spec in (data.get(key) or {}).items():
                    add(dep, spec, "npm", key == "devDependencies")
        elif name == "Cargo.toml":
            data = tomllib.loads(path.read_text("utf-8"))
            for key in ("dependencies", "dev-dependencies", "build-dependencies"):
                for dep, spec in (data.get(key) or {}).items():
                    add(dep, spec, "cargo", key != "dependencies")
        elif name == "go.mod":
            in_block = False
            for raw in path.read_text("utf-8", errors="replace").splitlines():
                line = raw.split("//", 1)[0].strip()
                if line.startswith("require ("):
                    in_block = True
                    continue
                if in_block and line == ")":
                    in_block = False
                    continue
                if line.startswith("require "):
                    line = line[len("require ") :].strip()
                elif not in_block:
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    add(parts[0], parts[1], "go")
        elif name == "pom.xml":
            tree = ET.parse(path)
            for el in tree.iter():
                if el.tag.rsplit("}", 1)[-1] != "dependency":
                    continue
                fields = {c.tag.rsplit("}", 1)[-1]: (c.text or "").strip() for c in el}
                if fields.get("groupId") and fields.get("artifactId"):
                    add(
                        f"{fields['groupId']}:{fields['artifactId']}",
                        fields.get("version") or None,
                        "maven",
                    )
    except (
        OSError,
        ValueError,
        tomllib.TOMLDecodeError,
        ET.ParseError,
        AttributeError,
        TypeError,
    ) as exc:
        log.warning("skipping manifest %s: it could not be read (%s)", rel, exc)
        return []
    return out


def find_manifests(root: Path, source_paths: Iterable[str]) -> list[str]:
    """Manifests at the root and in every directory (and its parents) holding sources."""
    dirs: set[str] = {""}
    for p in source_paths:
        d = posixpath.dirname(p)
        while d and d not in dirs:
            dirs.add(d)
            d = posixpath.dirname(d)
    found: list[str] = []
    for d in sorted(dirs):
        if d and skipped_dir(d + "/x"):
            continue
        base = root / d if d else root
        try:
            names = {e.name for e in base.iterdir() if e.is_file()}
        except OSError:
            continue
        for n in sorted(names):
            if n in MANIFESTS or (n.startswith("requirements") and n.endswith(".txt")):
                found.append(f"{d}/{n}" if d else n)
    return found


def _go_module(root: Path, manifests: list[str]) -> list[str]:
    mods = []
    for m in manifests:
        if posixpath.basename(m) != "go.mod":
            continue
        try:
            for line in (root / m).read_text("utf-8", errors="replace").splitlines():
                if line.startswith("module "):
                    mods.append(line.split()[1].strip())
                    break
        except OSError:
            continue
    return mods


def import_deps(
    imports: list[tuple[str, str, str, str | None, int]],
    module_qns: set[str],
    source_paths: list[str],
    go_modules: list[str],
) -> list[Dependency]:
    """External packages named by imports (one row per package, first importer kept)."""
    tops = {qn.split(".", 1)[0] for qn in module_qns}
    dirs = {posixpath.dirname(p) for p in source_paths}
    basenames = {posixpath.basename(p) for p in source_paths}
    java_dirs = {d.replace("/", ".") for d in dirs}
    seen: dict[tuple[str, str], Dependency] = {}
    stdlib: frozenset[str] = sys.stdlib_module_names
    for file_path, lang, module, _name, line in sorted(imports, key=lambda t: (t[0], t[4])):
        dep: tuple[str, str] | None = None
        if lang == "python":
            if module.startswith("."):
                continue
            top = (python_absolute(module, "", False) or "").split(".", 1)[0]
            if top and top not in tops and top not in stdlib and top != "__future__":
                dep = (top, "python")
        elif lang in ("javascript", "typescript", "tsx"):
            if module.startswith((".", "/")) or not module:
                continue
            spec = module.removeprefix("node:")
            parts = spec.split("/")
            pkg = "/".join(parts[:2]) if spec.startswith("@") else parts[0]
            if pkg in NODE_BUILTINS or module.startswith("node:"):
                continue
            dep = (pkg, "npm")
        elif lang == "rust":
            root_seg = module.split("::", 1)[0]
            if root_seg and root_seg not in RUST_BUILTIN_ROOTS and root_seg not in tops:
                dep = (root_seg, "cargo")
        elif lang == "go":
            first = module.split("/", 1)[0]
            if "." not in first:
                continue  # standard library
            if any(module == m or module.startswith(m + "/") for m in go_modules):
                continue
            parts = module.split("/")
            dep = ("/".join(parts[:3]) if first in ("github.com", "gitlab.com") else module, "go")
        elif lang == "java":
            if module.startswith(("java.", "javax.", "jdk.", "sun.")) or module in ("java",):
                continue
            if any(d.endswith(module) for d in java_dirs):
                continue
            dep = (module, "maven")
        elif lang in ("c", "cpp"):
            inc = module.strip()
            if not inc.startswith("<"):
                continue  # a quoted include is the project's own header
            header = inc.strip("<>")
            if header in C_STD_HEADERS or posixpath.basename(header) in basenames:
                continue
            dep = (header, "c")
        if dep is not None and dep not in seen:
            seen[dep] = Dependency(dep[0], None, dep[1], "import", file_path, None, line)
    return list(seen.values())


def collect(conn: Connection, project_id: int, root: Path) -> list[Dependency]:
    paths = [p for p, _ in cs.indexed_paths(conn, project_id)]
    manifests = find_manifests(root, paths)
    out: list[Dependency] = []
    for m in manifests:
        out.extend(_manifest_deps(root, m))
    out.extend(
        import_deps(
            cs.project_imports(conn, project_id),
            cs.module_qualified_names(conn, project_id),
            paths,
            _go_module(root, manifests),
        )
    )
    return out


def save(
    conn: Connection, project_id: int, deps: list[Dependency], computed_from: tuple[int, str]
) -> int:
    """Store what ``collect`` found (in a write transaction), with ``basis`` as it was
    before ``collect`` read the index."""
    if not replace_dependencies(conn, project_id, deps):
        return 0
    dep_store.set_basis(conn, project_id, *computed_from)
    return len(deps)


def basis(conn: Connection, project_id: int, root: Path) -> tuple[int, str]:
    """What the dependencies are computed from, cheaply: the code generation (any file row
    written moves it) and a fingerprint of the manifests' paths, sizes and mtimes."""
    paths = [p for p, _ in cs.indexed_paths(conn, project_id)]
    h = hashlib.sha256()
    for m in find_manifests(root, paths):
        try:
            st = (root / m).stat()
        except OSError:
            continue
        h.update(f"{m}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return cs.code_generation(conn, project_id), h.hexdigest()


def is_current(conn: Connection, project_id: int, now: tuple[int, str]) -> bool:
    """The stored rows were computed from ``now``: recomputing them would give the same."""
    return dep_store.basis(conn, project_id) == now
