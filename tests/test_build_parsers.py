"""Each parser on real tool output: captured runs of tsc, cargo and go (tests/data/build),
and ruff, mypy and pytest both captured and run live on a project the test writes."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from mira_ls.build.model import BuildCommand, ParseContext, ParsedError, ToolOutput
from mira_ls.build.parsers import PARSERS
from mira_ls.build.runners import run_command

DATA = Path(__file__).parent / "data" / "build"
BIN = Path(sys.executable).parent


def parse(parser: str, root: str, stdout: str = "", stderr: str = "", files=None, argv=()):
    ctx = ParseContext(Path(root), Path(root), tuple(argv))
    return PARSERS[parser].parse(ToolOutput(stdout, stderr, 1, files or {}), ctx)


def brief(errors: list[ParsedError]) -> list[tuple]:
    return [(e.code, e.severity, e.file_path, e.line, e.col) for e in errors]


def data(rel: str) -> str:
    return (DATA / rel).read_text(encoding="utf-8")


# -- captured outputs ---------------------------------------------------------------------


def test_tsc_type_errors() -> None:
    errors = parse("tsc", "/tmp/buildcap/ts", data("tsc/type_errors.txt"))
    assert brief(errors) == [
        ("TS2307", "error", "src/app.ts", 1, 25),
        ("TS2322", "error", "src/app.ts", 7, 9),
        ("TS2339", "error", "src/app.ts", 8, 20),
        ("TS2345", "error", "src/app.ts", 8, 34),
        ("TS2552", "error", "src/app.ts", 14, 3),
        ("TS2322", "error", "src/util.ts", 4, 14),
        ("TS2322", "error", "src/util.ts", 6, 38),
        ("TS2345", "error", "src/util.ts", 8, 3),
    ]
    assert errors[2].message == "Property 'nmae' does not exist on type 'User'."
    # continuation lines belong to the error above them
    assert errors[-1].message.splitlines()[1:] == [
        "Types of parameters 'a' and 'a' are incompatible.",
        "Type 'string' is not assignable to type 'number'.",
    ]
    assert all(e.tool == "tsc" for e in errors)


def test_tsc_syntax_error() -> None:
    errors = parse("tsc", "/tmp/buildcap/ts", data("tsc/syntax_errors.txt"))
    assert brief(errors) == [("TS1005", "error", "src/app.ts", 18, 1)]
    assert errors[0].message == "'}' expected."


def test_cargo_json_type_errors_and_warning() -> None:
    errors = parse(
        "cargo",
        "/tmp/buildcap/rs",
        data("cargo/type_errors.jsonl"),
        data("cargo/type_errors.stderr.txt"),
    )
    assert brief(errors) == [
        ("unused_imports", "warning", "src/main.rs", 1, 5),
        ("E0308", "error", "src/main.rs", 9, 21),
    ]
    assert errors[1].message == "mismatched types"
    assert errors[1].end_line == 9 and errors[1].end_col == 30
    assert errors[1].related == [("src/main.rs", 9)]  # the "expected due to this" span
    assert "to_string" in (errors[1].hint or "")


def test_cargo_json_skips_summaries() -> None:
    errors = parse("cargo", "/tmp/buildcap/rs", data("cargo/resolve_errors.jsonl"))
    assert [(e.code, e.line, e.message) for e in errors] == [
        ("E0432", 1, "unresolved import `std::collections::HashMapp`"),
        ("E0425", 10, "cannot find value `undefined_var` in this scope"),
        ("E0308", 9, "mismatched types"),
    ]
    assert "HashMap" in (errors[0].hint or "")


def test_go_build_text() -> None:
    errors = parse("go", "/tmp/buildcap/go", stderr=data("go/build.txt"), argv=("go", "build"))
    assert brief(errors) == [
        ("unused-import", "error", "main.go", 5, 2),
        ("type-mismatch", "error", "main.go", 13, 17),
        ("undefined", "error", "main.go", 14, 17),
        ("unused-variable", "error", "main.go", 15, 2),
    ]
    assert errors[2].message == "undefined: undefinedVar"


def test_go_vet_text_derives_analyzer_codes_and_drops_repeats() -> None:
    errors = parse("go", "/tmp/buildcap/go", stderr=data("go/vet.txt"), argv=("go", "vet", "./..."))
    assert brief(errors) == [
        ("vet-printf", "warning", "pkg/util/util.go", 6, 2),
        ("vet-unreachable", "warning", "pkg/util/util.go", 8, 2),
        ("type-mismatch", "error", "main.go", 13, 17),
    ]


def test_ruff_json_captured() -> None:
    errors = parse("ruff", "/tmp/buildcap/py", data("ruff/check.json"))
    assert [(e.code, e.file_path, e.line, e.col, e.end_col) for e in errors] == [
        ("F401", "pkg/core.py", 1, 8, 10),
        ("F401", "pkg/core.py", 2, 8, 11),
        ("UP035", "pkg/core.py", 3, 1, 24),
        ("F401", "pkg/core.py", 3, 20, 24),
        ("F841", "pkg/core.py", 11, 5, 10),
        ("F821", "pkg/core.py", 12, 27, 41),
        ("F401", "pkg/core.py", 25, 12, 30),
        ("I001", "tests/test_core.py", 1, 1, 30),
    ]
    assert errors[0].message == "`os` imported but unused"


def test_ruff_json_cut_at_the_output_cap_keeps_whole_objects() -> None:
    text = data("ruff/check.json")
    cut = text[: text.index('"code": "F841"')]  # the array ends in the middle of an object
    errors = parse("ruff", "/tmp/buildcap/py", cut)
    assert [e.code for e in errors] == ["F401", "F401", "UP035", "F401"]


def test_mypy_json_and_text_agree() -> None:
    js = parse("mypy", "/tmp/buildcap/py", data("mypy/errors.jsonl"))
    txt = parse("mypy", "/tmp/buildcap/py", data("mypy/errors.txt"))
    expected = [
        ("assignment", "error", "pkg/core.py", 11, 18),
        ("name-defined", "error", "pkg/core.py", 12, 27),
        ("attr-defined", "error", "pkg/core.py", 20, 16),
        ("arg-type", "error", "pkg/core.py", 24, 9),
        ("import-not-found", "error", "pkg/core.py", 25, 1),
    ]
    assert brief(js) == expected  # JSON columns are 0-based, converted
    assert brief(txt) == expected
    assert [e.message for e in js] == [e.message for e in txt]
    assert "missing-imports" in (txt[-1].hint or "")  # the note became the hint


def test_pytest_junit_and_terminal_agree() -> None:
    root = "/tmp/buildcap/py"
    junit = parse("pytest", root, files={"junitxml": data("pytest/junit_xunit1.xml")})
    junit2 = parse("pytest", root, files={"junitxml": data("pytest/junit.xml")})
    text = parse("pytest", root, data("pytest/rf.txt"))
    expected = [
        (
            "tests/test_core.py::test_add",
            "AssertionError",
            "tests/test_core.py",
            5,
            "test_add failed: AssertionError: assert 3 == 4",
        ),
        (
            "tests/test_core.py::test_box",
            "AttributeError",
            "pkg/core.py",
            20,
            "test_box failed: AttributeError: 'Box' object has no attribute 'valu'",
        ),
        (
            "tests/test_core.py::test_raises",
            "ValueError",
            "tests/test_core.py",
            17,
            "test_raises failed: ValueError: bad value at 0x7f3a2b1c",
        ),
    ]
    for errors in (junit, junit2, text):
        assert [(e.test_id, e.code, e.file_path, e.line, e.message) for e in errors] == expected
    # the failing test is related information when the error is raised elsewhere
    assert ("tests/test_core.py", 9) in junit[1].related


def test_pytest_collection_error() -> None:
    root = "/tmp/buildcap/py2"
    for errors in (
        parse("pytest", root, files={"junitxml": data("pytest/collect_error.xml")}),
        parse("pytest", root, data("pytest/collect_error.txt")),
    ):
        assert [(e.code, e.file_path, e.line) for e in errors] == [
            ("ModuleNotFoundError", "tests/test_broken.py", 1)
        ]
        assert errors[0].message == (
            "collecting tests/test_broken.py failed: ModuleNotFoundError: "
            "No module named 'not_a_module_abc'"
        )


def test_pytest_summary_only() -> None:
    out = "FAILED tests/test_x.py::test_one - assert 1 == 2\n1 failed in 0.01s\n"
    errors = parse("pytest", "/w", out)
    assert [(e.test_id, e.code, e.file_path, e.message) for e in errors] == [
        (
            "tests/test_x.py::test_one",
            "AssertionError",
            "tests/test_x.py",
            "test_one failed: AssertionError: assert 1 == 2",
        )
    ]


def test_generic_fallback() -> None:
    out = (
        "src/a.c:3:5: error: use of undeclared identifier 'x'\n"
        "src/a.c:9:1: warning: control reaches end of non-void function [-Wreturn-type]\n"
        "lib/b.py:12:80: E501 line too long (88 > 79 characters)\n"
        "/w/abs/c.sh:4: note: something\n"
        "see https://example.com:443/x for details\n"
        "not an error line\n"
    )
    errors = parse("generic", "/w", out)
    assert [(e.code, e.severity, e.file_path, e.line, e.col, e.message) for e in errors] == [
        ("", "error", "src/a.c", 3, 5, "use of undeclared identifier 'x'"),
        ("-Wreturn-type", "warning", "src/a.c", 9, 1, "control reaches end of non-void function"),
        ("E501", "error", "lib/b.py", 12, 80, "line too long (88 > 79 characters)"),
        ("", "information", "abs/c.sh", 4, None, "something"),
    ]


def test_paths_outside_the_workspace_stay_absolute_and_relative_ones_follow_cwd() -> None:
    ctx = ParseContext(Path("/w"), Path("/w/sub"))
    out = ToolOutput("a.py:1:1: error: x\n/elsewhere/b.py:2:1: error: y\n", "", 1)
    errors = PARSERS["generic"].parse(out, ctx)
    assert [e.file_path for e in errors] == ["sub/a.py", "/elsewhere/b.py"]


# -- live runs of the real tools ----------------------------------------------------------

CORE = """import os


