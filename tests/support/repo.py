"""Real git repositories for tests: commits with set authors and dates."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

BASE_TIME = 1_700_000_000  # 2023-11-14, a fixed point so numbers are reproducible


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root), **(env or {})}
    out = subprocess.run(["git", *args], cwd=root, env=full_env, check=True, capture_output=True)
    return out.stdout.decode("utf-8", "replace")


class Repo:
    """A scratch repository; `commit` writes files and commits them as a given author."""

    def __init__(self, root: Path, *, init: bool = True) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        if init:
            git(root, "init", "-q", "-b", "main")
            git(root, "config", "user.name", "Test User")
            git(root, "config", "user.email", "test@example.com")
            git(root, "config", "commit.gpgsign", "false")

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def commit(
        self,
        message: str,
        files: dict[str, str | bytes | None] | None = None,
        *,
        author: str = "Alice",
        email: str = "alice@example.com",
        at: int = BASE_TIME,
    ) -> str:
        for rel, content in (files or {}).items():
            if content is None:
                git(self.root, "rm", "-q", "--", rel)
            else:
                self.write(rel, content)
                git(self.root, "add", "--", rel)
        date = f"{at} +0000"
        env = {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": date,
        }
        git(self.root, "commit", "-q", "--allow-empty", "-m", message, env=env)
        return git(self.root, "rev-parse", "HEAD").strip()
