"""Domain clusters: communities of files that call, import and change with each other.

One weighted, undirected file graph is built from the store (every signal optional, each
edge the sum of what applies):

- calls: resolved calls between two files, ``CALL_WEIGHT * n / (n + 2)`` for n calls in
  either direction (one call 0.33, five 0.71);
- imports: a file importing another project file (Python modules, relative JS/TS imports,
  quoted C/C++ includes), ``IMPORT_WEIGHT``;
- co-change: the pair's stored confidence (Jaccard), times ``COCHANGE_WEIGHT``;
- vectors: when the ``code`` collection holds vectors, the cosine similarity of two files'
  mean code vectors, for each file's ``VECTOR_NEIGHBOURS`` nearest files at
  ``VECTOR_MIN_SIMILARITY`` or more, times ``VECTOR_WEIGHT``.

Communities are networkx's Louvain with a fixed seed (the same graph gives the same
clusters); files with no edge, and communities of one file, belong to no cluster. Each
cluster is named from its members' deepest common directory (or its most called
definitions), and, on request, by the LLM in schema-checked answers through the budget;
an LLM name is kept by the cluster's member hash, so a recomputation that finds the same
members asks nothing. Experts are summed over the members' file expertise and stored with
the cluster, so the hover reads them and computes nothing.
"""

from __future__ import annotations

import hashlib
import math
import posixpath
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mira_ls.index.resolve_project import js_module_qn, python_absolute
from mira_ls.index.symbols import module_name
from mira_ls.store import Store, semantic_graph
from mira_ls.store import clusters as q
from mira_ls.store.clusters import Cluster, Expert
from mira_ls.store.code import project_imports

SEED = 19
RESOLUTION = 1.0
CALL_WEIGHT = 1.0
IMPORT_WEIGHT = 0.5
COCHANGE_WEIGHT = 1.0
VECTOR_WEIGHT = 0.5
VECTOR_NEIGHBOURS = 3
VECTOR_MIN_SIMILARITY = 0.3
MIN_FILES = 2
EXPERTS = 3
COMMON_SHARE = 0.6  # a directory names a cluster when it holds this share of its files
PART_SHARE = 0.25  # else two directories holding this share each do
TOP_SYMBOLS = 8
PROMPT_FILES = 30

NAME = "domain_clusters"
BATCH = 8


@dataclass
class Graph:
    nodes: list[str]
    edges: dict[tuple[str, str], float]  # (a, b) with a < b -> weight
    signals: dict[str, int] = field(default_factory=dict)  # signal -> edges it added to

    def add(self, a: str, b: str, w: float, signal: str) -> None:
        if a == b or w <= 0:
            return
        key = (a, b) if a < b else (b, a)
        self.edges[key] = self.edges.get(key, 0.0) + w
        self.signals[signal] = self.signals.get(signal, 0) + 1


def _import_target(
    file_path: str, lang: str, module: str, name: str | None, modules: dict[str, str]
) -> str | None:
    if lang == "python":
        qn = module_name(file_path, "python")
        base = python_absolute(module, qn, file_path.endswith("__init__.py"))
        if not base:
            return None
        if name and name != "*" and f"{base}.{name}" in modules:
            return modules[f"{base}.{name}"]
        return modules.get(base)
    if lang in ("javascript", "typescript", "tsx"):
        js = js_module_qn(module, file_path)
        if js is None:
            return None
        return modules.get(js) or modules.get(f"{js}.index")
    if lang in ("c", "cpp"):
        inc = module.strip()
        if not inc.startswith('"'):
            return None
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(file_path), inc.strip('"')))
        return modules.get(module_name(rel, lang))
    return None


