"""Code actions on an answer file (``answers/...-ID6.md``, written by mira.chat,
mira.explain, mira.fixError and mira.reviewChanges): "Mira: this answer helped" and "Mira:
this answer did not help" run ``mira.feedback {operation, helpful}`` for the operation that
wrote it, so any editor that shows code actions can rate an answer where it reads it."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from mira_ls import paths
from mira_ls.features.session import Session
from mira_ls.store import learning as learn_store
from mira_ls.store import operations as op_store

HELPED = "Mira: this answer helped"
DID_NOT_HELP = "Mira: this answer did not help"


def _inside_answers(path: Path) -> bool:
    try:
        path.resolve().relative_to(paths.answers_dir().resolve())
    except (OSError, ValueError):
        return False
    return path.suffix == ".md"


def operation_of(session: Session, path: Path) -> str | None:
    """The id of the operation whose answer file ``path`` is (None: not an answer file)."""
    if session.store is None or not _inside_answers(path):
        return None
    prefix = path.stem.rsplit("-", 1)[-1]
    conn = session.store.conn()
    for candidate in dict.fromkeys((str(path), str(path.resolve()))):
        op = op_store.by_answer_file(conn, prefix, candidate)
        if op is not None:
            return op.id
    return None


def code_actions(session: Session, path: Path) -> list[types.CodeAction]:
    """The two feedback actions for an answer file; the one matching the feedback already
    given says so (choosing the other replaces it)."""
    op_id = operation_of(session, path)
    if op_id is None:
        return []
    assert session.store is not None
    given = learn_store.feedback_of(session.store.conn(), [op_id]).get(op_id)
    out = []
    for helpful, title in ((True, HELPED), (False, DID_NOT_HELP)):
        mark = " (your current mark)" if given is not None and given.helpful == helpful else ""
        out.append(
            types.CodeAction(
                title=title + mark,
                kind=types.CodeActionKind.QuickFix,
                command=types.Command(
                    title=title,
                    command="mira.feedback",
                    arguments=[{"operation": op_id, "helpful": helpful}],
                ),
            )
        )
    return out
