"""Which tree-sitter grammar a file uses, and the per-process cache of languages and queries.

Grammars come from the official wheels (no run-time downloads). Languages and compiled
queries are immutable and cached for the life of the process; parsers are cheap to make and
not thread-safe, so each caller gets its own.
"""

from __future__ import annotations

import functools
import os
import re
from importlib import resources
from pathlib import PurePath

from tree_sitter import Language, Parser, Query

LANGUAGES = ("python", "javascript", "typescript", "tsx", "rust", "go", "java", "c", "cpp")

_EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".tpp": "cpp",
}

# A .h file is C unless it plainly uses C++ (checked on the first bytes when given).
_CPP_HEADER = re.compile(
    rb"^\s*(?:class\s+\w+\s*[:{]|namespace\s+\w*\s*\{|template\s*<|using\s+namespace\b)"
    rb"|\bstd::|^\s*(?:public|private|protected)\s*:",
    re.MULTILINE,
)


def language_for_path(path: str | PurePath, head: bytes | None = None) -> str | None:
    """The language of a source file by extension (``head``: first bytes, for ``.h``)."""
    suffix = os.path.splitext(path)[1].lower()  # PurePath's suffix: ten times the cost
    lang = _EXTENSIONS.get(suffix)
    if lang == "c" and suffix == ".h" and head is not None and _CPP_HEADER.search(head):
        return "cpp"
    return lang


def extensions() -> dict[str, str]:
    return dict(_EXTENSIONS)


@functools.cache
def get_language(lang: str) -> Language:
    if lang == "python":
        import tree_sitter_python

        return Language(tree_sitter_python.language())
    if lang == "javascript":
        import tree_sitter_javascript

        return Language(tree_sitter_javascript.language())
    if lang == "typescript":
        import tree_sitter_typescript

        return Language(tree_sitter_typescript.language_typescript())
    if lang == "tsx":
        import tree_sitter_typescript

        return Language(tree_sitter_typescript.language_tsx())
    if lang == "rust":
        import tree_sitter_rust

        return Language(tree_sitter_rust.language())
    if lang == "go":
        import tree_sitter_go

        return Language(tree_sitter_go.language())
    if lang == "java":
        import tree_sitter_java

        return Language(tree_sitter_java.language())
    if lang == "c":
        import tree_sitter_c

        return Language(tree_sitter_c.language())
    if lang == "cpp":
        import tree_sitter_cpp

        return Language(tree_sitter_cpp.language())
    raise ValueError(f"No tree-sitter grammar for language {lang!r}")


def _query_file(name: str) -> str:
    return resources.files("mira_ls.index").joinpath("queries", f"{name}.scm").read_text("utf-8")


def query_source(lang: str) -> str:
    """The text of ``queries/<lang>.scm``; typescript and tsx add javascript's to their own
    (the TypeScript grammars extend JavaScript's)."""
    if lang in ("typescript", "tsx"):
        return _query_file("typescript") + "\n" + _query_file("javascript")
    return _query_file(lang)


def is_python_test_file(path: str) -> bool:
    """A file pytest collects or that defines fixtures (conftest.py)."""
    base = path.rsplit("/", 1)[-1]
    return base == "conftest.py" or base.startswith("test_") or base.endswith("_test.py")


@functools.cache
def get_query(lang: str, fixtures: bool = True) -> Query:
    """The language's query; ``fixtures`` False: without the patterns of untyped parameters
    (``@bare``), which only test files use (py_types: fixtures by name) and which match
    every parameter of a file: a tenth of the query's matches in a library's sources."""
    q = Query(get_language(lang), query_source(lang))
    if not fixtures:
        src = query_source(lang).encode("utf-8")
        for i in range(q.pattern_count):
            text = src[q.start_byte_for_pattern(i) : q.end_byte_for_pattern(i)]
            if re.search(rb"@bare\b", text):
                q.disable_pattern(i)
    return q


@functools.cache
def pattern_roles(lang: str) -> tuple[str, ...]:
    """Per query pattern: 'definition.<kind>', 'call', 'import', 'branch' or 'type' (from its
    captures), so matches are dispatched without inspecting every capture dict."""
    q = get_query(lang)
    src = query_source(lang).encode("utf-8")
    roles = []
    for i in range(q.pattern_count):
        text = src[q.start_byte_for_pattern(i) : q.end_byte_for_pattern(i)].decode("utf-8")
        body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith(";"))
        m = re.search(r"@definition\.(\w+)", body)
        if m:
            roles.append(f"definition.{m.group(1)}")
        elif re.search(r"@import\b", body):
            roles.append("import")
        elif re.search(r"@branch\b", body):
            roles.append("branch")
        elif re.search(r"@call\b(?!\.)", body):
            roles.append("call")
        elif re.search(r"@var\b", body):
            roles.append("type")  # what a name holds (py_types)
        else:
            roles.append("")
    return tuple(roles)


def new_parser(lang: str) -> Parser:
    return Parser(get_language(lang))
