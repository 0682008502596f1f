"""The semantic graph (002 semantic_nodes / semantic_edges / concept_index, 040): nodes for
symbols, files, modules and concepts, edges calls, imports, uses_concept, same_domain and
changes_with, written from what the index, the analysis, the clusters and git mining
stored. Every write replaces one relationship over a scope (some files, some symbols or
the whole project), so a refresh is the same whether the graph was empty or not."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mira_ls.store.code import SYMBOL_COLS, SymbolRow, symbol_from_row
from mira_ls.store.connection import Connection

# Definitions that are nodes of the graph (fields, variables, constants, macros are not).
GRAPH_KINDS = (
    "module", "namespace", "class", "struct", "union", "enum", "trait", "interface", "impl",
    "type", "function", "method", "constructor",
)  # fmt: skip
RELATIONSHIPS = ("calls", "imports", "uses_concept", "same_domain", "changes_with")
DOMAIN_PARTNERS = 8  # same_domain: each member to its cluster's 8 heaviest members
_CHUNK = 400
_KINDS_SQL = " OR ".join(f"kind = '{k}'" for k in GRAPH_KINDS)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


# --- nodes ---------------------------------------------------------------------------------


def sync_nodes(
    conn: Connection, project_id: int, files: Sequence[str] | None, *, symbols: bool = True
) -> None:
    """Symbol (unless ``symbols`` is False) and file nodes for the project's indexed
    definitions and files (of ``files`` when given); a symbol's node goes with its symbol
    (ON DELETE CASCADE), a file's node here when the file is no longer indexed."""
    now = int(time.time())
    scopes: list[tuple[str, str, list[object]]]
    if files is None:
        scopes = [("", "", [])]
    else:
        scopes = [
            (
                f" AND file_path IN ({_marks(len(c))})",
                f" AND file_id IN (SELECT id FROM repository_files WHERE project_id = ?"
                f" AND file_path IN ({_marks(len(c))}))",
                list(c),
            )
            for c in _chunks(files)
        ]
    for cond, by_file, args in scopes:
        fargs = [project_id, *args] if args else []
        if symbols:
            source = (
                "repository_files f CROSS JOIN code_elements e ON e.file_id = f.id WHERE"
                f" f.project_id = ? AND f.file_path IN ({_marks(len(args))}) AND"
                if args
                else "code_elements e WHERE e.project_id = ? AND"
            )
            conn.execute(
                "INSERT OR IGNORE INTO semantic_nodes(project_id, node_kind, symbol_id,"
                " file_path, updated_at) SELECT e.project_id, 'symbol', e.id, e.file_path, ?"
                f" FROM {source} ({_KINDS_SQL})",
                (now, project_id, *args),
            )
            # a renamed file keeps its symbol ids: their nodes follow it (scoped: through
            # the files' symbols, whatever the planner's statistics say)
            if args:
                conn.execute(
                    "UPDATE semantic_nodes SET file_path = (SELECT e.file_path FROM"
                    " code_elements e WHERE e.id = semantic_nodes.symbol_id) WHERE symbol_id IN"
                    " (SELECT id FROM code_elements WHERE 1" + by_file + ") AND file_path IS"
                    " NOT (SELECT e.file_path FROM code_elements e"
                    " WHERE e.id = semantic_nodes.symbol_id)",
                    fargs,
                )
            else:
                conn.execute(
                    "UPDATE semantic_nodes SET file_path = e.file_path FROM code_elements e"
                    " WHERE semantic_nodes.symbol_id = e.id AND semantic_nodes.project_id = ?"
                    " AND semantic_nodes.file_path IS NOT e.file_path",
                    (project_id,),
                )
        conn.execute(
            "INSERT OR IGNORE INTO semantic_nodes(project_id, node_kind, name, file_path,"
            " updated_at) SELECT project_id, 'file', file_path, file_path, ?"
            f" FROM repository_files WHERE project_id = ?{cond}",
            (now, project_id, *args),
        )
        conn.execute(
            "DELETE FROM semantic_nodes WHERE project_id = ? AND node_kind = 'file'"
            f"{cond.replace('file_path', 'name')} AND NOT EXISTS (SELECT 1 FROM"
            " repository_files f WHERE f.project_id = semantic_nodes.project_id"
            " AND f.file_path = semantic_nodes.name)",
            (project_id, *args),
        )


