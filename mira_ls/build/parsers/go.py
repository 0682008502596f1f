"""go build / go vet text: ``path:line:col: message``, with ``# package`` headers and
``vet: `` prefixes. Go prints no error codes, so a code is derived from the message's
wording (``undefined``, ``type-mismatch``, ``vet-printf`` ...) to compare errors across runs.
"""

from __future__ import annotations

import re

from mira_ls.build.locations import PathMapper
from mira_ls.build.model import ParseContext, ParsedError, ToolOutput

TOOL = "go"
_LINE = re.compile(
    r"^(?:vet: )?(?P<file>[^\s:#][^:\n]*?\.go):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<msg>.+)$"
)
_COMPILER = (
    (re.compile(r"^undefined: "), "undefined"),
    (re.compile(r"imported and not used|imported as \w+ and not used"), "unused-import"),
    (re.compile(r"declared (?:but|and) not used"), "unused-variable"),
    (
        re.compile(
            r"^cannot use |mismatched types|^cannot convert|^invalid operation|"
            r"^not enough arguments|^too many arguments|^cannot assign"
        ),
        "type-mismatch",
    ),
    (
        re.compile(
            r"could not import|no required module provides|is not in (?:GOROOT|std)|"
            r"^package .* is not in"
        ),
        "could-not-import",
    ),
    (re.compile(r"^syntax error|^expected "), "syntax"),
    (
        re.compile(r"has no field or method|undefined \(type .* has no field or method"),
        "missing-field-or-method",
    ),
    (re.compile(r"^missing return"), "missing-return"),
)
_VET = (
    (
        re.compile(
            r"format %|call has arguments but no formatting directives|"
            r"call needs \d+ args? but has|wrong type"
        ),
        "vet-printf",
    ),
    (re.compile(r"^unreachable code"), "vet-unreachable"),
    (re.compile(r"struct field tag"), "vet-structtag"),
    (re.compile(r"passes lock by value|copies lock"), "vet-copylocks"),
    (re.compile(r"self-assignment"), "vet-assign"),
    (re.compile(r"result of .* call not used"), "vet-unusedresult"),
    (re.compile(r"possible misuse of"), "vet-unsafeptr"),
    (re.compile(r"loop variable .* captured by func literal"), "vet-loopclosure"),
)


def _code(msg: str, is_vet: bool) -> tuple[str, bool]:
    """(derived code, whether the compiler reported it)."""
    for rx, code in _COMPILER:
        if rx.search(msg):
            return code, True
    if is_vet:
        for rx, code in _VET:
            if rx.search(msg):
                return code, False
        return "vet", False
    return "", True


def parse(out: ToolOutput, ctx: ParseContext) -> list[ParsedError]:
    paths = PathMapper(ctx)
    is_vet = "vet" in ctx.argv[1:3]
    errors: list[ParsedError] = []
    seen: set[tuple[str | None, int, int | None, str]] = set()
    current: ParsedError | None = None
    for raw in (out.stderr + "\n" + out.stdout).splitlines():
        line = raw.rstrip("\r")
        m = _LINE.match(line)
        if m:
            msg = m["msg"].strip()
            code, compiler = _code(msg, is_vet)
            e = ParsedError(
                tool=TOOL,
                code=code,
                severity="error" if compiler else "warning",
                message=msg,
                file_path=paths(m["file"]),
                line=int(m["line"]),
                col=int(m["col"]) if m["col"] else None,
            )
            key = (e.file_path, e.line or 0, e.col, code)  # vet repeats the compiler's errors
            if key in seen:
                current = None
                continue
            seen.add(key)
            errors.append(e)
            current = e
        elif current is not None and line.startswith("\t") and line.strip():
            current.message += "\n" + line.strip()
        else:
            current = None
    return errors
