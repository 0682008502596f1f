"""The vector collections' bookkeeping (migration 016, vector_points) and the texts to embed.

vector_points is the source of truth of what each collection holds; the vector stores
(sqlite-vec's vec0 index, Qdrant) are mirrors of it, brought in line by their ``sync``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection

# Definitions worth a vector: the ones with a body of their own.
CODE_KINDS = (
    "module", "namespace", "class", "struct", "union", "enum", "trait", "interface", "impl",
    "type", "function", "method", "constructor", "macro",
)  # fmt: skip


@dataclass(frozen=True)
class CodeText:
    symbol_id: int
    kind: str
    path: str
    language: str
    qualified_name: str
    signature: str
    docstring: str
    body: str


def code_texts(conn: Connection, project_id: int) -> list[CodeText]:
    """Each definition's keyword-index text (identifiers split, body cut), the material of
    its code vector: the same text changes exactly when its search row does."""
    marks = ",".join("?" * len(CODE_KINDS))
    return [
        CodeText(r[0], r[1], r[2], r[3], r[4], r[5] or "", r[6] or "", r[7] or "")
        for r in conn.execute(
            "SELECT e.id, e.kind, e.file_path, e.language, e.qualified_name, s.signature,"
            " s.docstring, s.body FROM code_elements e JOIN search_symbols s ON s.rowid = e.id"
            f" WHERE e.project_id = ? AND e.kind IN ({marks}) ORDER BY e.file_path, e.id",
            (project_id, *CODE_KINDS),
        )
    ]


def symbol_points(conn: Connection, project_id: int) -> dict[int, tuple[int, str]]:
    """symbol_id -> (vector_points id, content_hash) of the project's code points."""
    return {
        int(r[0]): (int(r[1]), str(r[2]))
        for r in conn.execute(
            "SELECT symbol_id, id, content_hash FROM vector_points"
            " WHERE collection = 'code' AND project_id = ? AND symbol_id IS NOT NULL",
            (project_id,),
        )
    }


@dataclass(frozen=True)
class NewPoint:
    collection: str
    point_id: str
    embedding_id: int
    project_id: int | None
    kind: str
    path: str | None
    symbol_id: int | None
    commit_id: int | None
    content_hash: str
    user_id: int | None = None
    fix_id: int | None = None


def replace_points(conn: Connection, points: Sequence[NewPoint]) -> None:
    """Insert points, replacing the one an entry (symbol, commit or fix) had before."""
    for p in points:
        if p.fix_id is not None:
            conn.execute(
                "DELETE FROM vector_points WHERE collection = ? AND fix_id = ?",
                (p.collection, p.fix_id),
            )
        elif p.symbol_id is not None:
            conn.execute(
                "DELETE FROM vector_points WHERE collection = ? AND symbol_id = ?",
                (p.collection, p.symbol_id),
            )
        elif p.commit_id is not None:
            conn.execute(
                "DELETE FROM vector_points WHERE collection = ? AND commit_id = ?",
                (p.collection, p.commit_id),
            )
    first = _next_point_id(conn, len(points))
    conn.executemany(
        "INSERT INTO vector_points(id, collection, point_id, embedding_id, project_id, user_id,"
        " kind, path, symbol_id, commit_id, fix_id, content_hash)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                first + i,
                p.collection,
                p.point_id,
                p.embedding_id,
                p.project_id,
                p.user_id,
                p.kind,
                p.path,
                p.symbol_id,
                p.commit_id,
                p.fix_id,
                p.content_hash,
            )
            for i, p in enumerate(points)
        ],
    )


# The highest vector_points id ever handed out, kept in vector_index_state (042) under a
# name no vec0 table has.
_LAST_POINT_ID = "vector_points.last_id"


def _next_point_id(conn: Connection, n: int) -> int:
    """The first of ``n`` ids never used before. SQLite reuses the highest rowid once its row
    is gone (a re-embedded symbol deletes its point, then inserts one), and the vec0 bit
    tables mirror vector_points by id: a reused id would keep the old vector's bits."""
    row = conn.execute(
        "SELECT max(coalesce((SELECT generation FROM vector_index_state WHERE name = ?), 0),"
        " coalesce((SELECT max(id) FROM vector_points), 0))",
        (_LAST_POINT_ID,),
    ).fetchone()
    first = int(row[0]) + 1
    conn.execute(
        "INSERT INTO vector_index_state(name, generation) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET generation = excluded.generation",
        (_LAST_POINT_ID, first + n - 1),
    )
    return first


