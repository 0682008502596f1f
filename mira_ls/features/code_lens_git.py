"""Code lens "N authors, last by NAME, DATE" above top-level symbols, from cached blame."""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types

from mira_ls.dates import day
from mira_ls.git import blame
from mira_ls.store import Store
from mira_ls.store import code as code_store
from mira_ls.store.code import SymbolRow
from mira_ls.store.connection import Connection

# Definitions worth a lens; variables and constants would bury the code under labels.
LENS_KINDS = frozenset(
    {
        "class",
        "struct",
        "union",
        "enum",
        "trait",
        "interface",
        "impl",
        "type",
        "function",
        "method",
        "constructor",
        "macro",
    }
)
# A definition directly inside these is top-level (the module symbol spans the file).
CONTAINERS = frozenset({"module", "namespace"})


def top_level(conn: Connection, symbols: list[SymbolRow]) -> list[SymbolRow]:
    """Lens-worthy symbols with no parent or whose parent is the module or a namespace."""
    kinds = {s.id: s.kind for s in symbols}
    out = []
    for s in symbols:
        if s.kind not in LENS_KINDS:
            continue
        if s.parent_id is not None:
            kind = kinds.get(s.parent_id)
            if kind is None:
                parent = code_store.get_symbol(conn, s.parent_id)
                kind = parent.kind if parent is not None else None
                kinds[s.parent_id] = kind or ""
            if kind not in CONTAINERS:
                continue
        out.append(s)
    return out


def author_lens_title(sb: blame.SymbolBlame) -> str | None:
    if sb.last is None:
        return "not committed yet" if sb.uncommitted_lines else None
    n = len(sb.owners)
    return (
        f"{n} author{'s' if n != 1 else ''}, last by {sb.last.author_name}, "
        f"{day(sb.last.authored_at)}"
    )


def author_lens_titles(
    conn: Connection, project_id: int, file_path: str, symbols: list[SymbolRow]
) -> dict[int, str]:
    """symbol id -> lens title for the top-level definitions among ``symbols`` of a blamed
    file (empty when the file has no cached blame yet)."""
    ranges = blame.file_ranges(conn, project_id, file_path)
    if not ranges:
        return {}
    out: dict[int, str] = {}
    for s in top_level(conn, symbols):
        sb = blame.summarize(ranges, s.start_line, s.end_line)
        title = author_lens_title(sb) if sb is not None else None
        if title:
            out[s.id] = title
    return out


def author_lenses(
    store: Store,
    project_id: int,
    rel_path: str,
    live: list[tuple[int, int, SymbolRow]],
    encoding_position: Callable[[int, int], types.Position],
) -> list[types.CodeLens]:
    """Lenses for top-level symbols: ``live`` holds (name line, name col) in the buffer and
    the stored row of each symbol; ``encoding_position(line, col)`` makes the client's
    Position."""
    titles = author_lens_titles(store.conn(), project_id, rel_path, [row for _, _, row in live])
    out: list[types.CodeLens] = []
    for line, col, row in live:
        title = titles.get(row.id)
        if title is None:
            continue
        pos = encoding_position(line, col)
        # An empty command id: a label, nothing to run (VS Code shows it unclickable).
        out.append(
            types.CodeLens(
                range=types.Range(pos, pos), command=types.Command(title=title, command="")
            )
        )
    return out
