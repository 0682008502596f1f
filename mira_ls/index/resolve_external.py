"""Calls that leave the project (builtins, the standard library, installed packages).

They are not "unresolved": there is no project code to point at, by design. The project
pass stores the module of the ones it classified (``call_graph.external``); the builtins a
parser process settled on its own are told apart here, when read, from the call as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mira_ls.index.resolve_scope import BUILTINS, PY_BUILTINS
from mira_ls.store import code as cs
from mira_ls.store.connection import Connection

_LITERAL = re.compile(r"""^(?:[rRbBuUfF]*["']|\d|\[|\{)""")
_HEAD = re.compile(r"[.(\[]")


def external_module(
    language: str, name: str, receiver: str | None, stored: str | None
) -> str | None:
    """The module an unresolved call goes into, or None if it may be project code."""
    if stored:
        return stored
    if receiver is None:
        return "builtins" if name in BUILTINS.get(language, ()) else None
    if language != "python":
        return None
    if _LITERAL.match(receiver):
        return "builtins"  # "".join, [].append
    head = _HEAD.split(receiver, maxsplit=1)[0]
    if head in PY_BUILTINS and head not in ("super", "type", "self", "cls"):
        return "builtins"
    return None


@dataclass(frozen=True)
class CalleeCounts:
    """The calls inside a symbol: into the project, out of it, and not placed."""

    project: int
    external: int
    unresolved: int

    def describe(self) -> str:
        """'4 callees, 19 external (2 unresolved)'."""
        text = f"{self.project} callee{'s' * (self.project != 1)}"
        if self.external:
            text += f", {self.external} external"
        if self.unresolved:
            text += f" ({self.unresolved} unresolved)"
        return text


def callee_counts(conn: Connection, symbol_id: int, language: str) -> CalleeCounts:
    project = external = unresolved = 0
    for name, receiver, stored in cs.callee_rows(conn, symbol_id):
        if not name:
            project += 1
        elif external_module(language, name, receiver, stored) is not None:
            external += 1
        else:
            unresolved += 1
    return CalleeCounts(project, external, unresolved)


def project_external(conn: Connection, project_id: int) -> int:
    """How many of a project's unresolved calls are external."""
    return sum(
        n
        for lang, name, receiver, stored, n in cs.unresolved_kinds(conn, project_id)
        if external_module(lang, name, receiver, stored) is not None
    )