def live_ids(conn: Connection, model: str, dimensions: int) -> dict[int, tuple[str, int | None]]:
    """vector_points id -> (collection, project_id) of every point of one embedding space."""
    return {
        int(r[0]): (str(r[1]), r[2])
        for r in conn.execute(
            "SELECT p.id, p.collection, p.project_id FROM vector_points p"
            " JOIN embeddings e ON e.id = p.embedding_id WHERE e.model = ? AND e.dimensions = ?",
            (model, dimensions),
        )
    }


def vectors_of(conn: Connection, ids: Sequence[int]) -> dict[int, bytes]:
    """vector_points id -> its float32 vector bytes."""
    out: dict[int, bytes] = {}
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        for pid, vec in conn.execute(
            "SELECT p.id, e.vector FROM vector_points p JOIN embeddings e ON e.id = p.embedding_id"
            f" WHERE p.id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            out[int(pid)] = bytes(vec)
    return out


@dataclass(frozen=True)
class PointRow:
    id: int
    collection: str
    point_id: str
    project_id: int | None
    user_id: int | None
    kind: str
    path: str | None
    symbol_id: int | None
    commit_id: int | None
    content_hash: str
    vector: bytes
    fix_id: int | None = None


def point_rows(
    conn: Connection,
    ids: Sequence[int],
    *,
    kinds: Sequence[str] | None = None,
    path_glob: str | None = None,
) -> list[PointRow]:
    """The points among ``ids`` that pass the payload filters, with their vectors."""
    out: list[PointRow] = []
    extra = ""
    args: list[Any] = []
    if kinds:
        extra += f" AND p.kind IN ({','.join('?' * len(kinds))})"
        args.extend(kinds)
    if path_glob:
        extra += " AND p.path GLOB ?"
        args.append(path_glob)
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        out.extend(
            PointRow(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bytes(r[10]), r[11]
            )
            for r in conn.execute(
                "SELECT p.id, p.collection, p.point_id, p.project_id, p.user_id, p.kind, p.path,"
                " p.symbol_id, p.commit_id, p.content_hash, e.vector, p.fix_id"
                " FROM vector_points p"
                " JOIN embeddings e ON e.id = p.embedding_id"
                f" WHERE p.id IN ({','.join('?' * len(chunk))}){extra}",
                (*chunk, *args),
            )
        )
    return out


def collection_counts(conn: Connection) -> list[tuple[str, str, int, int, int]]:
    """(collection, model, dimensions, points, vector bytes) for db status."""
    return [
        (str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4] or 0))
        for r in conn.execute(
            "SELECT p.collection, e.model, e.dimensions, count(*), sum(length(e.vector))"
            " FROM vector_points p JOIN embeddings e ON e.id = p.embedding_id"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    ]


def kind_counts(conn: Connection, collection: str) -> dict[tuple[str, int], dict[str, int]]:
    """(model, dimensions) -> kind -> points of one collection (db status: commits, fixes)."""
    out: dict[tuple[str, int], dict[str, int]] = {}
    for model, dims, kind, n in conn.execute(
        "SELECT e.model, e.dimensions, p.kind, count(*) FROM vector_points p"
        " JOIN embeddings e ON e.id = p.embedding_id WHERE p.collection = ?"
        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        (collection,),
    ):
        out.setdefault((str(model), int(dims)), {})[str(kind)] = int(n)
    return out


# -- the git collection ----------------------------------------------------------------


@dataclass(frozen=True)
class CommitText:
    commit_id: int
    commit_hash: str
    message: str  # the whole message, subject first
    files: tuple[str, ...]  # paths in that commit, as git listed them


def commit_texts(conn: Connection, project_id: int) -> list[CommitText]:
    """Every mined commit of the project (the ones the keyword index holds), oldest first."""
    return [
        CommitText(int(r[0]), r[1], r[2] or r[3] or "", tuple(r[4].split("\n")) if r[4] else ())
        for r in conn.execute(
            "SELECT c.id, c.commit_hash, c.message, c.subject,"
            " (SELECT group_concat(f.file_path, char(10)) FROM git_commit_files f"
            "  WHERE f.commit_id = c.id)"
            " FROM git_commits c WHERE c.project_id = ? ORDER BY c.id",
            (project_id,),
        )
    ]


