"""Assemble what the model should know about a position, ranked and cut to a token budget.

Sections, most important first: the selection, the symbol's source (from the live buffer),
extra sections the command adds (a diagnostic, a diff), open build errors of the file with
their past resolutions, callers' and callees' signatures, project guidelines, similar past
fixes, the file's last changes, its co-change partners and its experts. A section that does
not fit whole is cut at a line boundary; what was included is recorded (symbol content
hashes for cache invalidation, build errors for build_context_injections).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.config import Settings
from mira_ls.dates import day as _date
from mira_ls.git import xray as git_xray
from mira_ls.git.fixes import rank_fixes
from mira_ls.index.languages import language_for_path
from mira_ls.index.symbols import FileExtract, Symbol, module_name, symbol_at
from mira_ls.llm import guidelines, tokens
from mira_ls.llm.redact import redact, replace_secrets
from mira_ls.llm.workspace_files import allowed
from mira_ls.store import Store, git_cochange, git_fixes
from mira_ls.store import code as code_store
from mira_ls.store import llm_queries as lq
from mira_ls.store.code import SymbolRow
from mira_ls.store.connection import Connection
from mira_ls.store.llm_queries import BuildError

log = logging.getLogger(__name__)

DEFAULT_TOKENS = 8000
MIN_SECTION_TOKENS = 48
AROUND_LINES = 20
LIST_LIMIT = 12


@dataclass
class Section:
    kind: str
    title: str
    body: str
    priority: int
    content_hashes: list[str] = field(default_factory=list)
    error_ids: list[tuple[int, int | None]] = field(default_factory=list)  # (error, resolution)
    tokens: int = 0
    truncated: bool = False
    # the body is redacted already (made of texts redacted when they were stored, e.g. the
    # reasoning patterns' section): assembly only replaces the configured secrets in it,
    # and its token count is cached per text
    redacted: bool = False

    def scrub(self, secrets: tuple[str, ...]) -> None:
        self.body = (replace_secrets if self.redacted else redact)(self.body, secrets)

    def render(self) -> str:
        return f"## {self.title}\n\n{self.body}"


@dataclass
class ContextBundle:
    text: str
    sections: list[Section]
    dropped: list[str]
    tokens: int
    content_hashes: list[str]
    injections: list[tuple[int, int | None, int]]  # (error_id, resolution_id, tokens)
    target: str | None  # qualified name of the symbol at the position
    refused: str | None = None  # why the file itself may not be sent

    def summary(self) -> str:
        kinds = ", ".join(f"{s.kind}{'(cut)' if s.truncated else ''}" for s in self.sections)
        return f"{self.tokens} tokens: {kinds or 'nothing'}"


@dataclass(frozen=True)
class Where:
    """A place in a project: 1-based line, 0-based code-point column of the live text."""

    project_id: int
    root: Path
    rel_path: str
    text: str
    line: int
    col: int = 0
    end_line: int | None = None  # a selection when set (1-based, inclusive)
    end_col: int | None = None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _lines(text: str, start: int, end: int) -> str:
    lines = text.splitlines()
    return "\n".join(lines[max(0, start - 1) : max(start, end)])


def _fence(lang: str, body: str) -> str:
    fence = "```"
    while fence in body:
        fence += "`"
    return f"{fence}{lang}\n{body}\n{fence}"


def _cut(section: Section, budget: int) -> Section | None:
    """The section cut at a line boundary to ``budget`` tokens (None if too small)."""
    if budget < MIN_SECTION_TOKENS:
        return None
    head = tokens.count(f"## {section.title}\n\n") + 8
    lines = section.body.splitlines()
    kept: list[str] = []
    used = head
    for ln in lines:
        cost = tokens.count(ln) + 1
        if used + cost > budget:
            break
        kept.append(ln)
        used += cost
    if not kept:
        return None
    body = "\n".join(kept)
    if body.count("```") % 2:  # do not leave a code fence open
        body += "\n```"
    body += "\n[... cut to fit the context budget]"
    cut = Section(
        section.kind,
        section.title,
        body,
        section.priority,
        section.content_hashes,
        section.error_ids,
        truncated=True,
    )
    cut.tokens = tokens.count(cut.render())
    return cut


def fit(sections: list[Section], budget: int) -> tuple[list[Section], list[str]]:
    """Greedy by priority: whole sections while they fit, then one cut section, then none."""
    chosen: list[Section] = []
    dropped: list[str] = []
    left = budget
    for s in sorted(sections, key=lambda s: s.priority):
        s.tokens = (tokens.count_repeated if s.redacted else tokens.count)(s.render()) + 2
        if s.tokens <= left:
            chosen.append(s)
            left -= s.tokens
            continue
        cut = _cut(s, left)
        if cut is not None:
            chosen.append(cut)
            left -= cut.tokens + 2
        else:
            dropped.append(s.kind)
    return chosen, dropped


def _language(rel_path: str) -> str:
    ext = rel_path.rsplit(".", 1)[-1].lower() if "." in rel_path else ""
    return {
        "py": "python",
        "js": "javascript",
        "ts": "typescript",
        "tsx": "tsx",
        "rs": "rust",
        "go": "go",
        "java": "java",
        "c": "c",
        "h": "c",
        "cpp": "cpp",
        "hpp": "cpp",
        "cc": "cpp",
    }.get(ext, "")


@dataclass
class Asked:
    """What every section provider may read: the place, its parse and stored symbol, the
    file's open build errors. Gathered once per request, so providers stay independent."""

    store: Store
    conn: Connection
    where: Where
    fx: FileExtract | None
    secrets: tuple[str, ...]
    error_text: str
    lang: str
    symbol: Symbol | None  # the definition at the cursor in the live buffer (not a module)
    row: SymbolRow | None  # its stored row, when indexed
    errors: list[BuildError]


