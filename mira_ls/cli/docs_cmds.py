"""``mira-ls docs add|list|remove|search``: reference documents mira-ls remembers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("docs", help="reference documents: add, list, remove, search")
    dsub = d.add_subparsers(dest="docs_command", metavar="ACTION", required=True)

    def action(name: str, help_: str) -> argparse.ArgumentParser:
        a = dsub.add_parser(name, help=help_)
        common.add_common(a, json_flag=True)
        a.set_defaults(func=cmd_docs, action=name)
        return a

    a = action("add", "add (or re-add) a Markdown, reStructuredText, text, HTML or PDF file")
    a.add_argument("path", metavar="PATH")
    action("list", "the documents added")
    a = action("remove", "remove a document (its chunks and vectors) by id or path")
    a.add_argument("what", metavar="ID_OR_PATH")
    a = action("search", "the chunks of the documents that match a query")
    a.add_argument("query", metavar="QUERY")
    a.add_argument("--limit", type=int, default=5, help="at most this many chunks (default 5)")


def _documents(args: argparse.Namespace, store: Store) -> Any:
    from mira_ls.documents.library import Documents
    from mira_ls.features import chat
    from mira_ls.features.session import Session

    svc = chat.ChatState().service(Session(store, common.settings(args)))
    return Documents.open(store, svc)


def cmd_docs(args: argparse.Namespace) -> int:
    from mira_ls.documents.parse import DocumentError
    from mira_ls.llm.errors import LlmError

    with common.open_db(args) as store:
        try:
            data, text = _action(args, _documents(args, store))
        except (DocumentError, LlmError) as exc:
            raise CliError(str(exc)) from None
    common.emit(args, data, text)
    return 0


def _action(args: argparse.Namespace, docs: Any) -> tuple[Any, str]:
    from mira_ls.documents.library import document_json

    act = args.action
    if act == "add":
        r = docs.add(Path(args.path))
        if r.note:
            print(r.note, file=sys.stderr)
        print(f"cost {r.cost_micro / 1e6:.4f} USD", file=sys.stderr)
        return r.as_json(), r.message
    if act == "list":
        rows = docs.listed()
        return [document_json(d) for d in rows], "\n".join(_line(d) for d in rows) or (
            "no documents yet: `mira-ls docs add PATH`"
        )
    if act == "remove":
        d, n = docs.remove(args.what)
        msg = f"removed #{d.id} {d.title or Path(d.source_path).name} ({n} chunks)"
        return dict(document_json(d), removed_chunks=n, message=msg), msg
    if args.limit < 1:
        raise common.UsageError("--limit must be at least 1")
    if not docs.enabled:
        raise CliError("Memory is off (mira.memory.enabled); documents are not searched.")
    hits = docs.search(args.query, args.limit)
    for note in docs.notes:
        print(note, file=sys.stderr)
    if docs.embedder is None and docs.off_reason:
        print(docs.off_reason, file=sys.stderr)
    lines = [_hit_line(h) for h in hits]
    return [h.as_json() for h in hits], "\n\n".join(lines) or f"no document matches {args.query!r}"


def _line(d: Any) -> str:
    fmt = d.metadata.get("format") or "?"
    vec = f", {d.embedded} embedded" if d.embedded else ""
    return (f"#{d.id}  {d.source_path}  [{fmt}, {d.chunk_count} chunks, {d.token_count} tokens"
            f"{vec}]  {d.title or ''}").rstrip()  # fmt: skip


def _hit_line(h: Any) -> str:
    where = f"{h.document}: {h.section}" if h.section else h.document
    page = f" (page {h.page})" if h.page else ""
    body = " ".join(h.text.split())
    if len(body) > 300:
        body = body[:297] + "..."
    return f"{where}{page}  [{h.score:.3f} {h.via}]\n  {body}"