@dataclass(frozen=True)
class FixText:
    fix_id: int
    commit_hash: str
    message: str
    files: tuple[str, ...]
    symbols: tuple[tuple[str, str], ...]  # (canonical path, definition name) touched


def fix_texts(conn: Connection, project_id: int) -> list[FixText]:
    """Every historical fix of the project with the definitions it touched."""
    out: list[FixText] = []
    for r in conn.execute(
        "SELECT id, commit_hash, message, subject, files, symbols FROM historical_fixes"
        " WHERE project_id = ? ORDER BY id",
        (project_id,),
    ):
        try:
            files = tuple(str(f) for f in json.loads(r[4] or "[]"))
            syms = tuple((str(p), str(n)) for p, n in json.loads(r[5] or "[]"))
        except (ValueError, TypeError):
            files, syms = (), ()
        out.append(FixText(int(r[0]), r[1], r[2] or r[3] or "", files, syms))
    return out


def git_points(conn: Connection, project_id: int) -> dict[tuple[str, int], tuple[int, str]]:
    """('commit', commit_id) or ('fix', fix_id) -> (vector_points id, content_hash)."""
    out: dict[tuple[str, int], tuple[int, str]] = {}
    for cid, fid, pid, digest in conn.execute(
        "SELECT commit_id, fix_id, id, content_hash FROM vector_points"
        " WHERE collection = 'git' AND project_id = ?",
        (project_id,),
    ):
        if fid is not None:
            out[("fix", int(fid))] = (int(pid), str(digest))
        elif cid is not None:
            out[("commit", int(cid))] = (int(pid), str(digest))
    return out


def has_points(
    conn: Connection,
    model: str,
    dimensions: int,
    collection: str,
    *,
    project_id: int | None = None,
    kind: str | None = None,
) -> bool:
    """Whether a collection has any point in this embedding space (optionally of one
    project and kind)."""
    sql = (
        "SELECT 1 FROM vector_points p JOIN embeddings e ON e.id = p.embedding_id"
        " WHERE p.collection = ? AND e.model = ? AND e.dimensions = ?"
    )
    args: list[Any] = [collection, model, dimensions]
    if project_id is not None:
        sql += " AND p.project_id = ?"
        args.append(project_id)
    if kind is not None:
        sql += " AND p.kind = ?"
        args.append(kind)
    return conn.execute(sql + " LIMIT 1", args).fetchone() is not None


def fix_vectors(
    conn: Connection, model: str, dimensions: int, fix_ids: Sequence[int]
) -> dict[int, bytes]:
    """fix id -> the float32 vector bytes of its point in this embedding space."""
    out: dict[int, bytes] = {}
    ids = list(fix_ids)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for fid, vec in conn.execute(
            "SELECT p.fix_id, e.vector FROM vector_points p JOIN embeddings e"
            " ON e.id = p.embedding_id WHERE p.collection = 'git' AND e.model = ?"
            f" AND e.dimensions = ? AND p.fix_id IN ({','.join('?' * len(chunk))})",
            (model, dimensions, *chunk),
        ):
            out[int(fid)] = bytes(vec)
    return out


def fix_commits(conn: Connection, fix_ids: Sequence[int]) -> dict[int, int]:
    """fix id -> the git_commits id of its commit."""
    out: dict[int, int] = {}
    ids = list(fix_ids)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for fid, cid in conn.execute(
            "SELECT id, commit_id FROM historical_fixes"
            f" WHERE commit_id IS NOT NULL AND id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            out[int(fid)] = int(cid)
    return out


# -- the sqlite-vec index's generation (migration 042) ---------------------------------


def index_generation(conn: Connection, name: str) -> int:
    """How many syncs changed the vec0 table ``name`` (0 when none has)."""
    row = conn.execute(
        "SELECT generation FROM vector_index_state WHERE name = ?", (name,)
    ).fetchone()
    return int(row[0]) if row else 0


def bump_generation(conn: Connection, name: str) -> None:
    """Mark the vec0 table ``name`` changed (in the transaction that changed it)."""
    conn.execute(
        "INSERT INTO vector_index_state(name, generation) VALUES (?, 1)"
        " ON CONFLICT(name) DO UPDATE SET generation = generation + 1",
        (name,),
    )