def symbol_ids_in(conn: Connection, project_id: int, files: Sequence[str]) -> list[int]:
    out: list[int] = []
    for c in _chunks(files):
        out += [
            int(r[0])
            for r in conn.execute(
                "SELECT e.id FROM repository_files f JOIN code_elements e ON e.file_id = f.id"
                f" WHERE f.project_id = ? AND f.file_path IN ({_marks(len(c))})",
                (project_id, *c),
            )
        ]
    return out


def imports_of(
    conn: Connection, project_id: int, files: Sequence[str] | None
) -> list[tuple[str, str, str, str | None, int]]:
    """(file_path, language, module, name, line) of the imports of ``files`` (all when
    None)."""
    sql = (
        "SELECT f.file_path, f.language, i.module, i.name, i.line FROM repository_files f"
        " JOIN code_imports i ON i.file_id = f.id WHERE f.project_id = ?"
    )
    if files is None:
        return [tuple(r) for r in conn.execute(sql, (project_id,))]
    out: list[tuple[str, str, str, str | None, int]] = []
    for c in _chunks(files):
        out += [
            tuple(r)
            for r in conn.execute(sql + f" AND f.file_path IN ({_marks(len(c))})", (project_id, *c))
        ]
    return out


def files_changed_since(conn: Connection, project_id: int, since: float) -> list[str]:
    """Files (re)indexed at or after ``since`` and file nodes whose file is gone."""
    fresh = [
        str(r[0])
        for r in conn.execute(
            "SELECT file_path FROM repository_files WHERE project_id = ? AND indexed_at >= ?",
            (project_id, int(since)),
        )
    ]
    gone = [
        str(r[0])
        for r in conn.execute(
            "SELECT n.name FROM semantic_nodes n WHERE n.project_id = ? AND n.node_kind = 'file'"
            " AND NOT EXISTS (SELECT 1 FROM repository_files f WHERE f.project_id = n.project_id"
            " AND f.file_path = n.name)",
            (project_id,),
        )
    ]
    return sorted(set(fresh) | set(gone))


def checkpoint(conn: Connection) -> None:
    """After a whole-project rewrite: fold the WAL back (as the indexer does after its bulk
    writes), so the next small commits do not pay for a long WAL."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def built(conn: Connection, project_id: int) -> bool:
    """Whether the project's graph was built (it has a file node)."""
    return (
        conn.execute(
            "SELECT 1 FROM semantic_nodes WHERE project_id = ? AND node_kind = 'file' LIMIT 1",
            (project_id,),
        ).fetchone()
        is not None
    )


def _named_node(
    conn: Connection, project_id: int, kind: str, name: str, file_path: str | None = None
) -> int:
    r = conn.execute(
        "SELECT id, file_path FROM semantic_nodes WHERE project_id = ? AND node_kind = ?"
        " AND name = ?",
        (project_id, kind, name),
    ).fetchone()
    if r is not None:
        if file_path is not None and r[1] != file_path:
            conn.execute("UPDATE semantic_nodes SET file_path = ? WHERE id = ?", (file_path, r[0]))
        return int(r[0])
    cur = conn.execute(
        "INSERT INTO semantic_nodes(project_id, node_kind, name, file_path, updated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (project_id, kind, name, file_path, int(time.time())),
    )
    return int(cur.lastrowid or 0)


