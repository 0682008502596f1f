"""Task and operation commands as plain functions over the session, for the server and the
CLI: a command's one optional argument object in, a JSON-ready answer out."""

from __future__ import annotations

from typing import Any

from mira_ls.features.session import NO_PROJECT, ProjectRoot, Session
from mira_ls.llm.service import LlmService
from mira_ls.tasks import core, decompose
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


def _where(session: Session, arg: dict[str, Any]) -> ProjectRoot:
    """The project of the command: its ``uri``'s workspace folder, else the first one."""
    uri = arg.get("uri")
    if isinstance(uri, str):
        from mira_ls.features.chat import uri_to_path

        path = uri_to_path(uri)
        loc = session.locate(path) if path else None
        if loc is not None and loc.project.project_id != NO_PROJECT:
            return loc.project
    p = _project(session)
    if p is None:
        raise TaskInputError("Tasks belong to a workspace folder: open one first.")
    return p


def _text(arg: dict[str, Any], key: str) -> str | None:
    v = arg.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise TaskInputError(f"The argument {key} must be text; got {v!r}.")
    return v


def _id(arg: dict[str, Any]) -> int:
    tid = _int(arg, "id", "a task id (a whole number)")
    if tid is None:
        raise TaskInputError('This needs the id of a task ({"id": N}); mira.task.list shows them.')
    return tid


def _run(fn: Any) -> Any:
    try:
        return fn()
    except core.TaskError as exc:
        raise TaskInputError(str(exc)) from None


def task_create(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    """mira.task.create {title, description?, parent?}."""
    store, p = _store(session), _where(session, arg)
    title = _text(arg, "title") or ""
    parent = _int(arg, "parent", "a task id (a whole number)")
    t = _run(lambda: core.create(store, p.project_id, title, _text(arg, "description"), parent))
    return {"task": core.task_json(t), "message": f"Task {t.id} added: {t.title}."}


def task_list(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    """mira.task.list {status?: "todo"|... or a list}: the project's tasks, parents first."""
    store, p = _store(session), _where(session, arg)
    st = arg.get("status")
    statuses = [st] if isinstance(st, str) else st if isinstance(st, list) else None
    rows = _run(lambda: core.listed(store, p.project_id, statuses))
    cur = core.current(store, p.project_id)
    return {
        "tasks": [core.task_json(t, current=t.id == cur) for t in rows],
        "current": cur,
    }


def task_show(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    store, p = _store(session), _where(session, arg)
    tid = _id(arg)
    return dict(_run(lambda: core.details(store, p.project_id, tid)))


def task_start(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    """Start or resume: a session opens; after a pause, what changed since."""
    store, p = _store(session), _where(session, arg)
    tid = _id(arg)
    trusted = session.settings.git.trust_repository_config
    r = _run(lambda: core.start(store, p.project_id, p.root, tid, trusted=trusted))
    return dict(r.as_json())


def task_pause(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    store, p = _store(session), _where(session, arg)
    tid = _id(arg)
    notes = _text(arg, "notes")
    trusted = session.settings.git.trust_repository_config
    r = _run(lambda: core.pause(store, p.project_id, p.root, tid, notes, trusted=trusted))
    return dict(r.as_json())


def task_update(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    """mira.task.update {id, title?, description?, status?, notes?}: status "doing" starts
    (or resumes) the task, "done" ends it with a last snapshot, ``pause: true`` pauses it."""
    store, p = _store(session), _where(session, arg)
    tid = _id(arg)
    status = _text(arg, "status")
    if status is not None and status not in core.STATUSES:
        raise TaskInputError(f"The argument status must be one of {', '.join(core.STATUSES)}.")
    title, description = _text(arg, "title"), _text(arg, "description")
    if title is not None or description is not None:
        _run(lambda: core.update(store, p.project_id, tid, title=title, description=description))
    if arg.get("pause") is True:
        return task_pause(session, arg)
    trusted = session.settings.git.trust_repository_config
    if status == "doing":
        return task_start(session, arg)
    if status == "done":
        notes = _text(arg, "notes")
        r = _run(lambda: core.finish(store, p.project_id, p.root, tid, notes, trusted=trusted))
        return dict(r.as_json())
    if status is not None:
        _run(lambda: core.update(store, p.project_id, tid, status=status))
    t = _run(lambda: core.get(store, p.project_id, tid))
    return {"task": core.task_json(t), "message": f"Task {t.id} is {t.status}: {t.title}."}


def task_decompose(
    session: Session, svc: LlmService, arg: dict[str, Any], op_id: str | None = None
) -> dict[str, Any]:
    """mira.task.decompose {id}: subtasks from the LLM (raises LlmError with a sentence)."""
    store, p = _store(session), _where(session, arg)
    tid = _id(arg)
    d = _run(lambda: decompose.decompose(store, svc, p.project_id, tid, op_id=op_id))
    return dict(d.as_json())


def on_server_stop(session: Session) -> int:
    """Snapshot each workspace's current task (it stays current); how many were saved."""
    if session.store is None:
        return 0
    trusted = session.settings.git.trust_repository_config
    saved = 0
    for r in session.roots:
        if r.project_id != NO_PROJECT:
            saved += (
                core.checkpoint(session.store, r.project_id, r.root, trusted=trusted) is not None
            )
    return saved


def on_server_start(session: Session) -> list[str]:
    """For each workspace with a current task: what changed since its last snapshot (kept
    for the chat context), as the sentences to show."""
    if session.store is None:
        return []
    trusted = session.settings.git.trust_repository_config
    out = []
    for r in session.roots:
        if r.project_id == NO_PROJECT:
            continue
        found = core.refresh(session.store, r.project_id, r.root, trusted=trusted)
        if found is not None:
            tid, changes = found
            t = core.get(session.store, r.project_id, tid)
            out.append(f"Mira: task {t.id} ({t.title}) is current; since the last snapshot: "
                       f"{changes.sentence()}.")  # fmt: skip
    return out


def feedback(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    """mira.feedback {operation, helpful, note?}: the user's word on an answer."""
    from mira_ls.learning import outcomes

    store = _store(session)
    op = arg.get("operation")
    if not isinstance(op, str) or not op.strip():
        raise TaskInputError(
            'mira.feedback needs {"operation": ID, "helpful": true|false}: the operation id '
            "is in the answer file's name and in mira.operations."
        )
    helpful = arg.get("helpful")
    if not isinstance(helpful, bool):
        raise TaskInputError(f"The argument helpful must be true or false; got {helpful!r}.")
    note = arg.get("note")
    if note is not None and not isinstance(note, str):
        raise TaskInputError(f"The argument note must be text; got {note!r}.")
    try:
        return outcomes.feedback(store, op, helpful, note, learn=session.settings.learning.enabled)
    except outcomes.FeedbackError as exc:
        raise TaskInputError(str(exc)) from None