SectionProvider = Callable[[Asked], list[Section]]


def _section_providers() -> list[SectionProvider]:
    """In priority order; retrieval and memory add theirs here."""
    from mira_ls.tasks.context_section import current_task

    return [
        current_task,
        _selection,
        _code_at_cursor,
        _build_errors,
        _callers,
        _callees,
        _guidelines,
        _past_fixes,
        _history,
        _cochange,
        _xray,
        _experts,
    ]


def _gather(
    store: Store,
    where: Where,
    fx: FileExtract | None,
    secrets: tuple[str, ...],
    error_text: str,
) -> Asked:
    conn = store.conn()
    symbol = row = None
    idx = symbol_at(fx, where.line, where.col) if fx is not None else None
    if fx is not None and idx is not None and fx.symbols[idx].kind != "module":
        symbol = fx.symbols[idx]
        row = code_store.find_symbol(
            conn,
            where.project_id,
            where.rel_path,
            symbol.qualified_name,
            symbol.kind,
            symbol.ordinal,
        )
    errors = lq.open_build_errors(conn, where.project_id, where.rel_path, LIST_LIMIT)
    return Asked(
        store, conn, where, fx, secrets, error_text, _language(where.rel_path), symbol, row, errors
    )


def _selection(a: Asked) -> list[Section]:
    w = a.where
    if w.end_line is None or (w.end_line, w.end_col or 0) == (w.line, w.col):
        return []
    sel = _lines(w.text, w.line, w.end_line)
    return [
        Section(
            "selection",
            f"Selected code ({w.rel_path}:{w.line}-{w.end_line})",
            _fence(a.lang, sel),
            0,
        )
    ]