def _drop_orphans(conn: Connection, project_id: int, kind: str) -> None:
    """Module and concept nodes exist for their edges: one with none goes."""
    conn.execute(
        "DELETE FROM semantic_nodes WHERE project_id = ? AND node_kind = ? AND NOT EXISTS"
        " (SELECT 1 FROM semantic_edges s WHERE s.source_node_id = semantic_nodes.id)"
        " AND NOT EXISTS (SELECT 1 FROM semantic_edges t WHERE"
        " t.target_node_id = semantic_nodes.id)",
        (project_id, kind),
    )


def _file_nodes(conn: Connection, project_id: int) -> dict[str, int]:
    return {
        str(r[1]): int(r[0])
        for r in conn.execute(
            "SELECT id, name FROM semantic_nodes WHERE project_id = ? AND node_kind = 'file'",
            (project_id,),
        )
    }


# --- edges ---------------------------------------------------------------------------------


def replace_calls(conn: Connection, project_id: int, files: Sequence[str] | None) -> None:
    """Calls edges between symbol nodes from the resolved call graph, for calls made in or
    into ``files`` (all when None): strength n / (n + 2) for n calls, metadata {calls}."""
    insert = (
        "INSERT OR IGNORE INTO semantic_edges(project_id, source_node_id, target_node_id,"
        " relationship, strength, metadata, created_at) SELECT g.project_id, a.id, b.id,"
        " 'calls', count(*) * 1.0 / (count(*) + 2), json_object('calls', count(*)), ?"
        " FROM {tables} WHERE g.project_id = ? AND g.callee_id IS NOT NULL AND a.id <> b.id"
        " AND a.symbol_id = g.caller_id AND b.symbol_id = g.callee_id{cond}"
        " GROUP BY a.id, b.id"
    )
    # scoped, the join starts from the files' nodes (CROSS JOIN keeps that order: with
    # stale statistics the planner would rather scan the whole call graph)
    tables = {
        None: "call_graph g JOIN semantic_nodes a JOIN semantic_nodes b",
        "a": "semantic_nodes a CROSS JOIN call_graph g CROSS JOIN semantic_nodes b",
        "b": "semantic_nodes b CROSS JOIN call_graph g CROSS JOIN semantic_nodes a",
    }
    now = int(time.time())
    if files is None:
        conn.execute(
            "DELETE FROM semantic_edges WHERE project_id = ? AND relationship = 'calls'",
            (project_id,),
        )
        conn.execute(insert.format(tables=tables[None], cond=""), (now, project_id))
        return
    for chunk in _chunks(files):
        nodes = (  # by (project_id, file_path): the files' nodes (a file's own has no calls)
            "SELECT id FROM semantic_nodes WHERE project_id = ?"
            f" AND file_path IN ({_marks(len(chunk))})"
        )
        conn.execute(
            "DELETE FROM semantic_edges WHERE relationship = 'calls' AND"
            f" (source_node_id IN ({nodes}) OR target_node_id IN ({nodes}))",
            (project_id, *chunk, project_id, *chunk),
        )
        for side in ("a", "b"):
            cond = f" AND {side}.project_id = ? AND {side}.file_path IN ({_marks(len(chunk))})"
            conn.execute(
                insert.format(tables=tables[side], cond=cond),
                (now, project_id, project_id, *chunk),
            )