def _vector_edges(g: Graph, rows: list[tuple[str, str, int, bytes]], files: set[str]) -> None:
    import numpy as np

    spaces = Counter((model, dims) for _, model, dims, _ in rows)
    if not spaces:
        return
    model, dims = min(spaces.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    sums: dict[str, Any] = {}
    for path, m, d, vec in rows:
        if (m, d) != (model, dims) or path not in files or len(vec) != 4 * dims:
            continue
        v = np.frombuffer(vec, dtype=np.float32).astype(np.float64)
        sums[path] = v if path not in sums else sums[path] + v
    paths = sorted(sums)
    if len(paths) < 2:
        return
    mat = np.stack([sums[p] for p in paths])
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    mat = mat / np.where(norms == 0, 1.0, norms)
    k = min(VECTOR_NEIGHBOURS, len(paths) - 1)
    for start in range(0, len(paths), 1024):
        sims = mat[start : start + 1024] @ mat.T
        for i, row in enumerate(sims):
            row[start + i] = -1.0
            best = np.argsort(-row, kind="stable")[:k]
            for j in best:
                s = float(row[j])
                if s >= VECTOR_MIN_SIMILARITY:
                    g.add(paths[start + i], paths[int(j)], VECTOR_WEIGHT * s / 2, "vectors")


def build_graph(store: Store, project_id: int) -> Graph:
    """The project's weighted file graph from what is stored (see the module's docstring)."""
    conn = store.conn()
    files = q.indexed_files(conn, project_id)
    g = Graph(sorted(files), {})
    calls: dict[tuple[str, str], int] = defaultdict(int)
    for a, b, n in q.call_edges(conn, project_id):
        calls[(a, b) if a < b else (b, a)] += n
    for (a, b), n in sorted(calls.items()):
        g.add(a, b, CALL_WEIGHT * n / (n + 2), "calls")
    modules = q.module_files(conn, project_id)
    imported: set[tuple[str, str]] = set()
    for file_path, lang, module, name, _line in project_imports(conn, project_id):
        target = _import_target(file_path, lang, module, name, modules)
        if target and target != file_path:
            imported.add((file_path, target) if file_path < target else (target, file_path))
    for a, b in sorted(imported):
        g.add(a, b, IMPORT_WEIGHT, "imports")
    pairs: dict[tuple[str, str], float] = {}
    for a, b, conf in q.cochange_pairs(conn, project_id):
        if a in files and b in files:
            key = (a, b) if a < b else (b, a)
            pairs[key] = max(conf, pairs.get(key, 0.0))
    for (a, b), conf in sorted(pairs.items()):
        g.add(a, b, COCHANGE_WEIGHT * conf, "cochange")
    # a pair of neighbours may be found from both sides: each side adds half of the weight
    _vector_edges(g, q.code_vectors(conn, project_id), set(files))
    return g


def communities(g: Graph) -> tuple[list[list[str]], dict[str, float]]:
    """Louvain communities of at least MIN_FILES files (sorted paths, biggest first), and
    each one's cohesion: its inner edge weight over the weight of all edges touching it."""
    import networkx as nx

    graph = nx.Graph()
    linked = sorted({n for e in g.edges for n in e})
    graph.add_nodes_from(linked)
    graph.add_weighted_edges_from((a, b, w) for (a, b), w in sorted(g.edges.items()))
    if graph.number_of_edges() == 0:
        return [], {}
    found = nx.community.louvain_communities(
        graph, weight="weight", resolution=RESOLUTION, seed=SEED
    )
    groups = sorted(
        (sorted(c) for c in found if len(c) >= MIN_FILES), key=lambda m: (-len(m), m[0])
    )
    where = {p: i for i, m in enumerate(groups) for p in m}
    inner: dict[int, float] = defaultdict(float)
    touching: dict[int, float] = defaultdict(float)
    for (a, b), w in g.edges.items():
        ca, cb = where.get(a), where.get(b)
        if ca is not None and ca == cb:
            inner[ca] += w
            touching[ca] += w
        else:
            if ca is not None:
                touching[ca] += w
            if cb is not None:
                touching[cb] += w
    cohesion = {
        member_hash(m): (inner[i] / touching[i] if touching[i] else 0.0)
        for i, m in enumerate(groups)
    }
    return groups, cohesion


def member_hash(members: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(members)).encode()).hexdigest()


