"""mira.remember, mira.forget and mira.memory as plain functions over the session, for the
server (the CLI calls mira_ls.memory.facts directly): one argument object in, JSON out."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from mira_ls import dates, paths
from mira_ls.features.session import NO_PROJECT, Session
from mira_ls.llm.service import LlmService
from mira_ls.memory.facts import Memory, MemoryError_, fact_json


class MemoryInputError(Exception):
    """The command lacks what it needs: ``str(exc)`` says so."""


def _memory(session: Session, svc: LlmService, arg: dict[str, Any]) -> Memory:
    if session.store is None:
        raise MemoryInputError(
            "mira-ls has no database, so it remembers nothing; see the earlier error about it."
        )
    pid = _project_id(session, arg)
    return Memory.open(session.store, svc, pid, enabled=session.settings.memory.enabled)


def _project_id(session: Session, arg: dict[str, Any]) -> int | None:
    uri = arg.get("uri")
    if isinstance(uri, str):
        from mira_ls.features.chat import uri_to_path

        path = uri_to_path(uri)
        loc = session.locate(path) if path else None
        if loc is not None and loc.project.project_id != NO_PROJECT:
            return loc.project.project_id
    for r in session.roots:
        if r.project_id != NO_PROJECT:
            return r.project_id
    return None


def remember(session: Session, svc: LlmService, arg: dict[str, Any]) -> dict[str, Any]:
    """{text} -> {changes: [{id, key, value, action, previous, ...}], cost_usd, message}."""
    text = arg.get("text")
    if not isinstance(text, str) or not text.strip():
        raise MemoryInputError('Say what to remember: {"text": "We deploy with fly.io"}.')
    try:
        r = _memory(session, svc, arg).remember(text)
    except MemoryError_ as exc:
        raise MemoryInputError(str(exc)) from None
    changes = [dict(fact_json(c.fact), action=c.action, previous=c.previous) for c in r.changes]
    return {"changes": changes, "cost_usd": r.cost_micro / 1_000_000, "message": r.message}


def forget(session: Session, svc: LlmService, arg: dict[str, Any]) -> dict[str, Any]:
    """{id} or {query} -> {forgotten: [fact...], message}; {message: N} or {summary: N}
    -> {forgotten: [{kind, id}], message}; rows and vectors are gone."""
    for kind in ("message", "summary"):
        if kind in arg:
            return _forget_other(session, kind, arg[kind])
    if "pattern" in arg or "profile" in arg:
        return _forget_profile(session, arg)
    what = arg.get("id", arg.get("query"))
    if isinstance(what, bool) or not isinstance(what, int | str) or not str(what).strip():
        raise MemoryInputError('Say what to forget: {"id": N} or {"query": "words from it"}.')
    try:
        gone = _memory(session, svc, arg).forget(what)
    except MemoryError_ as exc:
        raise MemoryInputError(str(exc)) from None
    n = len(gone)
    names = "; ".join(f"#{f.id} {f.key}: {f.value}" for f in gone)
    return {"forgotten": [fact_json(f) for f in gone],
            "message": f"Forgot {n} fact{'s' * (n != 1)}: {names}."}  # fmt: skip


def _forget_other(session: Session, kind: str, value: Any) -> dict[str, Any]:
    from mira_ls.memory import recall

    if isinstance(value, bool) or not isinstance(value, int):
        raise MemoryInputError(f'Say which {kind} to forget by its id: {{"{kind}": N}}.')
    if session.store is None:
        raise MemoryInputError("mira-ls has no database, so it remembers nothing.")
    if kind == "message":
        gone = recall.forget_message(session.store, value,
                                     fold=session.settings.memory.enabled)  # fmt: skip
        if gone is None:
            raise MemoryInputError(f"There is no message #{value} of yours.")
        also = [{"kind": "summary", "id": i} for i in gone.summaries]
        tail = f" and {len(also)} summaries made from it" if also else ""
        if gone.facts:
            tail += f" and {len(gone.facts)} facts it alone was the source of"
        also += [{"kind": "fact", "id": i} for i in gone.facts]
        return {"forgotten": [{"kind": kind, "id": value}, *also],
                "session": gone.message.session_id,
                "message": f"Forgot message #{value}{tail}."}  # fmt: skip
    if recall.forget_summary(session.store, value) is None:
        raise MemoryInputError(f"There is no {kind} #{value} of yours.")
    return {"forgotten": [{"kind": kind, "id": value}], "message": f"Forgot {kind} #{value}."}


def _profiles(session: Session) -> Any:
    from mira_ls.memory.profile import Profiles

    if session.store is None:
        raise MemoryInputError("mira-ls has no database, so it remembers nothing.")
    return Profiles.open(session.store, enabled=session.settings.memory.enabled)


def _forget_profile(session: Session, arg: dict[str, Any]) -> dict[str, Any]:
    """{pattern: N} -> the pattern forgotten (not found again); {profile: FIELD} -> the
    field cleared (and kept empty)."""
    from mira_ls.memory.profile import ProfileError, pattern_json, profile_json

    prof = _profiles(session)
    try:
        if "pattern" in arg:
            n = arg["pattern"]
            if isinstance(n, bool) or not isinstance(n, int):
                raise MemoryInputError('Say which pattern to forget by its id: {"pattern": N}.')
            p = prof.forget_pattern(n)
            return {"forgotten": [{"kind": "pattern", **pattern_json(p)}],
                    "message": f"Forgot pattern #{p.id}: {p.description}."}  # fmt: skip
        name = arg["profile"]
        if not isinstance(name, str) or not name.strip():
            raise MemoryInputError('Say which profile field to clear: {"profile": "verbosity"}.')
        row = prof.clear(name)
    except ProfileError as exc:
        raise MemoryInputError(str(exc)) from None
    return {"forgotten": [{"kind": "profile", "field": name}], "profile": profile_json(row),
            "message": f"Cleared {name} from your profile."}  # fmt: skip


def profile(session: Session, svc: LlmService, arg: dict[str, Any]) -> dict[str, Any]:
    """{} -> {profile, patterns}, folded again; {set: {FIELD: VALUE, ...}} sets fields (the
    fold leaves them alone); {unset: [FIELD, ...]} gives them back to the fold."""
    from mira_ls.memory.profile import ProfileError, pattern_json, profile_json

    prof = _profiles(session)
    sets, unsets = arg.get("set") or {}, arg.get("unset") or []
    if not isinstance(sets, dict) or not all(isinstance(v, str) for v in sets.values()):
        raise MemoryInputError('Give the fields to set as text: {"set": {"verbosity": "brief"}}.')
    if isinstance(unsets, str):
        unsets = [unsets]
    if not isinstance(unsets, list) or not all(isinstance(u, str) for u in unsets):
        raise MemoryInputError('Give the fields to unset as a list: {"unset": ["verbosity"]}.')
    try:
        for k, v in sets.items():
            prof.set(k, v)
        for k in unsets:
            prof.unset(k)
    except ProfileError as exc:
        raise MemoryInputError(str(exc)) from None
    row, pats = prof.fold()
    out: dict[str, Any] = {"profile": profile_json(row),
                           "patterns": [pattern_json(p) for p in pats]}  # fmt: skip
    if sets or unsets:
        out["message"] = "Profile updated: " + ", ".join([*sets, *unsets]) + "."
    return out


def patterns(session: Session, svc: LlmService, arg: dict[str, Any]) -> dict[str, Any]:
    """{} -> {patterns}; {add: TEXT, type?, appliesWhen?} adds one; {id: N, description?,
    type?, appliesWhen?} edits one (an edited pattern keeps its wording)."""
    from mira_ls.memory.profile import ProfileError, pattern_json

    prof = _profiles(session)
    kind, when = arg.get("type"), arg.get("appliesWhen")
    if (kind is not None and not isinstance(kind, str)) or (
        when is not None and not isinstance(when, str)
    ):
        raise MemoryInputError("type and appliesWhen are text.")
    try:
        if "add" in arg:
            text = arg["add"]
            if not isinstance(text, str):
                raise MemoryInputError('Say what the pattern is: {"add": "asks for tests"}.')
            p = prof.add_pattern(text, kind or "other", when)
            return {"pattern": pattern_json(p), "message": f"Added pattern #{p.id}."}
        if "id" in arg:
            n, desc = arg["id"], arg.get("description")
            if (
                isinstance(n, bool)
                or not isinstance(n, int)
                or (desc is not None and not isinstance(desc, str))
            ):
                raise MemoryInputError('Edit a pattern by its id: {"id": N, "description": "..."}.')
            p = prof.edit_pattern(n, desc, when, kind)
            return {"pattern": pattern_json(p), "message": f"Edited pattern #{p.id}."}
    except ProfileError as exc:
        raise MemoryInputError(str(exc)) from None
    prof.fold()
    return {"patterns": [pattern_json(p) for p in prof.patterns()]}


def memory(session: Session, svc: LlmService, arg: dict[str, Any]) -> dict[str, Any]:
    """{} -> {path, markdown, facts}: what is remembered, written under the state dir."""
    mem = _memory(session, svc, arg)
    md = mem.markdown()
    path = _write(md)
    return {"path": str(path), "markdown": md,
            "facts": [fact_json(f) for f in mem.facts(deprecated=True)]}  # fmt: skip


def _write(md: str) -> Path:
    digest = hashlib.sha256(md.encode()).hexdigest()[:6]
    path = paths.answers_dir() / "memory" / f"{dates.file_stamp(time.time())}-{digest}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(md, encoding="utf-8")
    return path


def analysis_due(session: Session) -> bool:
    """Whether a full batch of messages waits for analysis (so each call is a full batch;
    ``mira-ls memory analyze`` does the rest at once)."""
    from mira_ls.memory.analysis import BATCH
    from mira_ls.memory.owner import local_user_id
    from mira_ls.store import memory_analysis as aq

    if session.store is None or not session.settings.memory.enabled:
        return False
    user = local_user_id(session.store)
    return aq.pending_count(session.store.conn(), user) >= BATCH


def analyse(session: Session, svc: LlmService, cancelled: Any = None) -> dict[str, Any]:
    """Message analysis of every message not analysed yet (a background job after chat)."""
    from mira_ls.memory.analysis import Analyzer

    if session.store is None or not session.settings.memory.enabled:
        return {"analysed": 0}
    from mira_ls.memory.message_facts import run_after_analysis

    run = Analyzer.open(session.store, svc, enabled=True).run(cancelled)
    if run.model is not None or not run.stopped:
        run.facts = run_after_analysis(session.store, svc, cancelled, enabled=True).as_json()
    return run.as_json()


def add_document(session: Session, svc: LlmService, arg: dict[str, Any]) -> dict[str, Any]:
    """{path} (or {uri}) -> {id, path, title, chunks, action, message, note, ...}: the
    document chunked, keyword-indexed and embedded (mira_ls.documents does the work)."""
    from mira_ls.documents.library import Documents
    from mira_ls.documents.parse import DocumentError

    if session.store is None:
        raise MemoryInputError(
            "mira-ls has no database, so it keeps no documents; see the earlier error about it."
        )
    path = _document_path(session, arg)
    docs = Documents.open(session.store, svc, enabled=session.settings.memory.enabled)
    try:
        return docs.add(path).as_json()
    except DocumentError as exc:
        raise MemoryInputError(str(exc)) from None


def _document_path(session: Session, arg: dict[str, Any]) -> Path:
    """An absolute path, a file: URI, or a path relative to the first workspace folder."""
    raw = arg.get("path")
    if not isinstance(raw, str) or not raw.strip():
        uri = arg.get("uri")
        if isinstance(uri, str) and uri.strip():
            from mira_ls.features.chat import uri_to_path

            found = uri_to_path(uri)
            if found is not None:
                return Path(found)
        raise MemoryInputError('Say which file to add: {"path": "/path/to/guide.md"}.')
    path = Path(raw.strip()).expanduser()
    if not path.is_absolute() and session.roots:
        path = session.roots[0].root / path
    return path


def summaries_due(session: Session, session_id: str | None) -> bool:
    """Whether the last chat of the session (any when None) completed a block of 10
    messages not summarised yet. Only then, so a block whose answer stayed invalid is asked
    about again when the next block completes (or by ``mira-ls memory summarize``), not
    after every chat; or when a block's summary was dropped because a message of it was
    forgotten."""
    from mira_ls.memory.owner import local_user_id
    from mira_ls.store import memory_summaries as sq

    if session.store is None or not session.settings.memory.enabled:
        return False
    user = local_user_id(session.store)
    return any(
        (d.unsummarised >= sq.LEVEL1 and d.unsummarised % sq.LEVEL1 in (0, 1)) or d.holes
        for d in sq.due(session.store.conn(), user, session_id)
    )


def summarise(session: Session, svc: LlmService, cancelled: Any = None) -> dict[str, Any]:
    """Rolling summaries of every complete block not summarised yet (a background job after
    chat, beside the message analysis)."""
    from mira_ls.memory.summaries import Summarizer

    if session.store is None or not session.settings.memory.enabled:
        return {"level1": 0, "level2": 0}
    return Summarizer.open(session.store, svc, enabled=True).run(cancelled).as_json()
