"""Tasks per project: create, list, update, and the work sessions on them.

Starting (or resuming) a task opens a task_session; pausing records a snapshot
(``snapshot.capture``) and ends the session. Resuming after a pause says what changed in the
repository since (``snapshot.changes_since``) and keeps it on the new session, where the
chat context (``tasks/context_section.py``) reads it without running git. A project has one
current task: starting another pauses the one that was current.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mira_ls.dates import minute
from mira_ls.store import Store
from mira_ls.store import tasks as q
from mira_ls.store.tasks import TaskRow
from mira_ls.tasks.snapshot import Changes, Snapshot, capture, changes_since

STATUSES = ("todo", "doing", "done", "dropped")
MAX_TITLE = 300


class TaskError(Exception):
    """A task command that cannot be done: ``str(exc)`` says why, as a sentence."""


def task_json(t: TaskRow, *, current: bool = False) -> dict[str, Any]:
    return {
        "id": t.id,
        "parent_id": t.parent_id,
        "title": t.title,
        "description": t.description,
        "rationale": t.rationale,
        "status": t.status,
        "source": t.source,
        "current": current,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "started_at": t.started_at,
        "completed_at": t.completed_at,
        "targets": [
            {
                "kind": x.kind,
                "name": x.name,
                "path": x.file_path,
                "line": x.line,
                "resolved": x.resolved,
            }
            for x in t.targets
        ],
    }


def get(store: Store, project_id: int, task_id: int) -> TaskRow:
    t = q.get(store.conn(), task_id)
    if t is None or t.project_id != project_id:
        raise TaskError(
            f"There is no task {task_id} in this project; `mira-ls task list` shows them."
        )
    return t


def create(
    store: Store,
    project_id: int,
    title: str,
    description: str | None = None,
    parent_id: int | None = None,
) -> TaskRow:
    title = " ".join(title.split())
    if not title:
        raise TaskError('A task needs a title, e.g. `mira-ls task add "add retry to upload"`.')
    if len(title) > MAX_TITLE:
        raise TaskError(
            f"A task title is at most {MAX_TITLE} characters; put the rest in the description."
        )
    if parent_id is not None:
        get(store, project_id, parent_id)
    with store.write() as conn:
        tid = q.insert_task(
            conn, project_id, title, description=description or None, parent_id=parent_id,
            now=int(time.time()),
        )  # fmt: skip
    return get(store, project_id, tid)


def listed(store: Store, project_id: int, statuses: list[str] | None = None) -> list[TaskRow]:
    for s in statuses or []:
        if s not in STATUSES:
            raise TaskError(f"A task status is one of {', '.join(STATUSES)}, not {s!r}.")
    return q.listed(store.conn(), project_id, statuses=statuses)


def current(store: Store, project_id: int) -> int | None:
    return q.active_task(store.conn(), project_id)


def tree_lines(tasks: list[TaskRow], current_id: int | None) -> list[str]:
    """The tasks as an indented outline, children under their parents."""
    kids: dict[int | None, list[TaskRow]] = {}
    ids = {t.id for t in tasks}
    for t in tasks:
        kids.setdefault(t.parent_id if t.parent_id in ids else None, []).append(t)
    marks = {"todo": "[ ]", "doing": "[~]", "done": "[x]", "dropped": "[-]"}
    out: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for t in kids.get(parent, []):
            cur = "  <- current" if t.id == current_id else ""
            out.append(f"{'  ' * depth}{marks.get(t.status, '[?]')} {t.id}  {t.title}{cur}")
            walk(t.id, depth + 1)

    walk(None, 0)
    return out


def update(
    store: Store,
    project_id: int,
    task_id: int,
    *,
    title: str | None = None,
    description: str | None = None,
    status: str | None = None,
) -> TaskRow:
    get(store, project_id, task_id)
    if status is not None and status not in STATUSES:
        raise TaskError(f"A task status is one of {', '.join(STATUSES)}, not {status!r}.")
    if title is not None and not title.strip():
        raise TaskError("A task title cannot be empty.")
    with store.write() as conn:
        now = int(time.time())
        if status in ("done", "dropped", "todo"):  # leaving work: the open session ends
            s = q.current_session(conn, task_id)
            if s is not None:
                q.end_session(conn, s.id, now, None)
        q.update(
            conn, task_id, now=now, title=" ".join(title.split()) if title else None,
            description=description, status=status,
        )  # fmt: skip
    return get(store, project_id, task_id)


# -- sessions -----------------------------------------------------------------------------


@dataclass
class Resumed:
    task: TaskRow
    session_id: int
    snapshot: Snapshot | None
    changes: Changes | None
    paused_other: int | None  # the task that was current and was paused for this one
    already: bool = False  # the task was already started: nothing new was opened

    @property
    def message(self) -> str:
        t = self.task
        if self.already:
            return f"Task {t.id} ({t.title}) is already the current task."
        head = f"Started task {t.id}: {t.title}."
        if self.snapshot is not None:
            s = self.snapshot
            where = f"{s.branch or 'a detached HEAD'} at {(s.head or '?')[:8]}"
            head = (
                f"Resumed task {t.id}: {t.title}. You paused it {minute(s.at)} on {where}"
                + (f" with {len(s.errors)} open build errors" if s.errors else "")
                + "."
            )
            if self.changes is not None:
                head += f" Since then: {self.changes.sentence()}."
        if self.paused_other is not None:
            head += f" Task {self.paused_other} was paused."
        return head

    def as_json(self) -> dict[str, Any]:
        return {
            "task": task_json(self.task, current=True),
            "session": self.session_id,
            "snapshot": self.snapshot.as_json() if self.snapshot else None,
            "changes": self.changes.as_json() if self.changes else None,
            "paused": self.paused_other,
            "message": self.message,
        }


@dataclass
class Paused:
    task: TaskRow
    snapshot: Snapshot

    @property
    def message(self) -> str:
        s = self.snapshot
        bits = [f"on {s.branch or 'a detached HEAD'} at {(s.head or '?')[:8]}"]
        if s.modified:
            bits.append(f"{len(s.modified)} modified files")
        if s.errors:
            bits.append(f"{len(s.errors)} open build errors")
        return f"Paused task {self.task.id} ({self.task.title}): " + ", ".join(bits) + "."

    def as_json(self) -> dict[str, Any]:
        return {
            "task": task_json(self.task),
            "snapshot": self.snapshot.as_json(),
            "message": self.message,
        }


def start(
    store: Store, project_id: int, root: Path, task_id: int, *, trusted: bool = False
) -> Resumed:
    """Open a session on the task (pausing the project's current one); after a pause, what
    changed since."""
    task = get(store, project_id, task_id)
    conn = store.conn()
    open_now = q.current_session(conn, task_id)
    if open_now is not None and task.status == "doing":
        return Resumed(task, open_now.id, None, None, None, already=True)
    other = q.active_task(conn, project_id)
    paused_other = None
    if other is not None and other != task_id:
        pause(store, project_id, root, other, None, trusted=trusted)
        paused_other = other
    last = q.last_context(conn, task_id)
    snap = Snapshot.from_json(*last) if last else None
    changes = changes_since(root, snap, trusted=trusted) if snap else None
    with store.write() as w:
        now = int(time.time())
        if open_now is not None:  # left open by a status change elsewhere: close it first
            q.end_session(w, open_now.id, now, None)
        sid = q.open_session(
            w,
            task_id,
            now,
            files_modified=sorted(set(changes.files) | set(changes.newly_modified))
            if changes
            else [],
            commits=changes.commits if changes else [],
        )
        q.update(w, task_id, now=now, status="doing")
    return Resumed(get(store, project_id, task_id), sid, snap, changes, paused_other)


def pause(
    store: Store,
    project_id: int,
    root: Path,
    task_id: int,
    notes: str | None = None,
    *,
    trusted: bool = False,
    end_status: str | None = None,
) -> Paused:
    """Record where the work stands and end the task's session (``end_status``: and mark
    the task done or dropped)."""
    task = get(store, project_id, task_id)
    conn = store.conn()
    session = q.current_session(conn, task_id)
    if session is None and end_status is None:
        raise TaskError(
            f"Task {task_id} is not started, so there is nothing to pause; "
            f"`mira-ls task start {task_id}` starts it."
        )
    since = session.started_at if session else task.created_at
    snap = capture(conn, root, project_id, task_id, since, notes, trusted=trusted)
    with store.write() as w:
        now = int(time.time())
        q.add_context(w, task_id, "snapshot", snap.as_json(), now)
        if session is not None:
            q.end_session(w, session.id, now, notes)
        if end_status is not None:
            q.update(w, task_id, now=now, status=end_status)
    return Paused(get(store, project_id, task_id), snap)


def checkpoint(
    store: Store, project_id: int, root: Path, *, trusted: bool = False
) -> Snapshot | None:
    """The server is stopping: snapshot the project's current task, which stays current."""
    conn = store.conn()
    task_id = q.active_task(conn, project_id)
    session = q.current_session(conn, task_id) if task_id is not None else None
    if task_id is None or session is None:
        return None
    snap = capture(
        conn, root, project_id, task_id, session.started_at, None, trusted=trusted,
        reason="server stopped",
    )  # fmt: skip
    with store.write() as w:
        q.add_context(w, task_id, "snapshot", snap.as_json(), int(time.time()))
    return snap


