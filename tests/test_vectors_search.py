"""The code collection on sqlite-vec and hybrid search, against the loopback embeddings
server: each definition embedded once, an edit costs one call, a delete removes points,
and the binary first pass keeps the exact ranking's neighbours."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mira_ls.config import Settings
from mira_ls.index import indexer
from mira_ls.search import hybrid
from mira_ls.store import Store
from mira_ls.store import embeddings as emb_store
from mira_ls.store import vectors as vstore
from mira_ls.vectors import code as code_vectors
from mira_ls.vectors import sqlite_vec
from mira_ls.vectors import stores as vector_stores
from mira_ls.vectors.embeddings import Embedder, point_id, text_hash, to_blob
from mira_ls.vectors.qdrant import QdrantIndex
from mira_ls.vectors.sqlite_vec import SqliteVecIndex
from mira_ls.vectors.stores import QdrantUnavailable, open_index
from tests.index_helpers import index, write_files
from tests.support.cli import run_cli
from tests.support.openai_server import OpenAIServer

UPLOAD = '''\
import time


class Uploader:
    """Sends files to the storage bucket."""

    def retry_upload(self, path, attempts=3):
        """Try the upload again after a dropped connection."""
        for n in range(attempts):
            try:
                return self.send(path)
            except ConnectionError:
                time.sleep(2 ** n)

    def send(self, path):
        return path
'''

HTTP = '''\
def parse_http_header(raw):
    """Split one header line into its name and value."""
    name, _, value = raw.partition(":")
    return name.strip(), value.strip()
'''

NO_KEY: dict[str, str] = {}


@pytest.fixture
def srv() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


def settings_for(srv: OpenAIServer, backend: str = "sqlite", tmp: Path | None = None) -> Settings:
    s = Settings()
    s.llm.base_url = srv.base_url
    s.llm.max_retries = 0
    s.llm.timeout_seconds = 5
    s.llm.embedding_dimensions = 64
    if backend == "qdrant":
        assert tmp is not None
        s.vectors.backend = "qdrant"
        s.vectors.qdrant_path = str(tmp / "qdrant")
    return s


BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "qdrant"])


def embedded_inputs(srv: OpenAIServer) -> list[str]:
    return [t for r in srv.embedding_requests() for t in r.body["input"]]


@BACKENDS
def test_code_points_follow_the_index(
    tmp_db: Store, srv: OpenAIServer, tmp_path: Path, backend: str
) -> None:
    root = tmp_path / "ws"
    write_files(root, {"upload.py": UPLOAD, "headers.py": HTTP})
    stats = index(tmp_db, root)
    s = settings_for(srv, backend, tmp_path)
    emb = Embedder(tmp_db, s, env=NO_KEY)
    idx = open_index(tmp_db, s, emb.model, emb.dimensions)
    assert idx.backend == ("qdrant" if backend == "qdrant" else "sqlite-vec")

    first = code_vectors.sync(emb, idx, stats.project_id)
    # Modules, the class and the three functions: one vector each, one call.
    assert first.plan.entries == first.points == 6
    assert first.run.calls == 1 and first.run.embedded == 6
    assert idx.count() == 6
    text = embedded_inputs(srv)
    assert any(t.startswith("upload.py\nmethod upload.Uploader.retry_upload") for t in text)

    # Re-indexing an unchanged workspace, then syncing: no embedding call at all.
    indexer.index_workspace(tmp_db, root, s.index)
    again = code_vectors.sync(emb, idx, stats.project_id)
    assert again.run.calls == 0 and again.points == 0
    assert len(srv.embedding_requests()) == 1

    # Editing one function's body makes exactly one call for one text.
    (root / "upload.py").write_text(UPLOAD.replace("time.sleep(2 ** n)", "time.sleep(n)"))
    indexer.update_file(tmp_db, stats.project_id, root, "upload.py")
    edited = code_vectors.sync(emb, idx, stats.project_id)
    assert edited.run.calls == 1 and edited.run.embedded == 1 and edited.points == 1
    assert (
        srv.embedding_requests()[-1]
        .body["input"][0]
        .startswith("upload.py\nmethod upload.Uploader.retry_upload")
    )
    assert idx.count() == 6  # the old point's row was replaced, not kept beside it

    # Deleting a file removes its points (and the index's rows on the next sync).
    (root / "headers.py").unlink()
    indexer.update_file(tmp_db, stats.project_id, root, "headers.py")
    code_vectors.sync(emb, idx, stats.project_id)
    assert idx.count() == 4
    paths = {r[0] for r in tmp_db.conn().execute("SELECT DISTINCT path FROM vector_points")}
    assert paths == {"upload.py"}
    idx.close()


@BACKENDS
def test_hybrid_search_fuses_keyword_and_vector(
    tmp_db: Store, srv: OpenAIServer, tmp_path: Path, backend: str
) -> None:
    root = tmp_path / "ws"
    write_files(root, {"upload.py": UPLOAD, "headers.py": HTTP})
    stats = index(tmp_db, root)
    s = settings_for(srv, backend, tmp_path)

    before = hybrid.search(tmp_db, s, "retry upload", env=NO_KEY)
    assert not before.semantic and "mira-ls embed" in before.notes[0]
    assert before.results[0].symbol == "upload.Uploader.retry_upload"

    emb = Embedder(tmp_db, s, env=NO_KEY)
    idx = open_index(tmp_db, s, emb.model, emb.dimensions)
    code_vectors.sync(emb, idx, stats.project_id)
    idx.close()
    answer = hybrid.search(tmp_db, s, "retry upload", env=NO_KEY, project_ids=[stats.project_id])
    assert answer.semantic and answer.notes == []
    top = answer.results[0]
    assert top.symbol == "upload.Uploader.retry_upload" and top.via == "both"
    assert {r.via for r in answer.results} <= {"keyword", "vector", "both"}
    assert any(r.via == "vector" for r in answer.results)  # vectors rank every definition

    # Without a key for OpenAI: keyword results and the reason.
    plain = Settings()
    off = hybrid.search(tmp_db, plain, "retry upload", env={})
    assert not off.semantic and "OPENAI_API_KEY" in off.notes[0]
    assert off.results[0].symbol == "upload.Uploader.retry_upload"

    # The endpoint going down after embedding: keyword results and a sentence.
    srv.stop()
    down = hybrid.search(tmp_db, s, "where are headers split", env=NO_KEY)
    assert not down.semantic and "Semantic search is off for this query" in down.notes[0]
    assert down.results[0].symbol == "headers.parse_http_header"


@pytest.mark.parametrize(
    ("dims", "n", "centres", "warm"),
    [
        (256, 3000, 60, False),  # vec0's own scan (no copy in memory)
        (256, 3000, 60, True),  # in memory: the full Hamming distance of every point
        (2112, 4500, 90, True),  # in memory: a 1,024-bit shortlist first (33 words)
    ],
)
def test_binary_first_pass_keeps_the_exact_neighbours(
    tmp_db: Store, dims: int, n: int, centres: int, warm: bool
) -> None:
    """Recall@10 of Hamming candidates + exact re-score against an exact cosine scan, on
    clustered vectors (queries near the data, as real searches are)."""
    rng = np.random.default_rng(7)
    centre = rng.standard_normal((centres, dims)).astype(np.float32)
    data = centre[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, dims))
    data = (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)
    model = "test-model"
    digests = [text_hash(f"t{i}") for i in range(n)]
    with tmp_db.write() as c:
        emb_store.insert(
            c, model, dims, [(d, to_blob(v), 1) for d, v in zip(digests, data, strict=False)]
        )
    ids = emb_store.stored(tmp_db.conn(), model, dims, digests)
    with tmp_db.write() as c:
        vstore.replace_points(
            c,
            [
                vstore.NewPoint(
                    "code",
                    point_id(model, dims, d),
                    ids[d][0],
                    None,
                    "function",
                    "a.py",
                    None,
                    None,
                    d,
                )
                for d in digests
            ],
        )
    idx = SqliteVecIndex(tmp_db, model, dims)
    assert idx.sync() == (n, 0)
    if warm:
        assert idx.warm() == n
    recalls = []
    for _q in range(40):
        query = data[rng.integers(0, n)] + 0.1 * rng.standard_normal(dims).astype(np.float32)
        exact = set(np.argsort(-(data @ query))[:10].tolist())
        hits = idx.search(query, "code", limit=10)
        got = {digests.index(h.point.content_hash) for h in hits}
        recalls.append(len(got & exact) / 10)
    assert float(np.mean(recalls)) >= 0.95


def _add_points(store: Store, model: str, vecs: dict[str, np.ndarray], project: int | None) -> None:
    dims = len(next(iter(vecs.values())))
    with store.write() as c:
        emb_store.insert(c, model, dims, [(text_hash(t), to_blob(v), 1) for t, v in vecs.items()])
    ids = emb_store.stored(store.conn(), model, dims, [text_hash(t) for t in vecs])
    with store.write() as c:
        vstore.replace_points(
            c,
            [
                vstore.NewPoint(
                    "code", point_id(model, dims, text_hash(t)), ids[text_hash(t)][0], project,
                    "function", f"{t}.py", None, None, text_hash(t),
                )
                for t in vecs
            ],
        )  # fmt: skip


def test_bits_in_memory_follow_every_sync(tmp_db: Store, tmp_path: Path) -> None:
    """Once warmed the sign bits are in memory; a sync that adds or removes points (in
    this store or another process's) is seen by the next search, and filters by project
    still hold."""
    rng = np.random.default_rng(3)
    dims, model = 104, "test-model"  # 13 bytes of bits, padded to two words
    with tmp_db.write() as c:
        c.execute("INSERT INTO projects(id, root_path, name) VALUES (2, '/p2', 'p2')")
    first = {f"a{i}": rng.standard_normal(dims).astype(np.float32) for i in range(50)}
    _add_points(tmp_db, model, first, None)
    idx = SqliteVecIndex(tmp_db, model, dims)
    idx.sync()
    probe = first["a7"]
    assert idx.search(probe, "code", limit=1)[0].point.path == "a7.py"  # by vec0's scan
    assert idx.warm() == 50
    assert idx.search(probe, "code", limit=1)[0].point.path == "a7.py"

    # a near twin in project 2, synced by another store on the same file (another process)
    other = Store(tmp_path / "mira.db")
    twin = {"b1": probe + 0.001 * rng.standard_normal(dims).astype(np.float32)}
    _add_points(other, model, twin, 2)
    assert SqliteVecIndex(other, model, dims).sync() == (1, 0)
    other.close()
    assert {h.point.path for h in idx.search(probe, "code", limit=2)} == {"a7.py", "b1.py"}
    assert [h.point.path for h in idx.search(probe, "code", project_ids=[2], limit=5)] == ["b1.py"]
    assert idx.search(probe, "code", project_ids=[3], limit=5) == []
    assert idx.search(probe, "git", limit=5) == []

    # the original goes: the next search no longer finds it
    with tmp_db.write() as c:
        c.execute("DELETE FROM vector_points WHERE path = 'a7.py'")
    assert idx.sync() == (0, 1)
    assert idx.search(probe, "code", limit=1)[0].point.path == "b1.py"
    assert "a7.py" not in {h.point.path for h in idx.search(probe, "code", limit=60)}
    assert len(idx.search(probe, "code", limit=60)) == 50

    # another process adds too many to read on a request: that search takes vec0's scan
    # (the same answer) while the whole copy is read again in the background
    other = Store(tmp_path / "mira.db")
    many = {f"c{i}": rng.standard_normal(dims).astype(np.float32) for i in range(30)}
    many["c0"] = probe + 0.002 * rng.standard_normal(dims).astype(np.float32)
    _add_points(other, model, many, None)
    assert SqliteVecIndex(other, model, dims).sync() == (30, 0)
    other.close()
    assert [h.point.path for h in idx.search(probe, "code", limit=2)] == ["b1.py", "c0.py"]
    deadline = time.monotonic() + 30
    while (held := sqlite_vec._memory[tmp_db].get(idx.table)) is None or len(held.ids) != 80:
        assert time.monotonic() < deadline, "the copy was not read again"
        time.sleep(0.05)
    assert [h.point.path for h in idx.search(probe, "code", limit=2)] == ["b1.py", "c0.py"]


def test_warming_reads_nothing_and_writes_nothing_without_vectors(tmp_db: Store) -> None:
    s = Settings()
    assert vector_stores.warm(tmp_db, s) == 0
    tables = "SELECT count(*) FROM sqlite_master WHERE name LIKE 'vec_bits_%'"
    assert tmp_db.conn().execute(tables).fetchone()[0] == 0
    s.vectors.backend = "qdrant"
    assert vector_stores.warm(tmp_db, s) == 0


def test_cli_embed_says_the_cost_then_embeds_once(srv: OpenAIServer, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"upload.py": UPLOAD, "headers.py": HTTP})
    env = {
        "MIRA_DB": str(tmp_path / "mira.db"),
        "MIRA_LLM_BASE_URL": srv.base_url,
        "MIRA_LLM_EMBEDDING_DIMENSIONS": "64",
        "MIRA_LLM_MAX_RETRIES": "0",
    }
    unset = ["OPENAI_API_KEY", "MIRA_OPENAI_API_KEY", "OPENAI_BASE_URL"]
    dry = run_cli("embed", str(root), "--dry-run", "--json", env=env, unset=unset)
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["to_embed"] == 6 and plan["current"] == 0 and plan["estimated_usd"] > 0
    assert srv.embedding_requests() == []

    done = run_cli("embed", str(root), "--json", "--quiet", env=env, unset=unset)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["embedded"] == 6
    again = run_cli("embed", str(root), "--json", "--quiet", env=env, unset=unset)
    assert json.loads(again.stdout)["embedded"] == 0
    assert len(srv.embedding_requests()) == 1
    # each run is an operation with its events and what it spent
    ops = run_cli("ops", "--json", env=env, unset=unset, cwd=root)
    assert ops.returncode == 0, ops.stderr
    runs = [o for o in json.loads(ops.stdout) if o["kind"] == "embed"]
    assert [(o["status"], o["model"]) for o in runs] == [("done", "text-embedding-3-large")] * 2
    assert runs[1]["cost_usd"] == json.loads(done.stdout)["cost_usd"] > 0  # newest first
    assert runs[0]["cost_usd"] == 0
    assert [e["status"] for e in runs[1]["events"]] == ["pending", "running", "done"]

    found = run_cli("search", "retry upload", "--json", env=env, unset=unset, cwd=root)
    assert found.returncode == 0, found.stderr
    top = json.loads(found.stdout)[0]
    assert top["symbol"] == "upload.Uploader.retry_upload" and top["via"] == "both"

    status = run_cli("db", "status", "--json", env=env, unset=unset)
    data = json.loads(status.stdout)
    assert data["collections"] == [
        {
            "collection": "code",
            "backend": "sqlite-vec",
            "model": "text-embedding-3-large",
            "dimensions": 64,
            "vectors": 6,
            "bytes": 6 * 64 * 4,
        }
    ]
    assert data["keyword_index"]["symbols"] == 6

    expensive = dict(env, MIRA_VECTORS_CONFIRM_ABOVE_USD="0")
    write_files(root, {"more.py": "def brand_new_function():\n    return 42\n"})
    refused = run_cli("embed", str(root), env=expensive, unset=unset, stdin="")
    assert refused.returncode == 1 and "--yes" in refused.stderr


def test_qdrant_server_not_listening(tmp_db: Store, srv: OpenAIServer, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"upload.py": UPLOAD})
    stats = index(tmp_db, root)
    s = settings_for(srv)
    emb = Embedder(tmp_db, s, env=NO_KEY)
    idx = SqliteVecIndex(tmp_db, emb.model, emb.dimensions)
    code_vectors.sync(emb, idx, stats.project_id)  # vectors exist locally
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s.vectors.backend = "qdrant"
    s.vectors.qdrant_url = f"http://127.0.0.1:{port}"
    answer = hybrid.search(tmp_db, s, "retry upload", env=NO_KEY)
    assert not answer.semantic
    assert f"Qdrant server at http://127.0.0.1:{port} is not answering" in answer.notes[0]
    assert answer.results[0].symbol == "upload.Uploader.retry_upload"
    with pytest.raises(QdrantUnavailable, match="nothing was deleted"):
        code_vectors.sync(emb, open_index(tmp_db, s, emb.model, emb.dimensions), stats.project_id)
    assert idx.count() == 4  # the local vectors and points are all still there


def test_qdrant_collection_of_other_dimensions_is_left_alone(
    tmp_db: Store, srv: OpenAIServer, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    write_files(root, {"upload.py": UPLOAD})
    stats = index(tmp_db, root)
    s = settings_for(srv, "qdrant", tmp_path)
    emb = Embedder(tmp_db, s, env=NO_KEY)
    idx = open_index(tmp_db, s, emb.model, emb.dimensions)
    code_vectors.sync(emb, idx, stats.project_id)
    # Another space on the same storage is another collection: both live side by side.
    assert isinstance(idx, QdrantIndex)
    from qdrant_client import models

    idx.client.create_collection(
        "mira_other", vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE)
    )
    idx.name = "mira_other"
    with pytest.raises(QdrantUnavailable, match="holds 8-dimensional vectors"):
        idx.sync()
    assert idx.client.collection_exists("mira_other")
    idx.close()


def test_the_llm_search_code_tool_ranks_by_meaning_too(
    tmp_db: Store, srv: OpenAIServer, tmp_path: Path
) -> None:
    from mira_ls.llm.tools import ToolBox

    root = tmp_path / "ws"
    write_files(root, {"upload.py": UPLOAD, "headers.py": HTTP})
    stats = index(tmp_db, root)
    s = settings_for(srv)
    own = ToolBox(tmp_db, stats.project_id, root, semantic=s, env=NO_KEY)
    agent = ToolBox(tmp_db, stats.project_id, root)  # MCP: never embeds a query
    before = own.call("search_code", {"query": "retry upload"})
    assert before.text.startswith("upload.Uploader.retry_upload (method) upload.py:7")
    assert "(keyword search only: " in before.text and "mira-ls embed" in before.text
    emb = Embedder(tmp_db, s, env=NO_KEY)
    idx = open_index(tmp_db, s, emb.model, emb.dimensions)
    code_vectors.sync(emb, idx, stats.project_id)
    idx.close()
    calls = len(srv.embedding_requests())
    after = own.call("search_code", {"query": "retry upload"})
    assert after.text.splitlines()[0].endswith("[both]") and "keyword search only" not in after.text
    assert "[vector]" in after.text  # vectors rank every definition
    assert len(srv.embedding_requests()) == calls + 1  # the query, through the budget
    plain = agent.call("search_code", {"query": "retry upload"})
    assert "[both]" not in plain.text and len(srv.embedding_requests()) == calls + 1


def test_dimensions_not_a_multiple_of_eight(tmp_db: Store) -> None:
    """A shortened embedding of 100 dimensions (text-embedding-3 accepts any) is stored
    and found: the sign bits are padded to whole bytes for vec0."""
    rng = np.random.default_rng(11)
    dims, model = 100, "test-model"
    vecs = {f"d{i}": rng.standard_normal(dims).astype(np.float32) for i in range(20)}
    _add_points(tmp_db, model, vecs, None)
    idx = SqliteVecIndex(tmp_db, model, dims)
    assert idx.sync() == (20, 0)
    assert idx.search(vecs["d3"], "code", limit=1)[0].point.path == "d3.py"
    assert idx.warm() == 20
    assert idx.search(vecs["d5"], "code", limit=1)[0].point.path == "d5.py"


def test_a_replaced_point_never_takes_the_old_ones_id(tmp_db: Store) -> None:
    """Re-embedding deletes a point and inserts another; SQLite would hand the new one the
    highest id again, and the bit table (which mirrors vector_points by id) would keep the
    old vector's bits. Ids are never reused, so the sync replaces them."""
    rng = np.random.default_rng(5)
    dims, model = 64, "test-model"
    vecs = {f"e{i}": rng.standard_normal(dims).astype(np.float32) for i in range(10)}
    _add_points(tmp_db, model, vecs, None)
    idx = SqliteVecIndex(tmp_db, model, dims)
    assert idx.sync() == (10, 0)
    last = tmp_db.conn().execute("SELECT max(id) FROM vector_points").fetchone()[0]
    with tmp_db.write() as c:
        c.execute("DELETE FROM vector_points WHERE id = ?", (last,))
    fresh = -vecs["e9"]  # opposite bits everywhere
    _add_points(tmp_db, model, {"f0": fresh}, None)
    new_id = tmp_db.conn().execute("SELECT max(id) FROM vector_points").fetchone()[0]
    assert new_id > last
    assert idx.sync() == (1, 1)
    assert idx.search(fresh, "code", limit=1)[0].point.path == "f0.py"
