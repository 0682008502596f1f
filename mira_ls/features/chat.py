"""Chat commands (mira.chat, mira.explain, mira.fixError, mira.reviewChanges) as plain functions.

The server and the CLI share them: ``prepare`` turns a command's one optional argument
object into a question with its context (falling back to the last cursor position the
client showed us, or a sentence saying what is missing), ``run`` asks the model, streams
chunks to a sink, writes the answer to a markdown file under the state directory and
returns the command's result. Budget, cache and status commands are here too.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types

from mira_ls import dates, paths
from mira_ls.config import REASONING_EFFORTS
from mira_ls.confined import is_inside
from mira_ls.features.positions import LineMap
from mira_ls.features.quality_diagnostics import SOURCE as QUALITY_SOURCE
from mira_ls.features.session import NO_PROJECT, Located, ProjectRoot, Session
from mira_ls.index.symbols import symbol_at
from mira_ls.llm import context as ctx
from mira_ls.llm import patch, prompts, review
from mira_ls.llm.errors import LlmError
from mira_ls.llm.patch_guard import guard_for
from mira_ls.llm.pricing import usd
from mira_ls.llm.redact import redact
from mira_ls.llm.service import Answer, LlmService, Question
from mira_ls.memory.recall import RECALL_SHARE, Recall, Recalled, footer
from mira_ls.store import Store
from mira_ls.store import llm_queries as lq
from mira_ls.tasks import artifacts
from mira_ls.tasks.operations import Operation, Outcome

USAGE = (
    "mira.chat needs a question, or a cursor position to explain: run it with "
    '{"question": "...", "uri": "file:///...", "position": {"line": 0, "character": 0}}, '
    "or hover a symbol first and run it again (the last hovered position is used)."
)
CURSOR_TTL_S = 30 * 60


class NeedInput(Exception):
    """The command lacks what it needs; ``str(exc)`` says what to send."""


@dataclass(frozen=True)
class Cursor:
    uri: str
    line: int  # LSP position (0-based line, client units)
    character: int
    at: float


@dataclass
class ChatState:
    """Per-server state: the LLM service for the current settings and the last cursor."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _service: LlmService | None = None
    _service_key: tuple[Any, ...] | None = None
    cursor: Cursor | None = None
    offers: dict[str, list[patch.FilePatch]] = field(default_factory=dict)
    tasks: set[Any] = field(default_factory=set)  # running offers (kept referenced)

    def service(self, session: Session) -> LlmService:
        if session.store is None:
            raise NeedInput(
                "mira-ls has no database, so it cannot track the LLM budget; "
                "see the earlier error about the database."
            )
        s = session.settings
        key = (id(session.store), repr(s.llm), repr(s.budget), repr(s.cache))
        with self._lock:
            if self._service is None or self._service_key != key:
                self._service = LlmService(session.store, s)
                self._service_key = key
            return self._service

    def saw(self, uri: str, line: int, character: int) -> None:
        """Remember where the client last asked about (hover, code action)."""
        self.cursor = Cursor(uri, line, character, time.monotonic())

    def last_cursor(self) -> Cursor | None:
        c = self.cursor
        if c is None or time.monotonic() - c.at > CURSOR_TTL_S:
            return None
        return c


def uri_to_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme not in ("file", ""):
        return None
    return Path(unquote(parsed.path))


Documents = Callable[[str], tuple[Located, str] | None]


@dataclass
class Prepared:
    op: str  # chat, explain, fix_error, review
    title: str
    question: Question
    where: ctx.Where | None = None
    uri: str | None = None
    diagnostic: dict[str, Any] | None = None
    error_id: int | None = None  # fix_error: the stored build error the diagnostic shows
    # fix_error: the patterns of 'What worked before' (id, match score, note)
    patterns: list[tuple[int, float, str | None]] = field(default_factory=list)
    recalled: Recalled | None = None  # chat and explain: what memory added to the context


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _typed(obj: dict[str, Any], key: str, kind: type, what: str, path: str = "") -> Any:
    """``obj[key]`` when it has the type a client must send; None when absent or null.

    A wrong type is the client's mistake: a sentence naming the field, not a silent default.
    """
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise NeedInput(f"The argument {path}{key} must be {what}; got {_shown(value)}.")
    return value


