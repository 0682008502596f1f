"""tsc: ``file(line,col): error TSxxxx: message``, continuation lines indented below it."""

from __future__ import annotations

import re

from mira_ls.build.locations import PathMapper
from mira_ls.build.model import ParseContext, ParsedError, ToolOutput

TOOL = "tsc"
_LINE = re.compile(
    r"^(?P<file>[^\s(][^(\n]*)\((?P<line>\d+),(?P<col>\d+)\): "
    r"(?P<sev>error|warning|message|info) (?P<code>TS\d+): (?P<msg>.*)$"
)
_GLOBAL = re.compile(r"^(?P<sev>error|warning) (?P<code>TS\d+): (?P<msg>.*)$")
_SEVERITY = {
    "error": "error",
    "warning": "warning",
    "message": "information",
    "info": "information",
}


def parse(out: ToolOutput, ctx: ParseContext) -> list[ParsedError]:
    paths = PathMapper(ctx)
    errors: list[ParsedError] = []
    current: ParsedError | None = None
    for raw in (out.stdout + "\n" + out.stderr).splitlines():
        line = raw.rstrip("\r")
        m = _LINE.match(line)
        if m:
            current = ParsedError(
                tool=TOOL,
                code=m["code"],
                severity=_SEVERITY[m["sev"]],
                message=m["msg"].strip(),
                file_path=paths(m["file"]),
                line=int(m["line"]),
                col=int(m["col"]),
            )
            errors.append(current)
            continue
        g = _GLOBAL.match(line)
        if g:  # no file: a tsconfig or command-line problem
            current = ParsedError(
                tool=TOOL,
                code=g["code"],
                severity=_SEVERITY[g["sev"]],
                message=g["msg"].strip(),
                file_path=None,
            )
            errors.append(current)
            continue
        if current is not None and line.startswith("  ") and line.strip():
            current.message += "\n" + line.strip()
        else:
            current = None
    return errors
