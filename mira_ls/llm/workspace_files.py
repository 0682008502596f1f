"""Reading workspace files for the model: inside the root, not secret, not ignored, capped.

Everything read here is on its way to a third-party endpoint, so the checks err on the side
of refusing: a path outside the workspace (also through a symlink), a file whose name says it
holds credentials, a file git ignores (or ``.gitignore`` lists, outside git), a binary file.
What is read is redacted before it leaves.
"""

from __future__ import annotations

import functools
import subprocess
import time
from pathlib import Path

import pathspec

from mira_ls.confined import OutsideWorkspace, resolve_inside
from mira_ls.git.repo import GitError, run_git
from mira_ls.llm.redact import is_secret_path, redact

DEFAULT_MAX_BYTES = 64_000


class FileRefused(Exception):
    """``str(exc)`` says why the file was not read, for the model or the user."""


def _inside(root: Path, rel: str) -> Path:
    root = root.resolve()
    rel = rel.replace("\\", "/").lstrip("/")
    try:
        return resolve_inside(root, rel)
    except OutsideWorkspace as exc:
        raise FileRefused(
            f"{rel}: outside the workspace; only workspace files can be read"
        ) from exc
    except (OSError, RuntimeError) as exc:
        raise FileRefused(f"{rel}: cannot resolve the path ({exc})") from exc


@functools.lru_cache(maxsize=64)
def _gitignore_spec(root: str, mtime: float) -> pathspec.PathSpec | None:
    try:
        lines = (Path(root) / ".gitignore").read_text("utf-8", "replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


IGNORE_CACHE_S = 30  # how long an answer of git check-ignore is reused


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@functools.lru_cache(maxsize=4096)
def _check_ignore(root: str, rel: str, stamp: tuple[float, float, int]) -> bool:
    """One git check-ignore; ``stamp`` (ignore files' mtimes, time bucket) keys the cache."""
    del stamp
    try:
        proc: subprocess.CompletedProcess[bytes] | None = run_git(
            root, "check-ignore", "-q", "--no-index", "--", rel, check=False, timeout=10
        )
    except GitError:
        proc = None
    if proc is not None and proc.returncode in (0, 1):
        return proc.returncode == 0
    gi = Path(root) / ".gitignore"
    spec = _gitignore_spec(root, _mtime(gi))
    return bool(spec and spec.match_file(rel))


def is_ignored(root: Path, rel: str) -> bool:
    """git check-ignore inside a repository; the top .gitignore outside one. Answers are
    reused until an ignore file changes or IGNORE_CACHE_S pass."""
    stamp = (
        _mtime(root / ".gitignore"),
        _mtime(root / ".git" / "info" / "exclude"),
        int(time.monotonic() // IGNORE_CACHE_S),
    )
    return _check_ignore(str(root), rel, stamp)


def allowed(root: Path, rel: str) -> str | None:
    """None when the file may go to the model, else the reason it may not."""
    if is_secret_path(rel):
        return f"{rel}: looks like a secrets file (.env, keys, credentials); it is never sent"
    if rel.split("/")[0] == ".git":
        return f"{rel}: inside .git; not a workspace file"
    if is_ignored(root, rel):
        return f"{rel}: ignored by git; ignored files are never sent"
    return None


def read_text(
    root: Path, rel: str, *, max_bytes: int = DEFAULT_MAX_BYTES, secrets: tuple[str, ...] = ()
) -> tuple[str, bool]:
    """(redacted text, truncated) of a workspace file, or FileRefused with the reason."""
    path = _inside(root, rel)
    rel = path.relative_to(root.resolve()).as_posix()
    if not path.is_file():
        raise FileRefused(f"{rel}: no such file in the workspace")
    reason = allowed(root.resolve(), rel)
    if reason:
        raise FileRefused(reason)
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise FileRefused(f"{rel}: cannot be read ({exc.strerror or exc})") from exc
    if b"\x00" in data[:8192]:
        raise FileRefused(f"{rel}: a binary file")
    truncated = len(data) > max_bytes
    text = data[:max_bytes].decode("utf-8", "replace")
    return redact(text, secrets), truncated


def read_lines(
    root: Path,
    rel: str,
    start: int,
    end: int,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    secrets: tuple[str, ...] = (),
) -> str:
    """Lines start..end (1-based, inclusive) of a workspace file, redacted."""
    path = _inside(root, rel)
    rel = path.relative_to(root.resolve()).as_posix()
    reason = allowed(root.resolve(), rel)
    if reason:
        raise FileRefused(reason)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileRefused(f"{rel}: cannot be read ({exc.strerror or exc})") from exc
    lines = raw.decode("utf-8", "replace").splitlines()
    chunk = "\n".join(lines[max(0, start - 1) : max(start, end)])
    return redact(chunk.encode("utf-8")[:max_bytes].decode("utf-8", "ignore"), secrets)