def _lsp_pos(value: Any, path: str) -> types.Position | None:
    """An LSP position from a command argument; None when absent, NeedInput when malformed."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise NeedInput(
            f'The argument {path} must be {{"line": N, "character": N}} (0-based); '
            f"got {_shown(value)}."
        )
    out = []
    for key in ("line", "character"):
        v = value.get(key)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise NeedInput(
                f"The argument {path}.{key} must be a whole number from 0 (LSP positions "
                f"are 0-based); got {_shown(v)}."
            )
        out.append(v)
    return types.Position(out[0], out[1])


Span = tuple[types.Position, types.Position]


def _lsp_range(value: Any, path: str) -> Span | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise NeedInput(
            f'The argument {path} must be {{"start": {{...}}, "end": {{...}}}}; '
            f"got {_shown(value)}."
        )
    start = _lsp_pos(value.get("start"), f"{path}.start")
    end = _lsp_pos(value.get("end"), f"{path}.end")
    if start is None or end is None:
        raise NeedInput(f"The argument {path} needs both start and end positions.")
    return start, end


def _position(
    arg: dict[str, Any], state: ChatState
) -> tuple[str | None, types.Position | None, Span | None]:
    uri = _typed(arg, "uri", str, 'a file URI ("file:///...")')
    pos = _lsp_pos(arg.get("position"), "position")
    rng = _lsp_range(arg.get("range"), "range")
    if rng is not None and pos is None:
        pos = rng[0]
    cur = state.last_cursor()
    if cur is not None and (uri is None or uri == cur.uri) and pos is None:
        uri = uri or cur.uri
        pos = types.Position(cur.line, cur.character)
    return uri, pos, rng


def _where(
    session: Session,
    documents: Documents,
    uri: str,
    pos: types.Position | None,
    rng: Span | None,
    encoding: str,
) -> tuple[ctx.Where, Located]:
    found = documents(uri)
    if found is None:
        raise NeedInput(
            f"{uri} is not a file in an open workspace folder; open the file "
            "inside the workspace and try again."
        )
    loc, text = found
    lm = LineMap(text, encoding)
    line, col = lm.from_client(pos or types.Position(0, 0))
    end_line = end_col = None
    if rng is not None:
        start, end = rng
        if (end.line, end.character) != (start.line, start.character):
            line, col = lm.from_client(start)
            end_line, end_col = lm.from_client(end)
    return ctx.Where(
        loc.project.project_id, loc.project.root, loc.rel_path, text, line, col, end_line, end_col
    ), loc


def _context(
    session: Session,
    where: ctx.Where,
    secrets: tuple[str, ...],
    extra: list[ctx.Section] | None = None,
    error_text: str = "",
) -> ctx.ContextBundle:
    assert session.store is not None
    fx = session.parse(where.rel_path, where.text)
    bundle = ctx.assemble(
        session.store,
        where,
        fx,
        budget=session.settings.llm.context_tokens,
        extra=extra,
        secrets=secrets,
        error_text=error_text,
    )
    if bundle.refused:
        raise NeedInput(f"Not sent to the LLM: {bundle.refused}.")
    return bundle


def _symbol_name(session: Session, where: ctx.Where) -> str | None:
    fx = session.parse(where.rel_path, where.text)
    if fx is None:
        return None
    idx = symbol_at(fx, where.line, where.col)
    if idx is None or fx.symbols[idx].kind == "module":
        return None
    return fx.symbols[idx].qualified_name


def _model_and_effort(arg: dict[str, Any]) -> tuple[str | None, str | None]:
    """Per-request ``model`` and ``effort``, checked like the CLI's --model and --effort."""
    model = _typed(arg, "model", str, "a model name (text)")
    effort = _typed(arg, "effort", str, f"one of {', '.join(REASONING_EFFORTS)}")
    if effort is not None and effort not in REASONING_EFFORTS:
        raise NeedInput(
            f"The argument effort must be one of {', '.join(REASONING_EFFORTS)}; "
            f"got {_shown(effort)}."
        )
    return (model or "").strip() or None, effort  # "" means the default, as --model ""


