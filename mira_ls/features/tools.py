"""mira.tools.list / mira.tools.approve / mira.tools.reject as plain functions (dict in, dict
out): synthesized tools are offered to the model only once the user approves them."""

from __future__ import annotations

from typing import Any

from mira_ls.features.session import NO_PROJECT, Session
from mira_ls.features.tasks import TaskInputError


def _store(session: Session) -> Any:
    if session.store is None:
        raise TaskInputError(
            "mira-ls has no database, so it keeps no tools; see the earlier error about the "
            "database."
        )
    return session.store


def _id(arg: dict[str, Any], command: str) -> int:
    v = arg.get("id")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise TaskInputError(
            f'{command} needs {{"id": N}}: the tool\'s id, from mira.tools.list; got {v!r}.'
        )
    return v


def tools_list(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    """{all?} -> {tools: [...]}: the tools of the open workspace folders (every project's
    with all: true)."""
    from mira_ls.learning import synthesis

    store = _store(session)
    if arg.get("all") is True or not session.roots:
        return {"tools": synthesis.listed(store, None)}
    out = []
    for root in session.roots:
        if root.project_id != NO_PROJECT:
            out.extend(synthesis.listed(store, root.project_id))
    return {"tools": out}


def tools_approve(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    from mira_ls.learning import synthesis

    store = _store(session)
    try:
        return synthesis.approve(store, _id(arg, "mira.tools.approve"))
    except synthesis.ToolError as exc:
        raise TaskInputError(str(exc)) from None


def tools_reject(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    from mira_ls.learning import synthesis

    store = _store(session)
    reason = arg.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise TaskInputError(f"The argument reason must be text; got {reason!r}.")
    try:
        return synthesis.reject(store, _id(arg, "mira.tools.reject"), reason)
    except synthesis.ToolError as exc:
        raise TaskInputError(str(exc)) from None
