"""Memory benchmark: prints one JSON object.

    python bench/memory_bench.py [--messages 10000] [--facts 1000] [--documents 100]
                                 [--chunks 10] [--dims 3072] [--queries 200]
                                 [--analysis-messages 100] [--pdf-pages 500]

Stores, directly through the store (no model calls), the messages (in sessions of 100, each
analysed with a salience and embedded), the facts (each embedded) and the documents (each
``--chunks`` chunks, keyword-indexed and embedded) of one user, with texts drawn from a
fixed vocabulary and vectors from a seeded generator (clustered, normalized). Each query's
vector is stored beforehand, so the query's embedding is a lookup, as when a question is
asked again: what is timed is recall itself (candidates from the four sources, scoring,
the section within its share). Reports the first query (the vectors read into memory),
then p50/p95/max over ``--queries`` queries with vectors (wall clock, and the recalling
thread's CPU time: what a question costs whatever else the shared cores run), and over the
same queries keyword only (no endpoint: the word index of messages, LIKE over facts and
summaries, FTS5 over document chunks). The vector queries are run again with every matrix
scanned exactly (no binary-quantized shortlist) to count the questions whose recalled
memories are the same.
The fold of the profile and learned patterns over those messages is timed too.

Then, apart: the message analysis of ``--analysis-messages`` chat messages (half questions
of ~25 words, half answers of ~200 words) through the real Analyzer against a loopback
OpenAI-format server on 127.0.0.1 whose answers are valid analyses and whose token counts
are the o200k counts of the actual requests and answers: LLM calls, input and output tokens
per 100 messages; then the fact extraction that follows it (memory/message_facts.py) over
the user messages the analysis marks as preferences (one question in five, each stating one
new fact, so no decision call is needed): its calls and tokens per 100 messages. And a
``--pdf-pages`` PDF (written here by hand, ~350 words a page, no PDF library needed to
make it) added as a document without an endpoint: pypdf text extraction, chunking and
storing, timed separately.
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
from mira_ls.memory.profile import Profiles
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


CPU_MS: dict[int, list[float]] = {}  # id(list of wall times) -> the same queries' CPU times


def timed(r: Recall, qs: list[str], share: int) -> tuple[list[float], int]:
    """Wall-clock ms per question (and, in CPU_MS, this thread's CPU ms: what the question
    costs whatever else the shared cores are doing)."""
    out: list[float] = []
    cpu: list[float] = []
    found = 0
    for question in qs:
        c = time.thread_time()
        t = time.perf_counter()
        got = r.recall(question, share)
        out.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
        found += len(got.memories)
    CPU_MS[id(out)] = cpu
    return out, found


def stats(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    out = {"p50_ms": round(statistics.median(s), 2),
           "p95_ms": round(s[min(len(s) - 1, int(0.95 * len(s)))], 2),
           "max_ms": round(s[-1], 2)}  # fmt: skip
    cpu = sorted(CPU_MS.get(id(ms), []))
    if cpu:
        out["cpu_p50_ms"] = round(statistics.median(cpu), 2)
        out["cpu_p95_ms"] = round(cpu[min(len(cpu) - 1, int(0.95 * len(cpu)))], 2)
    return out


def same_memories(r: Recall, qs: list[str], share: int) -> tuple[int, list[float]]:
    """Questions whose memories are the same when every matrix is scanned exactly."""
    from mira_ls.memory import vector_scan

    fast = [[(m.kind, m.id, m.chunk_id) for m in r.recall(q, share).memories] for q in qs]
    saved = vector_scan.EXACT_ROWS
    vector_scan.EXACT_ROWS = 10**9
    try:
        exact_ms, _ = timed(r, qs, share)
        exact = [[(m.kind, m.id, m.chunk_id) for m in r.recall(q, share).memories] for q in qs]
    finally:
        vector_scan.EXACT_ROWS = saved
    return sum(1 for a, b in zip(fast, exact, strict=True) if a == b), exact_ms


SENTENCE = [
    "the", "parser", "reads", "each", "header", "line", "and", "keeps", "the", "offsets",
    "so", "that", "a", "later", "pass", "can", "resolve", "the", "references", "without",
    "reading", "the", "file", "again",
]  # fmt: skip


def prose(rng: np.random.Generator, words: int) -> str:
    return " ".join(rng.choice(SENTENCE + WORDS[-17:], words))


def analysis_rows(a: argparse.Namespace, tmp: Path) -> dict[str, object]:
    """The real Analyzer over ``--analysis-messages`` messages against a loopback server,
    then the fact extraction from the messages it marks as preferences."""
    import re

    from mira_ls.memory.analysis import Analyzer
    from mira_ls.memory.conversation import Conversations
    from mira_ls.memory.message_facts import MessageFacts
    from tests.support.openai_server import Answer, OpenAIServer, Reply

    def reply(body: dict[str, object]) -> Reply:
        msgs = body["messages"]  # type: ignore[index]
        prompt = "\n".join(m["content"] for m in msgs)  # type: ignore[attr-defined]
        found = re.findall(r"Message id (\d+)(?: \(\w+\))?:\n(\S*)", prompt)
        name = body["response_format"]["json_schema"]["name"]  # type: ignore[index]
        if name == "memory_message_facts":
            data: dict[str, object] = {"messages": [
                {"id": int(i), "facts": [{"key": f"tool_{w}", "value": f"tool {w} always",
                 "category": "tooling", "scope": "user", "confidence": 0.8}]}
                for i, w in found
            ]}  # fmt: skip
        else:
            data = {"messages": [
                {"id": int(i), "salience": 0.9 if w.startswith("pref") else 0.5,
                 "intent": "preference" if w.startswith("pref") else "question",
                 "topics": ["parser", "cache"], "mood": "neutral"} for i, w in found
            ]}  # fmt: skip
        text = json.dumps(data)
        return Answer(text=text, prompt_tokens=tokens.count(prompt) + 4 * len(msgs),  # type: ignore[arg-type]
                      completion_tokens=tokens.count(text))  # fmt: skip

    rng = np.random.default_rng(5)
    store = Store(tmp / "analysis.db")
    with OpenAIServer(reply) as srv:
        settings = Settings()
        settings.llm.base_url = srv.base_url
        settings.llm.max_retries = 0
        conv = Conversations(store)
        sid = conv.session_for(None, new=True)
        for i in range(a.analysis_messages // 2):
            q = f"pref{i} we always use tool {i}; " if i % 5 == 0 else f"q{i} "
            conv.record(sid, q + prose(rng, 25) + "?", f"a{i} " + prose(rng, 200),
                        model="gpt-5.1", cost_micro=0)  # fmt: skip
        svc = LlmService(store, settings, {"MIRA_OPENAI_API_KEY": KEY})
        an = Analyzer.open(store, svc)
        an.embedder = None  # the analysis alone (the embeddings are the retrieval's)
        t = time.perf_counter()
        run = an.run()
        secs = time.perf_counter() - t
        mf = MessageFacts.open(store, svc)
        mf.embedder = None
        t = time.perf_counter()
        fx = mf.run()
        fact_secs = time.perf_counter() - t
        chat_calls = len(srv.chat_requests())
    store.close()
    per = 100 / max(1, run.analysed + run.reused)
    facts = {"messages": fx.extracted + fx.reused, "added": fx.added, "calls": fx.calls,
             "calls_per_100": round(fx.calls * per, 2),
             "input_tokens_per_100": round(fx.input_tokens * per),
             "output_tokens_per_100": round(fx.output_tokens * per),
             "cost_usd_per_100": round(fx.cost_micro * per / 1e6, 5),
             "reasoning_effort": fx.reasoning_effort, "seconds": round(fact_secs, 2)}  # fmt: skip
    return {"messages": run.analysed + run.reused, "calls": run.calls,
            "chat_requests": chat_calls, "calls_per_100": round(run.calls * per, 2),
            "input_tokens_per_100": round(run.input_tokens * per),
            "output_tokens_per_100": round(run.output_tokens * per),
            "cost_usd_per_100": round(run.cost_micro * per / 1e6, 5),
            "model": run.model, "reasoning_effort": run.reasoning_effort,
            "seconds": round(secs, 2), "facts_from_messages": facts}  # fmt: skip


def write_pdf(path: Path, pages: int, rng: np.random.Generator) -> None:
    """A plain PDF of ``pages`` pages of Helvetica text (~350 words each), written by hand."""
    objs: list[bytes] = [b"", b""]  # 1: catalog, 2: pages (filled in below)
    font = len(objs) + 1
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for p in range(pages):
        lines = [f"Chapter {p // 10 + 1}, page {p + 1}"] + [prose(rng, 10) for _ in range(35)]
        ops = ["BT", "/F1 10 Tf", "12 TL", "50 760 Td"]
        ops += [f"({line}) Tj T*" for line in lines]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content = len(objs)
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R"
                    b" /Resources << /Font << /F1 %d 0 R >> >> >>" % (content, font))  # fmt: skip
        kids.append(len(objs))
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), pages,
    )  # fmt: skip
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref,
    )  # fmt: skip
    path.write_bytes(bytes(out))


def pdf_rows(a: argparse.Namespace, tmp: Path) -> dict[str, object]:
    from mira_ls.documents.chunk import chunk_sections
    from mira_ls.documents.library import Documents
    from mira_ls.documents.parse import parse

    path = tmp / "book.pdf"
    write_pdf(path, a.pdf_pages, np.random.default_rng(3))
    data = path.read_bytes()
    t = time.perf_counter()
    doc = parse(path, data)
    parse_s = time.perf_counter() - t
    t = time.perf_counter()
    chunks = chunk_sections(doc.sections)
    chunk_s = time.perf_counter() - t
    store = Store(tmp / "pdf.db")
    docs = Documents.open(store, None, enabled=True)
    t = time.perf_counter()
    added = docs.add(path)
    add_s = time.perf_counter() - t
    store.close()
    return {"pages": doc.pages, "bytes": len(data), "chunks": len(chunks),
            "tokens": sum(c.tokens for c in chunks),
            "extract_seconds": round(parse_s, 2), "chunk_seconds": round(chunk_s, 2),
            "add_seconds": round(add_s, 2), "stored_chunks": added.document.chunk_count,
            "pages_per_second": round(a.pdf_pages / add_s, 1)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--facts", type=int, default=1_000)
    p.add_argument("--documents", type=int, default=100)
    p.add_argument("--chunks", type=int, default=10)
    p.add_argument("--dims", type=int, default=3072)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--analysis-messages", type=int, default=100)
    p.add_argument("--pdf-pages", type=int, default=500)
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
        same, exact_ms = same_memories(r, qs, share)
        t = time.perf_counter()
        Profiles.open(store).fold()
        fold_ms = (time.perf_counter() - t) * 1000
        kw = Recall.open(store, svc, ids["project_id"])
        kw.embedder = None
        t = time.perf_counter()
        kw.recall(qs[0], share)  # the word index of the messages is read here
        kw_first = (time.perf_counter() - t) * 1000
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
            "vector": {**stats(vec_ms), "memories_per_query": round(vec_found / len(qs), 2),
                       "same_as_exact": same},
            "vector_exact_scan": stats(exact_ms),
            "profile_fold_ms": round(fold_ms, 1),
            "keyword_first_query_ms": round(kw_first, 1),
            "keyword_only": {**stats(kw_ms),
                             "memories_per_query": round(kw_found / len(qs), 2)},
            "embedding_calls": int(calls), "target_p95_ms": 30,
        }  # fmt: skip
        store.close()
        if a.analysis_messages:
            out["analysis"] = analysis_rows(a, Path(tmp))
        if a.pdf_pages:
            out["pdf"] = pdf_rows(a, Path(tmp))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
