"""ruff's ``--output-format json`` (also ``json-lines``), tolerant of output cut at the cap."""

from __future__ import annotations

import json
from typing import Any

from mira_ls.build.locations import PathMapper
from mira_ls.build.model import ParseContext, ParsedError, ToolOutput

TOOL = "ruff"


def _objects(text: str) -> list[dict[str, Any]]:
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
        if isinstance(data, list):
            return [d for d in data if isinstance(d, dict)]
        if isinstance(data, dict):
            return [data]
    except json.JSONDecodeError:
        pass
    # json-lines, or a pretty-printed array cut short: ruff writes each top-level object
    # from a line "  {" to a line "  }," so whole objects can still be read one by one.
    out: list[dict[str, Any]] = []
    chunk: list[str] = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                obj = json.loads(line)
                if isinstance(obj, dict):
                    out.append(obj)
                continue
            except json.JSONDecodeError:
                pass
        if line == "  {":
            chunk = [line]
        elif chunk:
            chunk.append(line)
            if line in ("  }", "  },"):
                try:
                    obj = json.loads("\n".join(chunk).rstrip(","))
                    if isinstance(obj, dict):
                        out.append(obj)
                except json.JSONDecodeError:
                    pass
                chunk = []
    return out


def _pos(loc: Any) -> tuple[int | None, int | None]:
    if not isinstance(loc, dict):
        return None, None
    row, col = loc.get("row"), loc.get("column")
    return (row if isinstance(row, int) else None, col if isinstance(col, int) else None)


def parse(out: ToolOutput, ctx: ParseContext) -> list[ParsedError]:
    paths = PathMapper(ctx)
    errors: list[ParsedError] = []
    for d in _objects(out.stdout):
        message = str(d.get("message") or "").strip()
        if not message:
            continue
        code = str(d.get("code") or "")
        line, col = _pos(d.get("location"))
        end_line, end_col = _pos(d.get("end_location"))
        severity = str(d.get("severity") or ("error" if not code else "warning")).lower()
        if severity not in ("error", "warning", "information", "hint"):
            severity = "warning"
        errors.append(
            ParsedError(
                tool=TOOL,
                code=code,
                severity=severity,
                message=message,
                file_path=paths(str(d.get("filename") or "")),
                line=line,
                col=col,
                end_line=end_line,
                end_col=end_col,
            )
        )
    return errors
