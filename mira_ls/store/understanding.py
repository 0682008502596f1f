"""Queries over semantic_analysis_cache, semantic_nodes and concept_index (002, 021)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection

ANALYSED_KINDS = ("module", "class", "function", "method", "constructor")


@dataclass(frozen=True)
class Pending:
    id: int
    file_path: str
    kind: str
    qualified_name: str
    start_line: int
    end_line: int
    content_hash: str


@dataclass(frozen=True)
class Node:
    symbol_id: int
    purpose: str
    concepts: list[str]
    domain: str | None
    side_effects: list[str]
    content_hash: str


def pending_analysis(
    conn: Connection, project_id: int, prefix: str, kind: str
) -> tuple[list[Pending], int]:
    """Symbols under ``prefix`` with no analysis at their current content hash, and how
    many have one."""
    like = prefix.rstrip("/")
    rows = conn.execute(
        "SELECT e.id, e.file_path, e.kind, e.qualified_name, e.start_line, e.end_line, "
        "e.content_hash, c.id IS NOT NULL FROM code_elements e LEFT JOIN "
        "semantic_analysis_cache c ON c.symbol_id = e.id AND c.content_hash = e.content_hash "
        f"AND c.analysis_kind = ? WHERE e.project_id = ? AND e.kind IN "
        f"({','.join('?' * len(ANALYSED_KINDS))}) AND (? = '' OR e.file_path = ? OR "
        "e.file_path LIKE ?) ORDER BY e.file_path, e.start_line",
        (kind, project_id, *ANALYSED_KINDS, like, like, like + "/%"),
    ).fetchall()
    todo = [Pending(*r[:7]) for r in rows if not r[7]]
    return todo, len(rows) - len(todo)


def _clean(items: list[str], limit: int = 8) -> list[str]:
    out: list[str] = []
    for x in items:
        t = " ".join(x.split()).lower()[:80]
        if t and t not in out:
            out.append(t)
    return out[:limit]


def store_analysis(
    conn: Connection,
    project_id: int,
    symbol_id: int,
    content_hash: str,
    kind: str,
    item: dict[str, Any],
    model: str,
) -> None:
    """The cache row, the semantic node and the symbol's concepts, replacing older ones."""
    now = int(time.time())
    concepts = _clean(item["concepts"])
    effects = _clean(item["side_effects"])
    domain = " ".join(item["domain"].split())[:80]
    purpose = " ".join(item["purpose"].split())[:300]
    result = json.dumps(
        {"purpose": purpose, "concepts": concepts, "domain": domain, "side_effects": effects}
    )
    conn.execute(
        "DELETE FROM semantic_analysis_cache WHERE symbol_id = ? AND analysis_kind = ?",
        (symbol_id, kind),
    )
    conn.execute(
        "INSERT INTO semantic_analysis_cache(symbol_id, content_hash, analysis_kind, result, "
        "confidence, model, created_at, last_used_at) VALUES (?, ?, ?, ?, 0.8, ?, ?, ?)",
        (symbol_id, content_hash, kind, result, model, now, now),
    )
    # the symbol's node may be in the graph already (040), unanalysed: it gains the analysis
    conn.execute(
        "INSERT INTO semantic_nodes(project_id, node_kind, symbol_id, file_path, purpose, "
        "concepts, domain_labels, confidence, content_hash, model, side_effects, analyzed_at, "
        "updated_at) VALUES (?, 'symbol', ?, (SELECT file_path FROM code_elements WHERE id = ?),"
        " ?, ?, ?, 0.8, ?, ?, ?, ?, ?) ON CONFLICT(symbol_id) DO UPDATE SET "
        "purpose = excluded.purpose, concepts = excluded.concepts, domain_labels = "
        "excluded.domain_labels, content_hash = excluded.content_hash, model = excluded.model,"
        " side_effects = excluded.side_effects, confidence = excluded.confidence, "
        "analyzed_at = excluded.analyzed_at, updated_at = excluded.updated_at",
        (project_id, symbol_id, symbol_id, purpose, json.dumps(concepts),
         json.dumps([domain] if domain else []), content_hash, model, json.dumps(effects),
         now, now),
    )  # fmt: skip
    conn.execute("DELETE FROM concept_index WHERE symbol_id = ?", (symbol_id,))
    conn.executemany(
        "INSERT OR IGNORE INTO concept_index(project_id, concept, symbol_id, confidence, "
        "created_at) VALUES (?, ?, ?, 0.8, ?)",
        [(project_id, c, symbol_id, now) for c in concepts],
    )


def node_of(conn: Connection, symbol_id: int, content_hash: str | None = None) -> Node | None:
    """The symbol's analysis (only if made at ``content_hash`` when given)."""
    r = conn.execute(
        "SELECT symbol_id, purpose, concepts, domain_labels, side_effects, content_hash "
        "FROM semantic_nodes WHERE symbol_id = ? AND analyzed_at IS NOT NULL",
        (symbol_id,),
    ).fetchone()
    if r is None or (content_hash is not None and r[5] != content_hash):
        return None
    domains = json.loads(r[3])
    return Node(r[0], r[1], json.loads(r[2]), domains[0] if domains else None,
                json.loads(r[4]), r[5])  # fmt: skip


def symbols_with_concept(
    conn: Connection, project_id: int, concept: str, limit: int = 50
) -> list[tuple[int, str, str, int, str]]:
    """(symbol id, qualified name, file, name line, concept) whose concepts contain the
    text, exact matches first."""
    c = " ".join(concept.split()).lower()
    return [
        (int(r[0]), r[1], r[2], int(r[3]), r[4])
        for r in conn.execute(
            "SELECT e.id, e.qualified_name, e.file_path, e.name_line, ci.concept FROM "
            "concept_index ci JOIN code_elements e ON e.id = ci.symbol_id WHERE "
            "ci.project_id = ? AND ci.concept LIKE ? ORDER BY ci.concept != ?, e.file_path, "
            "e.name_line LIMIT ?",
            (project_id, f"%{c}%", c, limit),
        )
    ]


def analysed_count(conn: Connection, project_id: int) -> int:
    """How many of the project's definitions have a semantic analysis at all."""
    r = conn.execute(
        "SELECT count(*) FROM semantic_nodes WHERE project_id = ? AND node_kind = 'symbol' "
        "AND analyzed_at IS NOT NULL",
        (project_id,),
    ).fetchone()
    return int(r[0])


def spent_today(conn: Connection, day: str, operation: str) -> int:
    """Micro-dollars spent (or held by calls still running) today by one operation."""
    r = conn.execute(
        "SELECT coalesce(sum(cost_micro + CASE WHEN status = 'reserved' THEN reserved_micro"
        " ELSE 0 END), 0) FROM budget_tracking WHERE day = ? AND operation = ?",
        (day, operation),
    ).fetchone()
    return int(r[0])


def files_with_definitions(conn: Connection, project_id: int) -> set[str]:
    """Indexed files holding at least one definition the analysis covers."""
    return {
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT file_path FROM code_elements WHERE project_id = ? AND kind IN "
            f"({','.join('?' * len(ANALYSED_KINDS))}) AND kind <> 'module'",
            (project_id, *ANALYSED_KINDS),
        )
    }
