"""Qdrant behind the same interface as sqlite-vec: local embedded mode (``vectors.qdrantPath``)
or a server (``vectors.qdrantUrl``, a team's; the API key only from MIRA_QDRANT_API_KEY).

A point's id is derived from its text's key (model, dimensions, SHA-256), so teammates on
one server who have the same code share its point and pay for its vector once. The
payload names the collection, the projects (by folder name) and kinds holding the text
(and, for the ``git`` collection, the commit hashes);
searches filter on it and map the hits back to this database's entries. A server's points
are never deleted by a sync (another user may still have that text); local mode deletes
what this database no longer has. ``conversation`` points carry their owner and are only
ever searched with that owner's filter.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from mira_ls.store import Store
from mira_ls.store import vectors as vstore
from mira_ls.vectors.sqlite_vec import VectorHit

log = logging.getLogger(__name__)

API_KEY_VAR = "MIRA_QDRANT_API_KEY"


class QdrantUnavailable(Exception):
    """str(exc) says what is wrong and what to do; keyword search goes on meanwhile."""


class QdrantIndex:
    backend = "qdrant"

    def __init__(
        self,
        store: Store,
        model: str,
        dimensions: int,
        *,
        url: str = "",
        path: str = "",
        timeout_s: float = 5.0,
    ) -> None:
        self.store = store
        self.model = model
        self.dimensions = dimensions
        self.url = url
        self.path = path
        self.local = not url
        digest = hashlib.sha256(f"{model}\0{dimensions}".encode()).hexdigest()[:10]
        self.name = f"mira_{dimensions}_{digest}"
        try:
            from qdrant_client import QdrantClient
        except ImportError as exc:
            raise QdrantUnavailable(
                "vectors.backend is qdrant but qdrant-client is not installed: "
                "pip install 'mira-ls[qdrant]'. Keyword search works meanwhile."
            ) from exc
        where = url or path
        try:
            if url:
                self.client = QdrantClient(
                    url=url,
                    api_key=os.environ.get(API_KEY_VAR) or None,
                    timeout=int(timeout_s),
                    check_compatibility=False,
                )
            else:
                self.client = QdrantClient(path=path)
        except Exception as exc:
            raise QdrantUnavailable(self._explain(exc, where)) from exc

    def _explain(self, exc: BaseException, where: str) -> str:
        if self.url:
            return (
                f"The Qdrant server at {self.url} is not answering ({type(exc).__name__}: "
                f"{str(exc)[:160]}). Start it or fix vectors.qdrantUrl; keyword search "
                "works meanwhile, and nothing was deleted."
            )
        return (
            f"Qdrant's local storage at {where} cannot be opened ({str(exc)[:200]}). Another "
            "mira-ls may hold it (local mode allows one process); close it or set another "
            "vectors.qdrantPath. Keyword search works meanwhile."
        )

    def close(self) -> None:
        try:
            self.client.close()
        except Exception as exc:  # closing twice, or a server gone meanwhile
            log.debug("closing qdrant: %s", exc)

    def _ensure(self) -> None:
        from qdrant_client import models

        try:
            if self.client.collection_exists(self.name):
                info = self.client.get_collection(self.name)
                size = _size_of(info)
                if size is not None and size != self.dimensions:
                    raise QdrantUnavailable(
                        f"The Qdrant collection {self.name} holds {size}-dimensional vectors "
                        f"but mira.llm.embeddingDimensions is {self.dimensions}. Set the "
                        "dimensions back, or delete that collection yourself; nothing was "
                        "deleted."
                    )
                return
            self.client.create_collection(
                self.name,
                vectors_config=models.VectorParams(
                    size=self.dimensions, distance=models.Distance.COSINE
                ),
            )
        except QdrantUnavailable:
            raise
        except Exception as exc:
            raise QdrantUnavailable(self._explain(exc, self.url or self.path)) from exc

    def _names(self) -> dict[int, str]:
        return {
            int(r[0]): str(r[1]) for r in self.store.conn().execute("SELECT id, name FROM projects")
        }

    def _wanted(self) -> dict[str, dict[str, Any]]:
        """point_id -> payload for every point of this space in vector_points."""
        names = self._names()
        out: dict[str, dict[str, Any]] = {}
        for pid, coll, project_id, user_id, kind, digest, commit in self.store.conn().execute(
            "SELECT p.point_id, p.collection, p.project_id, p.user_id, p.kind, p.content_hash,"
            " coalesce(c.commit_hash, h.commit_hash)"
            " FROM vector_points p JOIN embeddings e ON e.id = p.embedding_id"
            " LEFT JOIN git_commits c ON c.id = p.commit_id"
            " LEFT JOIN historical_fixes h ON h.id = p.fix_id"
            " WHERE e.model = ? AND e.dimensions = ?",
            (self.model, self.dimensions),
        ):
            pay = out.setdefault(
                pid,
                {"collection": coll, "content_hash": digest, "projects": [], "kinds": []},
            )
            name = names.get(project_id) if project_id is not None else None
            if name and name not in pay["projects"]:
                pay["projects"].append(name)
            if kind not in pay["kinds"]:
                pay["kinds"].append(kind)
            if user_id is not None:
                pay["user"] = user_id
            if commit is not None and commit not in pay.setdefault("commits", []):
                pay["commits"].append(commit)  # git points: the commit (or fix's commit)
        return out

    def _present(self) -> set[str]:
        ids: set[str] = set()
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.name, limit=1000, offset=offset, with_payload=False, with_vectors=False
            )
            ids.update(str(p.id) for p in points)
            if offset is None:
                return ids

    def sync(self) -> tuple[int, int]:
        """Upsert the points Qdrant lacks; in local mode also delete the ones gone here."""
        from qdrant_client import models

        self._ensure()
        wanted = self._wanted()
        try:
            present = self._present()
            new = [p for p in wanted if p not in present]
            conn = self.store.conn()
            for i in range(0, len(new), 256):
                chunk = new[i : i + 256]
                vecs = dict(
                    conn.execute(
                        "SELECT p.point_id, e.vector FROM vector_points p JOIN embeddings e"
                        " ON e.id = p.embedding_id WHERE e.model = ? AND e.dimensions = ?"
                        f" AND p.point_id IN ({','.join('?' * len(chunk))})",
                        (self.model, self.dimensions, *chunk),
                    ).fetchall()
                )
                self.client.upsert(
                    self.name,
                    points=[
                        models.PointStruct(
                            id=p,
                            vector=np.frombuffer(vecs[p], dtype="<f4").tolist(),
                            payload=wanted[p],
                        )
                        for p in chunk
                        if p in vecs
                    ],
                )
            gone = sorted(present - wanted.keys()) if self.local else []
            if gone:
                self.client.delete(
                    self.name, points_selector=models.PointIdsList(points=list[Any](gone))
                )
        except QdrantUnavailable:
            raise
        except Exception as exc:
            raise QdrantUnavailable(self._explain(exc, self.url or self.path)) from exc
        return len(new), len(gone)

    def count(self) -> int:
        try:
            return int(self.client.count(self.name).count)
        except Exception:
            return 0

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
        from qdrant_client import models

        self._ensure()
        must: list[Any] = [
            models.FieldCondition(key="collection", match=models.MatchValue(value=collection))
        ]
        if project_ids is not None:
            names = self._names()
            wanted = [names[p] for p in project_ids if p in names]
            must.append(models.FieldCondition(key="projects", match=models.MatchAny(any=wanted)))
        if kinds:
            must.append(models.FieldCondition(key="kinds", match=models.MatchAny(any=list(kinds))))
        try:
            res = self.client.query_points(
                self.name,
                query=np.asarray(query, dtype=np.float32).tolist(),
                query_filter=models.Filter(must=must),
                limit=max(limit * 2, limit + 10),
                with_payload=False,
            )
        except Exception as exc:
            raise QdrantUnavailable(self._explain(exc, self.url or self.path)) from exc
        score = {str(p.id): float(p.score) for p in res.points}
        rows = _rows_for_points(self.store, list(score), collection, project_ids, kinds, path_glob)
        hits = [VectorHit(r, score[r.point_id]) for r in rows]
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]


def _size_of(info: Any) -> int | None:
    vectors = getattr(getattr(info, "config", None), "params", None)
    vectors = getattr(vectors, "vectors", None)
    return getattr(vectors, "size", None)


def _rows_for_points(
    store: Store,
    point_ids: list[str],
    collection: str,
    project_ids: Sequence[int] | None,
    kinds: Sequence[str] | None,
    path_glob: str | None,
) -> list[vstore.PointRow]:
    """This database's entries behind Qdrant's point ids (one per entry, filters applied)."""
    if not point_ids:
        return []
    conn = store.conn()
    where = f"p.collection = ? AND p.point_id IN ({','.join('?' * len(point_ids))})"
    args: list[Any] = [collection, *point_ids]
    if project_ids is not None:
        where += f" AND p.project_id IN ({','.join('?' * len(project_ids))})"
        args.extend(project_ids)
    ids = [int(r[0]) for r in conn.execute(f"SELECT p.id FROM vector_points p WHERE {where}", args)]
    return vstore.point_rows(conn, ids, kinds=kinds, path_glob=path_glob)
