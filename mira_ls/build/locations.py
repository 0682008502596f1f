"""Turn the paths tools print (relative to where they ran, absolute, ./-prefixed) into
workspace-relative POSIX paths, the form every table and diagnostic uses."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from mira_ls.build.model import ParseContext


def workspace_path(raw: str, ctx: ParseContext) -> str | None:
    """Project-relative POSIX path, the absolute path for files outside, None for no file."""
    raw = raw.strip()
    if not raw or raw in ("-", "<string>", "<stdin>", "<unknown>"):
        return None
    if raw.startswith("file://"):
        raw = raw[len("file://") :]
    p = Path(raw)
    if not p.is_absolute():
        p = ctx.cwd / p
    p = Path(os.path.normpath(p))
    root = Path(os.path.normpath(ctx.root))
    try:
        return PurePosixPath(p.relative_to(root)).as_posix()
    except ValueError:
        pass
    # The root may be reached through a symlink (/tmp vs /private/tmp): compare resolved.
    try:
        rp, rr = p.resolve(), root.resolve()
        return PurePosixPath(rp.relative_to(rr)).as_posix()
    except (ValueError, OSError):
        return p.as_posix()


class PathMapper:
    """workspace_path with a cache: a run of 10,000 errors names few distinct files."""

    def __init__(self, ctx: ParseContext) -> None:
        self._ctx = ctx
        self._seen: dict[str, str | None] = {}

    def __call__(self, raw: str) -> str | None:
        hit = self._seen.get(raw, "\0")
        if hit != "\0":
            return hit
        out = workspace_path(raw, self._ctx)
        self._seen[raw] = out
        return out


def is_inside(path: str | None) -> bool:
    """A workspace-relative path (as returned by workspace_path)."""
    return bool(path) and not path.startswith("/") and not path.startswith("../")  # type: ignore[union-attr]


def basename(path: str | None) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] if path else ""
