"""Error identity: what normalization strips, what the hash keeps, and the categories."""

from __future__ import annotations

import hashlib

import pytest

from mira_ls.build.categories import CATEGORIES, category_for
from mira_ls.build.errors import error_hash, group
from mira_ls.build.model import ParsedError
from mira_ls.build.normalize import normalize_message


@pytest.mark.parametrize(
    ("message", "normalized"),
    [
        ("bad value at 0x7f3a2b1c", "bad value at <addr>"),
        ("<pkg.core.Box object at 0x7f0f0b5fb910>", "<pkg.core.Box object at <addr>>"),
        (
            "ImportError while importing test module '/tmp/pytest-of-root/pytest-3/t0/test_x.py'.",
            "ImportError while importing test module '<tmp>'.",
        ),
        ("cannot open /home/alice/proj/src/data.json", "cannot open data.json"),
        ("defined at util.py:12:4", "defined at util.py:<n>"),
        ("src/app.ts(8,20): Property x", "src/app.ts(<n>,<n>): Property x"),
        ("error at line 12, column 4", "error at line <n>, column <n>"),
        ("timed out after 1.5s", "timed out after <dur>"),
        ("Type 'T@123' is not 'tmp_ab12cd34ef'", "Type 'T@<n>' is not 'tmp_<hex>'"),
        ("id 123e4567-e89b-12d3-a456-426614174000 gone", "id <uuid> gone"),
        (
            "See https://mypy.readthedocs.io/en/stable/x.html#y",
            "See https://mypy.readthedocs.io/en/stable/x.html#y",
        ),
        (
            'Argument 1 to "add" has incompatible type "str"; expected "int"',
            'Argument 1 to "add" has incompatible type "str"; expected "int"',
        ),
        ("  spaced   out\n  message ", "spaced out message"),
    ],
)
def test_normalize(message: str, normalized: str) -> None:
    assert normalize_message(message) == normalized


def test_hash_is_sha256_of_tool_code_message_basename() -> None:
    h = error_hash("ruff", "F401", "`os` imported but unused", "pkg/a.py")
    key = "\x1f".join(("ruff", "F401", "`os` imported but unused", "a.py"))
    assert h == hashlib.sha256(key.encode()).hexdigest()
    # the directory does not count, the basename does
    assert h == error_hash("ruff", "F401", "`os` imported but unused", "other/dir/a.py")
    assert h != error_hash("ruff", "F401", "`os` imported but unused", "pkg/b.py")
    assert h != error_hash("ruff", "F811", "`os` imported but unused", "pkg/a.py")
    assert h != error_hash("mypy", "F401", "`os` imported but unused", "pkg/a.py")


def _pe(message: str, line: int, path: str = "pkg/a.py", sev: str = "error") -> ParsedError:
    return ParsedError("pytest", "ValueError", sev, message, path, line)


def test_group_merges_moved_and_volatile_errors_and_counts_severities() -> None:
    run = group(
        [
            _pe("test_x failed: ValueError: at 0x7f00aa", 10),
            _pe("test_x failed: ValueError: at 0x7f99bb", 42),  # same error, other address & line
            _pe("test_y failed: ValueError: boom", 3),
            _pe("test_z failed: ValueError: w", 5, sev="warning"),
        ]
    )
    assert len(run.records) == 3
    assert len(run.occurrences) == 4
    assert run.occurrences[0].error_hash == run.occurrences[1].error_hash
    assert (run.error_count, run.warning_count) == (3, 1)
    assert run.records[0].normalized_message == "test_x failed: ValueError: at <addr>"
    assert run.records[0].category == "test-failure"


@pytest.mark.parametrize(
    ("tool", "code", "message", "category"),
    [
        ("ruff", "F401", "", "lint"),
        ("ruff", "F821", "", "name"),
        ("ruff", "", "SyntaxError: invalid syntax", "syntax"),
        ("ruff", "E999", "", "syntax"),
        ("mypy", "arg-type", "", "type"),
        ("mypy", "name-defined", "", "name"),
        ("mypy", "attr-defined", "", "attribute"),
        ("mypy", "import-not-found", "", "import"),
        ("mypy", "syntax", "", "syntax"),
        ("mypy", "misc", "", "other"),
        ("pytest", "AssertionError", "", "test-failure"),
        ("pytest", "ModuleNotFoundError", "", "import"),
        ("pytest", "AttributeError", "", "attribute"),
        ("pytest", "NameError", "", "name"),
        ("tsc", "TS2322", "", "type"),
        ("tsc", "TS2304", "", "name"),
        ("tsc", "TS2307", "", "import"),
        ("tsc", "TS2339", "", "attribute"),
        ("tsc", "TS1005", "", "syntax"),
        ("tsc", "TS6133", "", "lint"),
        ("cargo", "E0308", "", "type"),
        ("cargo", "E0432", "", "import"),
        ("cargo", "E0425", "", "name"),
        ("cargo", "E0599", "", "attribute"),
        ("cargo", "unused_imports", "", "lint"),
        ("cargo", "", "expected one of `;` or `}`", "syntax"),
        ("go", "undefined", "", "name"),
        ("go", "type-mismatch", "", "type"),
        ("go", "vet-printf", "", "lint"),
        ("eslint", "no-undef", "", "other"),
    ],
)
def test_categories_follow_the_code_family(
    tool: str, code: str, message: str, category: str
) -> None:
    assert category_for(tool, code, message) == category
    assert category in CATEGORIES
