"""Split a task into a hierarchy of subtasks with the LLM (a structured, schema-checked
answer): each subtask has a short rationale and the files and symbols it expects to touch,
resolved against the index (a name the index does not know is kept as text).

The decomposition is an operation ("decompose"). All subtasks are written in one
transaction after the answer is validated, so a failure leaves no half-written rows."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mira_ls.llm import structured
from mira_ls.llm.errors import LlmError
from mira_ls.llm.service import LlmService
from mira_ls.store import Store
from mira_ls.store import code as code_store
from mira_ls.store import tasks as q
from mira_ls.store.connection import Connection
from mira_ls.store.tasks import Target, TaskRow
from mira_ls.tasks.core import get, task_json
from mira_ls.tasks.operations import Operation, Outcome

MAX_SUBTASKS = 40
MAX_FILES_LISTED = 200
NAME = "task_decomposition"

REQUIRED = ("key", "parent", "title", "rationale", "files", "symbols")
_NODE = {
    "type": "object",
    "additionalProperties": False,
    "required": list(REQUIRED),
    "properties": {
        "key": {"type": "string", "description": "a short id unique in this answer"},
        "parent": {
            "type": ["string", "null"],
            "description": "the key of an earlier subtask this one belongs under; null: top",
        },
        "title": {"type": "string"},
        "rationale": {"type": "string", "description": "one sentence: why this step"},
        "files": {"type": "array", "items": {"type": "string"}},
        "symbols": {"type": "array", "items": {"type": "string"}},
    },
}
SCHEMA = structured.list_schema("subtasks", _NODE)

SYSTEM = (
    "You plan programming work. Split the task into small, concrete subtasks a developer "
    "can do one at a time, nesting steps under a subtask with `parent` when it helps. For "
    "each, give a one-sentence rationale and the project-relative files and the symbols "
    "(functions, classes, methods; qualified names like Class.method when you can) it will "
    "touch. Use only names from the project when you know them. Answer with JSON only."
)


def validate(data: Any) -> str | None:
    """The problem with a decomposition answer in a few words, or None when it fits SCHEMA."""
    if not isinstance(data, dict) or set(data) != {"subtasks"}:
        return 'the answer must be an object with exactly one key, "subtasks"'
    items = data["subtasks"]
    if not isinstance(items, list) or not items:
        return '"subtasks" must be a non-empty list'
    if len(items) > MAX_SUBTASKS:
        return f"at most {MAX_SUBTASKS} subtasks"
    keys: set[str] = set()
    need = set(REQUIRED)
    for i, it in enumerate(items):
        where = f"subtask {i + 1}"
        if not isinstance(it, dict) or set(it) != need:
            return f"{where} must have exactly the keys {', '.join(sorted(need))}"
        for k in ("key", "title", "rationale"):
            if not isinstance(it[k], str) or not it[k].strip():
                return f"{where}: {k} must be non-empty text"
        if it["key"] in keys:
            return f"{where}: key {it['key']!r} is used twice"
        if it["parent"] is not None and (
            not isinstance(it["parent"], str) or it["parent"] not in keys
        ):
            return f"{where}: parent must be null or the key of an earlier subtask"
        for k in ("files", "symbols"):
            if not isinstance(it[k], list) or not all(isinstance(x, str) for x in it[k]):
                return f"{where}: {k} must be a list of text"
        keys.add(it["key"])
    return None


def _prompt(conn: Connection, task: TaskRow) -> str:
    files = sorted(code_store.files_of_project(conn, task.project_id))[:MAX_FILES_LISTED]
    parts = [f"Task: {task.title}"]
    if task.description:
        parts.append(f"Description: {task.description}")
    if files:
        parts.append("Project files:\n" + "\n".join(f"- {f}" for f in files))
    return "\n\n".join(parts)


def resolve_file(conn: Connection, project_id: int, name: str, files: list[str]) -> str | None:
    n = name.strip().lstrip("./")
    if code_store.get_file(conn, project_id, n) is not None:
        return n
    tails = [f for f in files if f.endswith("/" + n)]
    return tails[0] if len(tails) == 1 else None


def resolve_symbol(
    conn: Connection, project_id: int, name: str, prefer: set[str]
) -> tuple[str, int, int] | None:
    """(path, symbol id, first line) of the name, preferring the subtask's own files."""
    n = name.strip().rstrip("()")
    if ":" in n:  # "app.py:helper"
        n = n.rsplit(":", 1)[1]
    refs = code_store.refs_by_qualified(conn, project_id, n)
    if not refs and "." in n:
        tail = n.rsplit(".", 1)[1]
        refs = [
            r
            for r in code_store.refs_by_name(conn, project_id, tail)
            if r.qualified_name.endswith(n)
        ]
        if not refs:
            refs = code_store.refs_by_qualified(conn, project_id, n.split(".", 1)[1])
    if not refs:
        refs = code_store.refs_by_name(conn, project_id, n)
    if not refs:
        return None
    refs.sort(key=lambda r: (r.file_path not in prefer, r.file_path, r.id))
    r = refs[0]
    sym = code_store.get_symbol(conn, r.id)
    return r.file_path, r.id, sym.start_line if sym else 0


