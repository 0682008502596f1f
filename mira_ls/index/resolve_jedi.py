"""Background resolution of Python calls with jedi (its own process, after the index)."""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mira_ls.store import Store
from mira_ls.store import code as cs
from mira_ls.store.connection import Connection
from mira_ls.testhooks import pause_point

log = logging.getLogger(__name__)

# --- jedi (background, Python only) ----------------------------------------------------------


def resolve_python_with_jedi(
    store: Store,
    project_id: int,
    root: Path,
    cancel: Callable[[], bool] | None = None,
    *,
    time_budget_s: float | None = None,
) -> int:
    """Resolve Python edges left for jedi (needs_resolution=2); returns how many resolved.

    Each file is read once and asked ``goto(follow_imports=True)`` at every pending call;
    a definition inside the project maps to the code_elements row whose name is on that
    line. Edges jedi cannot place are settled as unresolved (needs_resolution=0)."""
    try:
        import jedi
    except ImportError:  # pragma: no cover - jedi is a dependency
        log.warning("jedi is not installed; Python calls stay resolved by scope only")
        return 0
    root = Path(root).resolve()
    conn = store.conn()
    project = jedi_project(jedi, root)
    resolved = 0
    started = time.monotonic()
    files = cs.pending_files(conn, project_id, 2)
    for n, (file_id, rel, _lang) in enumerate(files):
        if cancel is not None and cancel():
            break
        if time_budget_s is not None and time.monotonic() - started > time_budget_s:
            break
        edges = cs.pending_edges_in_file(conn, file_id, 2)
        try:
            data = (root / rel).read_bytes()
        except OSError as exc:
            log.debug("jedi cannot read %s: %s", rel, exc)
            data = None
        stored = cs.get_file(conn, project_id, rel)
        if data is not None and (
            stored is None or hashlib.sha256(data).hexdigest() != stored.content_hash
        ):
            continue  # changed since it was indexed: positions are stale; its update re-queues
        try:
            script = (
                jedi.Script(data.decode("utf-8", "replace"), path=str(root / rel), project=project)
                if data is not None
                else None
            )
        except ValueError as exc:
            log.debug("jedi cannot read %s: %s", rel, exc)
            script = None
        rows: list[tuple[int | None, str | None, int, str | None, int]] = []
        for e in edges:
            if cancel is not None and cancel():
                break
            target = None
            if script is not None:
                target = _jedi_target(conn, project_id, root, script, e)
            if target is not None:
                resolved += 1
                rows.append((target, "jedi", 0, None, e.id))
            else:
                rows.append((None, None, 0, None, e.id))
        with store.write() as c:
            cs.set_edge_resolutions(c, rows)
        if n == 0 and len(files) > 1:
            pause_point("index:jedi:middle")  # each file's edges are settled in one write
    return resolved


def jedi_project(jedi: Any, root: Path) -> Any:
    """A jedi project that imports the project's own packages the way the index names
    them: a ``src/`` layout's packages are importable (without it, ``import click`` in a
    test of ``src/click`` led nowhere, and so did every call through it), and a ``lib/``
    folder's when it is not a package itself (``lib/sqlalchemy``).

    Its path is the project's folders and the standard library of mira-ls's interpreter,
    never mira-ls's own installed packages: a project that is one of them (click, httpx,
    pydantic...) resolved its imports to mira-ls's copy, outside the project, and lost
    every such call. Nothing outside the project is a call-graph target anyway, and the
    project's own environment is not run to ask for its path (it is the repository's
    program)."""
    own = [str(root / "src")] if (root / "src").is_dir() else []
    if (root / "lib").is_dir() and not (root / "lib" / "__init__.py").exists():
        own.append(str(root / "lib"))  # a lib/ layout (sqlalchemy: lib/sqlalchemy)
    stdlib = [
        p
        for p in sys.path
        if p.startswith(sys.base_prefix) and "-packages" not in p and Path(p).is_dir()
    ]
    return jedi.Project(str(root), sys_path=[*own, str(root), *stdlib])


def _jedi_target(
    conn: Connection, project_id: int, root: Path, script: Any, e: cs.PendingEdge
) -> int | None:
    try:
        names = script.goto(e.line, e.col, follow_imports=True)
    except Exception as exc:
        log.debug("jedi goto failed at %s:%s: %s", e.line, e.col, exc)
        return None
    for n in names:
        mp = n.module_path
        if mp is None or n.line is None:
            continue
        try:
            rel = Path(mp).resolve().relative_to(root).as_posix()
        except ValueError:
            continue  # outside the project (stdlib, site-packages)
        sid = cs.symbol_containing_line(conn, project_id, rel, n.line)
        if sid is not None:
            return sid
    return None