def _dir_counts(members: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for p in members:
        parts = p.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            counts["/".join(parts[:i])] += 1
    return counts


def _common_dirs(members: list[str]) -> list[str]:
    """The deepest directory holding at least COMMON_SHARE of the members; else the two
    deepest unrelated directories holding at least PART_SHARE each; else []."""
    counts = _dir_counts(members)

    def deepest(share: float, exclude: list[str]) -> str | None:
        need = math.ceil(share * len(members))
        fitting = [
            d for d, n in counts.items()
            if n >= need and not any(d == x or d.startswith(x + "/") or x.startswith(d + "/")
                                     for x in exclude)
        ]  # fmt: skip
        return max(fitting, key=lambda d: (d.count("/"), counts[d], d)) if fitting else None

    one = deepest(COMMON_SHARE, [])
    if one is not None:
        return [one]
    first = deepest(PART_SHARE, [])
    if first is None:
        return []
    second = deepest(PART_SHARE, [first])
    return [first] if second is None else [first, second]


def _short(qualified_name: str) -> str:
    return qualified_name.rsplit(".", 1)[-1]


def path_name(members: list[str], top: list[str]) -> tuple[str, str]:
    """A name and description from the members' common directory and top definitions."""
    where = _common_dirs(members)
    if where:
        name = " + ".join(where)
    elif top:
        name = ", ".join(dict.fromkeys(_short(t) for t in top[:2]))
    else:
        name = ", ".join(posixpath.splitext(posixpath.basename(p))[0] for p in members[:2])
    under = f" mostly under {' and '.join(d + '/' for d in where)}" if where else ""
    most = f"; most called: {', '.join(_short(t) for t in top[:3])}" if top else ""
    return name, f"{len(members)} files{under}{most}"


def _unique(name: str, taken: set[str], members: list[str], top: list[str]) -> str:
    """``name``, or, when another cluster has it, with the cluster's most called definition
    (else its first file) in parentheses."""
    if name not in taken:
        return name
    tag = _short(top[0]) if top else posixpath.splitext(posixpath.basename(members[0]))[0]
    out = f"{name} ({tag})"
    n = 2
    while out in taken:
        out = f"{name} ({tag} {n})"
        n += 1
    return out


Authors = dict[str, list[tuple[str, str, int, int]]]  # path -> (name, email, commits, lines)


def _experts(members: list[str], by_file: Authors) -> list[Expert]:
    sums: dict[str, list[Any]] = {}
    for p in members:
        for author, email, commits, lines in by_file.get(p, []):
            s = sums.setdefault(email, [author, 0, 0])
            s[1] += commits
            s[2] += lines
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1][1], -kv[1][2], kv[0]))
    return [Expert(v[0], email, v[1], v[2]) for email, v in ranked[:EXPERTS]]


# --- naming by the LLM -------------------------------------------------------------------

_ITEM: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "description"],
    "properties": {
        "id": {"type": "integer", "description": "the cluster's id as given"},
        "name": {"type": "string", "description": "1-4 words, lowercase, e.g. 'billing'"},
        "description": {"type": "string", "description": "one line: what this domain does"},
    },
}


def _schema() -> dict[str, Any]:
    from mira_ls.llm import structured

    return structured.list_schema("clusters", _ITEM)


SYSTEM = (
    "You name the functional domains of a code base. Each cluster given is a group of files "
    "that call, import and change together. For each one give a short name (1-4 words, "
    "lowercase, e.g. 'billing', 'query compilation') and a one-line description of what "
    "that part of the system does. Answer with JSON only, one entry per id given."
)


def _validator(ids: set[int]) -> Callable[[Any], str | None]:
    def validate(data: Any) -> str | None:
        if not isinstance(data, dict) or not isinstance(data.get("clusters"), list):
            return 'the answer must be an object with a list "clusters"'
        seen: set[int] = set()
        for i, it in enumerate(data["clusters"]):
            if not isinstance(it, dict) or set(it) != {"id", "name", "description"}:
                return f"entry {i + 1} must have exactly the keys id, name, description"
            if it["id"] not in ids or it["id"] in seen:
                return f"entry {i + 1}: id {it['id']!r} is not one asked for, or repeated"
            for k in ("name", "description"):
                if not isinstance(it[k], str) or not it[k].strip():
                    return f"entry {i + 1}: {k} must be non-empty text"
            seen.add(it["id"])
        if seen != ids:
            return f"ids {sorted(ids - seen)} have no entry"
        return None

    return validate


def _prompt(batch: list[tuple[int, Cluster, list[str]]]) -> str:
    parts = []
    for i, c, top in batch:
        shown = c.members[:PROMPT_FILES]
        rest = len(c.members) - len(shown)
        more = f"\n... and {rest} more" if rest else ""
        called = f"\nmost called: {', '.join(top)}" if top else ""
        parts.append(f"## cluster {i}: {len(c.members)} files\n" + "\n".join(shown) + more + called)
    return "\n\n".join(parts)


@dataclass
class Naming:
    calls: int = 0
    cached_answers: int = 0
    kept: int = 0  # clusters whose stored LLM name was kept by member hash
    cost_micro: int = 0


