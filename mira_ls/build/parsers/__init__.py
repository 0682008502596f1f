"""One parser per tool; each turns a command's output into ParsedErrors.

``crash_codes`` are exit codes with which the tool says it failed to work (not that it
found errors): a run ending so is an error, and its absent errors are not "resolved".
``clean_codes`` are non-zero exit codes that still mean "nothing wrong" (pytest's 5: no
tests collected).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mira_ls.build.model import ParseContext, ParsedError, ToolOutput
from mira_ls.build.parsers import cargo, generic, go, mypy, pytest, ruff, tsc

Parse = Callable[[ToolOutput, ParseContext], list[ParsedError]]


@dataclass(frozen=True)
class ParserSpec:
    name: str
    parse: Parse
    crash_codes: frozenset[int] = frozenset()
    clean_codes: frozenset[int] = frozenset()


PARSERS: dict[str, ParserSpec] = {
    "ruff": ParserSpec("ruff", ruff.parse, frozenset({2})),
    "mypy": ParserSpec("mypy", mypy.parse),  # 2 is also "blocking errors" (syntax)
    "pytest": ParserSpec("pytest", pytest.parse, frozenset({3, 4}), frozenset({5})),
    "tsc": ParserSpec("tsc", tsc.parse),
    "cargo": ParserSpec("cargo", cargo.parse),
    "go": ParserSpec("go", go.parse),
    "generic": ParserSpec("generic", generic.parse),
}


def parser_for(name: str) -> ParserSpec | None:
    return PARSERS.get(name)
