"""The symbol hover: signature, docstring and call counts, then each subsystem's sections.

Everything here reads the database; nothing runs git or a build on the hover path.
"""

from __future__ import annotations

from collections.abc import Callable

from mira_ls.features import hover_build, hover_git
from mira_ls.features.locate import Target, target_at
from mira_ls.features.session import Located, Session
from mira_ls.index.resolve_external import callee_counts
from mira_ls.store import code as code_store
from mira_ls.store import design_patterns, understanding
from mira_ls.store.code import SymbolRow

DOC_LINES = 12

# A section provider returns markdown blocks (each starting with a bold title) with data only.
SectionProvider = Callable[[Session, Located, SymbolRow | None, int], list[str]]


def _section_providers() -> list[SectionProvider]:
    return [hover_git.hover_provider, hover_build.build_sections]


def _doc(text: str | None) -> str | None:
    if not text:
        return None
    lines = text.strip().splitlines()
    if len(lines) > DOC_LINES:
        lines = [*lines[:DOC_LINES], "…"]
    return "\n".join(lines)


def purpose_line(node: understanding.Node | None) -> str | None:
    """What the LLM analysis said the definition is for (only an analysis made at its
    current content: an edited body shows none until it is analysed again)."""
    if node is None:
        return None
    out = f"**Purpose** {node.purpose.strip()}"
    extra = []
    if node.concepts:
        extra.append("concepts: " + ", ".join(node.concepts[:5]))
    if node.domain:
        extra.append(f"domain: {node.domain}")
    if node.side_effects:
        extra.append("side effects: " + ", ".join(node.side_effects[:3]))
    return out + ("  \n_" + " · ".join(extra) + "_" if extra else "")


def code_section(session: Session, target: Target) -> list[str]:
    row, sym = target.row, target.symbol
    signature = (row.signature if row else None) or (sym.signature if sym else None) or ""
    kind = row.kind if row else sym.kind if sym else ""
    qualified = row.qualified_name if row else sym.qualified_name if sym else ""
    language = row.language if row else ""
    parts = [f"```{language}\n{signature.strip()}\n```"] if signature.strip() else []
    where = f"`{qualified}` · {kind}"
    if row is not None and target.via_call:
        where += f" · {row.file_path}:{row.start_line}"
    parts.append(where)
    doc = _doc(row.docstring if row else sym.docstring if sym else None)
    if doc:
        parts.append(doc)
    if row is not None and session.store is not None:
        conn = session.store.conn()
        purpose = purpose_line(understanding.node_of(conn, row.id, row.content_hash))
        if purpose:
            parts.append(purpose)
        found = design_patterns.patterns_of_symbol(conn, row.id)  # validated ones only
        if found:
            parts.append(
                "**Patterns** " + ", ".join(f"{p} ({role})" if role else p for p, role, _ in found)
            )
        callers = code_store.caller_counts(conn, [row.id]).get(row.id, 0)
        counts = callee_counts(conn, row.id, row.language)
        parts.append(f"**Calls** {callers} caller{'s' * (callers != 1)} · {counts.describe()}")
    elif row is None:
        parts.append("_Not indexed yet: save the file to see callers and history._")
    return parts


def hover_markdown(session: Session, loc: Located, text: str, line: int, col: int) -> str | None:
    """Markdown for a hover at (1-based line, 0-based code-point col) of the live text."""
    target = target_at(session, loc, text, line, col, headers=True)
    blocks: list[str] = []
    if target is not None:
        blocks.extend(code_section(session, target))
    for provider in _section_providers():
        blocks.extend(provider(session, loc, target.row if target else None, line))
    if not blocks:
        return None
    return "\n\n".join(blocks)