def add(a: int, b: int) -> int:
    return a + b


def label(n: int) -> str:
    value: int = "x"
    return n.upper()
"""

TESTS = """from pkg.core import add


def test_add():
    assert add(1, 2) == 4


def test_ok():
    assert add(2, 2) == 4
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "core.py").write_text(CORE)
    (root / "tests" / "test_core.py").write_text(TESTS)
    (root / "pyproject.toml").write_text('[tool.ruff]\n[tool.ruff.lint]\nselect = ["F"]\n')
    return root


def _tool(name: str) -> str:
    exe = BIN / name
    if not exe.exists():
        found = shutil.which(name)
        assert found, f"{name} must be installed in the test environment"
        return found
    return str(exe)


def live(project: Path, name: str, argv: tuple[str, ...], parser: str) -> list[ParsedError]:
    cmd = BuildCommand(name, argv, parser)
    # the inner pytest need not load this venv's plugins (pytest-lsp, asyncio): faster
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    outcome = run_command(cmd, project, timeout_s=120, cap_bytes=10_000_000, env=env)
    assert outcome.state == "finished", outcome.message
    ctx = ParseContext(project, outcome.cwd, tuple(outcome.argv))
    return PARSERS[parser].parse(outcome.output, ctx)


def test_ruff_live(project: Path) -> None:
    errors = live(project, "ruff", (_tool("ruff"), "check", "--output-format", "json", "."), "ruff")
    assert [(e.code, e.file_path, e.line, e.col) for e in errors] == [
        ("F401", "pkg/core.py", 1, 8),
        ("F841", "pkg/core.py", 9, 5),
    ]