def _code_at_cursor(a: Asked) -> list[Section]:
    w, sym, row = a.where, a.symbol, a.row
    if sym is not None:
        src = _lines(w.text, sym.start_line, sym.end_line)
        return [
            Section(
                "symbol",
                f"{sym.kind} `{sym.qualified_name}` ({w.rel_path}:{sym.start_line}-"
                f"{sym.end_line}), the code at the cursor",
                _fence(a.lang, src),
                1,
                [h for h in (sym.content_hash, row.content_hash if row else None) if h],
            )
        ]
    lo = max(1, w.line - AROUND_LINES)
    hi = w.line + AROUND_LINES
    return [
        Section(
            "around",
            f"{w.rel_path}:{lo}-{hi} around the cursor (line {w.line})",
            _fence(a.lang, _lines(w.text, lo, hi)),
            1,
            [_sha(_lines(w.text, lo, hi))],
        )
    ]


def _build_errors(a: Asked) -> list[Section]:
    if not a.errors:
        return []
    rel = a.where.rel_path
    body: list[str] = []
    pairs: list[tuple[int, int | None]] = []
    for e in a.errors:
        body.append(
            f"- {rel}:{e.line or '?'} {e.tool} {e.code or ''} [{e.category}] "
            f"{e.message} (seen {e.occurrences}x)"
        )
        res = lq.resolutions_for(a.conn, e.id, 1)
        for r in res:
            what = r.summary or (f"changed {', '.join(r.files[:3])}" if r.files else "")
            body.append(
                f"  - resolved before{' in ' + r.commit_hash[:10] if r.commit_hash else ''}: {what}"
            )
        pairs.append((e.id, res[0].id if res else None))
    return [
        Section("build_errors", f"Open build errors in {rel}", "\n".join(body), 2, error_ids=pairs)
    ]


def _refs_section(
    kind: str, title: str, priority: int, refs: list[tuple[SymbolRow, str]]
) -> list[Section]:
    """One line per symbol: its signature, qualified name and where (callers, callees)."""
    if not refs:
        return []
    lines = [
        f"- `{(sym.signature or sym.name).strip()[:200]}` ({sym.qualified_name}, {at})"
        for sym, at in refs
    ]
    return [Section(kind, title, "\n".join(lines), priority, [s.content_hash for s, _ in refs])]


def _callers(a: Asked) -> list[Section]:
    if a.row is None:
        return []
    refs = [
        (c.symbol, f"calls at {c.file_path}:{c.line}")
        for c in code_store.callers(a.conn, a.row.id)[:LIST_LIMIT]
        if c.symbol is not None
    ]
    return _refs_section("callers", f"Callers of `{a.row.name}`", 3, refs)


def _callees(a: Asked) -> list[Section]:
    if a.row is None:
        return []
    refs = [
        (c.symbol, f"{c.symbol.file_path}:{c.symbol.start_line}")
        for c in code_store.callees(a.conn, a.row.id)
        if c.symbol is not None
    ][:LIST_LIMIT]
    return _refs_section("callees", f"What `{a.row.name}` calls", 4, refs)


def guideline_sections(
    store: Store, project_id: int, root: Path, secrets: tuple[str, ...], rel_path: str | None
) -> list[Section]:
    """One section per guideline file that applies to ``rel_path`` (None: no file), the
    nearest directory's first (fit keeps the order of equal priorities)."""
    loaded = guidelines.load(store, project_id, root, secrets, rel_path)
    out: list[Section] = []
    for g in loaded.guidelines:
        about = loaded.descriptions.get(g.file_path)
        title = f"Project guidelines ({g.file_path}{': ' + about if about else ''})"
        out.append(Section("guidelines", title, g.content, 5))
    return out


def _guidelines(a: Asked) -> list[Section]:
    w = a.where
    return guideline_sections(a.store, w.project_id, w.root, a.secrets, w.rel_path)


