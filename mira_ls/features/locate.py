"""Find what the cursor is on: a definition's name, a call whose callee we know, or the
header of a definition (its decorators and keywords, such as `def`, `class`, `async`,
`pub fn`), which stands for that definition."""

from __future__ import annotations

from dataclasses import dataclass

from mira_ls.features.session import Located, Session
from mira_ls.index.symbols import FileExtract, Symbol, symbol_at
from mira_ls.store import code as code_store
from mira_ls.store import code_positions as positions
from mira_ls.store.code import SymbolRow


@dataclass(frozen=True)
class Target:
    """The symbol under the cursor: from the live buffer and, when indexed, its stored row."""

    symbol: Symbol | None  # in the live buffer (None when the target is in another file)
    row: SymbolRow | None  # stored row, None when not indexed yet
    via_call: bool = False


def stored_row(session: Session, loc: Located, fx: FileExtract, index: int) -> SymbolRow | None:
    if session.store is None:
        return None
    s = fx.symbols[index]
    return code_store.find_symbol(
        session.store.conn(),
        loc.project.project_id,
        loc.rel_path,
        s.qualified_name,
        s.kind,
        s.ordinal,
    )


def _on_name(s: Symbol, line: int, col: int) -> bool:
    return s.name_line == line and s.name_col <= col <= s.name_col + len(s.name)


def _indexed_as_is(session: Session, loc: Located, text: str) -> bool:
    """Whether the buffer is byte for byte the indexed content (then no parse is needed)."""
    if session.store is None:
        return False
    row = code_store.get_file(session.store.conn(), loc.project.project_id, loc.rel_path)
    if row is None or row.status != "indexed":
        return False
    size, digest = session.buffer_digest(loc.rel_path, text)
    return size == row.size_bytes and digest == row.content_hash


def target_at(
    session: Session, loc: Located, text: str, line: int, col: int, *, headers: bool = False
) -> Target | None:
    """line is 1-based, col 0-based in code points. With `headers`, a position on a
    definition's decorators or keywords counts as that definition (hover wants that; call
    hierarchy answers only on names)."""
    if _indexed_as_is(session, loc, text):
        assert session.store is not None
        conn = session.store.conn()
        pid = loc.project.project_id
        row = positions.symbol_named_at(conn, pid, loc.rel_path, line, col)
        if row is not None:
            return Target(None, row)
        stored_call = positions.call_at(conn, pid, loc.rel_path, line, col)
        if stored_call is not None:
            name, callee = stored_call
            if callee is not None:
                return Target(None, callee, via_call=True)
            found = code_store.find_by_name(conn, pid, name)
            if len(found) == 1:
                return Target(None, found[0], via_call=True)
        if not headers:
            return None
        # Not on a name or a known call: a definition's header, found in the (cached) parse.
        fx = session.parse(loc.rel_path, text)
        return _header_target(session, loc, fx, line, col) if fx is not None else None
    fx = session.parse(loc.rel_path, text)
    if fx is None:
        return None
    idx = symbol_at(fx, line, col)
    if (
        idx is not None
        and fx.symbols[idx].kind != "module"
        and _on_name(fx.symbols[idx], line, col)
    ):
        return Target(fx.symbols[idx], stored_row(session, loc, fx, idx))
    for site in fx.calls:
        if site.line == line and site.col <= col <= site.col + len(site.name):
            via = _call_target(session, loc, fx, site.caller, site.name, line, site.col)
            if via is not None:
                return via
            break
    return _header_target(session, loc, fx, line, col) if headers else None


def header_at(fx: FileExtract, line: int, col: int) -> int | None:
    """The innermost definition whose header holds (1-based line, 0-based col).

    A header runs from the start of the definition's span (its first decorator, or keywords
    like `async def`, `export function`, `pub fn`) to the end of its name: a user hovering
    `def` or `@app.route(...)` means that definition.
    """
    best: int | None = None
    for i, s in enumerate(fx.symbols):
        if s.kind == "module":
            continue
        if (
            not (s.start_line, s.start_col)
            <= (line, col)
            <= (s.name_line, s.name_col + len(s.name))
        ):
            continue
        if best is None or (s.start_line, s.start_col) >= (
            fx.symbols[best].start_line,
            fx.symbols[best].start_col,
        ):
            best = i
    return best


def _header_target(
    session: Session, loc: Located, fx: FileExtract, line: int, col: int
) -> Target | None:
    idx = header_at(fx, line, col)
    if idx is None:
        return None
    return Target(fx.symbols[idx], stored_row(session, loc, fx, idx))


def _call_target(
    session: Session, loc: Located, fx: FileExtract, caller: int, name: str, line: int, col: int
) -> Target | None:
    if session.store is None:
        return None
    conn = session.store.conn()
    caller_row = stored_row(session, loc, fx, caller)
    if caller_row is not None:
        for site in code_store.callees(conn, caller_row.id):
            if site.line == line and site.col == col and site.symbol is not None:
                return Target(None, site.symbol, via_call=True)
    # Unsaved buffer: fall back to a name that is unique in the project.
    found = code_store.find_by_name(conn, loc.project.project_id, name)
    if len(found) == 1:
        return Target(None, found[0], via_call=True)
    return None
