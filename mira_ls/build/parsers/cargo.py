"""cargo's ``--message-format json``: compiler messages with their primary span.

Summaries ("aborting due to ...", "For more information ...") have no span and are skipped;
secondary spans become related locations; a suggested replacement becomes the hint.
"""

from __future__ import annotations

import json
from typing import Any

from mira_ls.build.locations import PathMapper
from mira_ls.build.model import ParseContext, ParsedError, ToolOutput

TOOL = "cargo"
_SEVERITY = {
    "error": "error",
    "error: internal compiler error": "error",
    "warning": "warning",
    "note": "information",
    "help": "hint",
}


def _hint(msg: dict[str, Any]) -> str | None:
    out: list[str] = []
    for child in msg.get("children") or []:
        if not isinstance(child, dict):
            continue
        text = str(child.get("message") or "").strip()
        repl = [
            s.get("suggested_replacement")
            for s in child.get("spans") or []
            if isinstance(s, dict) and s.get("suggested_replacement") is not None
        ]
        if repl:
            text += f": `{repl[0]}`"
        if text:
            out.append(f"{child.get('level', 'note')}: {text}")
    return "\n".join(out) or None


def parse(out: ToolOutput, ctx: ParseContext) -> list[ParsedError]:
    paths = PathMapper(ctx)
    errors: list[ParsedError] = []
    for raw in out.stdout.splitlines():
        if not raw.startswith("{"):
            continue
        try:
            d = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if not isinstance(d, dict) or d.get("reason") != "compiler-message":
            continue
        msg = d.get("message")
        if not isinstance(msg, dict):
            continue
        spans = [s for s in msg.get("spans") or [] if isinstance(s, dict)]
        primary = next((s for s in spans if s.get("is_primary")), None)
        if primary is None:
            continue
        # A span inside a macro expansion points into the macro: use where it was called.
        while isinstance(primary.get("expansion"), dict) and isinstance(
            primary["expansion"].get("span"), dict
        ):
            primary = primary["expansion"]["span"]
        code_obj = msg.get("code")
        code = str(code_obj.get("code") or "") if isinstance(code_obj, dict) else ""
        file_path = paths(str(primary.get("file_name") or ""))  # relative to where cargo ran
        related = [
            (p, int(s["line_start"]))
            for s in spans
            if s is not primary and isinstance(s.get("line_start"), int)
            for p in [paths(str(s.get("file_name") or ""))]
            if p is not None
        ]
        errors.append(
            ParsedError(
                tool=TOOL,
                code=code,
                severity=_SEVERITY.get(str(msg.get("level")), "error"),
                message=str(msg.get("message") or "").strip(),
                file_path=file_path,
                line=primary.get("line_start"),
                col=primary.get("column_start"),
                end_line=primary.get("line_end"),
                end_col=primary.get("column_end"),
                related=related,
                hint=_hint(msg),
            )
        )
    return errors
