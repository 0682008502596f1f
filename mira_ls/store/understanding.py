"""Queries over semantic_analysis_cache, semantic_nodes and concept_index (002, 021).

A module's or a class's analysis also records, in its ``result``, ``input_hash``: the hash
of what the model was shown of it (understand/semantic.py). The index keeps such rows when
the definition's content changes (store/invalidation.py) and the analysis is carried over
to the new content when what the model would be shown is the same, so an edit to a
function further down a file does not ask for its file's summary again."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection

ANALYSED_KINDS = ("module", "class", "function", "method", "constructor")
# kinds whose analysis is keyed on what the model is shown (their content also changes with
# every edit of a member the model may not see); the others on their content hash
INPUT_KEYED_KINDS = ("module", "class")


@dataclass(frozen=True)
class Pending:
    id: int
    file_path: str
    kind: str
    qualified_name: str
    start_line: int
    end_line: int
    content_hash: str
    # the input hash of its analysis made at another content, when it has one (a module's
    # or class's): the analysis holds if what the model would be shown is the same
    input_hash: str | None = None


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
    """Symbols under ``prefix`` with no analysis at their current content hash (with the
    input hash of one made at another content, when kept), and how many have one."""
    like = prefix.rstrip("/")
    rows = conn.execute(
        "SELECT e.id, e.file_path, e.kind, e.qualified_name, e.start_line, e.end_line, "
        "e.content_hash, EXISTS (SELECT 1 FROM semantic_analysis_cache c WHERE c.symbol_id "
        "= e.id AND c.analysis_kind = ? AND c.content_hash = e.content_hash), (SELECT "
        "json_extract(c.result, '$.input_hash') FROM semantic_analysis_cache c WHERE "
        "c.symbol_id = e.id AND c.analysis_kind = ? AND json_extract(c.result, "
        "'$.input_hash') IS NOT NULL LIMIT 1) FROM code_elements e WHERE e.project_id = ? "
        f"AND e.kind IN ({','.join('?' * len(ANALYSED_KINDS))}) AND (? = '' OR "
        "e.file_path = ? OR e.file_path LIKE ?) ORDER BY e.file_path, e.start_line",
        (kind, kind, project_id, *ANALYSED_KINDS, like, like, like + "/%"),
    ).fetchall()
    todo = [Pending(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[8]) for r in rows if not r[7]]
    return todo, len(rows) - len(todo)


def carry_analyses(conn: Connection, kind: str, symbols: list[tuple[int, str]]) -> None:
    """(symbol id, current content hash): their analyses hold at this content too (what
    the model would be shown of them is unchanged), so they are now made at it."""
    now = int(time.time())
    conn.executemany(
        "UPDATE OR REPLACE semantic_analysis_cache SET content_hash = ?, last_used_at = ? WHERE "
        "symbol_id = ? AND analysis_kind = ?",
        [(h, now, sid, kind) for sid, h in symbols],
    )
    conn.executemany(
        "UPDATE semantic_nodes SET content_hash = ?, updated_at = ? WHERE symbol_id = ? AND "
        "analyzed_at IS NOT NULL",
        [(h, now, sid) for sid, h in symbols],
    )


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
    input_hash: str | None = None,
) -> None:
    """The cache row, the semantic node and the symbol's concepts, replacing older ones;
    ``input_hash`` (a module's or class's): the hash of what the model was shown."""
    now = int(time.time())
    concepts = _clean(item["concepts"])
    effects = _clean(item["side_effects"])
    domain = " ".join(item["domain"].split())[:80]
    purpose = " ".join(item["purpose"].split())[:300]
    data: dict[str, Any] = {
        "purpose": purpose,
        "concepts": concepts,
        "domain": domain,
        "side_effects": effects,
    }
    if input_hash is not None:
        data["input_hash"] = input_hash
    result = json.dumps(data)
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
