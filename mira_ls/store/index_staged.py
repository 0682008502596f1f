"""A full index's calls awaiting project-wide resolution, kept in the database.

Written in the transaction that stores their file's symbols and deleted in the one that
stores their resolved edges, so a run killed in between leaves them here for the next run
(which stores them as pending edges and resolves them) instead of losing them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from mira_ls.store.connection import Connection


def _encode_ids(ids: Sequence[int]) -> str:
    if isinstance(ids, range) and ids.step == 1:
        return json.dumps([ids.start, len(ids)])
    return json.dumps([list(ids)])


def _decode_ids(text: str) -> Sequence[int]:
    v = json.loads(text)
    if len(v) == 2 and all(isinstance(x, int) for x in v):
        return range(v[0], v[0] + v[1])
    return [int(x) for x in v[0]]


def save(
    conn: Connection,
    project_id: int,
    items: Iterable[tuple[int, Sequence[int], bytes, int]],
) -> None:
    """Keep (file_id, caller ids, packed calls, count) of each staged file."""
    conn.executemany(
        "INSERT OR REPLACE INTO index_staged_calls(file_id, project_id, caller_ids, calls,"
        " call_count) VALUES (?,?,?,?,?)",
        [(fid, project_id, _encode_ids(ids), calls, n) for fid, ids, calls, n in items],
    )


def load(
    conn: Connection, project_id: int
) -> list[tuple[int, str, str, Sequence[int], bytes, int]]:
    """(file_id, path, language, caller ids, packed calls, count), in file id order."""
    rows = conn.execute(
        "SELECT s.file_id, f.file_path, COALESCE(f.language, ''), s.caller_ids, s.calls,"
        " s.call_count FROM index_staged_calls s JOIN repository_files f ON f.id = s.file_id"
        " WHERE s.project_id = ? ORDER BY s.file_id",
        (project_id,),
    ).fetchall()
    return [(r[0], r[1], r[2], _decode_ids(r[3]), bytes(r[4]), int(r[5])) for r in rows]


def delete(conn: Connection, file_ids: Iterable[int]) -> None:
    conn.executemany("DELETE FROM index_staged_calls WHERE file_id = ?", [(f,) for f in file_ids])


def delete_project(conn: Connection, project_id: int) -> None:
    conn.execute("DELETE FROM index_staged_calls WHERE project_id = ?", (project_id,))
