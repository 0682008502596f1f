"""What a search returns, whichever ranking produced it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COLLECTIONS = ("code", "git")
RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al.; Elastic and Qdrant use 60)


@dataclass(frozen=True)
class SearchResult:
    """One ranked hit. ``collection`` is 'code' (a symbol) or 'git' (a commit); ``via``
    says which ranking found it: 'keyword', 'vector' or 'both'. ``score`` is the fused
    reciprocal-rank score (higher is better; only the order means something)."""

    collection: str
    project_id: int
    path: str | None
    line: int | None  # 1-based line of the symbol's name
    col: int  # 0-based code points
    symbol: str | None  # qualified name, or the commit's subject
    kind: str  # the symbol's kind (function, class...) or 'commit'
    score: float
    via: str
    symbol_id: int | None = None
    end_line: int | None = None
    signature: str | None = None
    commit: str | None = None
    files: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The CLI's --json shape (CONVENTIONS: path, line, symbol, kind, score, via)."""
        out: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "symbol": self.symbol,
            "kind": self.kind,
            "score": round(self.score, 6),
            "via": self.via,
            "collection": self.collection,
        }
        if self.collection == "code":
            out["col"] = self.col + 1
            out["signature"] = self.signature
        else:
            out["commit"] = self.commit
            out["files"] = self.files
        return out


def rrf(rank: int) -> float:
    """The reciprocal-rank contribution of a 0-based rank."""
    return 1.0 / (RRF_K + rank + 1)
