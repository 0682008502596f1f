"""The git part of the symbol hover: experts, last change, the definition's history from
the file's X-Ray (changes, who knows its history, the definitions it changes with),
co-change partners, past fixes.

Served from the database only (blame was cached in the background when the file was
opened); each section appears only when it has data, so a file without history adds
nothing to the hover.
"""

from __future__ import annotations

import re
import time

from mira_ls.dates import ago, day
from mira_ls.features.session import Located, Session
from mira_ls.git import blame, expertise
from mira_ls.git import xray as git_xray
from mira_ls.git.xray import DefinitionHistory
from mira_ls.index.symbols import module_name
from mira_ls.store import clusters as cluster_store
from mira_ls.store import git_cochange, git_fixes, git_history
from mira_ls.store.code import SymbolRow
from mira_ls.store.connection import Connection

EXPERTS = 3
PARTNERS = 3
FIXES = 3

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md(text: str) -> str:
    """Escape text for markdown so names and subjects render as written."""
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " ").strip())


def code(text: str) -> str:
    """An inline code span that survives backticks in the text."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _domain(conn: Connection, project_id: int, path: str) -> str | None:
    """The file's domain cluster and its experts, as stored by ``mira-ls clusters``."""
    c = cluster_store.cluster_of_file(conn, project_id, path)
    if c is None:
        return None
    who = ", ".join(md(e.author) for e in c.experts)
    return f"- Domain: {md(c.name)}" + (f" (experts: {who})" if who else "")


def _experts(conn: Connection, project_id: int, path: str, now: int) -> str | None:
    ranked = expertise.top_experts(conn, project_id, path, now, EXPERTS)
    domain = _domain(conn, project_id, path)
    if not ranked and domain is None:
        return None
    lines = ["**Experts**"]
    for e in ranked:
        lines.append(f"- {md(e.author)} · {round(e.score)} · last commit {day(e.last_at)}")
    if domain is not None:
        lines.append(domain)
    return "\n".join(lines)


def _last_changed(
    conn: Connection, project_id: int, path: str, symbol: SymbolRow | None, now: int
) -> str | None:
    if symbol is not None:
        sb = blame.span_blame(conn, project_id, path, symbol.start_line, symbol.end_line)
        if sb is not None:
            lines = ["**Last changed**"]
            if sb.last is not None:
                r = sb.last
                subject = f": {md(r.summary)}" if r.summary else ""
                lines.append(
                    f"- {code(r.commit_hash[:7])} {md(r.author_name)}, "
                    f"{ago(r.authored_at, now)}{subject}"
                )
            if sb.uncommitted_lines:
                n = sb.uncommitted_lines
                lines.append(
                    f"- {n} of {sb.total_lines} line{'s' if sb.total_lines > 1 else ''} "
                    "not committed yet"
                )
            if len(sb.owners) > 1:
                owners = ", ".join(f"{md(o.name)} {o.lines}" for o in sb.owners[:3])
                more = f" +{len(sb.owners) - 3}" if len(sb.owners) > 3 else ""
                lines.append(f"- lines by {owners}{more}")
            return "\n".join(lines) if len(lines) > 1 else None
    c = git_history.last_commit_for_file(conn, project_id, path)
    if c is None:
        return None
    return (
        f"**Last changed** (file)\n- {code(c.hash[:7])} {md(c.author_name)}, "
        f"{ago(c.authored_at, now)}: {md(c.subject)}"
    )


def _definition(
    conn: Connection, project_id: int, path: str, symbol: SymbolRow | None
) -> DefinitionHistory | None:
    """The symbol's entry in the file's last X-Ray (names without the module prefix)."""
    if symbol is None or symbol.kind == "module":
        return None
    x = git_xray.latest(conn, project_id, path)
    if x is None:
        return None
    prefix = module_name(path, symbol.language) + "."
    name = symbol.qualified_name.removeprefix(prefix)
    return next((d for d in x.definitions if d.symbol == name), None)


def _history(d: DefinitionHistory | None, now: int) -> str | None:
    """How often the definition changed and who knows its history (X-Ray: authors by the
    commits that changed it, not by the lines they own, which the blame line shows)."""
    if d is None or not d.changes:
        return None
    last = f", last {ago(d.last_at, now)}" if d.last_at else ""
    lines = [
        f"**History** (X-Ray)\n- changed in {d.changes} commit{'s' if d.changes > 1 else ''}{last}"
    ]
    if d.authors:
        who = ", ".join(f"{md(a.name)} {a.changes}" for a in d.authors[:3])
        more = f" +{len(d.authors) - 3}" if len(d.authors) > 3 else ""
        lines.append(f"- knows its history: {who}{more} (changes to this definition)")
    return "\n".join(lines)


def _changes_with(
    conn: Connection, project_id: int, path: str, d: DefinitionHistory | None = None
) -> str | None:
    partners = git_cochange.partners(conn, project_id, path, PARTNERS)
    couplings = d.couplings[:PARTNERS] if d is not None else []
    if not partners and not couplings:
        return None
    lines = ["**Changes with**"]
    if d is not None:
        short = code(d.symbol.rsplit(".", 1)[-1])
        for c in couplings:
            where = "" if c.path == path else f" in {code(c.path)}"
            lines.append(
                f"- {short} usually changes with {code(c.symbol)}{where}, "
                f"{c.shared} of {d.changes} commits"
            )
    for p in partners:
        lines.append(f"- {code(p.path)} · {p.shared} of {p.commits} commits")
    return "\n".join(lines)


def _past_fixes(
    conn: Connection, project_id: int, path: str, symbol: SymbolRow | None
) -> str | None:
    """Fixes that touched this symbol first, then other fixes of the file, newest first."""
    found = (
        git_fixes.fixes_for_symbol(conn, project_id, path, symbol.name, FIXES)
        if symbol is not None
        else []
    )
    if len(found) < FIXES:
        seen = {f.commit_hash for f in found}
        more = git_fixes.recent_fixes_for_file(conn, project_id, path, FIXES + len(found))
        found += [f for f in more if f.commit_hash not in seen][: FIXES - len(found)]
    if not found:
        return None
    lines = ["**Past fixes here**"]
    for f in found:
        lines.append(f"- {md(f.subject)} ({code(f.commit_hash[:7])}, {day(f.fixed_at)})")
    return "\n".join(lines)


def git_sections(
    conn: Connection,
    project_id: int,
    file_path: str,
    symbol: SymbolRow | None,
    now: int | None = None,
) -> list[str]:
    """Markdown sections for the hover, each starting with a bold title, only with data."""
    now = int(time.time()) if now is None else now
    out = []
    d = _definition(conn, project_id, file_path, symbol)
    for section in (
        _experts(conn, project_id, file_path, now),
        _last_changed(conn, project_id, file_path, symbol, now),
        _history(d, now),
        _changes_with(conn, project_id, file_path, d),
        _past_fixes(conn, project_id, file_path, symbol),
    ):
        if section:
            out.append(section)
    return out


def hover_provider(session: Session, loc: Located, row: SymbolRow | None, line: int) -> list[str]:
    """The hover's section provider (features/hover.py): git sections for the symbol under
    the cursor, in the file that defines it (a call's callee may live elsewhere)."""
    store = session.store
    if store is None or row is None or row.project_id < 0:
        return []
    return git_sections(store.conn(), row.project_id, row.file_path, row)
