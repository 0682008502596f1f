"""Whose memory this is, and the embedder its vectors go through.

Memory belongs to the local user (never to the workspace), and its vectors are embedded
only when semantic search is on; every memory subsystem opens both the same way.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

from mira_ls.store import Store
from mira_ls.store import memory as sessions
from mira_ls.vectors.embeddings import Embedder, semantic_off_reason

if TYPE_CHECKING:
    from mira_ls.llm.service import LlmService


def username() -> str:
    try:
        return getpass.getuser() or "local"
    except Exception:  # no passwd entry (containers)
        return "local"


def local_user_id(store: Store) -> int:
    """The local user's id (created on first use, hence a write)."""
    with store.write() as w:
        return sessions.local_user_id(w, username())


def memory_embedder(store: Store, svc: LlmService) -> Embedder | None:
    """The embedder for memory's vectors, through the service's budget; None when semantic
    search is off (no endpoint or key)."""
    if semantic_off_reason(svc.settings, svc.env) is not None:
        return None
    return Embedder(store, svc.settings, budget=svc.budget, env=svc.env)
