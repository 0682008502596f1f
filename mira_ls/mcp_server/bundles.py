"""What the MCP resources and prompts hand an agent: the context mira.explain,
mira.fixError and mira.reviewChanges assemble for mira-ls's own model, as text. No MCP
types here, and no LLM call: the agent's own model reads it."""

from __future__ import annotations

from dataclasses import dataclass

from mira_ls.index.languages import language_for_path
from mira_ls.index.symbols import extract, symbol_at
from mira_ls.llm import context as ctx
from mira_ls.llm import prompts, review
from mira_ls.llm.workspace_files import FileRefused, read_text
from mira_ls.mcp_server.workspace import Workspace

MAX_FILE_BYTES = 1_000_000


class BundleError(Exception):
    """``str(exc)``: why there is nothing to give, as a sentence."""


@dataclass(frozen=True)
class Bundle:
    title: str
    request: str  # the command's request to the model, as mira-ls words it
    context: str  # the assembled sections (markdown)

    def prompt(self) -> str:
        return prompts.with_context(self.context, self.request)


def _where(ws: Workspace, path: str, line: int) -> tuple[ctx.Where, str | None]:
    try:
        rel = ws.box.workspace_path(path)
        text, _ = read_text(ws.root, rel, max_bytes=MAX_FILE_BYTES, secrets=ws.box.secrets)
    except FileRefused as exc:
        raise BundleError(str(exc)) from None
    where = ctx.Where(ws.project_id, ws.root, rel, text, max(1, line), 0)
    return where, rel


def _assemble(
    ws: Workspace, where: ctx.Where, extra: list[ctx.Section] | None = None, error: str = ""
) -> tuple[ctx.ContextBundle, str | None]:
    language = language_for_path(where.rel_path)
    fx = extract(where.text.encode("utf-8"), where.rel_path, language) if language else None
    name = None
    if fx is not None:
        idx = symbol_at(fx, where.line, where.col)
        if idx is not None and fx.symbols[idx].kind != "module":
            name = fx.symbols[idx].qualified_name
    bundle = ctx.assemble(
        ws.store,
        where,
        fx,
        budget=ws.settings.llm.context_tokens,
        extra=extra,
        secrets=ws.box.secrets,
        error_text=error,
    )
    if bundle.refused:
        raise BundleError(bundle.refused)
    return bundle, name


def explain(ws: Workspace, path: str, line: int = 1) -> Bundle:
    """The context of a file at a line (the symbol there, or the file as a whole)."""
    where, _ = _where(ws, path, line)
    bundle, name = _assemble(ws, where)
    request = prompts.explain(name) if name else prompts.explain_here()
    title = f"Explain {name or f'{where.rel_path}:{where.line}'}"
    return Bundle(title, request, bundle.text)


def fix_error(ws: Workspace, message: str, path: str, line: int = 1) -> Bundle:
    where, _ = _where(ws, path, line)
    extra = [ctx.Section("diagnostic", f"The error ({where.rel_path}:{where.line})", message, 0)]
    bundle, _ = _assemble(ws, where, extra, message)
    at = f"{where.rel_path}:{where.line}"
    return Bundle(f"Fix {at}", prompts.fix_error(message, at), bundle.text)


def review_changes(ws: Workspace) -> Bundle:
    try:
        sections, tree = review.sections(
            ws.store,
            ws.project_id,
            ws.root,
            ws.settings.llm.context_tokens,
            ws.box.secrets,
            trusted=ws.settings.git.trust_repository_config,
        )
    except review.ReviewError as exc:
        raise BundleError(str(exc)) from None
    chosen, _ = ctx.fit(sections, ws.settings.llm.context_tokens)
    text = "\n\n".join(s.render() for s in chosen)
    return Bundle(f"Review of {len(tree.files)} changed files", prompts.review(tree.stat), text)