def prepare(
    state: ChatState,
    session: Session,
    op: str,
    arg: dict[str, Any],
    documents: Documents,
    encoding: str,
    secrets: tuple[str, ...] = (),
    client_name: str | None = None,
) -> Prepared:
    """The question for a command, or NeedInput with a sentence saying what is missing.

    The title and shown question name the progress, the answer file and its heading, so a
    key the user typed into the question is scrubbed from them as it is from the request.
    """
    prep = _prepare(state, session, op, arg, documents, encoding, secrets, client_name)
    prep.title = redact(prep.title, secrets)
    prep.question.shown = redact(prep.question.shown, secrets)
    return prep


@dataclass(frozen=True)
class _Asker:
    """The per-request choices every command's Question carries (session, model, effort)."""

    session_id: str | None
    new_session: bool
    client_name: str | None
    model: str | None
    effort: str | None

    def question(
        self,
        request: str,
        shown: str,
        op: str,
        bundle: ctx.ContextBundle | None,
        project_id: int | None,
        root: Path | None,
        with_history: bool = False,
    ) -> Question:
        return Question(
            request,
            shown,
            op,
            bundle,
            project_id,
            root,
            session_id=self.session_id,
            new_session=self.new_session,
            client_name=self.client_name,
            model=self.model,
            reasoning_effort=self.effort,
            with_history=with_history,
        )


def _prepare(
    state: ChatState,
    session: Session,
    op: str,
    arg: dict[str, Any],
    documents: Documents,
    encoding: str,
    secrets: tuple[str, ...],
    client_name: str | None,
) -> Prepared:
    question = _typed(arg, "question", str, "text")
    question = question.strip() if question else None
    uri, pos, rng = _position(arg, state)
    session_id = _typed(arg, "session", str, "a conversation id (text)")
    new_session = bool(_typed(arg, "newSession", bool, "true or false"))
    model, effort = _model_and_effort(arg)
    asker = _Asker(session_id, new_session, client_name, model, effort)
    if op == "review":
        return _prepare_review(session, uri, secrets, asker)
    if op == "fix_error":
        return _prepare_fix(session, arg, uri, pos, documents, encoding, secrets, asker)
    # chat and explain need a place unless a question stands on its own
    where = _where(session, documents, uri, pos, rng, encoding)[0] if uri is not None else None
    if op == "explain" or (op == "chat" and not question):
        return _prepare_explain(state, session, op, where, uri, secrets, asker)
    assert question is not None
    return _prepare_chat(state, session, question, where, uri, secrets, asker)


def _recall(
    state: ChatState,
    session: Session,
    question: str,
    project_id: int | None,
    asker: _Asker,
    shown: str,
    secrets: tuple[str, ...],
) -> Recalled | None:
    """What memory recalls for the question, within its share of the context budget,
    leaving out the conversation the question joins (its history); None when memory is
    off. Only mira-ls's own chat and explain call this: the MCP bundles never carry memory."""
    if session.store is None or not session.settings.memory.enabled:
        return None
    svc = state.service(session)
    pid = None if project_id == NO_PROJECT else project_id
    share = int(session.settings.llm.context_tokens * RECALL_SHARE)
    joins = svc.conversations.current(pid, session_id=asker.session_id, new=asker.new_session)
    recorded = svc.scrub(redact(shown, secrets))  # the question as memory_entries keeps it
    recall = Recall.open(session.store, svc, pid, enabled=True)
    return recall.recall(question, share, joins, recorded)


def _memory_extra(recalled: Recalled | None) -> list[ctx.Section]:
    return recalled.sections if recalled is not None else []


def _prepare_review(
    session: Session, uri: str | None, secrets: tuple[str, ...], asker: _Asker
) -> Prepared:
    roots = session.roots
    if uri is not None:
        p = uri_to_path(uri)
        found = session.locate(p) if p else None
        roots = [found.project] if found else roots
    if not roots:
        raise NeedInput("mira.reviewChanges needs an open workspace folder.")
    root = roots[0]
    assert session.store is not None
    try:
        sections, tree = review.sections(
            session.store,
            root.project_id,
            root.root,
            session.settings.llm.context_tokens,
            secrets,
            trusted=session.settings.git.trust_repository_config,
        )
    except review.ReviewError as exc:
        raise NeedInput(str(exc)) from None
    chosen, _ = ctx.fit(sections, session.settings.llm.context_tokens)
    text = "\n\n".join(s.render() for s in chosen)
    bundle = ctx.ContextBundle(text, chosen, [], 0, [], [], None)
    return Prepared(
        "review",
        f"Review of {len(tree.files)} changed files",
        asker.question(
            prompts.review(tree.stat),
            "Review my uncommitted changes",
            "review",
            bundle,
            root.project_id,
            root.root,
        ),
    )


