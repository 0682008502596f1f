"""The current task in the chat context: "you were here, these errors were open, these files
changed since". Read from the store only (resume already ran git and kept what changed on
the task's session), so adding it to every question costs a few indexed lookups."""

from __future__ import annotations

from mira_ls.dates import minute
from mira_ls.llm.context import Asked, Section, Unplaced
from mira_ls.store import Store
from mira_ls.store import tasks as q
from mira_ls.tasks.snapshot import Snapshot

PRIORITY = 3  # after the code and its build errors, before callers and history
LIMIT = 10


def _list(items: list[str], limit: int = LIMIT) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def task_section(store: Store, project_id: int) -> Section | None:
    """The project's current task with its last snapshot and what changed since, or None."""
    conn = store.conn()
    task_id = q.active_task(conn, project_id)
    if task_id is None:
        return None
    task = q.get(conn, task_id)
    if task is None:
        return None
    lines = [f"Task {task.id}: {task.title} ({task.status})"]
    if task.description:
        lines.append(task.description.strip()[:600])
    subs = q.children(conn, task_id)
    if subs:
        marks = {"todo": "[ ]", "doing": "[~]", "done": "[x]", "dropped": "[-]"}
        lines.append("Subtasks:")
        lines.extend(f"- {marks.get(s.status, '[ ]')} {s.title}" for s in subs[:15])
    last = q.last_context(conn, task_id)
    if last is not None:
        s = Snapshot.from_json(*last)
        when = "When the server stopped" if s.reason == "server stopped" else "When it was paused"
        lines.append(
            f"{when} ({minute(s.at)}): branch {s.branch or '(detached)'} at {(s.head or '?')[:10]}"
        )
        if s.modified:
            lines.append(f"- modified files then: {_list(s.modified)}")
        for e in s.errors[:LIMIT]:
            at = f"{e.get('file')}:{e.get('line')}" if e.get("file") else "(no file)"
            lines.append(f"- open build error then: {at} {e.get('code') or ''} {e.get('message')}")
        if s.edited:
            lines.append(f"- edited: {_list(s.edited)}")
        if s.symbols:
            lines.append(f"- asked about: {_list(s.symbols)}")
        if s.notes:
            lines.append(f"- notes: {s.notes.strip()[:600]}")
        cur = q.current_session(conn, task_id)
        if cur is not None:
            if cur.commits:
                shown = [f"{c.get('sha', '')[:8]} {c.get('subject', '')}" for c in cur.commits]
                lines.append(f"Since then: commits {_list(shown, 8)}")
            if cur.files_modified:
                lines.append(f"Since then: files changed {_list(cur.files_modified)}")
            if not cur.commits and not cur.files_modified:
                lines.append("Since then: nothing changed in the repository")
    return Section("task", "The task being worked on", "\n".join(lines), PRIORITY)


def current_task(a: Asked) -> list[Section]:
    """Section provider (a question at a position)."""
    s = task_section(a.store, a.where.project_id)
    return [s] if s else []


def current_task_unplaced(u: Unplaced) -> list[Section]:
    """Question provider (a question without a position)."""
    s = task_section(u.store, u.project_id)
    return [s] if s else []
