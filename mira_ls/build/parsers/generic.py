"""The fallback for any tool printing ``file:line[:col]: [severity:] message [code]``
(gcc, clang, eslint's unix format, flake8, shellcheck's gcc format ...)."""

from __future__ import annotations

import re

from mira_ls.build.locations import PathMapper
from mira_ls.build.model import ParseContext, ParsedError, ToolOutput

TOOL = "generic"
_LINE = re.compile(
    r"^(?P<file>[^\s:][^:\n]*?):(?P<line>\d+)(?::(?P<col>\d+))?:\s*"
    r"(?:(?P<sev>fatal error|error|warning|note|info|hint|remark)\s*:\s*)?(?P<msg>\S.*)$",
    re.IGNORECASE,
)
_TRAILING_CODE = re.compile(r"\s*\[(?P<code>[\w./:-]+)\]$")
_LEADING_CODE = re.compile(r"^(?P<code>[A-Z]{1,4}\d{2,5})\s+")
_SEVERITY = {
    "fatal error": "error",
    "error": "error",
    "warning": "warning",
    "note": "information",
    "info": "information",
    "hint": "hint",
    "remark": "information",
}


def parse(out: ToolOutput, ctx: ParseContext) -> list[ParsedError]:
    paths = PathMapper(ctx)
    errors: list[ParsedError] = []
    for raw in (out.stdout + "\n" + out.stderr).splitlines():
        m = _LINE.match(raw.rstrip("\r"))
        if m is None:
            continue
        msg, code = m["msg"].strip(), ""
        t = _TRAILING_CODE.search(msg)
        if t:
            code, msg = t["code"], msg[: t.start()].strip()
        else:
            lead = _LEADING_CODE.match(msg)
            if lead:
                code, msg = lead["code"], msg[lead.end() :].strip()
        if not msg:
            continue
        sev = _SEVERITY.get((m["sev"] or "error").lower(), "error")
        errors.append(
            ParsedError(
                tool=TOOL,
                code=code,
                severity=sev,
                message=msg,
                file_path=paths(m["file"]),
                line=int(m["line"]),
                col=int(m["col"]) if m["col"] else None,
            )
        )
    return errors
