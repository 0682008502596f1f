"""Records shared by the build runner, the parsers and the pipeline that stores their results."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SEVERITIES = ("error", "warning", "information", "hint")


@dataclass(frozen=True)
class BuildCommand:
    """One build/check command: an argument list, never a shell string.

    ``argv`` may hold the placeholders ``{junitxml}`` and ``{tmpdir}``; the runner replaces
    them with paths in a private temporary directory (for pytest's report, go's binaries).
    ``source`` is "settings" (the user's own, runs without asking) or "detected" (found in
    the repository, so it runs the repository's code and needs the user's confirmation).
    """

    name: str
    argv: tuple[str, ...]
    parser: str
    cwd: str = ""  # relative to the workspace root; "" is the root
    source: str = "settings"

    def describe(self) -> str:
        return f"{self.name}: {' '.join(self.argv)}"


@dataclass
class ParsedError:
    """One diagnostic as a tool reported it, with its path made workspace-relative.

    Lines and columns are 1-based; columns count code points (approximately, for tools that
    count bytes). ``file_path`` is project-relative POSIX, or absolute for a file outside
    the workspace, or None when the tool named no file.
    """

    tool: str
    code: str
    severity: str
    message: str
    file_path: str | None
    line: int | None = None
    col: int | None = None
    end_line: int | None = None
    end_col: int | None = None
    related: list[tuple[str, int]] = field(default_factory=list)  # other (file, line) involved
    test_id: str | None = None
    hint: str | None = None  # extra advice shown with the error, not part of its identity


@dataclass
class ToolOutput:
    """What a command printed, decoded tolerantly, plus report files it wrote."""

    stdout: str
    stderr: str
    exit_code: int | None
    files: dict[str, str] = field(default_factory=dict)  # placeholder name -> file text


@dataclass(frozen=True)
class ParseContext:
    """Where relative paths in a tool's output are anchored."""

    root: Path  # workspace root
    cwd: Path  # where the command ran
    argv: tuple[str, ...] = ()  # the command, for parsers whose output depends on it
