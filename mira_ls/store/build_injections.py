"""build_context_injections: which build errors and resolutions went into an LLM request.

The LLM subsystem records what it handed over (so answers can be explained and context that
helped can be preferred); the build subsystem only defines the table's API.
"""

from __future__ import annotations

from dataclasses import dataclass

from mira_ls.store.connection import Connection, inserted_id

_COLS = "id, project_id, error_id, resolution_id, request_key, injected_at, token_count"


@dataclass(frozen=True)
class InjectionRow:
    id: int
    project_id: int
    error_id: int
    resolution_id: int | None
    request_key: str
    injected_at: int
    token_count: int


def record(
    conn: Connection,
    project_id: int,
    error_id: int,
    request_key: str,
    *,
    resolution_id: int | None,
    token_count: int,
    at: int,
) -> int:
    cur = conn.execute(
        "INSERT INTO build_context_injections(project_id, error_id, resolution_id, request_key, "
        "injected_at, token_count) VALUES (?, ?, ?, ?, ?, ?)",
        (project_id, error_id, resolution_id, request_key, at, token_count),
    )
    return inserted_id(cur)


def for_request(conn: Connection, request_key: str) -> list[InjectionRow]:
    rows = conn.execute(
        f"SELECT {_COLS} FROM build_context_injections WHERE request_key = ? ORDER BY id",
        (request_key,),
    ).fetchall()
    return [InjectionRow(*r) for r in rows]


def for_error(conn: Connection, error_id: int) -> list[InjectionRow]:
    rows = conn.execute(
        f"SELECT {_COLS} FROM build_context_injections WHERE error_id = ? ORDER BY id",
        (error_id,),
    ).fetchall()
    return [InjectionRow(*r) for r in rows]