def replace_imports(
    conn: Connection,
    project_id: int,
    files: Sequence[str] | None,
    imports: Sequence[tuple[str, str, str | None]],
) -> None:
    """Imports edges of ``files`` (all when None): ``imports`` holds (importing file,
    module as imported, the project file it names or None). Each gives file -> module,
    and file -> file when the module is one of the project's files."""
    now = int(time.time())
    if files is None:
        conn.execute(
            "DELETE FROM semantic_edges WHERE project_id = ? AND relationship = 'imports'",
            (project_id,),
        )
    else:
        for chunk in _chunks(files):
            conn.execute(
                "DELETE FROM semantic_edges WHERE relationship = 'imports' AND source_node_id IN"
                " (SELECT id FROM semantic_nodes WHERE project_id = ? AND node_kind = 'file'"
                f" AND name IN ({_marks(len(chunk))}))",
                (project_id, *chunk),
            )
    file_nodes = _file_nodes(conn, project_id)
    rows: set[tuple[int, int]] = set()
    modules: dict[str, int] = {}
    for src, module, target in imports:
        a = file_nodes.get(src)
        if a is None or not module:
            continue
        m = modules.get(module)
        if m is None:
            m = modules[module] = _named_node(conn, project_id, "module", module, target)
        rows.add((a, m))
        b = file_nodes.get(target) if target else None
        if b is not None and b != a:
            rows.add((a, b))
    conn.executemany(
        "INSERT OR IGNORE INTO semantic_edges(project_id, source_node_id, target_node_id,"
        " relationship, strength, created_at) VALUES (?, ?, ?, 'imports', 1.0, ?)",
        [(project_id, a, b, now) for a, b in sorted(rows)],
    )
    _drop_orphans(conn, project_id, "module")


def replace_concepts(conn: Connection, project_id: int, symbol_ids: Sequence[int] | None) -> None:
    """uses_concept edges (symbol -> concept, strength the concept_index confidence) of
    ``symbol_ids`` (all the project's when None), with the concept nodes they need."""
    now = int(time.time())
    scopes: list[tuple[str, list[object]]]
    if symbol_ids is None:
        conn.execute(
            "DELETE FROM semantic_edges WHERE project_id = ? AND relationship = 'uses_concept'",
            (project_id,),
        )
        scopes = [("", [])]
    else:
        ids = sorted({int(i) for i in symbol_ids})
        scopes = []
        for i in range(0, len(ids), _CHUNK):
            c = ids[i : i + _CHUNK]
            conn.execute(
                "DELETE FROM semantic_edges WHERE relationship = 'uses_concept' AND"
                f" source_node_id IN (SELECT id FROM semantic_nodes WHERE symbol_id IN"
                f" ({_marks(len(c))}))",
                c,
            )
            scopes.append((f" AND ci.symbol_id IN ({_marks(len(c))})", list(c)))
    # scoped, the symbols' rows are found by symbol id (+: not by the project's range)
    proj = "ci.project_id = ?" if symbol_ids is None else "+ci.project_id = ?"
    for cond, args in scopes:
        conn.execute(
            "INSERT OR IGNORE INTO semantic_nodes(project_id, node_kind, name, updated_at)"
            " SELECT DISTINCT ci.project_id, 'concept', lower(ci.concept), ? FROM"
            f" concept_index ci WHERE {proj}{cond}",
            (now, project_id, *args),
        )
        conn.execute(
            "INSERT OR IGNORE INTO semantic_edges(project_id, source_node_id, target_node_id,"
            " relationship, strength, created_at) SELECT ci.project_id, s.id, c.id,"
            " 'uses_concept', ci.confidence, ? FROM concept_index ci"
            " JOIN semantic_nodes s ON s.symbol_id = ci.symbol_id"
            " JOIN semantic_nodes c ON c.project_id = ci.project_id AND c.node_kind = 'concept'"
            f" AND c.name = lower(ci.concept) WHERE {proj}{cond}",
            (now, project_id, *args),
        )
    _drop_orphans(conn, project_id, "concept")


