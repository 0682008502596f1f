"""pytest failures: from the ``--junitxml`` report when the run wrote one, else from the
terminal output (the FAILURES/ERRORS sections and the ``-rf`` short summary).

Each failure becomes one error: its code is the exception type, its message names the test
("test_add failed: AssertionError: assert 3 == 4"), and its location is the deepest
traceback entry inside the workspace (where the fix usually goes), with the test itself as
related information.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from mira_ls.build.locations import PathMapper, is_inside
from mira_ls.build.model import ParseContext, ParsedError, ToolOutput

TOOL = "pytest"
_ENTRY = re.compile(r"^(?P<file>[^\s:][^:\n]*?\.\w+):(?P<line>\d+):(?: (?P<rest>.*))?$")
_E_LINE = re.compile(r"^E\s{1,}(?P<text>.*)$")
_EXC = re.compile(
    r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failed|"
    r"Iteration|Failure))(?::\s*(?P<msg>.*))?$"
)
_HEADER = re.compile(r"^_{2,} (?P<title>.+?) _{2,}$")
_BANNER = re.compile(r"^={3,} (?P<title>.+?) ={3,}$")
_SUMMARY = re.compile(r"^(?P<kind>FAILED|ERROR) (?P<id>\S+)(?: - (?P<msg>.*))?$")


@dataclass
class _Failure:
    test_id: str
    kind: str  # "failure" or "error"
    text: str
    message: str = ""
    test_file: str | None = None
    test_line: int | None = None
    entries: list[tuple[str, int, str]] = field(default_factory=list)


def _short(test_id: str) -> str:
    return test_id.split("::", 1)[1] if "::" in test_id else test_id


def _analyse(f: _Failure, paths: PathMapper) -> ParsedError:
    entries: list[tuple[str | None, int, str]] = []
    e_lines: list[str] = []
    for text_line in f.text.splitlines():
        m = _ENTRY.match(text_line)
        if m:
            entries.append((paths(m["file"]), int(m["line"]), (m["rest"] or "").strip()))
            continue
        e = _E_LINE.match(text_line)
        if e:
            e_lines.append(e["text"].rstrip())
    exc_type, detail = "", ""
    for text in e_lines:  # the exception line, e.g. "AttributeError: 'Box' object has ..."
        m = _EXC.match(text.strip())
        if m:
            exc_type, detail = m["type"].rsplit(".", 1)[-1], (m["msg"] or "").strip()
            break
    if entries and not exc_type:
        last = entries[-1][2]
        if _EXC.match(last):
            exc_type = last.rsplit(".", 1)[-1]
    if not detail:
        first_msg = f.message.strip().splitlines()[0] if f.message.strip() else ""
        detail = e_lines[0].strip() if e_lines else first_msg
        if exc_type and detail.startswith(exc_type + ":"):
            detail = detail[len(exc_type) + 1 :].strip()
    if not exc_type:
        exc_type = "AssertionError" if detail.startswith("assert") else "Failed"
    inside = [(p, n) for p, n, _ in entries if p is not None and is_inside(p)]
    file_path, line = inside[-1] if inside else (f.test_file, f.test_line)
    related: list[tuple[str, int]] = []
    if f.test_file and f.test_line and (f.test_file, f.test_line) != (file_path, line):
        related.append((f.test_file, f.test_line))
    for p, n in inside[:-1]:
        if (p, n) not in related and (p, n) != (file_path, line):
            related.append((p, n))
    what = "failed" if f.kind == "failure" else "errored"
    if f.test_id.startswith("collect:"):
        message = f"collecting {f.test_id[len('collect:') :]} failed: {exc_type}: {detail}"
    else:
        message = (
            f"{_short(f.test_id)} {what}: {exc_type}: {detail}"
            if detail
            else (f"{_short(f.test_id)} {what}: {exc_type}")
        )
    return ParsedError(
        tool=TOOL,
        code=exc_type,
        severity="error",
        message=message.strip(),
        file_path=file_path,
        line=line,
        related=related,
        test_id=f.test_id,
    )


# -- JUnit XML ---------------------------------------------------------------------------


def _module_file(classname: str, ctx: ParseContext) -> str:
    """xunit2 reports name no file: the longest dotted prefix that is a .py file."""
    parts = classname.split(".")
    for i in range(len(parts), 0, -1):
        candidate = "/".join(parts[:i]) + ".py"
        if (ctx.cwd / candidate).is_file():
            return candidate
    return "/".join(parts) + ".py"


def _junit(xml_text: str, paths: PathMapper, ctx: ParseContext) -> list[_Failure] | None:
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return None
    failures: list[_Failure] = []
    for case in root.iter("testcase"):
        for tag in ("failure", "error"):
            el = case.find(tag)
            if el is None:
                continue
            name = case.get("name", "")
            classname = case.get("classname", "")
            file_attr = case.get("file")
            line_attr = case.get("line")
            test_file = paths(file_attr) if file_attr else None
            if not classname and file_attr:  # a collection error: name is the module
                test_id = f"collect:{file_attr}"
            else:
                module_file = file_attr or _module_file(classname, ctx)
                module = module_file.removesuffix(".py").replace("/", ".")
                cls = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
                test_id = "::".join(p for p in (module_file, *cls.split("."), name) if p)
                if test_file is None:
                    guess = paths(module_file)
                    test_file = guess if guess and is_inside(guess) else None
            failures.append(
                _Failure(
                    test_id=test_id,
                    kind=tag,
                    text=el.text or "",
                    message=el.get("message", "")
                    if el.get("message") != "collection failure"
                    else "",
                    test_file=test_file,
                    test_line=int(line_attr) + 1 if line_attr and line_attr.isdigit() else None,
                )
            )
    return failures


# -- terminal output ---------------------------------------------------------------------


def _terminal(text: str) -> list[_Failure]:
    summary: dict[str, tuple[str, str]] = {}  # short name -> (full id, message)
    sections: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    in_block = False
    for line in text.splitlines():
        b = _BANNER.match(line)
        if b:
            in_block = b["title"] in ("FAILURES", "ERRORS")
            current = None
            continue
        s = _SUMMARY.match(line)
        if s:
            summary.setdefault(s["id"].split("::")[-1], (s["id"], s["msg"] or ""))
            summary.setdefault(s["id"], (s["id"], s["msg"] or ""))
            continue
        if not in_block:
            continue
        h = _HEADER.match(line)
        if h and not line.startswith("_ _"):
            current = []
            sections.append((h["title"], current))
        elif current is not None:
            current.append(line)
    failures: list[_Failure] = []
    seen: set[str] = set()
    for title, body in sections:
        kind = "error" if title.startswith("ERROR") else "failure"
        if title.startswith("ERROR collecting "):
            target = title[len("ERROR collecting ") :]
            test_id, msg = f"collect:{target}", ""
        else:
            name = title.split(" of ", 1)[1] if title.startswith("ERROR at ") else title
            key = name.replace(".", "::")
            full, msg = summary.get(key) or summary.get(name.split(".")[-1]) or (key, "")
            test_id = full
        seen.add(test_id)
        failures.append(_Failure(test_id=test_id, kind=kind, text="\n".join(body), message=msg))
    for key, (full, msg) in summary.items():  # -rf without tracebacks (--tb=no)
        if full in seen or f"collect:{full}" in seen or key != full:
            continue
        seen.add(full)
        failures.append(
            _Failure(
                test_id=full if "::" in full else f"collect:{full}",
                kind="failure",
                text="",
                message=msg,
            )
        )
    return failures


def parse(out: ToolOutput, ctx: ParseContext) -> list[ParsedError]:
    paths = PathMapper(ctx)
    failures: list[_Failure] | None = None
    xml_text = out.files.get("junitxml")
    if xml_text:
        failures = _junit(xml_text, paths, ctx)
    if failures is None:
        failures = _terminal(out.stdout)
        for f in failures:
            if f.test_file is None:
                first = f.test_id.removeprefix("collect:").split("::", 1)[0]
                p = paths(first)
                f.test_file = p if p and is_inside(p) else None
    return [_analyse(f, paths) for f in failures]
