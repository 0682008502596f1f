"""The vector store the settings name, behind one interface (sync, count, search, close)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from mira_ls.config import Settings
from mira_ls.store import Store
from mira_ls.vectors.qdrant import QdrantIndex, QdrantUnavailable
from mira_ls.vectors.sqlite_vec import SqliteVecIndex, VectorHit

__all__ = ["QdrantUnavailable", "VectorIndex", "open_index"]


class VectorIndex(Protocol):
    backend: str

    def sync(self) -> tuple[int, int]: ...

    def count(self) -> int: ...

    def search(
        self,
        query: np.ndarray,
        collection: str,
        *,
        project_ids: Sequence[int] | None = None,
        kinds: Sequence[str] | None = None,
        path_glob: str | None = None,
        limit: int = 20,
    ) -> list[VectorHit]: ...

    def close(self) -> None: ...


def uses_qdrant(settings: Settings) -> bool:
    v = settings.vectors
    return bool(v.backend == "qdrant" or v.qdrant_url or v.qdrant_path)


def open_index(store: Store, settings: Settings, model: str, dimensions: int) -> VectorIndex:
    """sqlite-vec unless vectors.backend is qdrant (or a Qdrant URL or path is set).
    Raises QdrantUnavailable with a sentence when Qdrant cannot be reached."""
    v = settings.vectors
    if uses_qdrant(settings):
        if not v.qdrant_url and not v.qdrant_path:
            raise QdrantUnavailable(
                "vectors.backend is qdrant but neither vectors.qdrantUrl (a server) nor "
                "vectors.qdrantPath (local mode) is set. Keyword search works meanwhile."
            )
        return QdrantIndex(
            store,
            model,
            dimensions,
            url=v.qdrant_url,
            path=v.qdrant_path,
            timeout_s=min(settings.llm.timeout_seconds, 10.0),
        )
    return SqliteVecIndex(store, model, dimensions)


def warm(store: Store, settings: Settings) -> int:
    """For a long-lived process (the server): read the configured space's sqlite-vec bits
    into memory, so its searches skip vec0's scan. Nothing for Qdrant, without
    sqlite-vec, or with semantic search off; returns the points read."""
    from mira_ls.vectors.sqlite_vec import unavailable_reason

    if uses_qdrant(settings) or not settings.vectors.semantic or unavailable_reason():
        return 0
    model, dims = settings.llm.embedding_model, int(settings.llm.embedding_dimensions)
    return SqliteVecIndex(store, model, dims).warm()
