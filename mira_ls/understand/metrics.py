"""Per-function nesting depth and parameter count of a file's bytes (one tree-sitter parse):
what measuring needs for functions indexed before migration 045 stored them, and for
text that is not indexed. The counting itself is index/metrics.py's, shared with the
index (which measures with the tree it parsed anyway).
"""

from __future__ import annotations

from mira_ls.index.metrics import FUNCTIONS, NESTING, FunctionShape, shapes
from mira_ls.index.symbols import decode, parse

__all__ = ["FUNCTIONS", "NESTING", "FunctionShape", "measure", "shapes"]


def measure(source: bytes, language: str) -> dict[int, FunctionShape]:
    """Shape of every function of the file, keyed by the 1-based line of its name (the
    line of the node's start when it has no name: a lambda)."""
    if language not in FUNCTIONS:
        return {}
    src, _ = decode(source)
    return shapes(parse(src, language).root_node, language)
