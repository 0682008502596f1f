"""Memory recall benchmark: prints one JSON object.

    python bench/memory_bench.py [--messages 10000] [--facts 1000] [--documents 100]
                                 [--chunks 10] [--dims 3072] [--queries 200]

Stores, directly through the store (no model calls), the messages (in sessions of 100, each
analysed with a salience and embedded), the facts (each embedded) and the documents (each
``--chunks`` chunks, keyword-indexed and embedded) of one user, with texts drawn from a
fixed vocabulary and vectors from a seeded generator (clustered, normalized). Each query's
vector is stored beforehand, so the query's embedding is a lookup, as when a question is
asked again: what is timed is recall itself (candidates from the four sources, scoring,
the section within its share). Reports the first query (the vectors read into memory),
then p50/p95/max over ``--queries`` queries with vectors, and over the same queries keyword
only (no endpoint: LIKE over messages and summaries, FTS5 over document chunks).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mira_ls.config import Settings
from mira_ls.llm import tokens
from mira_ls.llm.service import LlmService
from mira_ls.memory import owner
from mira_ls.memory.facts import fact_text
from mira_ls.memory.recall import RECALL_SHARE, Recall
from mira_ls.search import terms
from mira_ls.store import Store, projects
from mira_ls.store import documents as dq
from mira_ls.store import embeddings as emb_store
from mira_ls.store import memory as sessions
from mira_ls.vectors.embeddings import text_hash, to_blob

KEY = "sk-bench-not-a-real-key-0000000000000000"
WORDS = [f"w{i:03d}" for i in range(400)] + [
    "deploy", "poetry", "pytest", "docker", "fly", "render", "pathlib", "mypy", "ruff",
    "numpy", "pandas", "schema", "migration", "cache", "budget", "recall", "summary",
]  # fmt: skip


def texts(rng: np.random.Generator, n: int, k: int) -> list[str]:
    return [" ".join(rng.choice(WORDS, k)) for _ in range(n)]


def clustered(rng: np.random.Generator, n: int, dims: int, centres: np.ndarray) -> np.ndarray:
    x = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal(
        (n, dims), dtype=np.float32
    )
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("<f4")


def _vectors(conn: object, model: str, dims: int, items: list[str], vecs: np.ndarray) -> None:
    rows = [(text_hash(t), to_blob(v), 1) for t, v in zip(items, vecs, strict=True)]
    emb_store.insert(conn, model, dims, rows)  # type: ignore[arg-type]


def _ids(conn: object, model: str, dims: int, items: list[str]) -> dict[str, int]:
    got = emb_store.stored(conn, model, dims, [text_hash(t) for t in items])  # type: ignore[arg-type]
    return {h: eid for h, (eid, _) in got.items()}


def load(store: Store, settings: Settings, a: argparse.Namespace, root: Path) -> dict[str, int]:
    rng = np.random.default_rng(17)
    model, dims = settings.llm.embedding_model, a.dims
    centres = rng.standard_normal((64, dims), dtype=np.float32)
    now = int(time.time())
    with store.write() as w:
        pid = projects.get_or_create(w, root).id
        uid = sessions.local_user_id(w, owner.username())
    # messages: sessions of 100, alternating user / assistant, a salience each
    msgs = [f"m{i} {t}" for i, t in enumerate(texts(rng, a.messages, 12))]
    mvec = clustered(rng, len(msgs), dims, centres)
    for start in range(0, len(msgs), 1000):
        part = msgs[start : start + 1000]
        with store.write() as w:
            _vectors(w, model, dims, part, mvec[start : start + 1000])
            eids = _ids(w, model, dims, part)
            for j, text in enumerate(part):
                i = start + j
                if i % 100 == 0:
                    sid = uuid.uuid4().hex
                    at = now - (len(msgs) - i) * 600
                    sessions.create_session(w, sid, uid, pid if i % 300 else None, None, None, at)
                at = now - (len(msgs) - i) * 600
                cur = w.execute(
                    "INSERT INTO memory_entries(session_id, role, content, token_count,"
                    " created_at) VALUES (?, ?, ?, 12, ?)",
                    (sid, "user" if i % 2 == 0 else "assistant", text, at),
                )
                eid = int(cur.lastrowid or 0)
                w.execute(
                    "INSERT INTO message_analysis(entry_id, salience, intent_label, topics,"
                    " analyzed_by, analyzed_at, content_hash, status)"
                    " VALUES (?, ?, 'other', '[]', 'bench', ?, ?, 'done')",
                    (eid, float(rng.random()), at, text_hash(text)),
                )
                h = text_hash(text)
                w.execute(
                    "INSERT INTO message_embeddings(entry_id, model, dimension, backend,"
                    " collection, point_id, content_hash, embedding_id)"
                    " VALUES (?, ?, ?, 'sqlite-vec', 'conversation', ?, ?, ?)",
                    (eid, model, dims, h[:32], h, eids[h]),
                )
    with store.write() as w:  # what add_entry keeps (rows were inserted directly)
        w.execute("UPDATE sessions SET message_count = (SELECT count(*) FROM memory_entries e"
                  " WHERE e.session_id = sessions.id)")  # fmt: skip
    # facts: half the user's, half the project's, each with its vector
    facts = [(f"key_{i}", f"value {t}") for i, t in enumerate(texts(rng, a.facts, 4))]
    ftexts = [fact_text(k, v) for k, v in facts]
    fvec = clustered(rng, len(facts), dims, centres)
    with store.write() as w:
        _vectors(w, model, dims, ftexts, fvec)
        ids = _ids(w, model, dims, ftexts)
        for i, ((k, v), t) in enumerate(zip(facts, ftexts, strict=True)):
            cur = w.execute(
                "INSERT INTO memory_facts(user_id, project_id, key, value, category,"
                " confidence, source, created_at, updated_at) VALUES (?, ?, ?, ?, 'tooling',"
                " ?, 'user', ?, ?)",
                (uid, pid if i % 2 else None, k, v, float(rng.random()), now - i * 3600,
                 now - i * 3600),
            )  # fmt: skip
            w.execute(
                "INSERT INTO memory_fact_vectors(fact_id, embedding_id) VALUES (?, ?)",
                (int(cur.lastrowid or 0), ids[text_hash(t)]),
            )
    # documents: --chunks chunks each, keyword rows and vectors
    for d in range(a.documents):
        chunks = [f"d{d} c{c} " + t for c, t in enumerate(texts(rng, a.chunks, 120))]
        cvec = clustered(rng, len(chunks), dims, centres)
        with store.write() as w:
            _vectors(w, model, dims, chunks, cvec)
            ids = _ids(w, model, dims, chunks)
            rows = [
                dq.NewChunk(c, t, 150, text_hash(t), f"Doc {d} > Part {c}", None, 0, len(t),
                            ids[text_hash(t)], model, terms.expand(t))
                for c, t in enumerate(chunks)
            ]  # fmt: skip
            dq.save(w, None, user_id=uid, project_id=pid if d % 2 else None,
                    source_path=f"/bench/doc{d}.md", title=f"Doc {d}",
                    mime_type="text/markdown", size_bytes=1000, content_hash=text_hash(str(d)),
                    page_count=None, metadata={"format": "markdown"}, status="embedded",
                    chunks=rows, now=now - d * 86400)  # fmt: skip
    return {"project_id": pid, "user_id": uid}


def queries(store: Store, settings: Settings, a: argparse.Namespace) -> list[str]:
    """The questions, each with its vector stored (near the data) under its embedding key."""
    rng = np.random.default_rng(99)
    qs = [f"how do we {t}?" for t in texts(rng, a.queries, 6)]
    centres = np.random.default_rng(17).standard_normal((64, a.dims), dtype=np.float32)
    with store.write() as w:
        _vectors(w, settings.llm.embedding_model, a.dims, qs, clustered(rng, len(qs), a.dims,
                                                                        centres))  # fmt: skip
    return qs


def timed(r: Recall, qs: list[str], share: int) -> tuple[list[float], int]:
    out: list[float] = []
    found = 0
    for question in qs:
        t = time.perf_counter()
        got = r.recall(question, share)
        out.append((time.perf_counter() - t) * 1000)
        found += len(got.memories)
    return out, found


def stats(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {"p50_ms": round(statistics.median(s), 2),
            "p95_ms": round(s[min(len(s) - 1, int(0.95 * len(s)))], 2),
            "max_ms": round(s[-1], 2)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--facts", type=int, default=1_000)
    p.add_argument("--documents", type=int, default=100)
    p.add_argument("--chunks", type=int, default=10)
    p.add_argument("--dims", type=int, default=3072)
    p.add_argument("--queries", type=int, default=200)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_STATE_HOME"] = str(Path(tmp) / "state")
        settings = Settings()
        settings.llm.embedding_dimensions = a.dims
        store = Store(Path(tmp) / "mira.db")
        t0 = time.perf_counter()
        ids = load(store, settings, a, Path(tmp) / "proj")
        qs = queries(store, settings, a)
        load_s = time.perf_counter() - t0
        svc = LlmService(store, settings, {"MIRA_OPENAI_API_KEY": KEY})
        tokens.count("the tokenizer is loaded once per process, before any question")
        share = int(settings.llm.context_tokens * RECALL_SHARE)
        r = Recall.open(store, svc, ids["project_id"])
        t = time.perf_counter()
        r.recall(qs[0], share)
        first = (time.perf_counter() - t) * 1000
        vec_ms, vec_found = timed(r, qs, share)
        kw = Recall.open(store, svc, ids["project_id"])
        kw.embedder = None
        kw_ms, kw_found = timed(kw, qs, share)
        calls = (
            store.conn()
            .execute("SELECT count(*) FROM budget_tracking WHERE operation = 'embed_query'")
            .fetchone()[0]
        )
        out = {
            "messages": a.messages, "facts": a.facts, "documents": a.documents,
            "chunks": a.documents * a.chunks, "dims": a.dims, "queries": len(qs),
            "load_seconds": round(load_s, 1), "first_query_ms": round(first, 1),
            "vector": {**stats(vec_ms), "memories_per_query": round(vec_found / len(qs), 2)},
            "keyword_only": {**stats(kw_ms),
                             "memories_per_query": round(kw_found / len(qs), 2)},
            "embedding_calls": int(calls), "target_p95_ms": 30,
        }  # fmt: skip
        store.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