def test_mypy_live_json(project: Path) -> None:
    errors = live(project, "mypy", (_tool("mypy"), "-O", "json", "--no-incremental", "pkg"), "mypy")
    assert [(e.code, e.file_path, e.line, e.col) for e in errors] == [
        ("assignment", "pkg/core.py", 9, 18),
        ("attr-defined", "pkg/core.py", 10, 12),
    ]
    assert errors[1].message == '"int" has no attribute "upper"'


def test_pytest_live_with_junit_report(project: Path) -> None:
    argv = (
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rfE",
        "-p",
        "no:cacheprovider",
        "-o",
        "junit_family=xunit1",
        "--junitxml={junitxml}",
        "tests",
    )
    errors = live(project, "pytest", argv, "pytest")
    assert [(e.test_id, e.code, e.file_path, e.line) for e in errors] == [
        ("tests/test_core.py::test_add", "AssertionError", "tests/test_core.py", 5)
    ]
    assert errors[0].message == "test_add failed: AssertionError: assert 3 == 4"


def test_pytest_live_terminal_only(project: Path) -> None:
    argv = (sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "tests")
    errors = live(project, "pytest", argv, "pytest")
    assert [(e.test_id, e.code, e.file_path, e.line, e.message) for e in errors] == [
        (
            "tests/test_core.py::test_add",
            "AssertionError",
            "tests/test_core.py",
            5,
            "test_add failed: AssertionError: assert 3 == 4",
        )
    ]