def name_with_llm(
    svc: Any, project_id: int, asks: list[tuple[Cluster, list[str]]], out: Naming
) -> None:
    """Name ``asks`` (cluster, its top definitions) in place, BATCH clusters per call."""
    from mira_ls.llm import structured

    schema = _schema()
    for start in range(0, len(asks), BATCH):
        batch = [(i + 1, c, top) for i, (c, top) in enumerate(asks[start : start + BATCH])]
        req = structured.StructuredRequest(
            NAME, schema, SYSTEM, _prompt(batch), "clusters", project_id
        )
        ans = structured.ask(svc, req, _validator({i for i, _, _ in batch}))
        out.calls += 0 if ans.cached else ans.attempts
        out.cached_answers += int(ans.cached)
        out.cost_micro += ans.cost_micro
        by_id = {i: c for i, c, _ in batch}
        for it in ans.data["clusters"]:
            c = by_id[it["id"]]
            c.name = " ".join(it["name"].split())[:80]
            c.description = " ".join(it["description"].split())[:300]
            c.named_by = "llm"


# --- the run -----------------------------------------------------------------------------


@dataclass
class ClusterRun:
    clusters: list[Cluster]
    files: int  # files in the graph (indexed)
    linked: int  # files with at least one edge
    signals: dict[str, int]
    seconds: float  # graph and communities, the LLM not included
    naming: Naming | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "clusters": [
                {"id": c.id, "name": c.name, "description": c.description,
                 "named_by": c.named_by, "files": len(c.members), "symbols": c.symbol_count,
                 "cohesion": round(c.cohesion, 3),
                 "experts": [{"author": e.author, "email": e.email, "commits": e.commits,
                              "lines_added": e.lines_added} for e in c.experts],
                 "members": c.members}
                for c in self.clusters
            ],
            "files": self.files,
            "linked_files": self.linked,
            "signals": dict(sorted(self.signals.items())),
            "seconds": round(self.seconds, 3),
        }  # fmt: skip
        if self.naming is not None:
            n = self.naming
            data["llm"] = {"calls": n.calls, "cached_answers": n.cached_answers,
                           "kept": n.kept, "cost_usd": n.cost_micro / 1_000_000}  # fmt: skip
        return data


def compute(store: Store, project_id: int, svc: Any = None) -> ClusterRun:
    """Recompute and store a project's clusters; with ``svc`` (an LlmService) the clusters
    without a kept LLM name are named by the LLM (LlmError: nothing is written)."""
    t0 = time.perf_counter()
    g = build_graph(store, project_id)
    groups, cohesion = communities(g)
    conn = store.conn()
    files = q.indexed_files(conn, project_id)
    by_file: Authors = defaultdict(list)
    for path, author, email, commits, lines in q.file_authors(conn, project_id):
        by_file[path].append((author, email, commits, lines))
    ranked_top = q.top_called(conn, project_id)
    kept = q.llm_names(conn, project_id)
    out: list[Cluster] = []
    cluster_tops: list[list[str]] = []
    for members in groups:
        h = member_hash(members)
        mset = set(members)
        top = [qn for path, qn, _n in ranked_top if path in mset][:TOP_SYMBOLS]
        name, desc = path_name(members, top)
        c = Cluster(name, desc, cohesion.get(h, 0.0), members, h)
        c.symbol_count = sum(files.get(p, 0) for p in members)
        c.experts = _experts(members, by_file)
        if h in kept:
            c.name, c.description = kept[h]
            c.named_by = "llm"
        out.append(c)
        cluster_tops.append(top)
    seconds = time.perf_counter() - t0
    naming: Naming | None = None
    if svc is not None:
        naming = Naming(kept=sum(1 for c in out if c.named_by == "llm"))
        asks = [(c, t) for c, t in zip(out, cluster_tops, strict=True) if c.named_by != "llm"]
        name_with_llm(svc, project_id, asks, naming)
    taken: set[str] = set()
    pairs = list(zip(out, cluster_tops, strict=True))
    for c, top in pairs:  # LLM names first, so a path name gives way to them
        if c.named_by == "llm":
            c.name = _unique(c.name, taken, c.members, top)
            taken.add(c.name)
    for c, top in pairs:
        if c.named_by != "llm":
            c.name = _unique(c.name, taken, c.members, top)
            taken.add(c.name)
    with store.write() as w:
        q.replace_clusters(w, project_id, out)
        # the semantic graph's same_domain edges follow the clusters (once it is built)
        if semantic_graph.built(w, project_id):
            semantic_graph.sync_nodes(w, project_id, None, symbols=False)
            semantic_graph.replace_domains(w, project_id)
    linked = len({n for e in g.edges for n in e})
    return ClusterRun(out, len(g.nodes), linked, g.signals, seconds, naming)
