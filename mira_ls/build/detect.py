"""Which build/check commands a project has, from its own files, and the commands the user
configured (``mira.build.commands``), validated into BuildCommands.

Detected commands run the repository's code, so they carry source "detected" and the
caller asks the user before the first run. Python tools run from the project's own
virtual environment when it has one, so they see the project's dependencies.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.build.model import BuildCommand
from mira_ls.build.parsers import PARSERS

VENV_DIRS = (".venv", "venv", "env", ".env")
_BIN = "Scripts" if os.name == "nt" else "bin"
_EXE = ".exe" if os.name == "nt" else ""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _venv_python(root: Path) -> Path | None:
    for d in VENV_DIRS:
        p = root / d / _BIN / f"python{_EXE}"
        if p.is_file():
            return p
    return None


def _python_tool(root: Path, module: str) -> list[str]:
    """Run a Python tool from the project's venv when there is one, else from PATH."""
    py = _venv_python(root)
    if py is not None:
        if (py.parent / f"{module}{_EXE}").is_file():
            return [str(py.parent / f"{module}{_EXE}")]
        return [str(py), "-m", module]
    return [module]


def _deps_text(pyproject: dict[str, Any]) -> str:
    """All dependency declarations as one lowercase string, for 'does it use X' checks."""
    project = pyproject.get("project") or {}
    parts: list[Any] = [
        project.get("dependencies") or [],
        project.get("optional-dependencies") or {},
    ]
    parts.append(pyproject.get("dependency-groups") or {})
    poetry = (pyproject.get("tool") or {}).get("poetry") or {}
    parts.append(poetry.get("dependencies") or {})
    parts.append(poetry.get("group") or {})
    parts.append(poetry.get("dev-dependencies") or {})
    return json.dumps(parts).lower()


def _python_targets(root: Path, pyproject: dict[str, Any]) -> list[str]:
    """What mypy checks: its configured files, else the packages at the top or in src/."""
    mypy_cfg = (pyproject.get("tool") or {}).get("mypy") or {}
    if mypy_cfg.get("files") or mypy_cfg.get("packages") or mypy_cfg.get("modules"):
        return []
    if (root / "src").is_dir():
        return ["src"]
    skip = {"tests", "test", "docs", "build", "dist", *VENV_DIRS}
    pkgs = (
        sorted(
            p.name
            for p in root.iterdir()
            if p.is_dir()
            and p.name not in skip
            and not p.name.startswith(".")
            and (p / "__init__.py").is_file()
        )
        if root.is_dir()
        else []
    )
    return pkgs or ["."]


def _python(root: Path) -> list[BuildCommand]:
    pyproject_path = root / "pyproject.toml"
    pyproject = _read_toml(pyproject_path) if pyproject_path.is_file() else {}
    setup_cfg = _read_text(root / "setup.cfg")
    tox_ini = _read_text(root / "tox.ini")
    tool = pyproject.get("tool") or {}
    deps = (
        _deps_text(pyproject)
        + _read_text(root / "requirements-dev.txt").lower()
        + _read_text(root / "requirements.txt").lower()
    )
    is_python = pyproject_path.is_file() or (root / "setup.py").is_file() or bool(setup_cfg)
    out: list[BuildCommand] = []
    if (
        "ruff" in tool
        or (root / "ruff.toml").is_file()
        or (root / ".ruff.toml").is_file()
        or (is_python and '"ruff' in deps)
    ):
        out.append(
            BuildCommand(
                "ruff",
                (*_python_tool(root, "ruff"), "check", "--output-format", "json", "."),
                "ruff",
                source="detected",
            )
        )
    if (
        "mypy" in tool
        or (root / "mypy.ini").is_file()
        or (root / ".mypy.ini").is_file()
        or ("[mypy" in setup_cfg)
    ):
        out.append(
            BuildCommand(
                "mypy",
                (*_python_tool(root, "mypy"), "-O", "json", *_python_targets(root, pyproject)),
                "mypy",
                source="detected",
            )
        )
    has_tests = any((root / d).is_dir() for d in ("tests", "test")) or any(root.glob("test_*.py"))
    if (
        ((tool.get("pytest") or {}).get("ini_options") is not None)
        or (root / "pytest.ini").is_file()
        or (root / "conftest.py").is_file()
        or "[tool:pytest]" in setup_cfg
        or "[pytest]" in tox_ini
        or (is_python and has_tests)
    ):
        py = _venv_python(root)
        runner = [str(py), "-m", "pytest"] if py is not None else ["pytest"]
        out.append(
            BuildCommand(
                "pytest",
                (*runner, "-q", "-rfE", "-o", "junit_family=xunit1", "--junitxml={junitxml}"),
                "pytest",
                source="detected",
            )
        )
    return out


