"""Where mira-ls keeps its files: the database in the data dir, generated answers in state."""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

APP = "mira-ls"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP, appauthor=False))


def answers_dir() -> Path:
    """Chat answers, resolution summaries and reports opened by commands live here."""
    return state_dir() / "answers"


def database_path(init_option: str | None = None, env: dict[str, str] | None = None) -> Path:
    """MIRA_DB, else the databasePath option, else the platform data dir."""
    env = dict(os.environ) if env is None else env
    if env.get("MIRA_DB"):
        return Path(env["MIRA_DB"]).expanduser()
    if init_option:
        return Path(init_option).expanduser()
    return data_dir() / "mira.db"


def text_path(rel: str) -> str:
    """A file name as text that can be stored and shown: itself when it is valid UTF-8,
    else with each byte that does not decode written ``\\xNN`` (os.fsdecode gave those
    bytes as lone surrogates, which SQLite and UTF-8 output refuse)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return rel


def raw_path(rel: str) -> bytes | None:
    """The exact bytes of a name ``text_path`` had to escape (None when it needed none)."""
    return os.fsencode(rel) if text_path(rel) != rel else None


_ESCAPED = re.compile(r"\\x([89a-fA-F][0-9a-fA-F])")


def fs_name(root: Path, stored: str) -> Path:
    """The file a stored (``text_path``) name means under ``root``: the escaped bytes
    turned back, when that file exists (a name may contain a real backslash)."""
    if "\\x" in stored:
        real = root / _ESCAPED.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), stored)
        if os.path.lexists(real):
            return real
    return root / stored
