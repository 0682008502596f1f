"""Task and operation commands as plain functions over the session, for the server and the
CLI: a command's one optional argument object in, a JSON-ready answer out."""

from __future__ import annotations

from typing import Any

from mira_ls.features.session import NO_PROJECT, ProjectRoot, Session
from mira_ls.tasks import operations as ops


class TaskInputError(Exception):
    """The command lacks what it needs, or names no such task: ``str(exc)`` says so."""


def _int(arg: dict[str, Any], key: str, what: str) -> int | None:
    v = arg.get(key)
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise TaskInputError(f"The argument {key} must be {what}; got {v!r}.")
    return v


def _project(session: Session) -> ProjectRoot | None:
    for r in session.roots:
        if r.project_id != NO_PROJECT:
            return r
    return None


def _store(session: Session) -> Any:
    if session.store is None:
        raise TaskInputError(
            "mira-ls has no database, so it keeps no tasks or operations; "
            "see the earlier error about the database."
        )
    return session.store


def operations(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    """mira.operations: the workspace's operations (or one task's), newest first."""
    store = _store(session)
    task_id = _int(arg, "task", "a task id (a whole number)")
    limit = _int(arg, "limit", "a whole number from 1") or 50
    project = _project(session)
    rows = ops.listed(
        store,
        project_id=None if task_id is not None or project is None else project.project_id,
        task_id=task_id,
        limit=limit,
    )
    return {"operations": rows}