def _typescript(root: Path) -> list[BuildCommand]:
    if not (root / "tsconfig.json").is_file():
        return []
    local = root / "node_modules" / ".bin" / f"tsc{'.cmd' if os.name == 'nt' else ''}"
    pkg = _read_text(root / "package.json")
    if local.is_file():
        tsc = str(local)
    elif '"typescript"' in pkg or shutil.which("tsc"):
        tsc = "tsc"
    else:
        return []
    return [BuildCommand("tsc", (tsc, "--noEmit", "--pretty", "false"), "tsc", source="detected")]


def _rust(root: Path) -> list[BuildCommand]:
    if not (root / "Cargo.toml").is_file():
        return []
    return [
        BuildCommand(
            "cargo", ("cargo", "check", "--message-format", "json"), "cargo", source="detected"
        )
    ]


def _go(root: Path) -> list[BuildCommand]:
    if not (root / "go.mod").is_file():
        return []
    return [
        # -o into a private directory: building a main package must not drop a binary here
        BuildCommand(
            "go build", ("go", "build", "-o", "{tmpdir}/", "./..."), "go", source="detected"
        ),
        BuildCommand("go vet", ("go", "vet", "./..."), "go", source="detected"),
    ]


def detect_commands(root: Path) -> list[BuildCommand]:
    """The build/check commands the project's own files call for, in a stable order."""
    return [*_python(root), *_typescript(root), *_rust(root), *_go(root)]


def from_settings(entries: list[dict[str, Any]]) -> tuple[list[BuildCommand], list[str]]:
    """The user's mira.build.commands as BuildCommands, with a sentence per invalid entry."""
    commands: list[BuildCommand] = []
    problems: list[str] = []
    names: set[str] = set()
    for i, entry in enumerate(entries):
        label = f"mira.build.commands[{i}]"
        argv = entry.get("command")
        if isinstance(argv, str):
            problems.append(
                f'{label}: \'command\' must be a list of arguments such as ["ruff", "check", '
                f'"."], not the string {argv!r} (mira-ls never runs a shell); it was skipped.'
            )
            continue
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            problems.append(
                f"{label}: 'command' must be a non-empty list of strings; it was skipped."
            )
            continue
        parser = entry.get("parser") or "generic"
        if parser not in PARSERS:
            problems.append(
                f"{label}: unknown parser {parser!r} (known: {', '.join(sorted(PARSERS))}); "
                "using 'generic'."
            )
            parser = "generic"
        name = str(entry.get("name") or (parser if parser != "generic" else Path(argv[0]).name))
        if name in names:
            problems.append(f"{label}: the name {name!r} is used twice; it was skipped.")
            continue
        names.add(name)
        cwd = entry.get("cwd") or ""
        if not isinstance(cwd, str) or Path(cwd).is_absolute() or ".." in Path(cwd).parts:
            problems.append(
                f"{label}: 'cwd' must be a folder inside the workspace; using the workspace root."
            )
            cwd = ""
        commands.append(BuildCommand(name, tuple(argv), parser, cwd=cwd, source="settings"))
    return commands, problems


@dataclass
class CommandPlan:
    """The commands a build will run and whether they came from the repository."""

    commands: list[BuildCommand]
    detected: bool
    problems: list[str]
    configured: int = 0  # entries in mira.build.commands
    valid: int = 0  # commands before the ``names`` filter
    names: list[str] = field(default_factory=list)

    def empty_reason(self, where: str, how_to_set: str) -> str:
        """Why there is nothing to run: the problems alone do not say that none is left."""
        if self.configured and not self.valid:
            n = self.configured
            which = "the configured build command is" if n == 1 else f"all {n} configured ones are"
            return (
                f"No build commands for {where}: {which} invalid (see the problems "
                "reported for mira.build.commands). Fix them, or remove the setting to "
                "use the commands detected from the project."
            )
        if self.names and self.valid:
            return f"No build commands for {where} named {', '.join(map(repr, self.names))}."
        return f"No build commands for {where}: {how_to_set}."


def plan_commands(
    root: Path, configured: list[dict[str, Any]], names: list[str] | None = None
) -> CommandPlan:
    """The user's commands when set, else the detected ones; only ``names`` when given."""
    if configured:
        commands, problems = from_settings(configured)
        detected = False
    else:
        commands, problems, detected = detect_commands(root), [], True
    valid = len(commands)
    if names:
        known = {c.name for c in commands}
        for n in names:
            if n not in known:
                problems.append(
                    f"There is no build command named {n!r} for {root.name} (known: "
                    f"{', '.join(sorted(known)) or 'none'})."
                )
        commands = [c for c in commands if c.name in names]
    return CommandPlan(commands, detected, problems, len(configured), valid, list(names or []))