def refresh(
    store: Store, project_id: int, root: Path, *, trusted: bool = False
) -> tuple[int, Changes] | None:
    """The server started: what changed since the current task's last snapshot, kept on its
    session for the chat context. (task id, changes), or None without a current task."""
    conn = store.conn()
    task_id = q.active_task(conn, project_id)
    if task_id is None:
        return None
    session = q.current_session(conn, task_id)
    last = q.last_context(conn, task_id)
    if session is None or last is None:
        return None
    changes = changes_since(root, Snapshot.from_json(*last), trusted=trusted)
    with store.write() as w:
        q.set_session_changes(
            w, session.id, sorted(set(changes.files) | set(changes.newly_modified)),
            changes.commits,
        )  # fmt: skip
    return task_id, changes


def finish(
    store: Store, project_id: int, root: Path, task_id: int, notes: str | None = None,
    *, trusted: bool = False,
) -> Paused:  # fmt: skip
    """Mark a task done, keeping a last snapshot of where it ended."""
    return pause(store, project_id, root, task_id, notes, trusted=trusted, end_status="done")


def details(store: Store, project_id: int, task_id: int) -> dict[str, Any]:
    """`task show`: the task, its subtasks, last snapshot, sessions and operations."""
    t = get(store, project_id, task_id)
    conn = store.conn()
    last = q.last_context(conn, task_id)
    n_ops, cost = q.operation_counts(conn, task_id)
    cur = q.current_session(conn, task_id)
    return {
        **task_json(t, current=cur is not None and t.status == "doing"),
        "subtasks": [task_json(c) for c in q.children(conn, task_id)],
        "snapshot": Snapshot.from_json(*last).as_json() if last else None,
        "session": {
            "id": cur.id,
            "started_at": cur.started_at,
            "commits_since_pause": cur.commits,
            "files_since_pause": cur.files_modified,
        }
        if cur
        else None,
        "operations": n_ops,
        "cost_usd": cost / 1_000_000,
    }
