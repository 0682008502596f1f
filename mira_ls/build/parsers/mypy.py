"""mypy: ``-O json`` (one object per line), else its text format
``file:line:col: error: msg  [code]``.

Notes that follow an error on the same line become that error's hint.
"""

from __future__ import annotations

import json
import re

from mira_ls.build.locations import PathMapper
from mira_ls.build.model import ParseContext, ParsedError, ToolOutput

TOOL = "mypy"
_TEXT = re.compile(
    r"^(?P<file>[^\n:]+?):(?P<line>\d+)(?::(?P<col>\d+))?(?::(?P<end_line>\d+):(?P<end_col>\d+))?:"
    r" (?P<sev>error|warning|note): (?P<msg>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)
_SEVERITY = {"error": "error", "warning": "warning", "note": "information"}


def _add(errors: list[ParsedError], e: ParsedError, is_note: bool) -> None:
    if is_note and errors:
        prev = errors[-1]
        if prev.file_path == e.file_path and prev.line == e.line:
            prev.hint = f"{prev.hint}\n{e.message}" if prev.hint else e.message
            return
    errors.append(e)


def _int(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def parse(out: ToolOutput, ctx: ParseContext) -> list[ParsedError]:
    paths = PathMapper(ctx)
    errors: list[ParsedError] = []
    for raw in out.stdout.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                d = None
            if isinstance(d, dict) and "message" in d:
                sev = str(d.get("severity") or "error")
                col, end_col = _int(d.get("column")), _int(d.get("end_column"))
                e = ParsedError(
                    tool=TOOL,
                    code=str(d.get("code") or ""),
                    severity=_SEVERITY.get(sev, "error"),
                    message=str(d["message"]),
                    file_path=paths(str(d.get("file") or "")),
                    line=_int(d.get("line")),
                    col=None if col is None or col < 0 else col + 1,  # JSON columns are 0-based
                    end_line=_int(d.get("end_line")),
                    end_col=None if end_col is None or end_col < 0 else end_col + 1,
                    hint=str(d["hint"]) if d.get("hint") else None,
                )
                _add(errors, e, sev == "note")
                continue
        m = _TEXT.match(line)
        if m is None:
            continue
        sev = m["sev"]
        e = ParsedError(
            tool=TOOL,
            code=m["code"] or "",
            severity=_SEVERITY[sev],
            message=m["msg"].strip(),
            file_path=paths(m["file"]),
            line=int(m["line"]),
            col=int(m["col"]) if m["col"] else None,
            end_line=int(m["end_line"]) if m["end_line"] else None,
            end_col=int(m["end_col"]) + 1 if m["end_col"] else None,
        )
        _add(errors, e, sev == "note")
    return errors