def _past_fixes(a: Asked) -> list[Section]:
    """With an error, all past fixes ranked by similarity (the error is the question);
    without one, the fixes that touched this symbol, then this file."""
    pid, rel = a.where.project_id, a.where.rel_path
    fix_query = " ".join(filter(None, [a.error_text, " ".join(e.message for e in a.errors[:3])]))
    ranked = rank_fixes(a.conn, pid, fix_query, [rel]) if fix_query.strip() else []
    lines = [
        f"- {f.commit[:10]} {_date(f.at)} [{f.category}] {f.subject} "
        f"(files: {', '.join(f.files[:4])})"
        for f in ranked
    ]
    if not lines:
        seen: set[str] = set()
        briefs = (
            git_fixes.fixes_for_symbol(a.conn, pid, rel, a.row.name, 3) if a.row else []
        ) + git_fixes.recent_fixes_for_file(a.conn, pid, rel, 3)
        for f in briefs:
            if f.commit_hash not in seen:
                seen.add(f.commit_hash)
                lines.append(f"- {f.commit_hash[:10]} {_date(f.fixed_at)} {f.subject}")
    if not lines:
        return []
    return [Section("past_fixes", "Past fixes that may be relevant", "\n".join(lines[:5]), 6)]


def _history(a: Asked) -> list[Section]:
    rel = a.where.rel_path
    history = lq.file_history(a.conn, a.where.project_id, rel, 5)
    if not history:
        return []
    body = "\n".join(
        f"- {c.commit_hash[:10]} {_date(c.at)} {c.author}: {c.subject}" for c in history
    )
    return [Section("history", f"Last changes to {rel}", body, 7)]


def _cochange(a: Asked) -> list[Section]:
    rel = a.where.rel_path
    partners = git_cochange.partners(a.conn, a.where.project_id, rel, 8)
    if not partners:
        return []
    body = "\n".join(
        f"- {p.path}: {p.shared} of {p.commits} commits (confidence {p.confidence:.2f})"
        for p in partners
    )
    return [Section("cochange", f"Files that usually change with {rel}", body, 8)]


def _xray(a: Asked) -> list[Section]:
    x = xray_section(
        a.conn, a.where.project_id, a.where.rel_path, a.symbol.qualified_name if a.symbol else None
    )
    return [x] if x is not None else []


def xray_section(conn: Connection, pid: int, rel: str, target: str | None) -> Section | None:
    """The target definition's X-Ray (if the file has one): how often it changed, who
    changed it, the definitions it usually changes with; without a target, the file's most
    changed definitions."""
    x = git_xray.latest(conn, pid, rel)
    lang = language_for_path(rel)
    if x is None or lang is None:
        return None
    name = target.removeprefix(module_name(rel, lang) + ".") if target else None
    d = next((d for d in x.definitions if d.symbol == name), None) if name else None
    if d is not None and d.changes:
        who = ", ".join(f"{a.name} {a.changes}" for a in d.authors[:3])
        lines = [f"- `{d.symbol}` changed in {d.changes} of {x.commits} commits ({who})"]
        lines += [
            f"- usually changes with `{c.symbol}`"
            + ("" if c.path == rel else f" in {c.path}")
            + f": {c.shared} of {d.changes} commits"
            for c in d.couplings[:4]
        ]
        return Section("xray", f"History of `{d.symbol}` (X-Ray)", "\n".join(lines), 8)
    busy = sorted((d for d in x.definitions if d.changes), key=lambda d: -d.changes)[:5]
    if not busy:
        return None
    body = "\n".join(f"- `{d.symbol}`: {d.changes} changes" for d in busy)
    return Section("xray", f"Most changed definitions in {rel} (X-Ray)", body, 8)


def _experts(a: Asked) -> list[Section]:
    rel = a.where.rel_path
    people = lq.experts(a.conn, a.where.project_id, rel, int(time.time()), 3)
    if not people:
        return []
    body = "\n".join(
        f"- {e.author}: score {e.score:.0f}, {e.commits} commits, last {_date(e.last_at)}"
        for e in people
    )
    return [Section("experts", f"Who knows {rel} best", body, 9)]


