"""The default vector store: sqlite-vec in the main database, nothing to start.

At 100,000 vectors of 3,072 dimensions a float scan reads 1.2 GB per query. This keeps one
bit per dimension (the sign, 384 bytes a vector) in a vec0 table, finds candidates by
Hamming distance there, and re-scores them by exact cosine on the stored float vectors:
the binary-quantization-plus-rescore scheme the sqlite-vec docs and Qdrant describe. The
vec0 table (one per embedding space, made at run time) mirrors vector_points: ``sync``
adds what it lacks and drops what vector_points no longer has.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mira_ls.store import Store
from mira_ls.store import vectors as vstore
from mira_ls.store.connection import backend

log = logging.getLogger(__name__)

# Candidates from the Hamming pass per result wanted (and at least MIN_CANDIDATES): more
# is better recall for more re-scoring work (bench/vector_bench.py measures both).
OVERSAMPLE = 10
MIN_CANDIDATES = 100


@dataclass(frozen=True)
class VectorHit:
    point: vstore.PointRow
    score: float  # cosine similarity, -1..1


def unavailable_reason() -> str | None:
    be = backend()
    if be.vec_version is None:
        return (
            f"Semantic search is off: the sqlite-vec extension could not be loaded "
            f"({be.vec_error}). Keyword search works meanwhile."
        )
    return None


def sign_bits(vec: np.ndarray) -> bytes:
    return np.packbits(np.asarray(vec) > 0).tobytes()


class SqliteVecIndex:
    backend = "sqlite-vec"

    def __init__(self, store: Store, model: str, dimensions: int) -> None:
        self.store = store
        self.model = model
        self.dimensions = dimensions
        digest = hashlib.sha256(f"{model}\0{dimensions}".encode()).hexdigest()[:10]
        self.table = f"vec_bits_{dimensions}_{digest}"

    def _ensure(self) -> None:
        """Make the vec0 table if it is missing (a read when it exists: a search on the
        request path never waits for the write lock)."""
        if (
            self.store.conn()
            .execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,))
            .fetchone()
        ):
            return
        with self.store.write() as c:
            c.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.table} USING vec0("
                f"bits bit[{self.dimensions}], project_id integer partition key,"
                " collection text)"
            )

    def sync(self) -> tuple[int, int]:
        """Mirror vector_points of this space; returns (added, removed)."""
        self._ensure()
        conn = self.store.conn()
        live = vstore.live_ids(conn, self.model, self.dimensions)
        have = {int(r[0]) for r in conn.execute(f"SELECT rowid FROM {self.table}")}
        gone = sorted(have - live.keys())
        new = sorted(live.keys() - have)
        with self.store.write() as c:
            c.executemany(f"DELETE FROM {self.table} WHERE rowid = ?", [(i,) for i in gone])
        for i in range(0, len(new), 1000):
            chunk = new[i : i + 1000]
            vecs = vstore.vectors_of(conn, chunk)
            with self.store.write() as c:
                c.executemany(
                    f"INSERT INTO {self.table}(rowid, bits, project_id, collection)"
                    " VALUES (?, vec_bit(?), ?, ?)",
                    [
                        (
                            pid,
                            sign_bits(np.frombuffer(vecs[pid], dtype="<f4")),
                            live[pid][1] or 0,
                            live[pid][0],
                        )
                        for pid in chunk
                        if pid in vecs
                    ],
                )
        return len(new), len(gone)

    def close(self) -> None:
        """Nothing to close: the index lives in the store's database."""

    def count(self) -> int:
        try:
            return int(
                self.store.conn().execute(f"SELECT count(*) FROM {self.table}").fetchone()[0]
            )
        except Exception:
            return 0

    def candidates(
        self, query: np.ndarray, collection: str, project_ids: Sequence[int] | None, k: int
    ) -> list[int]:
        """vector_points ids nearest to ``query`` by Hamming distance of the sign bits."""
        conn = self.store.conn()
        bits = sign_bits(query)
        out: list[tuple[float, int]] = []
        for pid in project_ids if project_ids is not None else [None]:
            sql = (
                f"SELECT rowid, distance FROM {self.table} WHERE bits MATCH vec_bit(?)"
                " AND k = ? AND collection = ?"
            )
            args: list[object] = [bits, k, collection]
            if pid is not None:
                sql += " AND project_id = ?"
                args.append(pid)
            out.extend((float(d), int(r)) for r, d in conn.execute(sql, args))
        out.sort()
        return [r for _, r in out[:k]]

    def search(
        self,
        query: np.ndarray,
        collection: str,
        *,
        project_ids: Sequence[int] | None = None,
        kinds: Sequence[str] | None = None,
        path_glob: str | None = None,
        limit: int = 20,
    ) -> list[VectorHit]:
        """Top ``limit`` points by cosine similarity (after the Hamming first pass)."""
        self._ensure()
        k = max(MIN_CANDIDATES, limit * OVERSAMPLE)
        ids = self.candidates(query, collection, project_ids, k)
        rows = vstore.point_rows(self.store.conn(), ids, kinds=kinds, path_glob=path_glob)
        if not rows:
            return []
        mat = np.stack([np.frombuffer(r.vector, dtype="<f4") for r in rows])
        q = np.asarray(query, dtype=np.float32)
        scores = mat @ q / (np.linalg.norm(mat, axis=1) * (np.linalg.norm(q) or 1.0) + 1e-12)
        order = np.argsort(-scores)[:limit]
        return [VectorHit(rows[i], float(scores[i])) for i in order]