def _targets(
    conn: Connection, project_id: int, item: dict[str, Any], files: list[str]
) -> list[Target]:
    out: list[Target] = []
    resolved: set[str] = set()
    for name in dict.fromkeys(x for x in item["files"] if x.strip()):
        path = resolve_file(conn, project_id, name, files)
        if path:
            resolved.add(path)
        out.append(Target("file", name, path, None, None))
    for name in dict.fromkeys(x for x in item["symbols"] if x.strip()):
        hit = resolve_symbol(conn, project_id, name, resolved)
        out.append(Target("symbol", name, *(hit if hit else (None, None, None))))
    return out


@dataclass
class Decomposed:
    task: TaskRow
    subtasks: list[TaskRow]
    operation: str
    cost_micro: int
    cached: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "task": task_json(self.task),
            "subtasks": [task_json(t) for t in self.subtasks],
            "operation": self.operation,
            "cost_usd": self.cost_micro / 1_000_000,
            "cached": self.cached,
            "message": self.message,
        }

    @property
    def message(self) -> str:
        n = len(self.subtasks)
        unresolved = sum(1 for t in self.subtasks for x in t.targets if not x.resolved)
        tail = (
            f" ({unresolved} names not found in the index are kept as text)" if unresolved else ""
        )
        return f"Task {self.task.id} split into {n} subtask{'s' * (n != 1)}{tail}."


def decompose(
    store: Store,
    svc: LlmService,
    project_id: int,
    task_id: int,
    *,
    op_id: str | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Decomposed:
    """Ask for the subtasks and write them; LlmError with a sentence (nothing written)."""
    task = get(store, project_id, task_id)
    conn = store.conn()
    op = Operation(
        store, op_id or uuid.uuid4().hex[:12], "decompose", task.title, project_id, task_id
    )
    req = structured.StructuredRequest(
        NAME, SCHEMA, SYSTEM, _prompt(conn, task), "decompose", project_id
    )
    op.running(model=svc.settings.llm.model)
    try:
        ans = structured.ask(svc, req, validate, cancelled, op.on_request)
    except LlmError as exc:
        op.failed(svc.scrub(str(exc)))
        raise
    except BaseException as exc:
        op.failed(f"mira-ls failed while decomposing the task: {type(exc).__name__}.")
        raise
    files = sorted(code_store.files_of_project(conn, project_id))
    items: list[dict[str, Any]] = ans.data["subtasks"]
    planned = [(it, _targets(conn, project_id, it, files)) for it in items]
    ids: dict[str, int] = {}
    with store.write() as w:
        now = int(time.time())
        for it, targets in planned:
            parent = ids[it["parent"]] if it["parent"] is not None else task_id
            tid = q.insert_task(
                w, project_id, " ".join(it["title"].split())[:300], parent_id=parent,
                rationale=it["rationale"].strip(), source="llm", now=now,
            )  # fmt: skip
            q.insert_targets(w, tid, targets)
            ids[it["key"]] = tid
    op.done(
        Outcome(
            ans.model, ans.reasoning_effort, ans.input_tokens, ans.output_tokens,
            ans.cost_micro, ans.cached, summary=json.dumps(ans.data)[:2000],
        )
    )  # fmt: skip
    subtasks = [t for t in (q.get(store.conn(), i) for i in ids.values()) if t is not None]
    return Decomposed(get(store, project_id, task_id), subtasks, op.id, ans.cost_micro, ans.cached)
