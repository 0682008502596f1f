"""Real git repositories for tests: commits with set authors, emails and dates.

One helper for every test that needs a repository. ``Repo.commit`` either commits the
files it is given (``{"a.py": text}``, ``None`` deletes) or, given none, everything in the
work tree; the clock advances an hour per commit unless ``at`` says when. Git runs with
no global or system config, so the user's settings never change what a test sees.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from mira_ls.config import Settings
from mira_ls.git.miner import MineStats, mine
from mira_ls.store import Store, projects

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC, a fixed point so numbers are reproducible
DAY = 86400

ALICE = ("Alice Smith", "alice@example.com")
BOB = ("Bob Jones", "bob@example.com")
CAROL = ("Carol White", "carol@example.com")


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME=ALICE[0],
        GIT_AUTHOR_EMAIL=ALICE[1],
        GIT_COMMITTER_NAME=ALICE[0],
        GIT_COMMITTER_EMAIL=ALICE[1],
    )
    env.update(extra or {})
    return env


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in ``cwd``; a failure is an AssertionError with git's message."""
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(env), capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"git {' '.join(args)} failed: {proc.stderr.decode('utf-8', 'replace')}"
        )
    return proc.stdout.decode("utf-8", "replace")


class Repo:
    """A work tree the test scripts commit by commit."""

    def __init__(self, root: Path, *, init: bool = True) -> None:
        self.root = root
        self.clock = T0
        if init:
            root.mkdir(parents=True, exist_ok=True)
            git(root, "init", "-q", "-b", "main")
            git(root, "config", "commit.gpgsign", "false")
            git(root, "config", "core.autocrlf", "false")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        return git(self.root, *args, env=env)

    def write(self, rel: str, text: str | bytes) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        return p

    def append(self, rel: str, text: str) -> None:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("a", encoding="utf-8") as fh:
            fh.write(text)

    def lines(self, rel: str, n: int, tag: str = "x") -> None:
        """Append n distinct lines to a file."""
        p = self.root / rel
        start = len(p.read_text().splitlines()) if p.exists() else 0
        self.append(rel, "".join(f"{tag} = {start + i}\n" for i in range(n)))

    def commit(
        self,
        message: str,
        files: Mapping[str, str | bytes | None] | None = None,
        *,
        author: tuple[str, str] = ALICE,
        at: int | None = None,
        touch: list[str] | tuple[str, ...] = (),
        allow_empty: bool = False,
    ) -> str:
        """Commit ``files`` (written first; ``None`` deletes one) and the ``touch`` paths
        (a line appended to each), or, without ``files``, everything in the work tree."""
        for rel in touch:
            self.lines(rel, 1, tag="t")
        if at is None:
            self.clock += 3600
            at = self.clock
        else:
            self.clock = max(self.clock, at)
        env = {
            "GIT_AUTHOR_NAME": author[0],
            "GIT_AUTHOR_EMAIL": author[1],
            "GIT_COMMITTER_NAME": author[0],
            "GIT_COMMITTER_EMAIL": author[1],
            "GIT_AUTHOR_DATE": f"@{at} +0000",
            "GIT_COMMITTER_DATE": f"@{at} +0000",
        }
        if files is None:
            self.git("add", "-A")
        else:
            for rel, text in files.items():
                if text is None:
                    self.git("rm", "-q", "--", rel)
                else:
                    self.write(rel, text)
                    self.git("add", "--", rel)
            if touch:
                self.git("add", "--", *touch)
        args = ["commit", "-q", "--no-verify", "-m", message]
        if allow_empty:
            args.append("--allow-empty")
        self.git(*args, env=env)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


# ---------------------------------------------------------------- fixtures and helpers


def _git_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's global git config must not change what the miner sees."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def _store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "mira.db")
    yield s
    s.close()


def _repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def fixtures() -> tuple:
    """(git_isolation, store, repo) fixtures; a test module binds them with
    ``git_isolation, store, repo = fixtures()`` (an assignment, so linters see no shadowed
    import when tests take them as parameters)."""
    return (
        pytest.fixture(autouse=True)(_git_isolation),
        pytest.fixture(_store),
        pytest.fixture(_repo),
    )


def project_id(store: Store, root: Path) -> int:
    with store.write() as c:
        return projects.get_or_create(c, root).id


def mine_repo(
    store: Store, root: Path, settings: Settings | None = None, now: int | None = None
) -> tuple[int, MineStats]:
    pid = project_id(store, root)
    stats = mine(store, pid, root, settings or Settings(), now=now if now is not None else T0)
    return pid, stats
