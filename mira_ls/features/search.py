"""``mira.search``: ranked code and commit search for the editor.

The results go back to the client (a picker in VS Code, the quickfix list in Neovim) with
LSP locations in the client's position encoding, and can be written as a markdown list of
links for clients without a picker (Helix opens it with window/showDocument).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls import dates, paths
from mira_ls.features.positions import Lines
from mira_ls.features.session import NO_PROJECT, Session
from mira_ls.search import hybrid
from mira_ls.search.model import SearchResult
from mira_ls.store import projects as project_store

COLLECTIONS = ("code", "git", "all")
MAX_LIMIT = 200


class BadRequest(Exception):
    """The arguments cannot be searched (str(exc) says what to pass)."""


@dataclass
class SearchAnswer:
    query: str
    results: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "results": self.results, "notes": self.notes}


def command_input(args: tuple[Any, ...], arg: dict[str, Any]) -> dict[str, Any]:
    """The command's argument object; a bare string is the query (Helix passes the JSON
    values typed after the command name: ``mira.search "retry upload"``)."""
    if args and isinstance(args[0], str):
        return {"query": args[0]}
    return arg


def shows_markdown(arg: dict[str, Any]) -> bool:
    """Whether the results also open as a markdown file of links: unless the caller shows
    them itself and says so with ``open: false`` (the VS Code and Neovim integrations do).
    Any other client (Helix, Emacs, a script) would otherwise see nothing of the answer."""
    return arg.get("open") is not False


def summary(answer: SearchAnswer, path: Path, top: int = 5) -> str:
    """The message for a client that cannot open the markdown file: the first results."""
    lines = [f"mira-ls found {len(answer.results)} results for {answer.query!r} ({path}):"]
    for r in answer.results[:top]:
        where = f"{r['path']}:{r['line']}" if r.get("line") else (r.get("path") or "")
        lines.append(f"{where} {r['symbol']} ({r['via']})".strip())
    return "\n".join(lines)


def parse_args(arg: dict[str, Any]) -> tuple[str, str, int]:
    """(query, kind, limit) from the command's argument object, or BadRequest."""
    query = arg.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest('mira.search needs a query: {"query": "words to look for"}.')
    kind = arg.get("kind") or "code"
    if kind not in COLLECTIONS:
        raise BadRequest(f"mira.search kind must be one of {', '.join(COLLECTIONS)}, not {kind!r}.")
    limit = arg.get("limit", 20)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise BadRequest("mira.search limit must be a positive whole number.")
    return query.strip(), kind, min(limit, MAX_LIMIT)


def _root_of(session: Session, project_id: int) -> Path | None:
    for r in session.roots:
        if r.project_id == project_id:
            return r.root
    if session.store is not None:
        p = project_store.by_id(session.store.conn(), project_id)
        if p is not None:
            return Path(p.root_path)
    return None


def _item(session: Session, r: SearchResult, lines: Lines) -> dict[str, Any]:
    out = r.as_json()
    root = _root_of(session, r.project_id)
    if root is None or r.path is None:
        return out
    path = root / r.path
    out["uri"] = path.as_uri()
    if r.collection == "code" and r.line is not None:
        name = (r.symbol or "").replace("::", ".").rsplit(".", 1)[-1]
        rng = lines.range(path, r.line, r.col, r.line, r.col + len(name))
        out["range"] = {
            "start": {"line": rng.start.line, "character": rng.start.character},
            "end": {"line": rng.end.line, "character": rng.end.character},
        }
    return out


def search(
    session: Session, query: str, kind: str = "code", limit: int = 20, lines: Lines | None = None
) -> SearchAnswer:
    """Search the session's workspace folders (every indexed project when none is open)."""
    answer = SearchAnswer(query)
    if session.store is None:
        answer.notes.append("mira-ls has no database, so there is nothing to search.")
        return answer
    pids = [r.project_id for r in session.roots if r.project_id != NO_PROJECT] or None
    found = hybrid.search(
        session.store, session.settings, query, collection=kind, project_ids=pids, limit=limit
    )
    results = found.results
    answer.notes.extend(found.notes)
    lines = lines or Lines()
    answer.results = [_item(session, r, lines) for r in results]
    if not results:
        answer.notes.append(f"Nothing matches {query!r}.")
    return answer


def markdown(answer: SearchAnswer) -> str:
    """The answer as a markdown list of links (file URIs with the line)."""
    out = [f"# Search: {answer.query}", ""]
    for i, r in enumerate(answer.results, 1):
        where = f"{r['path']}:{r['line']}" if r.get("line") else (r.get("path") or "")
        if r["collection"] == "git":
            label = f"`{(r.get('commit') or '')[:10]}` {r['symbol']}"
        else:
            label = f"`{r['symbol']}` ({r['kind']})"
        uri = r.get("uri")
        if uri and r.get("line"):
            uri = f"{uri}#L{r['line']}"
        label_where = where.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        link = f"[{label_where}]({uri})" if uri else where
        out.append(f"{i}. {label}: {link} — {r['via']}" if link else f"{i}. {label} — {r['via']}")
    for n in answer.notes:
        out += ["", f"*{n}*"]
    return "\n".join(out) + "\n"


def write_markdown(answer: SearchAnswer) -> Path:
    """Write the answer under the state dir (never the workspace); returns its path."""
    digest = hashlib.sha256(answer.query.encode()).hexdigest()[:6]
    path = paths.answers_dir() / "search" / f"{dates.file_stamp(time.time())}-{digest}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(answer), encoding="utf-8")
    return path
