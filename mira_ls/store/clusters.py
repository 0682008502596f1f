"""Domain clusters (002 domain_clusters / domain_cluster_members, 036) and the rows their
file graph is made of: resolved calls between files, imports, co-change, code vectors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mira_ls.store.connection import Connection

# --- the file graph's material -----------------------------------------------------------


def indexed_files(conn: Connection, project_id: int) -> dict[str, int]:
    """file path -> number of symbols, for every indexed file of a project."""
    return {
        str(r[0]): int(r[1])
        for r in conn.execute(
            "SELECT f.file_path, count(e.id) FROM repository_files f"
            " LEFT JOIN code_elements e ON e.file_id = f.id"
            " WHERE f.project_id = ? GROUP BY f.file_path",
            (project_id,),
        )
    }


def call_edges(conn: Connection, project_id: int) -> list[tuple[str, str, int]]:
    """(caller's file, callee's file, resolved calls) for calls between two files."""
    return [
        (str(r[0]), str(r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT a.file_path, b.file_path, count(*) FROM call_graph g"
            " JOIN code_elements a ON a.id = g.caller_id"
            " JOIN code_elements b ON b.id = g.callee_id"
            " WHERE g.project_id = ? AND a.file_path <> b.file_path"
            " GROUP BY a.file_path, b.file_path ORDER BY a.file_path, b.file_path",
            (project_id,),
        )
    ]


def module_files(conn: Connection, project_id: int) -> dict[str, str]:
    """A file's module qualified name (top-level module symbol) -> its path."""
    return {
        str(r[0]): str(r[1])
        for r in conn.execute(
            "SELECT qualified_name, file_path FROM code_elements WHERE project_id = ?"
            " AND kind = 'module' AND parent_id IS NULL ORDER BY file_path",
            (project_id,),
        )
    }


def cochange_pairs(conn: Connection, project_id: int) -> list[tuple[str, str, float]]:
    """(file a, file b, confidence) of the stored co-change pairs (each pair may be stored
    from both sides; the caller keeps one)."""
    return [
        (str(r[0]), str(r[1]), float(r[2]))
        for r in conn.execute(
            "SELECT file_a, file_b, confidence FROM file_cochange_patterns WHERE project_id = ?"
            " ORDER BY file_a, file_b",
            (project_id,),
        )
    ]


def code_vectors(conn: Connection, project_id: int) -> list[tuple[str, str, int, bytes]]:
    """(file path, embedding model, dimensions, float32 vector bytes) of the code points."""
    return [
        (str(r[0]), str(r[1]), int(r[2]), bytes(r[3]))
        for r in conn.execute(
            "SELECT p.path, e.model, e.dimensions, e.vector FROM vector_points p"
            " JOIN embeddings e ON e.id = p.embedding_id"
            " WHERE p.collection = 'code' AND p.project_id = ? AND p.path IS NOT NULL"
            " ORDER BY p.path, p.id",
            (project_id,),
        )
    ]


def top_called(conn: Connection, project_id: int, limit: int = 5000) -> list[tuple[str, str, int]]:
    """(file path, qualified name, callers) of the most called definitions, most first."""
    return [
        (str(r[0]), str(r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT e.file_path, e.qualified_name, count(*) AS n FROM call_graph g"
            " JOIN code_elements e ON e.id = g.callee_id WHERE g.project_id = ?"
            " AND e.kind <> 'module' GROUP BY g.callee_id"
            " ORDER BY n DESC, e.file_path, e.qualified_name LIMIT ?",
            (project_id, limit),
        )
    ]


def file_authors(conn: Connection, project_id: int) -> list[tuple[str, str, str, int, int]]:
    """(file path, author name, email, commits, lines added) per file and author."""
    return [
        (str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]))
        for r in conn.execute(
            "SELECT path, author_name, author_email, commits, lines_added FROM author_expertise"
            " WHERE project_id = ? AND scope = 'file' ORDER BY path, author_email",
            (project_id,),
        )
    ]


# --- the clusters ------------------------------------------------------------------------


