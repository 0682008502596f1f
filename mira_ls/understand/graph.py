"""The semantic graph, built from what is stored (no LLM call) and refreshed by parts:

- after an index run (``refresh``: symbol and file nodes, calls, imports, uses_concept of
  the files it changed, or of the whole project), and after jedi placed more calls
  (``refresh`` with ``parts=("calls",)``);
- after an analysis batch (``refresh_concepts`` of the analysed symbols, in the batch's
  own transaction);
- after git mining (``refresh_cochange``) and a cluster computation (``refresh_domains``).

Nodes: one per indexed definition (functions, methods, classes, modules...), per indexed
file, per imported module and per concept an analysis named. Edges: ``calls`` (symbol ->
symbol, resolved calls), ``imports`` (file -> module, and file -> file when the module is
one of the project's), ``uses_concept`` (symbol -> concept), ``same_domain`` (file <-> file
in one domain cluster) and ``changes_with`` (file <-> file, co-change).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from mira_ls.index.resolve_project import python_absolute
from mira_ls.index.symbols import module_name
from mira_ls.store import Store
from mira_ls.store import clusters as cluster_store
from mira_ls.store import semantic_graph as q
from mira_ls.store.connection import Connection
from mira_ls.understand.clusters import _import_target

PARTS = ("nodes", "calls", "imports", "concepts")


@dataclass
class Refreshed:
    files: int | None  # None: the whole project
    seconds: float


def _imports(
    conn: Connection, project_id: int, files: Sequence[str] | None
) -> list[tuple[str, str, str | None]]:
    modules = cluster_store.module_files(conn, project_id)
    out: list[tuple[str, str, str | None]] = []
    for file_path, lang, module, name, _line in q.imports_of(conn, project_id, files):
        target = _import_target(file_path, lang, module, name, modules)
        label = module.strip()
        if lang == "python" and label.startswith("."):  # relative: name it absolutely
            qn = module_name(file_path, "python")
            label = python_absolute(label, qn, file_path.endswith("__init__.py")) or label
        out.append((file_path, label, target))
    return out


def refresh_in(
    conn: Connection,
    project_id: int,
    files: Sequence[str] | None = None,
    parts: Sequence[str] = PARTS,
) -> None:
    """The refresh on an open write transaction (see ``refresh``)."""
    scope = None if files is None else sorted(set(files))
    if "nodes" in parts:
        q.sync_nodes(conn, project_id, scope)
    if "calls" in parts:
        q.replace_calls(conn, project_id, scope)
    if "imports" in parts:
        q.replace_imports(conn, project_id, scope, _imports(conn, project_id, scope))
    if "concepts" in parts:
        if scope is None:
            q.replace_concepts(conn, project_id, None)
        else:
            ids = q.symbol_ids_in(conn, project_id, scope)
            q.replace_concepts(conn, project_id, ids)


def refresh(
    store: Store,
    project_id: int,
    files: Sequence[str] | None = None,
    parts: Sequence[str] = PARTS,
) -> Refreshed:
    """Nodes and index-made edges of ``files`` (the whole project when None), in one
    transaction."""
    t0 = time.perf_counter()
    with store.write() as w:
        refresh_in(w, project_id, files, parts)
    if files is None:
        q.checkpoint(store.conn())
    return Refreshed(None if files is None else len(set(files)), time.perf_counter() - t0)


def refresh_all(store: Store, project_id: int) -> Refreshed:
    """Everything: the index's parts, co-change and domains."""
    t0 = time.perf_counter()
    with store.write() as w:
        refresh_in(w, project_id, None)
        q.replace_cochange(w, project_id)
        q.replace_domains(w, project_id)
    q.checkpoint(store.conn())
    return Refreshed(None, time.perf_counter() - t0)


FULL_ABOVE = 200  # an index run that changed more files than this refreshes everything


def after_index(
    store: Store, project_id: int, changed: bool, since: float | None = None
) -> float | None:
    """After a whole-workspace index run: the whole graph when it was never built, else
    (when files changed) the index's parts of the files indexed since ``since`` (the run's
    start) and of the files it removed, or of everything without ``since`` or when many
    changed; returns the seconds it took (None: nothing to do)."""
    if not q.built(store.conn(), project_id):
        return refresh_all(store, project_id).seconds
    if not changed:
        return None
    files = None if since is None else q.files_changed_since(store.conn(), project_id, since)
    if files is not None and len(files) > FULL_ABOVE:
        files = None
    if files == []:
        return None
    return refresh(store, project_id, files).seconds


def refresh_concepts(conn: Connection, project_id: int, symbol_ids: Sequence[int]) -> None:
    """After an analysis stored these symbols' concepts and nodes (same transaction)."""
    q.replace_concepts(conn, project_id, symbol_ids)


def refresh_cochange(store: Store, project_id: int) -> bool:
    """After mining: the changes_with edges, when the graph was built (else its first build
    takes them); whether it was. The check is in the write, so a build committed just
    before is seen and one just after reads the mined pairs."""
    with store.write() as w:
        if not q.built(w, project_id):
            return False
        q.sync_nodes(w, project_id, None, symbols=False)
        q.replace_cochange(w, project_id)
    return True