def _prepare_fix(
    session: Session,
    arg: dict[str, Any],
    uri: str | None,
    pos: types.Position | None,
    documents: Documents,
    encoding: str,
    secrets: tuple[str, ...],
    asker: _Asker,
) -> Prepared:
    diag = _typed(arg, "diagnostic", dict, "an LSP diagnostic object")
    if diag is None or not isinstance(diag.get("message"), str):
        raise NeedInput(
            'mira.fixError needs {"uri": ..., "diagnostic": {...}}: run it '
            'from the "Ask Mira to fix" code action on an error.'
        )
    if uri is None:
        raise NeedInput("mira.fixError needs the uri of the file with the error.")
    drange = _lsp_range(diag.get("range"), "diagnostic.range")
    fix_at, _ = _where(session, documents, uri, drange[0] if drange else pos, None, encoding)
    message = diag["message"]
    label = " ".join(str(x) for x in (diag.get("source"), diag.get("code")) if x)
    said = f"{label + ': ' if label else ''}{message}"
    assert session.store is not None
    err = lq.build_error_at(
        session.store.conn(), fix_at.project_id, fix_at.rel_path, fix_at.line, message
    )
    extra = [
        ctx.Section(
            "diagnostic",
            f"The error ({fix_at.rel_path}:{fix_at.line})",
            said,
            0,
            error_ids=[(err.id, None)] if err else [],
        )
    ]
    patterns: list[tuple[int, float, str | None]] = []
    if err is not None and session.settings.learning.enabled:
        patterns = _what_worked(session, fix_at.project_id, err, extra)
    bundle = _context(session, fix_at, secrets, extra, error_text=message)
    if not any(s.kind == "what_worked" for s in bundle.sections):
        patterns = []  # did not fit
    return Prepared(
        "fix_error",
        f"Fix: {redact(message, secrets)[:60]}",
        asker.question(
            prompts.refactor(message, f"{fix_at.rel_path}:{fix_at.line}")
            if diag.get("source") == QUALITY_SOURCE  # "Ask Mira to refactor"
            else prompts.fix_error(said, f"{fix_at.rel_path}:{fix_at.line}"),
            f"Fix {fix_at.rel_path}:{fix_at.line}: {message}",
            "fix_error",
            bundle,
            fix_at.project_id,
            fix_at.root,
        ),
        fix_at,
        uri,
        diag,
        err.id if err else None,
        patterns,
    )


def _what_worked(
    session: Session, project_id: int, err: lq.BuildError, extra: list[ctx.Section]
) -> list[tuple[int, float, str | None]]:
    """The patterns that fit the error (signature, and stored vectors when the embedding
    space has them) as a 'What worked before' section; their (id, match, note)."""
    from mira_ls.learning import matching, outcomes

    assert session.store is not None
    conn = session.store.conn()
    problem = matching.problem_of(
        conn, project_id, category=err.category, error_hash=err.error_hash,
        tool=err.tool, code=err.code, message=err.message, path=err.file_path, line=err.line,
    )  # fmt: skip
    llm = session.settings.llm
    space = (llm.embedding_model, int(llm.embedding_dimensions))
    worked = outcomes.what_worked(
        session.store, project_id, problem,
        space=space if session.settings.vectors.semantic else None,
    )  # fmt: skip
    if worked.body:
        extra.append(
            ctx.Section("what_worked", "What worked before", worked.body, 3, redacted=True)
        )
    return worked.uses


