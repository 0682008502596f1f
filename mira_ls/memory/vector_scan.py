"""Nearest rows of a matrix of unit vectors, for recall and document search.

A small matrix is scanned exactly. A large one (more than EXACT_ROWS rows) is first
shortlisted by the Hamming distance between sign bits (binary quantization: one bit per
dimension, 384 bytes for 3,072 dimensions, so 10,000 rows are 3.8 MB instead of 123 MB of
float32), then the shortlist (at least SHORTLIST rows, SHORTLIST_FACTOR times what is asked)
is scored exactly; the scores returned are always exact cosines. ``einsum`` is used for the
products rather than BLAS: on a machine whose cores are busy, multi-threaded OpenBLAS made a
single matrix-vector product take 20-40 ms waiting for its threads (measured on the 2
shared cores here), where one thread takes 1 ms for the shortlist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXACT_ROWS = 4096  # up to this many rows, every row is scored exactly
SHORTLIST = 256
SHORTLIST_FACTOR = 8


def _signs(mat: np.ndarray) -> np.ndarray:
    """Each row's sign bits, packed into uint64 words (zero-padded to a whole word)."""
    bits = np.packbits(mat > 0, axis=1)
    pad = (-bits.shape[1]) % 8
    if pad:
        bits = np.pad(bits, ((0, 0), (0, pad)))
    return np.ascontiguousarray(bits).view(np.uint64)


@dataclass
class UnitMatrix:
    """Rows of unit vectors (float32) with their sign bits when the matrix is large."""

    mat: np.ndarray
    bits: np.ndarray | None = None

    @classmethod
    def of(cls, mat: np.ndarray) -> UnitMatrix:
        mat = np.ascontiguousarray(mat, dtype=np.float32)
        return cls(mat, _signs(mat) if len(mat) > EXACT_ROWS else None)

    def __len__(self) -> int:
        return len(self.mat)

    def top(self, qv: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(row indices, exact cosines) of the ``k`` nearest rows to the unit vector ``qv``,
        best first."""
        n = len(self.mat)
        if n == 0 or k <= 0:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(qv, dtype=np.float32)
        rows: np.ndarray | None = None
        want = max(SHORTLIST, SHORTLIST_FACTOR * k)
        if self.bits is not None and n > EXACT_ROWS and want < n:
            qb = _signs(q[None, :])[0]
            dist = np.bitwise_count(self.bits ^ qb).sum(axis=1, dtype=np.int32)
            rows = np.argpartition(dist, want - 1)[:want]
            sims = np.einsum("ij,j->i", self.mat[rows], q)
        else:
            sims = np.einsum("ij,j->i", self.mat, q)
        k = min(k, len(sims))
        part = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        order = part[np.argsort(-sims[part], kind="stable")]
        idx = rows[order] if rows is not None else order
        return idx, sims[order]
