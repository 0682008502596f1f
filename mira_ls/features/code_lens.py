"""Code lenses: "N callers" on functions (and, from other subsystems, more per symbol)."""

from __future__ import annotations

from lsprotocol import types

from mira_ls.features.code_lens_git import author_lenses
from mira_ls.features.positions import LineMap
from mira_ls.features.session import Located, Session
from mira_ls.features.symbol_kinds import CALLABLE
from mira_ls.store import code as code_store


def code_lenses(session: Session, loc: Located, text: str, encoding: str) -> list[types.CodeLens]:
    fx = session.parse(loc.rel_path, text)
    if fx is None or session.store is None:
        return []
    conn = session.store.conn()
    stored = {
        (r.qualified_name, r.kind, r.ordinal): r
        for r in code_store.symbols_in_file(conn, loc.project.project_id, loc.rel_path)
    }
    lm = LineMap(text, encoding)
    lenses: list[types.CodeLens] = []
    if session.settings.code_lens.callers:
        pairs = []
        for s in fx.symbols:
            row = stored.get((s.qualified_name, s.kind, s.ordinal))
            if s.kind in CALLABLE and row is not None:
                pairs.append((s, row))
        counts = code_store.caller_counts(conn, [row.id for _, row in pairs])
        for s, row in pairs:
            n = counts.get(row.id, 0)
            pos = lm.position(s.name_line, s.name_col)
            lenses.append(
                types.CodeLens(
                    range=types.Range(pos, pos),
                    command=types.Command(
                        title=f"{n} caller{'s' * (n != 1)}",
                        command="mira.callers",
                        arguments=[
                            {
                                "uri": loc.abs_path.as_uri(),
                                "position": {"line": pos.line, "character": pos.character},
                            }
                        ],
                    ),
                )
            )
    if session.settings.code_lens.authors:
        live = []
        for s in fx.symbols:
            row = stored.get((s.qualified_name, s.kind, s.ordinal))
            if row is not None:
                live.append((s.name_line, s.name_col, row))
        lenses.extend(
            author_lenses(session.store, loc.project.project_id, loc.rel_path, live, lm.position)
        )
    return lenses
