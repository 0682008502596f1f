"""The default vector store: sqlite-vec in the main database, nothing to start.

At 100,000 vectors of 3,072 dimensions a float scan reads 1.2 GB per query. This keeps one
bit per dimension (the sign, 384 bytes a vector) in a vec0 table, finds candidates by
Hamming distance, and re-scores them by exact cosine on the stored float vectors: the
binary-quantization-plus-rescore scheme the sqlite-vec docs and Qdrant describe. The vec0
table (one per embedding space, made at run time) mirrors vector_points: ``sync`` adds what
it lacks and drops what vector_points no longer has, and bumps the table's generation
(migration 042).

In a long-lived process (the server warms it after it starts) the Hamming pass runs over a
copy of the bits in memory (38 MB at 100,000 x 3,072), read once from the vec0 table and
refreshed when the generation moved: numpy's XOR and popcount over it take 3-5 ms where
vec0's own scan of the same bits took 29 ms (bench/vector_bench.py). The copy is
word-major and ordered by (collection, project), so a filtered search streams through one
contiguous range of each word. A process that holds no copy (one CLI search: reading the
copy takes 1-2 s at 100,000 points) uses vec0's scan.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
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


# The Hamming pass over many points: a shortlist of SHORTLIST_FACTOR x k by the first
# PREFIX_WORDS 64-bit words, then the full distance of those (see _Bits.nearest).
PREFIX_WORDS = 16
SHORTLIST_FACTOR = 20

# A refresh reads only the rows a sync added (by rowid) unless they are more than this
# share of the table, when one scan of the whole table is quicker.
INCREMENTAL_SHARE = 0.2


def _words(bits: bytes, n: int) -> np.ndarray:
    """``n`` packed sign-bit vectors (row after row) as an (n, words) uint64 array, each
    row zero-padded to whole 64-bit words (zeros on both sides of an XOR count nothing)."""
    raw = np.frombuffer(bits, dtype=np.uint8).reshape(n, -1) if n else np.zeros((0, 8), np.uint8)
    pad = -raw.shape[1] % 8
    if pad:
        raw = np.pad(raw, ((0, 0), (0, pad)))
    return np.ascontiguousarray(raw).view(np.uint64)


@dataclass(frozen=True)
class _Bits:
    """One vec0 table's sign bits in memory at one generation. Points are ordered by
    (collection, project, id), so each payload partition is one range of columns;
    ``words`` is word-major (words x points): word w of every point is one contiguous
    row, which XOR and popcount stream through once."""

    generation: int
    ids: np.ndarray  # int64, vector_points ids
    words: np.ndarray  # uint64, (words per vector, points)
    parts: dict[tuple[str, int], tuple[int, int]]  # (collection, project or 0) -> range
    collections: dict[str, tuple[int, int]]  # collection -> range (every project)

    @staticmethod
    def build(generation: int, rows: list[tuple[int, int, str]], words: np.ndarray) -> _Bits:
        """``rows`` (id, project, collection) with their bits ``words`` (points x words)."""
        order = sorted(range(len(rows)), key=lambda i: (rows[i][2], rows[i][1], rows[i][0]))
        parts: dict[tuple[str, int], tuple[int, int]] = {}
        collections: dict[str, tuple[int, int]] = {}
        for pos, i in enumerate(order):
            _, project, coll = rows[i]
            s, _e = parts.get((coll, project), (pos, pos))
            parts[(coll, project)] = (s, pos + 1)
            s, _e = collections.get(coll, (pos, pos))
            collections[coll] = (s, pos + 1)
        idx = np.asarray(order, dtype=np.int64)
        ids = np.fromiter((rows[i][0] for i in order), dtype=np.int64, count=len(order))
        return _Bits(generation, ids, np.ascontiguousarray(words[idx].T), parts, collections)

    def rows(self) -> dict[int, tuple[int, int, str]]:
        """id -> (column, project, collection)."""
        out: dict[int, tuple[int, int, str]] = {}
        for (coll, project), (s, e) in self.parts.items():
            for col in range(s, e):
                out[int(self.ids[col])] = (col, project, coll)
        return out

    def ranges(self, collection: str, project_ids: Sequence[int] | None) -> list[tuple[int, int]]:
        if project_ids is None:
            r = self.collections.get(collection)
            return [r] if r else []
        return [
            self.parts[(collection, p)]
            for p in dict.fromkeys(project_ids)
            if (collection, p) in self.parts
        ]

    def _hamming(self, q: np.ndarray, ranges: list[tuple[int, int]], words: int) -> np.ndarray:
        """Hamming distances over the first ``words`` words of the points in ``ranges``."""
        out: list[np.ndarray] = []
        for s, e in ranges:
            n = e - s
            d = np.zeros(n, dtype=np.uint16)
            xor = np.empty(n, dtype=np.uint64)
            ones = np.empty(n, dtype=np.uint8)
            for w in range(words):
                np.bitwise_xor(self.words[w, s:e], q[w], out=xor)
                np.bitwise_count(xor, out=ones)
                d += ones
            out.append(d)
        return np.concatenate(out) if len(out) > 1 else out[0]

    def nearest(self, bits: bytes, ranges: list[tuple[int, int]], k: int) -> list[int]:
        """ids of the ``k`` points in ``ranges`` nearest to ``bits`` by Hamming distance.

        Over many points the distance of the first PREFIX_WORDS words (1,024 bits) picks a
        shortlist (SHORTLIST_FACTOR x k) first, and only those get the full distance: a
        third of the memory read, the same candidates in bench/vector_bench.py (and the
        leading dimensions of text-embedding-3's Matryoshka vectors carry the most)."""
        ranges = [(s, e) for s, e in ranges if e > s]
        if not ranges or k <= 0:
            return []
        q = _words(bits, 1)[0]
        total = sum(e - s for s, e in ranges)
        nwords = self.words.shape[0]
        keep = SHORTLIST_FACTOR * k
        if total > 2 * keep and nwords >= 2 * PREFIX_WORDS:
            first = self._hamming(q, ranges, PREFIX_WORDS)
            cols = np.concatenate([np.arange(s, e) for s, e in ranges])
            cols = cols[np.argpartition(first, keep - 1)[:keep]]
            dist = np.bitwise_count(self.words[:, cols] ^ q[:, None]).sum(axis=0, dtype=np.uint16)
            pid = self.ids[cols]
        else:
            dist = self._hamming(q, ranges, nwords)
            pid = np.concatenate([self.ids[s:e] for s, e in ranges])
        if len(dist) > k:
            top = np.argpartition(dist, k - 1)[:k]
            dist, pid = dist[top], pid[top]
        return [int(pid[i]) for i in np.lexsort((pid, dist))]


# Per store (a server's lives as long as it does), per vec0 table: the bits in memory, and
# a lock held while they are read or refreshed (never by a search that has to wait: it
# takes vec0's scan meanwhile). _memory_lock guards the two maps themselves.
_memory: weakref.WeakKeyDictionary[Store, dict[str, _Bits]] = weakref.WeakKeyDictionary()
_loading: weakref.WeakKeyDictionary[Store, dict[str, threading.Lock]] = weakref.WeakKeyDictionary()
_memory_lock = threading.Lock()


class SqliteVecIndex:
    backend = "sqlite-vec"

    def __init__(self, store: Store, model: str, dimensions: int) -> None:
        self.store = store
        self.model = model
        self.dimensions = dimensions
        digest = hashlib.sha256(f"{model}\0{dimensions}".encode()).hexdigest()[:10]
        self.table = f"vec_bits_{dimensions}_{digest}"

    def _exists(self) -> bool:
        return (
            self.store.conn()
            .execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,))
            .fetchone()
            is not None
        )

    def _ensure(self) -> None:
        """Make the vec0 table if it is missing (a read when it exists: a search on the
        request path never waits for the write lock)."""
        if self._exists():
            return
        # vec0 wants whole bytes; packbits pads the sign bits with zeros, which count nothing.
        nbits = -(-self.dimensions // 8) * 8
        with self.store.write() as c:
            c.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.table} USING vec0("
                f"bits bit[{nbits}], project_id integer partition key,"
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
        if gone:
            with self.store.write() as c:
                c.executemany(f"DELETE FROM {self.table} WHERE rowid = ?", [(i,) for i in gone])
                vstore.bump_generation(c, self.table)
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
                vstore.bump_generation(c, self.table)
        if (new or gone) and self.table in _memory.get(self.store, {}):
            self._bits(load=True)  # the copy in memory follows now, not on the next search
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

    def warm(self) -> int:
        """Read the table's bits into memory for this process (a long-lived one: the
        server, after it starts); from then on searches take their Hamming pass there and
        syncs keep the copy current. Returns the points read (0, writing nothing, when
        nothing of this space was ever synced)."""
        if not self._exists():
            return 0
        bits = self._bits(load=True)
        return 0 if bits is None else len(bits.ids)

    def _bits(self, *, load: bool = False) -> _Bits | None:
        """The table's bits in memory at its current generation, refreshed now if a sync
        moved it since (only the added rows unless they are many). None when this process
        holds no copy and ``load`` is False (one search alone, a CLI command, is quicker
        with vec0's scan than with reading every point's bits first), or while another
        thread is reading or refreshing them (a search never waits for that)."""
        conn = self.store.conn()
        gen = vstore.index_generation(conn, self.table)
        with _memory_lock:
            held = _memory.setdefault(self.store, {})
            old = held.get(self.table)
            lock = _loading.setdefault(self.store, {}).setdefault(self.table, threading.Lock())
        if old is not None and old.generation == gen:
            return old
        if old is None and not load:
            return None
        if not lock.acquire(blocking=load):
            return None
        try:
            gen = vstore.index_generation(conn, self.table)
            old = held.get(self.table)
            if old is not None and old.generation == gen:
                return old  # done by the thread that held the lock
            now = self._refresh(gen, old) if old is not None else None
            if now is None and not load:
                # too much changed elsewhere (another process embedded a workspace) to
                # read it on a request: vec0's scan now, the whole copy read in the back
                threading.Thread(target=self._bits, kwargs={"load": True}, daemon=True).start()
                return None
            if now is None:
                got = [
                    ((int(r[0]), int(r[1] or 0), str(r[2])), bytes(r[3]))
                    for r in conn.execute(
                        f"SELECT rowid, project_id, collection, bits FROM {self.table}"
                    )
                ]
                bits = _words(b"".join(b for _, b in got), len(got))
                now = _Bits.build(gen, [r for r, _ in got], bits)
            with _memory_lock:
                held[self.table] = now
            return now
        finally:
            lock.release()

    def _refresh(self, gen: int, old: _Bits) -> _Bits | None:
        """``old`` brought to generation ``gen`` by reading only the rows added since (None
        when they are too many to be worth it)."""
        conn = self.store.conn()
        rows = [
            (int(r[0]), int(r[1] or 0), str(r[2]))
            for r in conn.execute(f"SELECT rowid, project_id, collection FROM {self.table}")
        ]
        kept = old.rows()
        new = [r[0] for r in rows if r[0] not in kept]
        if len(new) > INCREMENTAL_SHARE * len(rows):
            return None
        got: dict[int, bytes] = {}
        for i in range(0, len(new), 500):
            chunk = new[i : i + 500]
            got.update(
                (int(r[0]), bytes(r[1]))
                for r in conn.execute(
                    f"SELECT rowid, bits FROM {self.table}"
                    f" WHERE rowid IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        if len(got) < len(new):
            return None  # changed again meanwhile: read it all
        src = np.fromiter(
            (kept[r[0]][0] if r[0] in kept else -1 for r in rows), dtype=np.int64, count=len(rows)
        )
        bits = np.empty((len(rows), old.words.shape[0]), dtype=np.uint64)
        was = src >= 0
        bits[was] = old.words.T[src[was]]
        bits[~was] = _words(b"".join(got[i] for i in new), len(new))
        return _Bits.build(gen, rows, bits)

    def candidates(
        self, query: np.ndarray, collection: str, project_ids: Sequence[int] | None, k: int
    ) -> list[int]:
        """vector_points ids nearest to ``query`` by Hamming distance of the sign bits:
        over the copy in memory when this process holds one (``warm``), else by vec0's
        own scan."""
        bits = self._bits()
        if bits is not None:
            return bits.nearest(sign_bits(query), bits.ranges(collection, project_ids), k)
        conn = self.store.conn()
        out: list[tuple[float, int]] = []
        for pid in project_ids if project_ids is not None else [None]:
            sql = (
                f"SELECT rowid, distance FROM {self.table} WHERE bits MATCH vec_bit(?)"
                " AND k = ? AND collection = ?"
            )
            args: list[object] = [sign_bits(query), k, collection]
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