def replace_cochange(conn: Connection, project_id: int) -> None:
    """changes_with edges between file nodes from the stored co-change pairs (strength
    the Jaccard confidence, metadata {shared}), one per pair whichever side stored it."""
    conn.execute(
        "DELETE FROM semantic_edges WHERE project_id = ? AND relationship = 'changes_with'",
        (project_id,),
    )
    conn.execute(
        "INSERT OR IGNORE INTO semantic_edges(project_id, source_node_id, target_node_id,"
        " relationship, strength, metadata, created_at) SELECT p.project_id,"
        " min(a.id, b.id), max(a.id, b.id), 'changes_with', max(p.confidence),"
        " json_object('shared', max(p.shared_commits)), ? FROM file_cochange_patterns p"
        " JOIN semantic_nodes a ON a.project_id = p.project_id AND a.node_kind = 'file'"
        " AND a.name = p.file_a JOIN semantic_nodes b ON b.project_id = p.project_id"
        " AND b.node_kind = 'file' AND b.name = p.file_b WHERE p.project_id = ?"
        " AND a.id <> b.id GROUP BY min(a.id, b.id), max(a.id, b.id)",
        (int(time.time()), project_id),
    )


def replace_domains(conn: Connection, project_id: int, partners: int = DOMAIN_PARTNERS) -> None:
    """same_domain edges between the file nodes of each domain cluster: every member to
    the cluster's ``partners`` heaviest members (all of a small cluster's pairs), one edge
    per pair, strength the cluster's cohesion, metadata {cluster}."""
    conn.execute(
        "DELETE FROM semantic_edges WHERE project_id = ? AND relationship = 'same_domain'",
        (project_id,),
    )
    nodes = _file_nodes(conn, project_id)
    members: dict[int, list[tuple[float, str]]] = {}
    info: dict[int, tuple[str, float]] = {}
    for cid, name, cohesion, path, weight in conn.execute(
        "SELECT c.id, c.name, c.cohesion, m.file_path, m.weight FROM domain_clusters c"
        " JOIN domain_cluster_members m ON m.cluster_id = c.id WHERE c.project_id = ?"
        " AND m.symbol_id IS NULL",
        (project_id,),
    ):
        members.setdefault(int(cid), []).append((float(weight), str(path)))
        info[int(cid)] = (str(name), float(cohesion))
    rows: dict[tuple[int, int], tuple[float, str]] = {}
    for cid, ms in members.items():
        ms.sort(key=lambda m: (-m[0], m[1]))
        hubs = [nodes[p] for _, p in ms[:partners] if p in nodes]
        name, cohesion = info[cid]
        for _, p in ms:
            a = nodes.get(p)
            if a is None:
                continue
            for b in hubs:
                if a != b:
                    rows[(min(a, b), max(a, b))] = (cohesion, name)
    now = int(time.time())
    conn.executemany(
        "INSERT OR IGNORE INTO semantic_edges(project_id, source_node_id, target_node_id,"
        " relationship, strength, metadata, created_at) VALUES (?, ?, ?, 'same_domain', ?, ?, ?)",
        [
            (project_id, a, b, max(0.0, min(1.0, s)), json.dumps({"cluster": n}), now)
            for (a, b), (s, n) in sorted(rows.items())
        ],
    )


# --- reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphStats:
    nodes: dict[str, int]
    edges: dict[str, int]

    def as_json(self) -> dict[str, dict[str, int]]:
        return {"nodes": self.nodes, "edges": self.edges}


def stats(conn: Connection, project_id: int) -> GraphStats:
    nodes = {k: 0 for k in ("symbol", "file", "module", "concept")}
    for kind, n in conn.execute(
        "SELECT node_kind, count(*) FROM semantic_nodes WHERE project_id = ? GROUP BY node_kind",
        (project_id,),
    ):
        nodes[str(kind)] = int(n)
    edges = {k: 0 for k in RELATIONSHIPS}
    for rel, n in conn.execute(
        "SELECT relationship, count(*) FROM semantic_edges WHERE project_id = ?"
        " GROUP BY relationship",
        (project_id,),
    ):
        edges[str(rel)] = int(n)
    return GraphStats(nodes, edges)


@dataclass(frozen=True)
class Neighbour:
    relationship: str
    direction: str  # 'out' (this node is the source) or 'in'
    node_kind: str
    name: str  # a symbol's qualified name, a path, a module or a concept
    file_path: str | None
    strength: float


