"""A project's Resolver kept across requests while its code stands still.

A request that evaluates class hierarchies (the overrides a call may reach) would otherwise
build a Resolver and evaluate the same bases, scopes and imports again every time: 10-60 ms
for a method deep in SQLAlchemy's hierarchies. The held one is dropped when the project's
code generation (migration 048, moved by every write of a file row) has moved.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mira_ls.index.resolve_project import Resolver
from mira_ls.store import code as cs
from mira_ls.store.connection import Connection


class HeldResolvers:
    """One Resolver per project; one request at a time uses it (its memos are not safe to
    fill from two threads: a class's MRO is a placeholder while it is evaluated)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, tuple[int, Resolver]] = {}

    @contextmanager
    def hold(self, conn: Connection, project_id: int) -> Iterator[Resolver]:
        with self._lock:
            # read before anything the resolver reads: a write after this moves the
            # generation, so what it caches is never older than the generation it is kept for
            generation = cs.code_generation(conn, project_id)
            hit = self._held.get(project_id)
            if hit is None or hit[0] != generation:
                hit = (generation, Resolver(conn, project_id))
                self._held[project_id] = hit
            resolver = hit[1]
            resolver.conn = conn  # this request's thread's connection
            yield resolver