@dataclass(frozen=True)
class Expert:
    author: str
    email: str
    commits: int
    lines_added: int


@dataclass
class Cluster:
    name: str
    description: str
    cohesion: float
    members: list[str]  # file paths, sorted
    member_hash: str
    named_by: str = "path"  # 'path' or 'llm'
    symbol_count: int = 0
    experts: list[Expert] = field(default_factory=list)
    id: int = 0


def _experts(text: str) -> list[Expert]:
    try:
        items = json.loads(text or "[]")
    except ValueError:
        return []
    return [
        Expert(str(e["author"]), str(e["email"]), int(e["commits"]), int(e["lines_added"]))
        for e in items
        if isinstance(e, dict)
    ]


def replace_clusters(conn: Connection, project_id: int, clusters: Sequence[Cluster]) -> None:
    """Replace a project's clusters (in the caller's write transaction)."""
    conn.execute("DELETE FROM domain_clusters WHERE project_id = ?", (project_id,))
    for c in clusters:
        experts = json.dumps(
            [
                {"author": e.author, "email": e.email, "commits": e.commits,
                 "lines_added": e.lines_added}
                for e in c.experts
            ]
        )  # fmt: skip
        cur = conn.execute(
            "INSERT INTO domain_clusters(project_id, name, description, cohesion, file_count,"
            " symbol_count, member_hash, named_by, experts) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                project_id, c.name, c.description, min(1.0, max(0.0, c.cohesion)),
                len(c.members), c.symbol_count, c.member_hash, c.named_by, experts,
            ),
        )  # fmt: skip
        c.id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO domain_cluster_members(cluster_id, file_path, symbol_id, weight)"
            " VALUES (?, ?, NULL, 1)",
            [(c.id, p) for p in c.members],
        )


_COLS = (
    "c.id, c.name, c.description, c.cohesion, c.member_hash, c.named_by, c.symbol_count, c.experts"
)


def _cluster(r: Any, members: list[str]) -> Cluster:
    return Cluster(
        name=str(r[1]),
        description=str(r[2] or ""),
        cohesion=float(r[3]),
        members=members,
        member_hash=str(r[4]),
        named_by=str(r[5]),
        symbol_count=int(r[6]),
        experts=_experts(r[7]),
        id=int(r[0]),
    )


def clusters(conn: Connection, project_id: int) -> list[Cluster]:
    """A project's clusters, biggest first, each with its member paths."""
    members: dict[int, list[str]] = {}
    for cid, path in conn.execute(
        "SELECT m.cluster_id, m.file_path FROM domain_cluster_members m"
        " JOIN domain_clusters c ON c.id = m.cluster_id WHERE c.project_id = ?"
        " ORDER BY m.file_path",
        (project_id,),
    ):
        members.setdefault(int(cid), []).append(str(path))
    rows = conn.execute(
        f"SELECT {_COLS} FROM domain_clusters c WHERE c.project_id = ?"
        " ORDER BY c.file_count DESC, c.name",
        (project_id,),
    ).fetchall()
    return [_cluster(r, members.get(int(r[0]), [])) for r in rows]


def cluster_of_file(conn: Connection, project_id: int, path: str) -> Cluster | None:
    """The cluster a file belongs to (members not loaded: the hover needs the name and
    the experts only)."""
    r = conn.execute(
        f"SELECT {_COLS} FROM domain_cluster_members m JOIN domain_clusters c"
        " ON c.id = m.cluster_id WHERE m.file_path = ? AND c.project_id = ?"
        " ORDER BY c.file_count DESC LIMIT 1",
        (path, project_id),
    ).fetchone()
    return None if r is None else _cluster(r, [])


def llm_names(conn: Connection, project_id: int) -> dict[str, tuple[str, str]]:
    """member hash -> (name, description) of the clusters the LLM named."""
    return {
        str(r[0]): (str(r[1]), str(r[2] or ""))
        for r in conn.execute(
            "SELECT member_hash, name, description FROM domain_clusters"
            " WHERE project_id = ? AND named_by = 'llm' AND member_hash <> ''",
            (project_id,),
        )
    }