def _prepare_explain(
    state: ChatState,
    session: Session,
    op: str,
    where: ctx.Where | None,
    uri: str | None,
    secrets: tuple[str, ...],
    asker: _Asker,
) -> Prepared:
    if where is None:
        raise NeedInput(
            USAGE
            if op == "chat"
            else 'mira.explain needs {"uri": ..., "position": ...}, or hover the '
            "symbol first and run it again."
        )
    name = _symbol_name(session, where)
    about = f"{name} {where.rel_path}" if name else f"{where.rel_path} {_lines_at(where)}"
    shown = f"Explain {name or f'{where.rel_path}:{where.line}'}"
    recalled = _recall(state, session, about, where.project_id, asker, shown, secrets)
    bundle = _context(session, where, secrets, _memory_extra(recalled) or None)
    req = prompts.explain(name) if name else prompts.explain_here()
    return Prepared(
        "explain",
        shown,
        asker.question(req, shown, "explain", bundle, where.project_id, where.root),
        where,
        uri,
        recalled=recalled,
    )


def _lines_at(where: ctx.Where) -> str:
    """The cursor's line and the next two: what an explain outside any definition recalls
    memories by (inside one, its qualified name and file)."""
    lines = where.text.splitlines()
    return " ".join(lines[max(0, where.line - 1) : where.line + 2])[:500]


def _prepare_chat(
    state: ChatState,
    session: Session,
    question: str,
    where: ctx.Where | None,
    uri: str | None,
    secrets: tuple[str, ...],
    asker: _Asker,
) -> Prepared:
    follow_up = not asker.new_session
    title = redact(question, secrets)[:60]  # scrub first: a cut key would not match
    if where is not None:
        recalled = _recall(state, session, question, where.project_id, asker, question, secrets)
        bundle = _context(session, where, secrets, _memory_extra(recalled) or None)
        return Prepared(
            "chat",
            title,
            asker.question(
                prompts.chat(question),
                question,
                "chat",
                bundle,
                where.project_id,
                where.root,
                with_history=follow_up,
            ),
            where,
            uri,
            recalled=recalled,
        )
    project = session.roots[0] if session.roots else None
    placed = project is not None and project.project_id != NO_PROJECT
    pid = project.project_id if project is not None and placed else None
    recalled = _recall(state, session, question, pid, asker, question, secrets)
    extra = _memory_extra(recalled)
    related = None
    if project is not None and session.store is not None and placed:
        related = ctx.assemble_unplaced(
            session.store,
            session.settings,
            project.project_id,
            project.root,
            question,
            budget=session.settings.llm.context_tokens,
            secrets=secrets,
            extra=extra,
        )
    elif extra:  # outside any workspace: what is remembered is the whole context
        related = ctx.assemble_sections(extra, session.settings.llm.context_tokens, secrets)
    return Prepared(
        "chat",
        title,
        asker.question(
            prompts.chat(question),
            question,
            "chat",
            related,
            project.project_id if project else None,
            project.root if project else None,
            with_history=follow_up,
        ),
        recalled=recalled,
    )


# -- running ------------------------------------------------------------------------------


_SLUG = re.compile(r"[^a-z0-9]+")


def answer_path(op: str, title: str, answer_id: str) -> Path:
    stamp = dates.file_stamp(time.time())
    slug = _SLUG.sub("-", title.lower()).strip("-")[:40] or op
    return paths.answers_dir() / f"{stamp}-{op}-{slug}-{answer_id[:6]}.md"


def write_answer(
    prep: Prepared, answer: Answer, answer_id: str, notes: list[str], remembered: str = ""
) -> Path:
    path = answer_path(prep.op, prep.title, answer_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# {prep.question.shown}",
        "",
        answer.text.rstrip(),
        "",
        "---",
        "",
        f"*{answer.cost_line()}*",
    ]
    if remembered:
        lines.append(f"*{remembered}*")
    for n in notes:
        lines.append(f"*Note: {n}*")
    if prep.question.context is not None and prep.question.context.sections:
        lines.append(f"*Context: {prep.question.context.summary()}*")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Sink:
    """Where a streamed answer goes: chunks as they arrive, then the end."""

    chunk: Callable[[str, int], None] = lambda text, seq: None
    cancelled: Callable[[], bool] = lambda: False