def neighbours(
    conn: Connection, project_id: int, kind: str, name: str, limit: int = 50
) -> list[Neighbour]:
    """The edges of a file, module or concept node (``kind``, ``name``), strongest first."""
    r = conn.execute(
        "SELECT id FROM semantic_nodes WHERE project_id = ? AND node_kind = ? AND name = ?",
        (project_id, kind, name),
    ).fetchone()
    if r is None:
        return []
    return _neighbours_of(conn, int(r[0]), limit)


def symbol_neighbours(conn: Connection, symbol_id: int, limit: int = 50) -> list[Neighbour]:
    r = conn.execute("SELECT id FROM semantic_nodes WHERE symbol_id = ?", (symbol_id,)).fetchone()
    return [] if r is None else _neighbours_of(conn, int(r[0]), limit)


def _neighbours_of(conn: Connection, node: int, limit: int) -> list[Neighbour]:
    out: list[Neighbour] = []
    for col, other, direction in (
        ("source_node_id", "target_node_id", "out"),
        ("target_node_id", "source_node_id", "in"),
    ):
        for rel, nk, nm, qn, fp, strength in conn.execute(
            "SELECT x.relationship, n.node_kind, n.name, e.qualified_name, n.file_path,"
            f" x.strength FROM semantic_edges x JOIN semantic_nodes n ON n.id = x.{other}"
            f" LEFT JOIN code_elements e ON e.id = n.symbol_id WHERE x.{col} = ?"
            " ORDER BY x.strength DESC, n.id LIMIT ?",
            (node, limit),
        ):
            out.append(Neighbour(rel, direction, nk, qn or nm, fp, float(strength)))
    out.sort(key=lambda n: (-n.strength, n.relationship, n.name))
    return out[:limit]


CONCEPT_PREFIX = "concept:"


def concept_query(query: str) -> str | None:
    """The concept asked for by a ``concept:`` query (lower case, spaces collapsed), or
    None for any other query."""
    q = query.strip()
    if q[: len(CONCEPT_PREFIX)].lower() != CONCEPT_PREFIX:
        return None
    return " ".join(q[len(CONCEPT_PREFIX) :].split()).lower()


def concept_symbols(
    conn: Connection, project_id: int | None, concept: str, limit: int = 100
) -> list[tuple[SymbolRow, str]]:
    """(symbol, concept) of the symbols whose analysis names ``concept``: the exact concept
    first, then concepts beginning with it; each an indexed range of concept_index
    (project_id, concept COLLATE NOCASE). Ties: path, then line."""
    c = " ".join(concept.split()).lower()
    if not c or limit <= 0:
        return []
    if project_id is not None:
        proj, pp = "ci.project_id = ? AND ", [project_id]
    else:
        proj, pp = "ci.project_id IN (SELECT id FROM projects) AND ", []
    upper = c[:-1] + chr(ord(c[-1]) + 1)
    cols = ", ".join(f"e.{col.strip()}" for col in SYMBOL_COLS.split(","))
    out: list[tuple[SymbolRow, str]] = []
    seen: set[int] = set()
    # the exact concept in path order; concepts beginning with it in the index's order
    # (concept, symbol id), so a short prefix reads only ``limit`` rows
    for cond, order, args in (
        ("ci.concept = ?", "e.file_path, e.name_line, e.id", [c]),
        ("ci.concept > ? AND ci.concept < ?", "ci.concept, ci.symbol_id", [c, upper]),
    ):
        for row in conn.execute(
            f"SELECT {cols}, ci.concept FROM concept_index ci JOIN code_elements e"
            f" ON e.id = ci.symbol_id WHERE {proj}{cond} ORDER BY {order} LIMIT ?",
            (*pp, *args, limit - len(out)),
        ):
            sym = symbol_from_row(row[:-1])
            if sym.id not in seen:
                seen.add(sym.id)
                out.append((sym, str(row[-1])))
        if len(out) >= limit:
            break
    return out[:limit]
