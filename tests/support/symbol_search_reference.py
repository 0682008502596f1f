"""The workspace symbol search as it was before the symbol_names table: ``search_symbols``
of mira_ls/store/code.py at main 5115874 and the helpers it calls, copied verbatim but for
its name. The oracle the new search is compared with (tests/test_symbol_search_equivalence.py)
and the "before" of bench/symbol_search_bench.py; mira_ls does not use it."""

from __future__ import annotations

import re
from typing import Any

from mira_ls.store.code import SYMBOL_COLS, SymbolRow, find_by_name, symbol_from_row
from mira_ls.store.connection import Connection

_WORD_SPLIT = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])|[0-9]+")


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.findall(name)]


def _initials_match(words: list[str], q: str) -> bool:
    """'gcs' / 'getcs' match get_call_sites: q consumes prefixes of consecutive words."""

    def go(wi: int, qi: int) -> bool:
        if qi == len(q):
            return True
        if wi == len(words):
            return False
        w = words[wi]
        k = 0
        while k < len(w) and qi + k < len(q) and w[k] == q[qi + k]:
            k += 1
            if go(wi + 1, qi + k):
                return True
        return False

    return bool(words) and words[0][:1] == q[:1] and go(0, 0)


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_symbols_reference(
    conn: Connection, project_id: int | None, query: str, limit: int = 100
) -> list[SymbolRow]:
    """Workspace symbol search, case-insensitive: exact > prefix > word boundary (after
    ``_ . - $`` or at a camelCase hump, or the words' initials: 'gcs' for get_call_sites) >
    substring > fuzzy subsequence; ties: shorter name first. A query with a dot matches
    qualified names ('core.Command'). SQLite ranks in C over the name index; Python only
    refines the few hundred best rows."""
    q = query.strip()
    if not q:
        return []
    proj = "project_id = ? AND " if project_id is not None else ""
    pp: tuple[Any, ...] = (project_id,) if project_id is not None else ()
    if "." in q or "::" in q:
        dotted = q.replace("::", ".")
        last = dotted.rsplit(".", 1)[-1]
        hits = [
            s
            for s in find_by_name(conn, project_id, last, limit=limit * 20)
            if dotted.lower() in s.qualified_name.lower()
        ]
        return hits[:limit]
    ql = q.lower()
    cap = max(4 * limit, 400)
    found: dict[int, tuple[int, int, str]] = {}

    def keep(rows: Any) -> None:
        for sid, name, r in rows:
            if sid not in found:
                found[sid] = (r, len(name), name)

    # 1. exact and prefix: a range over the NOCASE name index.
    upper = ql[:-1] + chr(ord(ql[-1]) + 1)
    keep(
        conn.execute(
            f"SELECT id, name, CASE WHEN lower(name) = ? THEN 0 ELSE 1 END"
            f" FROM code_elements WHERE {proj}name >= ? COLLATE NOCASE"
            " AND name < ? COLLATE NOCASE LIMIT ?",
            (ql, *pp, ql, upper, cap),
        )
    )
    esc = [_like_escape(ch) for ch in ql]
    if len(found) < limit and len(ql) > 1:
        # 2. initials ('gcs' -> get_call_sites): names starting with the first letter, a range
        # of the index, filtered by subsequence and checked word by word.
        first_upper = ql[0] + chr(0x10FFFF)
        for sid, name in conn.execute(
            f"SELECT id, name FROM code_elements WHERE {proj}name >= ? COLLATE NOCASE"
            " AND name < ? COLLATE NOCASE AND name LIKE ? ESCAPE '\\' LIMIT ?",
            (*pp, ql[0], first_upper, "%".join(esc) + "%", 20 * cap),
        ):
            if sid not in found and _initials_match(_words(name), ql):
                found[sid] = (2, len(name), name)
    if sum(1 for v in found.values() if v[0] <= 2) < limit:
        # 3. word boundary, substring and (for two letters or more) subsequence anywhere: one
        # scan of the name index; SQLite ranks and keeps the best.
        camel = q[:1].upper() + q[1:]
        sub = "%" + "".join(esc) + "%"
        seq = "%" + "%".join(esc) + "%" if len(ql) > 1 else sub
        keep(
            conn.execute(
                "SELECT id, name, CASE"
                " WHEN instr(lower(name), '_' || ?1) OR instr(lower(name), '.' || ?1)"
                "   OR instr(lower(name), '-' || ?1) OR instr(lower(name), '$' || ?1)"
                "   OR instr(substr(name, 2), ?2) THEN 2"
                " WHEN instr(lower(name), ?1) THEN 3"
                " WHEN name LIKE ?3 ESCAPE '\\' THEN 4 ELSE 5 END AS r"
                f" FROM code_elements WHERE {proj.replace('?', '?5')}name LIKE ?4 ESCAPE '\\'"
                " ORDER BY r, length(name) LIMIT ?6",
                (ql, camel, seq[1:], seq, *(pp or (None,)), cap),
            )
        )
    scored: list[tuple[int, int, str, int]] = []
    for sid, (r, n, name) in found.items():
        if r >= 4 and _initials_match(_words(name), ql):
            r = 2
        scored.append((min(r, 4), n, name, sid))
    scored.sort()
    ids = [t[3] for t in scored[: limit + 32]]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    by_id = {
        r[0]: symbol_from_row(r)
        for r in conn.execute(f"SELECT {SYMBOL_COLS} FROM code_elements WHERE id IN ({marks})", ids)
    }
    return [by_id[i] for i in ids if i in by_id and by_id[i].kind != "module"][:limit]