@dataclass
class ChatResult:
    """What a chat command answers (``as_json`` is the command result an editor gets)."""

    id: str
    operation: str
    cached: bool
    cost_usd: float
    saved_usd: float
    model: str
    reasoning_effort: str | None
    cancelled: bool
    complete: bool
    session: str | None
    notes: list[str]
    cost: str
    chunks: int
    file: str = ""
    uri: str = ""
    text: str = ""
    edit_files: list[str] = field(default_factory=list)
    edit_sizes: list[str] = field(default_factory=list)  # "+N -M" per file, as edit_files
    edit_refused: str | None = None  # why a fix's diff is not offered
    estimated: bool = False  # the endpoint reported no usage: token counts are ours
    remembered: str = ""  # the footer naming the memories the context carried
    memories: list[dict[str, Any]] = field(default_factory=list)  # those memories

    def as_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if not self.edit_files:
            del out["edit_files"], out["edit_sizes"]
        if self.edit_refused is None:
            del out["edit_refused"]
        return out

    def consent(self) -> str:
        """The question the editor asks before the fix is applied: every file, every size."""
        files = ", ".join(
            f"{p} ({n} lines)" for p, n in zip(self.edit_files, self.edit_sizes, strict=True)
        )
        return f"Apply Mira's fix? It changes {files}. The editor will show the edit."


@dataclass(frozen=True)
class ChatFailure:
    """A chat command that did not answer: the sentence, and ``kind`` for the severity."""

    id: str
    error: str
    kind: str

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def run(
    state: ChatState, session: Session, prep: Prepared, sink: Sink, answer_id: str | None = None
) -> ChatResult:
    """Ask, stream, write the answer file; the command's result (raises LlmError)."""
    svc = state.service(session)
    aid = answer_id or uuid.uuid4().hex[:12]
    seq = 0
    assert session.store is not None  # state.service checked
    op = Operation(session.store, aid, prep.op, prep.question.shown, prep.question.project_id)
    prep.question.on_request = op.on_request
    prep.question.operation_id = aid
    _offer_synthesized(session, prep.question, svc.secrets)
    if prep.patterns:  # what worked before went into this fix's context
        from mira_ls.learning import outcomes

        outcomes.record_use(session.store, prep.patterns, aid, prep.question.project_id)

    def on_text(text: str) -> None:
        nonlocal seq
        seq += 1
        if seq == 1:
            op.streaming()
        sink.chunk(text, seq)

    target = prep.question.context.target if prep.question.context else None
    op.running(
        model=prep.question.model or session.settings.llm.model,
        **({"symbol": target} if target else {}),
    )
    try:
        answer = svc.ask(prep.question, on_text, sink.cancelled)
    except (LlmError, NeedInput) as exc:
        op.failed(svc.scrub(str(exc)))
        raise
    except BaseException as exc:
        op.failed(f"mira-ls failed while answering: {type(exc).__name__}.")
        raise
    if not answer.cached and answer.tool_calls:
        from mira_ls.learning import synthesis

        answer.notes.extend(
            synthesis.observe(
                session.store,
                aid,
                prep.question.project_id,
                answer.tool_calls,
                synthesis=session.settings.tools.synthesis,
                min_occurrences=session.settings.tools.min_occurrences,
            )
        )
    try:
        result, outcome = _result(state, session, prep, answer, aid, seq)
    except BaseException as exc:
        op.failed(f"mira-ls failed after the answer arrived: {type(exc).__name__}.")
        raise
    if answer.cancelled:
        op.cancelled(outcome)
    else:
        op.done(outcome)
    return result


def _offer_synthesized(session: Session, question: Question, secrets: tuple[str, ...]) -> None:
    """The synthesized tools the user approved join the built-in ones; a call of one not
    approved is refused. ``secrets`` (the API key) never reach a command tool's environment,
    whatever variable holds them."""
    if question.project_id is None or question.root is None or session.store is None:
        return
    if question.project_id == NO_PROJECT:
        return
    from mira_ls.learning.synth_run import Offered

    question.extra_tools = Offered(
        session.store,
        question.project_id,
        question.root,
        session.settings.tools,
        secrets,
    )