@dataclass
class Unplaced:
    """A question asked without a position (a chat from the palette): what its providers
    may read. There is no file, so what matters is found from the question's words."""

    store: Store
    settings: Settings
    project_id: int
    root: Path
    question: str
    secrets: tuple[str, ...]


QuestionProvider = Callable[[Unplaced], list[Section]]


def _question_providers() -> list[QuestionProvider]:
    """In priority order; memory adds its own here. Imported here: the providers build
    on this module's sections."""
    from mira_ls.llm.related import related_code
    from mira_ls.tasks.context_section import current_task_unplaced

    return [related_code, current_task_unplaced, _guidelines_unplaced]


def _guidelines_unplaced(u: Unplaced) -> list[Section]:
    """The root's guidelines, with the Cursor rules meant for no file in particular."""
    return guideline_sections(u.store, u.project_id, u.root, u.secrets, None)


def assemble_unplaced(
    store: Store,
    settings: Settings,
    project_id: int,
    root: Path,
    question: str,
    *,
    budget: int = DEFAULT_TOKENS,
    secrets: tuple[str, ...] = (),
    extra: list[Section] | None = None,
) -> ContextBundle | None:
    """The context of a question without a position (with the caller's ``extra`` sections,
    e.g. what memory recalls); None when no provider found any."""
    asked = Unplaced(store, settings, project_id, root, question, secrets)
    sections = [s for provider in _question_providers() for s in provider(asked)]
    sections += list(extra or [])
    if not sections:
        return None
    return assemble_sections(sections, budget, secrets)


def assemble_sections(
    sections: list[Section], budget: int, secrets: tuple[str, ...] = ()
) -> ContextBundle:
    """Sections redacted and fitted to ``budget`` as a bundle (no position, no file)."""
    for s in sections:
        s.scrub(secrets)
    chosen, dropped = fit(sections, budget)
    text = "\n\n".join(s.render() for s in chosen)
    return ContextBundle(text, chosen, dropped, tokens.count(text), [], [], None)


def assemble(
    store: Store,
    where: Where,
    fx: FileExtract | None,
    *,
    budget: int = DEFAULT_TOKENS,
    extra: list[Section] | None = None,
    secrets: tuple[str, ...] = (),
    error_text: str = "",
) -> ContextBundle:
    """The context for ``where``; ``fx`` is the live buffer's parse (None: not parsable)."""
    reason = allowed(where.root, where.rel_path)
    if reason:
        return ContextBundle("", [], [], 0, [], [], None, refused=reason)
    asked = _gather(store, where, fx, secrets, error_text)
    sections: list[Section] = list(extra or [])
    for provider in _section_providers():
        sections.extend(provider(asked))
    for s in sections:
        s.scrub(secrets)
    chosen, dropped = fit(sections, budget)
    chosen_text = "\n\n".join(s.render() for s in chosen)
    used_hashes = sorted({h for s in chosen for h in s.content_hashes if h})
    injections = [(eid, rid, s.tokens) for s in chosen for eid, rid in s.error_ids]
    return ContextBundle(
        chosen_text,
        chosen,
        dropped,
        tokens.count(chosen_text),
        used_hashes,
        injections,
        asked.symbol.qualified_name if asked.symbol else None,
    )


def record_injections(
    store: Store, project_id: int, bundle: ContextBundle, request_key: str, now: int
) -> None:
    """build_context_injections rows for the build errors that went into a request."""
    if not bundle.injections:
        return
    with store.write() as conn:
        for error_id, resolution_id, tok in bundle.injections:
            lq.record_injection(conn, project_id, error_id, resolution_id, request_key, tok, now)


def describe(bundle: ContextBundle) -> dict[str, Any]:
    return {
        "tokens": bundle.tokens,
        "sections": [s.kind for s in bundle.sections],
        "dropped": bundle.dropped,
        "target": bundle.target,
    }
