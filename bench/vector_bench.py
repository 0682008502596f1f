"""Vector search benchmark: prints one JSON object.

    python bench/vector_bench.py [--n 100000] [--dims 3072] [--queries 200] [--qdrant]
        [--cache DIR] [--vec0-scan] [--exact-first]

``--cache DIR`` keeps the generated vectors and the loaded database in DIR (one pair per
n, dims and centres) and reuses them on the next run, so only the searches are repeated.

Clustered vectors (``--centres`` centres plus Gaussian noise, normalized), queries near the
data (a stored vector plus a little noise): uniform random vectors have no neighbours worth
finding. For sqlite-vec (sign bits in vec0, Hamming first pass, exact cosine re-score; the
bits read into memory first, as the server does after it starts: ``sqlite_vec_warm_s``;
with --vec0-scan also before that, by vec0's own scan, as one CLI search) and, with
--qdrant, Qdrant local mode: search p50/p95 in ms with a project filter, and recall@10
against an exact cosine scan of the same vectors. Load time is reported, not judged.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mira_ls.config import Settings
from mira_ls.store import (
    Store,
    projects,
)
from mira_ls.store import embeddings as emb_store
from mira_ls.store import vectors as vstore
from mira_ls.vectors.embeddings import point_id, text_hash, to_blob
from mira_ls.vectors.sqlite_vec import SqliteVecIndex
from mira_ls.vectors.stores import VectorIndex, open_index

MODEL = "bench-model"


def clustered(n: int, dims: int, centres: int, rng: np.random.Generator) -> np.ndarray:
    c = rng.standard_normal((centres, dims), dtype=np.float32)
    out = np.empty((n, dims), dtype=np.float32)
    for i in range(0, n, 10_000):
        m = min(10_000, n - i)
        x = c[rng.integers(0, centres, m)] + 0.5 * rng.standard_normal((m, dims), dtype=np.float32)
        out[i : i + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def load(store: Store, data: np.ndarray, project_id: int) -> list[str]:
    dims = data.shape[1]
    digests = [text_hash(f"text {i}") for i in range(len(data))]
    for i in range(0, len(data), 5000):
        chunk = digests[i : i + 5000]
        with store.write() as c:
            emb_store.insert(
                c,
                MODEL,
                dims,
                [(d, to_blob(v), 1) for d, v in zip(chunk, data[i : i + 5000], strict=True)],
            )
        ids = emb_store.stored(store.conn(), MODEL, dims, chunk)
        with store.write() as c:
            vstore.replace_points(
                c,
                [
                    vstore.NewPoint(
                        "code", point_id(MODEL, dims, d), ids[d][0], project_id, "function",
                        "a.py", None, None, d,
                    )
                    for d in chunk
                ],
            )  # fmt: skip
    return digests


def measure(
    index: VectorIndex,
    data: np.ndarray,
    queries: np.ndarray,
    digests: list[str],
    pid: int,
    exact_first: bool = False,
) -> dict[str, float]:
    """Search p50/p95 and recall@10. The exact scan (1.2 GB at 100,000 x 3,072) runs
    after each search, so the next one starts with that scan's cache and memory traffic
    behind it; ``exact_first``: all exact scans first, then the searches back to back."""
    pos = {d: i for i, d in enumerate(digests)}
    exacts = (
        [set(np.argpartition(-(data @ q), 10)[:10].tolist()) for q in queries]
        if (exact_first)
        else None
    )
    # the first search is timed apart from the rest
    t = time.perf_counter()
    index.search(queries[0] + 0.01, "code", project_ids=[pid], limit=10)
    first_ms = (time.perf_counter() - t) * 1000
    times: list[float] = []
    recalls: list[float] = []
    for n, q in enumerate(queries):
        t = time.perf_counter()
        hits = index.search(q, "code", project_ids=[pid], limit=10)
        times.append((time.perf_counter() - t) * 1000)
        exact = exacts[n] if exacts else set(np.argpartition(-(data @ q), 10)[:10].tolist())
        recalls.append(len({pos[h.point.content_hash] for h in hits} & exact) / 10)
    times.sort()
    return {
        "first_search_ms": round(first_ms, 1),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "recall_at_10": round(float(np.mean(recalls)), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dims", type=int, default=3072)
    ap.add_argument("--centres", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--qdrant", action="store_true", help="also Qdrant local mode")
    ap.add_argument(
        "--vec0-scan",
        action="store_true",
        help="also sqlite-vec before its bits are in memory (vec0's own scan, as one CLI search)",
    )
    ap.add_argument(
        "--exact-first",
        action="store_true",
        help="run the exact scans before the searches instead of between them",
    )
    ap.add_argument("--cache", type=Path, help="keep and reuse the vectors and database here")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    if args.cache:
        tmp = args.cache / f"n{args.n}-d{args.dims}-c{args.centres}"
        tmp.mkdir(parents=True, exist_ok=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="mira-vbench-"))
    ready = tmp / "ready"
    cached = ready.exists()
    if not cached:
        (tmp / "mira.db").unlink(missing_ok=True)
    store = Store(tmp / "mira.db")
    with store.write() as c:
        pid = projects.get_or_create(c, tmp).id
    data = np.load(tmp / "data.npy") if cached else clustered(args.n, args.dims, args.centres, rng)
    t = time.perf_counter()
    if cached:
        digests = [text_hash(f"text {i}") for i in range(len(data))]
    else:
        digests = load(store, data, pid)
    out: dict[str, object] = {
        "n": args.n,
        "dims": args.dims,
        "centres": args.centres,
        "queries": args.queries,
        "cached": cached,
        "load_s": round(time.perf_counter() - t, 2),
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg()[0],
    }
    qrng = np.random.default_rng(2)  # the same queries whether or not the data was cached
    picks = data[qrng.integers(0, args.n, args.queries)]
    queries = picks + 0.05 * qrng.standard_normal(picks.shape, dtype=np.float32)
    s = Settings()
    idx = open_index(store, s, MODEL, args.dims)
    t = time.perf_counter()
    idx.sync()
    out["sqlite_vec_sync_s"] = round(time.perf_counter() - t, 2)
    if args.cache and not cached:
        np.save(tmp / "data.npy", data)
        ready.write_text("1")
    if args.vec0_scan:  # a process holding no copy: vec0's scan (one CLI search)
        out["sqlite_vec_vec0_scan"] = measure(
            SqliteVecIndex(store, MODEL, args.dims), data, queries, digests, pid, args.exact_first
        )
    t = time.perf_counter()
    SqliteVecIndex(store, MODEL, args.dims).warm()  # as the server does after it starts
    out["sqlite_vec_warm_s"] = round(time.perf_counter() - t, 2)
    out["sqlite_vec"] = measure(idx, data, queries, digests, pid, args.exact_first)
    if args.qdrant:
        s.vectors.backend = "qdrant"
        s.vectors.qdrant_path = str(tmp / "qdrant")
        q = open_index(store, s, MODEL, args.dims)
        t = time.perf_counter()
        q.sync()
        out["qdrant_local_sync_s"] = round(time.perf_counter() - t, 2)
        out["qdrant_local"] = measure(q, data, queries, digests, pid)
        q.close()
    store.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
