"""A repository whose own config names a program for every key git may execute.

Each planted program touches a marker file named after its key, so a test can say exactly
which key ran. Plant after the last commit (the test's own ``git commit`` would run them).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from tests.support.repo import Repo

# key -> marker name; drivers are named by .gitattributes below.
KEYS = {
    "core.fsmonitor": "fsmonitor",
    "core.hooksPath": None,  # a directory of hooks, each touching hook-<name>
    "diff.external": "diff-external",
    "diff.evil.textconv": "textconv",
    "diff.evil.command": "diff-command",
    "filter.evil.clean": "filter-clean",
    "filter.evil.smudge": "filter-smudge",
    "filter.proc.process": "filter-process",
    "core.pager": "core-pager",
    "pager.log": "pager-log",
    "pager.diff": "pager-diff",
    "pager.blame": "pager-blame",
    "core.editor": "editor",
    "sequence.editor": "sequence-editor",
    "core.sshCommand": "ssh-command",
    "credential.helper": "credential-helper",
    "core.askPass": "askpass",
    "gpg.program": "gpg-program",
    "gpg.ssh.program": "gpg-ssh-program",
    "core.alternateRefsCommand": "alternate-refs",
    "merge.evil.driver": "merge-driver",
    "difftool.evil.cmd": "difftool-cmd",
}
HOOKS = ("post-index-change", "reference-transaction", "pre-commit", "post-checkout")


def command(markers: Path, name: str, *, read_stdin: bool = False) -> str:
    """A shell command that records that it ran (and, for filters, passes data through)."""
    mark = shlex.quote(str(markers / name))
    drain = f"cat > {mark}.stdin; " if read_stdin else ""
    return f"sh -c '{drain}touch {mark}; exec cat \"$@\" 2>/dev/null' sh"


def plant(
    repo: Repo,
    markers: Path,
    *,
    fsmonitor_reads_stdin: bool = False,
    only: tuple[str, ...] = (),
) -> None:
    """Write the hostile config (``only`` these keys, when given), attributes, hooks and an
    included config file."""
    markers.mkdir(parents=True, exist_ok=True)
    root = repo.root
    (root / ".gitattributes").write_text(
        "*.py filter=evil diff=evil merge=evil\n*.txt filter=proc\n*.md filter=inc diff=inc\n"
    )
    hooks = root.parent / f"{root.name}-hooks"
    hooks.mkdir(exist_ok=True)
    for d in (hooks, root / ".git" / "hooks"):
        for h in HOOKS:
            p = d / h
            p.write_text(
                f"#!/bin/sh\ncat > /dev/null\ntouch {shlex.quote(str(markers))}/hook-{h}\n"
            )
            p.chmod(0o755)
    for key, name in KEYS.items():
        if only and key not in only:
            continue
        if key == "core.hooksPath":
            value = str(hooks)
        elif key == "core.fsmonitor":
            value = command(markers, "fsmonitor", read_stdin=fsmonitor_reads_stdin)
        else:
            assert name is not None
            value = command(markers, name)
        repo.git("config", key, value)
    # A key reached through include.path is as local as the rest.
    included = root.parent / f"{root.name}-included.cfg"
    included.write_text(
        f'[filter "inc"]\n\tclean = {command(markers, "included-clean")}\n'
        f'[diff "inc"]\n\ttextconv = {command(markers, "included-textconv")}\n'
    )
    repo.git("config", "include.path", str(included))


def fired(markers: Path) -> set[str]:
    """The markers that exist: which planted programs ran."""
    return {p.name for p in markers.iterdir() if not p.name.endswith(".stdin")}


def hostile_repo(root: Path, markers: Path, **kw: Any) -> Repo:
    """A committed repository with a modified, an untracked and a staged file, then planted."""
    repo = Repo(root)
    repo.commit(
        "init",
        {
            "app.py": "def main():\n    return helper()\n\n\ndef helper():\n    return 6\n",
            "notes.txt": "notes\n",
            "README.md": "# readme\n",
        },
    )
    repo.commit(
        "fix: helper returns 6",
        {"app.py": "def main():\n    return helper()\n\n\ndef helper():\n    return 7\n"},
    )
    plant(repo, markers, **kw)
    repo.append("app.py", "\n\ndef added():\n    return 1\n")
    repo.append("notes.txt", "more\n")
    repo.append("README.md", "more\n")
    repo.write("new.py", "def brand_new():\n    return 2\n")
    return repo
