"""Which commands a project calls for, and the user's settings validated."""

from __future__ import annotations

from pathlib import Path

from mira_ls.build.detect import detect_commands, from_settings, plan_commands


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def names(root: Path) -> list[tuple[str, tuple[str, ...], str]]:
    return [(c.name, c.argv, c.source) for c in detect_commands(root)]


def test_nothing_to_detect(tmp_path: Path) -> None:
    assert detect_commands(tmp_path) == []
    write(tmp_path, {"README.md": "hi", "notes.txt": "x"})
    assert detect_commands(tmp_path) == []


def test_python_project_with_ruff_mypy_pytest(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname='x'\n[tool.ruff]\nline-length=100\n"
            "[tool.mypy]\nstrict=true\n[tool.pytest.ini_options]\n",
            "mypkg/__init__.py": "",
            "tests/test_a.py": "",
        },
    )
    assert names(tmp_path) == [
        ("ruff", ("ruff", "check", "--output-format", "json", "."), "detected"),
        ("mypy", ("mypy", "-O", "json", "mypkg"), "detected"),
        (
            "pytest",
            ("pytest", "-q", "-rfE", "-o", "junit_family=xunit1", "--junitxml={junitxml}"),
            "detected",
        ),
    ]


def test_python_tools_come_from_the_project_venv(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": "[tool.ruff]\n[tool.mypy]\nfiles=['src']\n",
            "src/x.py": "",
            "tests/test_x.py": "",
        },
    )
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text("")
    (bin_dir / "ruff").write_text("")
    cmds = {c.name: c.argv for c in detect_commands(tmp_path)}
    assert cmds["ruff"][0] == str(bin_dir / "ruff")
    assert cmds["mypy"] == (str(bin_dir / "python"), "-m", "mypy", "-O", "json")  # files set
    assert cmds["pytest"][:3] == (str(bin_dir / "python"), "-m", "pytest")


def test_plain_python_with_tests_gets_pytest_only(tmp_path: Path) -> None:
    write(tmp_path, {"setup.py": "", "tests/test_a.py": ""})
    assert [c.name for c in detect_commands(tmp_path)] == ["pytest"]


def test_typescript_rust_go(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": '{"devDependencies": {"typescript": "^5"}}',
            "tsconfig.json": "{}",
            "Cargo.toml": "[package]\nname='x'\n",
            "go.mod": "module x\n",
        },
    )
    local_tsc = tmp_path / "node_modules" / ".bin" / "tsc"
    local_tsc.parent.mkdir(parents=True)
    local_tsc.write_text("")
    assert names(tmp_path) == [
        ("tsc", (str(local_tsc), "--noEmit", "--pretty", "false"), "detected"),
        ("cargo", ("cargo", "check", "--message-format", "json"), "detected"),
        ("go build", ("go", "build", "-o", "{tmpdir}/", "./..."), "detected"),
        ("go vet", ("go", "vet", "./..."), "detected"),
    ]


def test_package_json_without_tsconfig_is_not_typescript(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": '{"devDependencies": {"typescript": "^5"}}'})
    assert detect_commands(tmp_path) == []


def test_broken_pyproject_does_not_crash(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.ruff\nthis is not toml", "tests/test_a.py": ""})
    assert [c.name for c in detect_commands(tmp_path)] == ["pytest"]


def test_settings_commands_are_validated() -> None:
    cmds, problems = from_settings(
        [
            {
                "name": "lint",
                "command": ["ruff", "check", "--output-format", "json", "."],
                "parser": "ruff",
            },
            {"command": "ruff check . && rm -rf /", "parser": "ruff"},
            {"name": "x", "command": []},
            {"name": "cc", "command": ["make"], "parser": "gcc"},
            {"name": "lint", "command": ["other"]},
            {"command": ["eslint", "-f", "unix", "."], "cwd": "../outside"},
        ]
    )
    assert [(c.name, c.argv, c.parser, c.cwd, c.source) for c in cmds] == [
        ("lint", ("ruff", "check", "--output-format", "json", "."), "ruff", "", "settings"),
        ("cc", ("make",), "generic", "", "settings"),
        ("eslint", ("eslint", "-f", "unix", "."), "generic", "", "settings"),
    ]
    assert len(problems) == 5
    assert "never runs a shell" in problems[0]
    assert "non-empty list" in problems[1]
    assert "unknown parser 'gcc'" in problems[2]
    assert "used twice" in problems[3]
    assert "inside the workspace" in problems[4]


def test_plan_prefers_settings_and_filters_names(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.ruff]\n", "tests/test_a.py": ""})
    plan = plan_commands(tmp_path, [])
    assert plan.detected and [c.name for c in plan.commands] == ["ruff", "pytest"]
    plan = plan_commands(tmp_path, [], ["pytest", "nope"])
    assert [c.name for c in plan.commands] == ["pytest"]
    assert plan.problems == [
        f"There is no build command named 'nope' for {tmp_path.name} (known: pytest, ruff)."
    ]
    plan = plan_commands(tmp_path, [{"name": "t", "command": ["make", "test"]}])
    assert not plan.detected and [c.name for c in plan.commands] == ["t"]
    assert all(c.source == "settings" for c in plan.commands)


def test_an_empty_plan_says_why(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.ruff]\n"})
    bad = [{"command": "ruff check ."}, {"command": []}]
    plan = plan_commands(tmp_path, bad)
    assert plan.commands == [] and len(plan.problems) == 2
    assert plan.empty_reason("ws", "set it") == (
        "No build commands for ws: all 2 configured ones are invalid (see the problems "
        "reported for mira.build.commands). Fix them, or remove the setting to use the "
        "commands detected from the project."
    )
    one = plan_commands(tmp_path, bad[:1]).empty_reason("ws", "set it")
    assert "the configured build command is invalid" in one
    named = plan_commands(tmp_path, [], ["nope"]).empty_reason("ws", "set it")
    assert named == "No build commands for ws named 'nope'."
    nothing = plan_commands(tmp_path / "empty", []).empty_reason("ws", "set mira.build.commands")
    assert nothing == "No build commands for ws: set mira.build.commands."
