"""What build knowledge went into an LLM request: the API the LLM subsystem calls when it
puts build errors and their past resolutions into a prompt's context."""

from __future__ import annotations

import time
from dataclasses import dataclass

from mira_ls.store import Store
from mira_ls.store import build_injections as injection_store
from mira_ls.store.build_injections import InjectionRow


@dataclass(frozen=True)
class Injection:
    """One build error (and optionally one of its resolutions) handed to the model."""

    error_id: int
    resolution_id: int | None
    token_count: int


def record_injections(
    store: Store, project_id: int, request_key: str, items: list[Injection], at: int | None = None
) -> list[int]:
    """Record, in one transaction, what a request's context held; returns the row ids."""
    when = int(time.time()) if at is None else at
    with store.write() as conn:
        return [
            injection_store.record(
                conn,
                project_id,
                i.error_id,
                request_key,
                resolution_id=i.resolution_id,
                token_count=i.token_count,
                at=when,
            )
            for i in items
        ]


def injected_for_request(store: Store, request_key: str) -> list[InjectionRow]:
    return injection_store.for_request(store.conn(), request_key)


def injected_for_error(store: Store, error_id: int) -> list[InjectionRow]:
    return injection_store.for_error(store.conn(), error_id)
