"""Paths confined to a workspace root: links are followed, and a path that lands outside
the root is refused with a sentence. Every reader of workspace files (the indexer, the chat
command, the LLM's file tools, builds) goes through here, so a symlink such as
``link.py -> /etc/passwd`` can never carry an outside file into the index or to a model."""

from __future__ import annotations

import os
from pathlib import Path


class OutsideWorkspace(ValueError):
    """``str(exc)`` says which path leads where, for the user."""


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def is_inside(root: Path | str, path: Path | str) -> bool:
    """True when ``path`` (followed through every link) is ``root`` or below it."""
    real_root, real = _real(root), _real(path)
    return real == real_root or real_root in real.parents


def resolve_inside(root: Path | str, path: Path | str) -> Path:
    """``path`` (absolute, or relative to ``root``) with every link followed; raises
    OutsideWorkspace when that is not inside ``root``."""
    p = Path(path)
    if not p.is_absolute():
        p = Path(root) / p
    real = _real(p)
    real_root = _real(root)
    if real == real_root or real_root in real.parents:
        return real
    shown = os.fspath(path)
    via = " through a symbolic link" if os.path.abspath(p) != os.fspath(real) else ""
    raise OutsideWorkspace(
        f"{shown} leads{via} to {real}, outside the workspace {real_root}; "
        "mira-ls reads no file outside the workspace."
    )
