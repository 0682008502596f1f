"""mira.search: features/search.py does the work; this converts the argument and answer."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types

from mira_ls.features import embed as embed_feature
from mira_ls.features import search as search_feature
from mira_ls.jobs import JobContext
from mira_ls.server.base import Handlers, MiraServer, command_arg
from mira_ls.store import StoreError

log = logging.getLogger(__name__)
handlers = Handlers()
register = handlers.register


@handlers.command("mira.search")
async def cmd_search(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{query, kind?, limit?, open?} (or the query alone, as a JSON string) -> {query,
    results: [{uri, range, path, line, symbol, kind, score, via, ...}], notes, path?,
    opened?}. Unless the caller shows the results itself (``open: false``: the VS Code quick
    pick, the Neovim quickfix list), they are also written as a markdown list of links and
    opened with window/showDocument: a client without a picker (Helix, Emacs, a bare
    ``workspace/executeCommand``) sees nothing of a command's answer otherwise."""
    arg = search_feature.command_input(args, command_arg(args))
    try:
        query, kind, limit = search_feature.parse_args(arg)
    except search_feature.BadRequest as exc:
        ls.show(str(exc), types.MessageType.Warning, once=False)
        return {"query": arg.get("query"), "results": [], "notes": [str(exc)]}
    lines = ls.lines()
    try:
        answer = await asyncio.to_thread(
            search_feature.search, ls.session, query, kind, limit, lines
        )
    except StoreError as exc:
        ls.show(str(exc), once=False)
        return {"query": query, "results": [], "notes": [str(exc)]}
    except Exception as exc:
        log.exception("mira.search failed")
        msg = f"mira-ls could not search: {exc}. Details are in the server log."
        ls.show(msg, once=False)
        return {"query": query, "results": [], "notes": [msg]}
    out = answer.as_json()
    for note in answer.notes:  # why semantic search is off: told once per session
        if note.startswith("Semantic search") and note not in ls.session.notices:
            ls.session.notices.add(note)
            ls.show(note, types.MessageType.Info, once=False)
    if not search_feature.shows_markdown(arg):
        return out
    if not answer.results:  # a file listing nothing: the sentence says it
        ls.show(answer.notes[-1], types.MessageType.Info, once=False)
        return out
    path = await asyncio.to_thread(search_feature.write_markdown, answer)
    out["path"] = str(path)
    fallback = search_feature.summary(answer, path)
    out["opened"] = await ls.show_document(path.as_uri(), fallback=fallback)
    return out


@handlers.command("mira.embed")
async def cmd_embed(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """Embed the workspace's code and mined history in the background with $/progress
    (cancellable); asks first with window/showMessageRequest above
    vectors.confirmAboveUsd ({yes: true} skips)."""
    arg = command_arg(args)
    try:
        ep = await asyncio.to_thread(embed_feature.plan, ls.session)
    except embed_feature.CannotEmbed as exc:
        ls.show(str(exc), types.MessageType.Warning, once=False)
        return {"embedded": 0, "message": str(exc)}
    if ep.nothing_to_do:
        msg = f"{ep.project.root.name} is embedded already: nothing to do."
        ls.show(msg, types.MessageType.Info, once=False)
        return {"embedded": 0, "message": msg}
    if (
        ep.needs_confirmation
        and not arg.get("yes")
        and not await ls.ask(ep.question(), "Embed", "Not now")
    ):
        msg = "Not embedded: " + ep.question().replace(" Embed now?", "")
        return {"embedded": 0, "message": msg}
    handle = ls.submit(
        "embed",
        f"embedding {ep.project.root}",
        _embed_job,
        ep,
        key=("embed", ep.project.root),
        progress=f"Mira: embedding {ep.project.root.name}",
    )
    if handle is None:
        return {"embedded": 0, "message": "mira-ls is shutting down."}
    result: dict[str, Any] = await ls.result_of(handle)
    ls.show(result["message"], types.MessageType.Info, once=False)
    return result


def _embed_job(ctx: JobContext, ep: embed_feature.EmbedPlan) -> dict[str, Any]:
    """On the "embed" lane (apart from chat, so a long run never delays a question):
    $/progress from the runner's sink, cancelled from the editor's bar or at shutdown."""
    progress = ctx.progress
    progress.begin(f"{ep.estimate.texts} texts to embed")
    try:
        result = embed_feature.run(ep, progress.report, ctx.cancelled)
    except embed_feature.CannotEmbed as exc:
        result = {"embedded": 0, "message": str(exc)}
    progress.end(str(result["message"])[:200])
    return result
