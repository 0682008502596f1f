"""The nearest-rows scan recall and document search use: exact below EXACT_ROWS, a
binary-quantized shortlist re-scored exactly above it; the scores are always exact cosines."""

from __future__ import annotations

import numpy as np
import pytest

from mira_ls.memory import vector_scan
from mira_ls.memory.vector_scan import UnitMatrix


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def clustered(n: int, dims: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((32, dims))
    rows = centres[rng.integers(0, 32, n)] + 0.6 * rng.standard_normal((n, dims))
    queries = centres[rng.integers(0, 32, 25)] + 0.6 * rng.standard_normal((25, dims))
    return unit(rows), unit(queries)


def exact(mat: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    sims = mat.astype(np.float64) @ q.astype(np.float64)
    return [int(i) for i in np.argsort(-sims, kind="stable")[:k]]


def test_a_small_matrix_is_scanned_exactly() -> None:
    mat, qs = clustered(500, 64)
    m = UnitMatrix.of(mat)
    assert m.bits is None
    for q in qs:
        rows, sims = m.top(q, 20)
        assert rows.tolist() == exact(mat, q, 20)
        assert sims == pytest.approx(mat[rows] @ q, abs=1e-5)
        assert list(sims) == sorted(sims, reverse=True)


def test_a_large_matrix_is_shortlisted_by_sign_bits_and_scored_exactly() -> None:
    mat, qs = clustered(vector_scan.EXACT_ROWS + 2000, 384)
    m = UnitMatrix.of(mat)
    assert m.bits is not None and m.bits.shape == (len(mat), 384 // 64)
    for q in qs:
        rows, sims = m.top(q, 20)
        assert rows.tolist() == exact(mat, q, 20)  # the shortlist held the true nearest
        assert sims == pytest.approx(mat[rows] @ q, abs=1e-5)


def test_odd_dimensions_pad_the_bits_and_edge_cases() -> None:
    mat, qs = clustered(vector_scan.EXACT_ROWS + 10, 70)
    m = UnitMatrix.of(mat)
    assert m.bits is not None and m.bits.shape[1] == 2  # 70 bits -> 9 bytes -> 2 words
    rows, _ = m.top(qs[0], 5)
    assert len(rows) == 5
    tiny = UnitMatrix.of(mat[:3])
    assert sorted(tiny.top(qs[0], 10)[0].tolist()) == [0, 1, 2]
    empty = UnitMatrix.of(np.zeros((0, 70), dtype=np.float32))
    assert len(empty.top(qs[0], 10)[0]) == 0
