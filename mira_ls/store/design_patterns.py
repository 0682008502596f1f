"""Design patterns (002 design_patterns / design_pattern_members /
pattern_validation_cache, 021 status and evidence): the index's material the detectors
read, the candidates they found, and the LLM's verdicts cached by the members' hashes."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mira_ls.store.connection import Connection

CLASS_KINDS = ("class", "struct", "interface", "trait")


@dataclass
class Definition:
    id: int
    kind: str
    name: str
    qualified_name: str
    file_path: str
    start_line: int
    end_line: int
    name_line: int
    signature: str
    content_hash: str
    parent_id: int | None
    children: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)


def definitions(conn: Connection, project_id: int) -> dict[int, Definition]:
    """Classes, functions and methods of a project, each class with its children's kinds
    and names."""
    out: dict[int, Definition] = {}
    for r in conn.execute(
        "SELECT id, kind, name, qualified_name, file_path, start_line, end_line, name_line,"
        " coalesce(signature, ''), content_hash, parent_id FROM code_elements"
        " WHERE project_id = ? AND (kind = 'class' OR kind = 'struct' OR kind = 'interface'"
        " OR kind = 'trait' OR kind = 'function' OR kind = 'method' OR kind = 'constructor')"
        " ORDER BY file_path, start_line",
        (project_id,),
    ):
        out[int(r[0])] = Definition(*r)
    for parent, kind, name in conn.execute(
        "SELECT c.parent_id, c.kind, c.name FROM code_elements p JOIN code_elements c"
        " ON c.parent_id = p.id WHERE p.project_id = ? AND (p.kind = 'class' OR"
        " p.kind = 'struct' OR p.kind = 'interface' OR p.kind = 'trait')",
        (project_id,),
    ):
        d = out.get(int(parent))
        if d is not None:
            d.children.append((str(kind), str(name)))
    return out


def constructions(conn: Connection, project_id: int) -> list[tuple[int, int]]:
    """(caller id, class id) of resolved calls that construct a project class: the callee
    is the class itself or its constructor."""
    return [
        (int(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT DISTINCT g.caller_id, CASE WHEN e.kind = 'class' OR e.kind = 'struct'"
            " THEN e.id ELSE e.parent_id END FROM call_graph g JOIN code_elements e"
            " ON e.id = g.callee_id WHERE g.project_id = ? AND (e.kind = 'class'"
            " OR e.kind = 'struct' OR e.kind = 'constructor' OR (e.kind = 'method'"
            " AND e.name = '__init__')) AND e.parent_id IS NOT NULL",
            (project_id,),
        )
    ]


@dataclass
class Candidate:
    pattern: str
    category: str
    anchor: int  # the symbol the pattern is centred on
    members: list[tuple[int, str]]  # (symbol id, role), the anchor first
    evidence: dict[str, Any]
    key: str = ""  # SHA-256 of the members' content hashes, model, effort and schema
    status: str = "candidate"
    description: str | None = None
    confidence: float = 0.0


@dataclass(frozen=True)
class Verdict:
    is_valid: bool
    confidence: float
    description: str


def verdict(conn: Connection, anchor: int, pattern: str, key: str) -> Verdict | None:
    r = conn.execute(
        "SELECT is_valid, confidence, result FROM pattern_validation_cache WHERE"
        " symbol_id = ? AND pattern_name = ? AND content_hash = ?",
        (anchor, pattern, key),
    ).fetchone()
    if r is None:
        return None
    return Verdict(bool(r[0]), float(r[1]), str(json.loads(r[2]).get("description", "")))


def store_verdict(
    conn: Connection, c: Candidate, v: Verdict, model: str, result: dict[str, Any]
) -> None:
    """The cached verdict (older verdicts of the same anchor and pattern replaced)."""
    now = int(time.time())
    conn.execute(
        "DELETE FROM pattern_validation_cache WHERE symbol_id = ? AND pattern_name = ?",
        (c.anchor, c.pattern),
    )
    conn.execute(
        "INSERT INTO pattern_validation_cache(symbol_id, pattern_name, content_hash, is_valid,"
        " result, confidence, model, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (c.anchor, c.pattern, c.key, int(v.is_valid), json.dumps(result), v.confidence, model,
         now, now),
    )  # fmt: skip


def replace_patterns(conn: Connection, project_id: int, found: Sequence[Candidate]) -> None:
    """The project's patterns are the candidates found now (with their cached verdicts)."""
    now = int(time.time())
    conn.execute("DELETE FROM design_patterns WHERE project_id = ?", (project_id,))
    for c in found:
        cur = conn.execute(
            "INSERT INTO design_patterns(project_id, pattern_name, category, description,"
            " confidence, status, evidence, detected_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (project_id, c.pattern, c.category, c.description, c.confidence, c.status,
             json.dumps(c.evidence, sort_keys=True), now, now),
        )  # fmt: skip
        pid = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT OR IGNORE INTO design_pattern_members(pattern_id, symbol_id, role)"
            " VALUES (?, ?, ?)",
            [(pid, sid, role) for sid, role in c.members],
        )


@dataclass(frozen=True)
class StoredPattern:
    id: int
    pattern: str
    category: str
    status: str
    description: str | None
    confidence: float
    evidence: dict[str, Any]
    members: list[tuple[str, str, str, int]]  # (qualified name, role, file, name line)


def patterns(conn: Connection, project_id: int, status: str | None = None) -> list[StoredPattern]:
    """Validated first, then candidates, then rejected; by pattern and first member."""
    rows = conn.execute(
        "SELECT id, pattern_name, category, status, description, confidence, evidence"
        " FROM design_patterns WHERE project_id = ? AND (? IS NULL OR status = ?)",
        (project_id, status, status),
    ).fetchall()
    members: dict[int, list[tuple[str, str, str, int]]] = {}
    for pid, qn, role, fp, line in conn.execute(
        "SELECT m.pattern_id, e.qualified_name, coalesce(m.role, ''), e.file_path, e.name_line"
        " FROM design_pattern_members m JOIN design_patterns p ON p.id = m.pattern_id"
        " JOIN code_elements e ON e.id = m.symbol_id WHERE p.project_id = ?"
        " ORDER BY m.pattern_id, m.role IN ('product', 'concrete', 'target', 'component'),"
        " e.file_path, e.name_line",
        (project_id,),
    ):
        members.setdefault(int(pid), []).append((str(qn), str(role), str(fp), int(line)))
    order = {"validated": 0, "candidate": 1, "rejected": 2}
    out = [
        StoredPattern(int(r[0]), str(r[1]), str(r[2]), str(r[3]), r[4], float(r[5]),
                      json.loads(r[6]), members.get(int(r[0]), []))
        for r in rows
    ]  # fmt: skip
    out.sort(key=lambda p: (order.get(p.status, 3), p.pattern, p.members[:1]))
    return out


def patterns_of_symbol(conn: Connection, symbol_id: int) -> list[tuple[str, str, str]]:
    """(pattern, role, status) of the validated and candidate patterns a symbol takes part
    in (for the hover)."""
    return [
        (str(r[0]), str(r[1] or ""), str(r[2]))
        for r in conn.execute(
            "SELECT p.pattern_name, m.role, p.status FROM design_pattern_members m"
            " JOIN design_patterns p ON p.id = m.pattern_id WHERE m.symbol_id = ?"
            " AND p.status = 'validated' ORDER BY p.pattern_name",
            (symbol_id,),
        )
    ]
