"""mira.remember, mira.forget, mira.memory, mira.profile, mira.patterns, mira.addDocument:
features/memory.py does the work; these run it on the "llm" lane (extraction and embedding
ask the model) and turn failures into a sentence."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lsprotocol import types

from mira_ls.features import chat
from mira_ls.features import memory as memory_feature
from mira_ls.jobs import JobContext
from mira_ls.llm.errors import LlmError
from mira_ls.server.base import Handlers, MiraServer, command_arg
from mira_ls.store import StoreError

log = logging.getLogger(__name__)
handlers = Handlers()
register = handlers.register

_EXPECTED = (LlmError, chat.NeedInput, memory_feature.MemoryInputError, StoreError)


async def _on_llm_lane(ls: MiraServer, name: str, fn: Callable[..., dict[str, Any]],
                       arg: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    def job(ctx: JobContext) -> dict[str, Any]:
        try:
            return fn(ls.session, ls.chat.service(ls.session), arg)
        except _EXPECTED as exc:
            return {"error": str(exc)}
        except Exception as exc:
            log.exception("%s failed", name)
            return {"error": f"mira-ls could not do that: {exc}. Details are in the server log."}

    handle = ls.submit("llm", f"the {name} command", job)
    if handle is None:
        return {"error": "mira-ls is shutting down."}
    out: dict[str, Any] = await ls.result_of(handle)
    if "error" in out:
        ls.show(str(out["error"]), types.MessageType.Warning, once=False)
    elif out.get("message"):
        ls.show(str(out["message"]), types.MessageType.Info, once=False)
    if out.get("note"):  # e.g. keyword only: no embedding endpoint (not repeated each time)
        ls.show(str(out["note"]), types.MessageType.Info, once=True)
    return out


@handlers.command("mira.remember")
async def cmd_remember(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{text} -> {changes, cost_usd, message}."""
    return await _on_llm_lane(ls, "mira.remember", memory_feature.remember, command_arg(args))


@handlers.command("mira.forget")
async def cmd_forget(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{id} or {query} -> {forgotten, message}; {message: N} -> the summaries made from it
    go too, and the session's summaries are made again in the background."""
    out = await _on_llm_lane(ls, "mira.forget", memory_feature.forget, command_arg(args))
    if any(f.get("kind") == "summary" for f in out.get("forgotten", [])) and out.get("session"):
        from mira_ls.server.llm import _analyse_later

        _analyse_later(ls, str(out["session"]))
    return out


@handlers.command("mira.profile")
async def cmd_profile(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{set?: {FIELD: VALUE}, unset?: [FIELD]} -> {profile, patterns, message?}."""
    return await _on_llm_lane(ls, "mira.profile", memory_feature.profile, command_arg(args))


@handlers.command("mira.patterns")
async def cmd_patterns(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{} -> {patterns}; {add: TEXT, type?, appliesWhen?} or {id, description?, ...}
    -> {pattern, message}."""
    return await _on_llm_lane(ls, "mira.patterns", memory_feature.patterns, command_arg(args))


@handlers.command("mira.memory")
async def cmd_memory(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{} -> {path, markdown, facts}; the markdown file is opened in the editor."""
    out = await _on_llm_lane(ls, "mira.memory", memory_feature.memory, command_arg(args))
    if "path" in out:
        from pathlib import Path

        await ls.show_document(
            Path(out["path"]).as_uri(),
            fallback=f"mira-ls wrote what it remembers to {out['path']}.",
        )
    return out


@handlers.command("mira.addDocument")
async def cmd_add_document(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """{path} or {uri} -> {id, path, title, chunks, embedded, action, message, note}."""
    return await _on_llm_lane(
        ls, "mira.addDocument", memory_feature.add_document, command_arg(args)
    )
