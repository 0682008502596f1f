"""Read-only tools the model may call: our index, git history, build errors, workspace files.

Each tool answers in compact text capped at ``RESULT_TOKENS`` tokens and redacted; a bad
argument gets a sentence back (the model can correct itself) rather than an exception.
Symbol sources read for the model are remembered by content_hash, so a cached answer that
used them is dropped when they change.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mira_ls.config import Settings
from mira_ls.confined import OutsideWorkspace, resolve_inside
from mira_ls.dates import day as _date
from mira_ls.git.fixes import rank_fixes
from mira_ls.index.resolve_external import external_module
from mira_ls.llm import tokens
from mira_ls.llm.provider import parse_arguments
from mira_ls.llm.redact import redact
from mira_ls.llm.workspace_files import FileRefused, allowed, read_lines, read_text
from mira_ls.search import keyword
from mira_ls.store import Store, git_cochange, understanding
from mira_ls.store import code as code_store
from mira_ls.store import llm_queries as lq
from mira_ls.store.code import SymbolRow
from mira_ls.store.connection import Connection

log = logging.getLogger(__name__)

RESULT_TOKENS = 3000
READ_FILE_MAX_BYTES = 48_000
LIST_LIMIT = 15


def _fn(name: str, description: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


_S = {"type": "string"}
_I = {"type": "integer"}
_PATH = {"type": "string", "description": "workspace-relative POSIX path"}
_SYM = {"type": "string", "description": "symbol name or dotted qualified name"}

SCHEMAS: list[dict[str, Any]] = [
    _fn(
        "search_symbols",
        "Find symbols (functions, classes, methods) by name, fuzzy.",
        {"query": _S, "limit": _I},
        ["query"],
    ),
    _fn(
        "search_code",
        'Find code by what it does, in words ("where are failed uploads retried"): '
        "keyword search over names, signatures, docstrings and bodies, identifiers split.",
        {"query": _S, "limit": _I},
        ["query"],
    ),
    _fn(
        "get_symbol",
        "Source code of a symbol, with its file and lines.",
        {"name": _SYM, "path": _PATH},
        ["name"],
    ),
    _fn(
        "callers",
        "Functions that call a symbol, with signatures and call sites.",
        {"name": _SYM},
        ["name"],
    ),
    _fn(
        "callees",
        "What a symbol calls; externals with their module.",
        {"name": _SYM},
        ["name"],
    ),
    _fn(
        "cochange",
        "Files that usually change in the same commits as a file.",
        {"path": _PATH},
        ["path"],
    ),
    _fn(
        "experts",
        "People who know a file or directory best (commits, lines, recency).",
        {"path": _PATH},
        ["path"],
    ),
    _fn(
        "file_history",
        "Most recent commits that changed a file.",
        {"path": _PATH, "limit": _I},
        ["path"],
    ),
    _fn(
        "build_errors",
        "Open build/lint/test errors, for one file or the whole project.",
        {"path": _PATH},
        [],
    ),
    _fn(
        "past_fixes",
        "Past commits that fixed similar errors (by error text and/or file).",
        {"error_text": _S, "path": _PATH},
        [],
    ),
    _fn(
        "read_file",
        "Text of a workspace file (size-capped; secrets and ignored files are "
        "refused). Lines are 1-based and inclusive.",
        {"path": _PATH, "start_line": _I, "end_line": _I},
        ["path"],
    ),
    _fn(
        "concept",
        "Definitions that deal with a domain concept (e.g. 'retry policy', 'session "
        "cookie'), from mira-ls's LLM analysis of the code, with what each is for. Only "
        "analysed definitions are known (mira-ls analyze).",
        {"concept": _S},
        ["concept"],
    ),
]
NAMES = tuple(s["function"]["name"] for s in SCHEMAS)
# Tools whose answer lists symbols one a line, the name first: a later call may take the first.
LISTING = ("search_symbols", "search_code")
_LISTED = re.compile(r"^(\S+) \([\w ]+\) ")


def found_names(text: str, limit: int = 5) -> list[str]:
    """The qualified names a listing tool answered with, in its order (at most ``limit``)."""
    out = []
    for line in text.splitlines():
        m = _LISTED.match(line)
        if m:
            out.append(m.group(1))
            if len(out) >= limit:
                break
    return out


@dataclass(frozen=True)
class ToolReply:
    """What a caller of a tool gets: text, and whether it is a refusal or an error."""

    text: str
    is_error: bool = False


class ExtraTools(Protocol):
    """Tools beyond the built-in ones (the synthesized tools the user approved): their
    schemas for the request, and a run of one (None: no tool of that name)."""

    def schemas(self) -> list[dict[str, Any]]: ...

    def call(self, name: str, args: dict[str, Any], box: ToolBox) -> ToolReply | None: ...


@dataclass
class ToolResult:
    text: str
    content_hashes: list[str] = field(default_factory=list)


def _sig(s: SymbolRow) -> str:
    sig = (s.signature or s.name).strip().replace("\n", " ")
    return f"{s.qualified_name} ({s.kind}) {s.file_path}:{s.start_line}  {sig[:200]}"


@dataclass
class ToolBox:
    """The tools over one project; ``secrets`` are scrubbed from every result."""

    store: Store
    project_id: int
    root: Path
    secrets: tuple[str, ...] = ()
    # Given by mira-ls's own model loop: search_code then ranks by meaning too when the
    # code is embedded (embedding the query goes through the budget). Agents over MCP get
    # none, so their calls never spend.
    semantic: Settings | None = None
    env: Mapping[str, str] | None = None
    extra: ExtraTools | None = None
    operation_id: str | None = None  # the operation whose answer this is, when there is one
    used_hashes: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the answer (a tool was withdrawn)
    # a tool ran whose answer can change without the code changing (a command): the answer
    # is not cached
    volatile: bool = False

    def run(self, name: str, raw_arguments: str) -> str:
        """Run one tool call; always returns text for the model. Each call is kept (name,
        arguments, whether it failed, the names a listing answered with) for tool synthesis."""
        args, problem = parse_arguments(raw_arguments)
        call: dict[str, Any] = {
            "name": name,
            "arguments": redact(raw_arguments[:500], self.secrets),
        }
        self.calls.append(call)
        if problem is not None or args is None:
            call["error"] = True
            return f"Error: {problem}. Call {name} again with a JSON object of arguments."
        reply = self.call(name, args)
        if reply.is_error:
            call["error"] = True
        elif name in LISTING:
            call["found"] = found_names(reply.text)
        return reply.text

    def call(self, name: str, args: dict[str, Any]) -> ToolReply:
        """One tool on parsed arguments: the LLM loop and the MCP server both come here, so
        they answer alike (same checks, same redaction, same cap)."""
        fn: Callable[[dict[str, Any]], ToolResult] | None = getattr(self, f"_t_{name}", None)
        if name not in NAMES and self.extra is not None:
            extra = self.extra.call(name, args, self)
            if extra is not None:
                return ToolReply(self._capped(extra.text), extra.is_error)
        if name not in NAMES or fn is None:
            return ToolReply(
                f"Error: there is no tool named {name!r}; the tools are {', '.join(NAMES)}.",
                True,
            )
        try:
            if args.get("path"):
                args = {**args, "path": self.workspace_path(str(args["path"]))}
            result = fn(args)
        except FileRefused as exc:
            return ToolReply(f"Refused: {exc}", True)
        except (KeyError, TypeError, ValueError) as exc:
            return ToolReply(f"Error: bad arguments for {name}: {exc}", True)
        except Exception as exc:
            log.exception("tool %s failed", name)
            failed = f"Error: {name} failed ({type(exc).__name__}); try another tool."
            return ToolReply(failed, True)
        self.used_hashes.extend(result.content_hashes)
        return ToolReply(self._capped(result.text))

    def _capped(self, text: str) -> str:
        """What the model is shown of a result: redacted, at most RESULT_TOKENS tokens."""
        text = redact(text, self.secrets) or "(nothing found)"
        if tokens.count(text) > RESULT_TOKENS:
            text = (
                tokens.truncate(text, RESULT_TOKENS)
                + f"\n[... truncated at {RESULT_TOKENS} tokens; narrow the query]"
            )
        return text

    # -- helpers ------------------------------------------------------------------------

    def workspace_path(self, path: str) -> str:
        """A path argument as the workspace-relative POSIX path the store keys on: an
        absolute path inside the root is made relative (agents send those); one that leads
        outside the workspace, even through a link, is refused."""
        p = path.replace("\\", "/")
        if p in (".", "./"):
            return ""
        try:
            real = resolve_inside(self.root, p)
        except OutsideWorkspace as exc:
            raise FileRefused(
                f"{path}: outside the workspace; only workspace paths can be asked about"
            ) from exc
        root = Path(os.path.realpath(self.root))
        if Path(p).is_absolute():
            return real.relative_to(root).as_posix()
        return posixpath.normpath(p.lstrip("/")) if p.strip("/") else ""

    def _conn(self) -> Connection:
        return self.store.conn()

    def _resolve(self, name: str, path: str | None = None) -> list[SymbolRow]:
        name = str(name).strip()
        if not name:
            raise ValueError("name is empty")
        found = code_store.find_by_name(self._conn(), self.project_id, name, limit=20)
        if path:
            in_path = [s for s in found if s.file_path == path]
            found = in_path or found
        return [s for s in found if s.kind != "module"] or found

    def _not_found(self, name: str) -> ToolResult:
        near = code_store.search_symbols(self._conn(), self.project_id, str(name), limit=5)
        if not near:
            return ToolResult(f"No symbol named {name!r} in the index.")
        return ToolResult(
            f"No symbol named exactly {name!r}. Close matches:\n" + "\n".join(_sig(s) for s in near)
        )

    # -- tools --------------------------------------------------------------------------

    def _t_search_symbols(self, a: dict[str, Any]) -> ToolResult:
        limit = max(1, min(int(a.get("limit") or LIST_LIMIT), 50))
        rows = code_store.search_symbols(
            self._conn(), self.project_id, str(a["query"]), limit=limit
        )
        return ToolResult("\n".join(_sig(s) for s in rows) or "No matching symbols.")

    def _t_search_code(self, a: dict[str, Any]) -> ToolResult:
        limit = max(1, min(int(a.get("limit") or LIST_LIMIT), 50))
        query = str(a["query"])
        if self.semantic is not None and self.semantic.vectors.semantic:
            return self._hybrid_code(query, limit)
        hits = keyword.code_hits(self._conn(), query, project_ids=[self.project_id], limit=limit)
        lines = [
            f"{h.qualified_name} ({h.kind}) {h.path}:{h.line}  "
            f"{(h.signature or h.name).strip().replace(chr(10), ' ')[:200]}"
            for h in hits
        ]
        return ToolResult("\n".join(lines) or "No code matches those words.")

    def _hybrid_code(self, query: str, limit: int) -> ToolResult:
        """Keyword and vector ranks fused (keyword only, and said, when vectors cannot join)."""
        from mira_ls.search import hybrid

        assert self.semantic is not None
        found = hybrid.search(
            self.store, self.semantic, query, collection="code",
            project_ids=[self.project_id], limit=limit, env=self.env,
        )  # fmt: skip
        lines = [
            f"{r.symbol} ({r.kind}) {r.path}:{r.line}  "
            f"{(r.signature or r.symbol or '').strip().replace(chr(10), ' ')[:200]}"
            f"{'' if r.via == 'keyword' else f'  [{r.via}]'}"
            for r in found.results
        ]
        text = "\n".join(lines) or "No code matches those words."
        if not found.semantic and found.notes:
            text += "\n(keyword search only: " + found.notes[0] + ")"
        return ToolResult(text)

    def _t_get_symbol(self, a: dict[str, Any]) -> ToolResult:
        rows = self._resolve(a["name"], a.get("path"))
        if not rows:
            return self._not_found(a["name"])
        s = rows[0]
        reason = allowed(self.root, s.file_path)
        if reason:
            return ToolResult(f"Refused: {reason}")
        src = read_lines(self.root, s.file_path, s.start_line, s.end_line, secrets=self.secrets)
        head = f"{s.qualified_name} ({s.kind}) {s.file_path}:{s.start_line}-{s.end_line}"
        others = ""
        if len(rows) > 1:
            others = "\nOther symbols with this name: " + "; ".join(
                f"{r.qualified_name} {r.file_path}:{r.start_line}" for r in rows[1:6]
            )
        return ToolResult(f"{head}\n```\n{src}\n```{others}", [s.content_hash])

    def _t_callers(self, a: dict[str, Any]) -> ToolResult:
        rows = self._resolve(a["name"])
        if not rows:
            return self._not_found(a["name"])
        sites = code_store.callers(self._conn(), rows[0].id)
        lines = [
            f"{site.symbol.qualified_name if site.symbol else '?'} calls it at "
            f"{site.file_path}:{site.line}  "
            f"{(site.symbol.signature or '').strip()[:160] if site.symbol else ''}"
            for site in sites[:40]
        ]
        head = f"Callers of {rows[0].qualified_name}: {len(sites)}"
        return ToolResult("\n".join([head, *lines]))

    def _t_callees(self, a: dict[str, Any]) -> ToolResult:
        rows = self._resolve(a["name"])
        if not rows:
            return self._not_found(a["name"])
        sites = code_store.callees(self._conn(), rows[0].id)
        lines = []
        for site in sites[:60]:
            if site.symbol is not None:
                lines.append(f"line {site.line}: {_sig(site.symbol)}")
            else:
                recv = f"{site.receiver}." if site.receiver else ""
                ext = external_module(site.language, site.callee_name, site.receiver, site.external)
                what = f"external: {ext}" if ext else "unresolved"
                lines.append(f"line {site.line}: {recv}{site.callee_name} ({what})")
        return ToolResult("\n".join([f"{rows[0].qualified_name} calls:", *lines]))

    def _t_cochange(self, a: dict[str, Any]) -> ToolResult:
        path = str(a["path"])
        rows = git_cochange.partners(self._conn(), self.project_id, path, LIST_LIMIT)
        if not rows:
            return ToolResult(f"No co-change partners recorded for {path}.")
        return ToolResult(
            "\n".join(
                f"{p.path}: {p.shared} of {p.commits} commits (confidence {p.confidence:.2f}, "
                f"last together {_date(p.last_at)})"
                for p in rows
            )
        )

    def _t_experts(self, a: dict[str, Any]) -> ToolResult:
        path = str(a["path"])
        rows = lq.experts(self._conn(), self.project_id, path, int(time.time()), 5)
        if not rows:
            return ToolResult(f"No expertise recorded for {path}.")
        return ToolResult(
            "\n".join(
                f"{e.author} <{e.email}>: score {e.score:.0f}, {e.commits} commits, "
                f"{e.lines_added} lines added, last {_date(e.last_at)}, share {e.share:.0%}"
                f"{' (directory)' if e.scope == 'directory' else ''}"
                for e in rows
            )
        )

    def _t_file_history(self, a: dict[str, Any]) -> ToolResult:
        path = str(a["path"])
        limit = max(1, min(int(a.get("limit") or 10), 30))
        rows = lq.file_history(self._conn(), self.project_id, path, limit)
        if not rows:
            return ToolResult(f"No commits recorded for {path}.")
        return ToolResult(
            "\n".join(
                f"{c.commit_hash[:10]} {_date(c.at)} {c.author}: {c.subject} "
                f"(+{c.added if c.added is not None else '?'} -"
                f"{c.deleted if c.deleted is not None else '?'})"
                for c in rows
            )
        )

    def _t_build_errors(self, a: dict[str, Any]) -> ToolResult:
        path = a.get("path") or None
        rows = lq.open_build_errors(self._conn(), self.project_id, path, 30)
        if not rows:
            return ToolResult("No open build errors" + (f" in {path}." if path else "."))
        out = []
        for e in rows:
            out.append(
                f"{e.file_path or '?'}:{e.line or '?'} {e.tool} {e.code or ''} "
                f"[{e.category}] {e.message}"
            )
            for r in lq.resolutions_for(self._conn(), e.id, 1):
                out.append(
                    f"  resolved before: {r.summary or ', '.join(r.files)}"
                    f"{' in ' + r.commit_hash[:10] if r.commit_hash else ''}"
                )
        return ToolResult("\n".join(out))

    def _t_past_fixes(self, a: dict[str, Any]) -> ToolResult:
        text = str(a.get("error_text") or "")
        path = a.get("path") or None
        if not text and not path:
            raise ValueError("give error_text, path, or both")
        ranked = rank_fixes(self._conn(), self.project_id, text, [path] if path else [])
        if not ranked:
            return ToolResult("No similar past fixes found.")
        return ToolResult(
            "\n".join(
                f"{f.commit[:10]} {_date(f.at)} score {f.score:.2f} [{f.category}] "
                f"{f.subject} (files: {', '.join(f.files[:5])})"
                for f in ranked
            )
        )

    def _t_concept(self, a: dict[str, Any]) -> ToolResult:
        concept = " ".join(str(a.get("concept") or "").split())
        if not concept:
            raise ValueError("give a concept, e.g. 'retry policy'")
        conn = self._conn()
        rows = understanding.symbols_with_concept(conn, self.project_id, concept, LIST_LIMIT)
        if not rows:
            analysed = understanding.analysed_count(conn, self.project_id)
            return ToolResult(
                f"No analysed definition deals with {concept!r}"
                + (f" ({analysed} definitions are analysed)." if analysed else
                   "; nothing is analysed yet (mira-ls analyze).")
            )  # fmt: skip
        out = []
        for sid, qn, path, line, found in rows:
            node = understanding.node_of(conn, sid)
            what = f": {node.purpose}" if node is not None else ""
            out.append(f"{qn} ({path}:{line}) [{found}]{what}")
        return ToolResult("\n".join(out))

    def _t_read_file(self, a: dict[str, Any]) -> ToolResult:
        path = str(a["path"])
        start, end = a.get("start_line"), a.get("end_line")
        if start is not None or end is not None:
            s = max(1, int(start or 1))
            e = int(end) if end is not None else s + 200
            if e < s:
                raise ValueError("end_line is before start_line")
            return ToolResult(
                read_lines(
                    self.root, path, s, e, max_bytes=READ_FILE_MAX_BYTES, secrets=self.secrets
                )
            )
        text, truncated = read_text(
            self.root, path, max_bytes=READ_FILE_MAX_BYTES, secrets=self.secrets
        )
        return ToolResult(
            text + ("\n[... file truncated; ask for a line range]" if truncated else "")
        )


def describe_calls(calls: list[dict[str, Any]]) -> str:
    return json.dumps(calls, ensure_ascii=False)