def _result(
    state: ChatState, session: Session, prep: Prepared, answer: Answer, aid: str, seq: int
) -> tuple[ChatResult, Outcome]:
    """The command's result and the operation's outcome: the offered fix, the answer file."""
    result = ChatResult(
        aid,
        prep.op,
        answer.cached,
        answer.cost_micro / 1_000_000,
        answer.saved_micro / 1_000_000,
        answer.model,
        answer.reasoning_effort,
        answer.cancelled,
        answer.complete,
        answer.session_id,
        list(answer.notes),
        answer.cost_line(),
        seq,
        estimated=answer.estimated,
    )
    if prep.recalled is not None:
        result.notes.extend(prep.recalled.notes)
        context = prep.question.context
        fitted = context.sections if context is not None else []
        used = prep.recalled.used(fitted)
        result.remembered = footer(used, prep.recalled.used_profile(fitted))
        result.memories = [m.as_json() for m in used]
    if prep.op in ("fix_error", "chat") and answer.text and prep.where is not None:
        _offer_patch(state, session, prep, answer.text, result)
    path = write_answer(prep, answer, aid, result.notes, result.remembered)
    result.file = str(path)
    result.uri = path.as_uri()
    result.text = answer.text
    outcome = Outcome(
        answer.model,
        answer.reasoning_effort,
        answer.input_tokens,
        answer.output_tokens,
        answer.cost_micro,
        answer.cached,
        answer.session_id,
        answer_path=str(path),
        summary=answer.text[:200] or None,
    )
    return result, outcome


def _offer_patch(
    state: ChatState, session: Session, prep: Prepared, text: str, result: ChatResult
) -> None:
    """Keep the answer's diff (or its code blocks that name a file) as an offer when every
    file it touches may be changed."""
    where = prep.where
    assert where is not None
    as_diff = bool(patch.diff_blocks(text))
    if not as_diff and not patch.code_blocks(text):
        return
    guard = guard_for(session.store, where.project_id, where.root)

    def read(rel: str) -> str | None:
        guard.check(rel)
        if rel == where.rel_path:
            return where.text
        if not is_inside(where.root, where.root / rel):  # the guard checked; kept as a belt
            return None
        try:
            return (where.root / rel).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    planned = patch.plan(text, read) if as_diff else patch.plan_blocks(text, read)
    if planned.unplaced and session.store is not None:  # kept, without a diff, never dropped
        kept = artifacts.keep_unplaced(session.store, result.id, where.project_id,
                                       planned.unplaced)  # fmt: skip
        for u, art in zip(planned.unplaced, kept, strict=False):
            result.notes.append(
                f"the code block for {u.path} is kept as artifact {art} without a diff: {u.reason}"
            )
    if planned.problem is not None:
        result.edit_refused = f"No edit is offered: {planned.problem}."
        result.notes.append(result.edit_refused)
        return
    with state._lock:
        state.offers[result.id] = planned.patches
        while len(state.offers) > 20:
            state.offers.pop(next(iter(state.offers)))
    if session.store is not None:  # the proposal is kept: its diff against the file now
        artifacts.propose(
            session.store,
            result.id,
            where.project_id,
            planned.patches,
            prep.error_id,
            kind="patch" if as_diff else "code",
        )
    result.edit_files = [p.path for p in planned.patches]
    result.edit_sizes = [p.size() for p in planned.patches]
    changed = ", ".join(f"{p.path} ({p.size()})" for p in planned.patches)
    result.notes.append(
        f'the fix changes {changed}: apply it with mira.applyFix {{"id": "{result.id}"}}'
    )


def workspace_edit(
    state: ChatState,
    answer_id: str,
    root_of: Callable[[str], Path | None],
    uri: str | None,
    encoding: str,
) -> types.WorkspaceEdit | None:
    """A whole-file replacement edit for each file of an offered fix."""
    patches = state.offers.get(answer_id)
    if not patches:
        return None
    base = root_of(uri) if uri else None
    if base is None:
        return None
    changes: dict[str, list[types.TextEdit]] = {}
    for p in patches:
        lm = LineMap(p.old_text, encoding)
        last = p.old_text.split("\n")
        end = lm.position(len(last), len(last[-1]))
        target = (base / p.path).as_uri()
        changes[target] = [types.TextEdit(types.Range(types.Position(0, 0), end), p.new_text)]
    return types.WorkspaceEdit(changes=changes)


