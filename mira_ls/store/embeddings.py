"""Stored embedding vectors, keyed by (model, dimensions, SHA-256 of the embedded text)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mira_ls.store.connection import Connection


def stored(
    conn: Connection, model: str, dimensions: int, hashes: Iterable[str]
) -> dict[str, tuple[int, bytes]]:
    """text_hash -> (embedding id, float32 vector bytes) for the hashes already embedded."""
    out: dict[str, tuple[int, bytes]] = {}
    keys = list(dict.fromkeys(hashes))
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        for eid, h, vec in conn.execute(
            "SELECT id, text_hash, vector FROM embeddings WHERE model = ? AND dimensions = ?"
            f" AND text_hash IN ({','.join('?' * len(chunk))})",
            (model, dimensions, *chunk),
        ):
            out[h] = (int(eid), bytes(vec))
    return out


def known(conn: Connection, model: str, dimensions: int, hashes: Iterable[str]) -> set[str]:
    """Which of ``hashes`` have a vector (without reading the vectors)."""
    out: set[str] = set()
    keys = list(dict.fromkeys(hashes))
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        out.update(
            r[0]
            for r in conn.execute(
                "SELECT text_hash FROM embeddings WHERE model = ? AND dimensions = ?"
                f" AND text_hash IN ({','.join('?' * len(chunk))})",
                (model, dimensions, *chunk),
            )
        )
    return out


def insert(
    conn: Connection, model: str, dimensions: int, rows: Sequence[tuple[str, bytes, int]]
) -> None:
    """(text_hash, float32 vector bytes, tokens); a hash stored meanwhile is kept as is."""
    conn.executemany(
        "INSERT INTO embeddings(model, dimensions, text_hash, vector, tokens)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(model, dimensions, text_hash) DO NOTHING",
        [(model, dimensions, h, v, t) for h, v, t in rows],
    )


def summary(conn: Connection) -> list[tuple[str, int, int, int]]:
    """(model, dimensions, vectors, bytes) per embedding space."""
    return [
        (str(r[0]), int(r[1]), int(r[2]), int(r[3] or 0))
        for r in conn.execute(
            "SELECT model, dimensions, count(*), sum(length(vector)) FROM embeddings"
            " GROUP BY model, dimensions ORDER BY model, dimensions"
        )
    ]