def changed_since_offer(
    store: Store, answer_id: str, current: Callable[[str], str | None]
) -> list[str]:
    """The files of an offered fix whose text changed since it was made (asked about first)."""
    return artifacts.changed_since(store, answer_id, current)


def fix_applied(session: Session, answer_id: str, project_id: int) -> int:
    """The editor applied an offered fix: its file modifications are recorded."""
    if session.store is None:
        return 0
    return artifacts.applied(session.store, answer_id, project_id)


def file_saved(session: Session, loc: Located, text: str) -> list[int]:
    """A saved file back at an applied fix's original text: the fix is recorded reverted
    (and, with learning.enabled, counted as a failure of what it did)."""
    if session.store is None:
        return []
    undone = artifacts.saved(session.store, loc.project.project_id, loc.rel_path, text)
    if undone and session.settings.learning.enabled:
        from mira_ls.learning import outcomes

        outcomes.reverted(session.store, loc.project.project_id, undone)
    return undone


def applied_kept(session: Session, root: ProjectRoot, now: int | None = None) -> dict[str, Any]:
    """With learning.enabled, the applied fixes of a root applied a day ago or more whose
    change is still in the file are counted kept (a success), those whose change is gone not
    kept (learning.outcomes.day_check); {} otherwise."""
    if (
        session.store is None
        or root.project_id == NO_PROJECT
        or not session.settings.learning.enabled
    ):
        return {}
    from mira_ls.learning import outcomes

    return outcomes.day_check(session.store, root.project_id, root.root, now=now)


# -- budget and cache commands ---------------------------------------------------------------


def budget_report(svc: LlmService) -> dict[str, Any]:
    """The mira.budget shape: {day, month, cache: {hits, misses, hit_rate, saved_usd}}."""
    status = svc.budget.status()
    stats = svc.cache.stats()
    status["cache"] = {
        "hits": stats.hits,
        "misses": stats.misses,
        "hit_rate": stats.hit_rate,
        "saved_usd": stats.saved_micro / 1_000_000,
    }
    return status


def budget_text(report: dict[str, Any]) -> str:
    d, m, c = report["day"], report["month"], report["cache"]

    def money(x: float) -> str:
        return usd(round(x * 1_000_000))

    hold = report.get("hold")
    held = (
        f" Spending is on hold until {dates.minute(hold['until'])} (a call cost "
        f"{money(hold['cost_usd'])} where {money(hold['reserved_usd'])} was reserved); "
        "resume with `mira-ls budget --resume` or mira.resumeBudget."
        if hold
        else ""
    )
    return (
        f"Today {money(d['spent_usd'])} of {money(d['limit_usd'])} (resets "
        f"{dates.minute(d['reset_at'])}); this month {money(m['spent_usd'])} of "
        f"{money(m['limit_usd'])} (resets {dates.minute(m['reset_at'])}); cache "
        f"{c['hits']} hits / {c['misses']} misses ({c['hit_rate']:.0%}), saved "
        f"{money(c['saved_usd'])}.{held}"
    )


@dataclass(frozen=True)
class Resumed:
    lifted: int
    message: str

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def resume_budget(svc: LlmService) -> Resumed:
    """The user confirmed after an overrun: lift the hold, say what the limits are now."""
    lifted = svc.budget.resume()
    if not lifted:
        return Resumed(0, "Spending was not on hold; nothing to resume.")
    return Resumed(
        lifted,
        "Spending resumed: Mira may ask the model again within the daily and monthly limits. "
        + budget_text(budget_report(svc)),
    )


def cache_text(stats: dict[str, Any]) -> str:
    return (
        f"LLM cache: {stats['entries']} entries, {stats['bytes'] / 1e6:.1f} MB, "
        f"{stats['hits']} hits / {stats['misses']} misses ({stats['hit_rate']:.0%}), "
        f"saved {usd(round(stats['saved_usd'] * 1_000_000))}."
    )


def error_result(exc: LlmError | NeedInput, aid: str) -> ChatFailure:
    kind = exc.kind if isinstance(exc, LlmError) else "input"
    return ChatFailure(aid, str(exc), kind)
