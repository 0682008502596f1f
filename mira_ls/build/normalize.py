"""Strip what changes between two runs of the same error, so the error hashes the same.

Line and column numbers, memory addresses, temporary directories, absolute path prefixes,
durations and the generated parts of quoted names (``T@123``, ``tmp_ab12cd34``) go; the
words, codes and stable names that say what is wrong stay.
"""

from __future__ import annotations

import re

_TEMP = re.compile(
    r"(?:/private)?(?:/tmp|/var/tmp|/var/folders|/dev/shm)/[^\s'\"`:,;)\]]*"
    r"|[A-Za-z]:\\(?:[^\s'\"`:,;)\]\\]+\\)*?(?:Temp|tmp)\\[^\s'\"`:,;)\]]*",
    re.IGNORECASE,
)
_ABS_PATH = re.compile(r"(?<![\w.:/<])(?:/[\w.+@-]+)+/([\w.+@-]+)")
_WIN_PATH = re.compile(r"\b[A-Za-z]:\\(?:[^\s'\"`:,;)\]\\]+\\)+([^\s'\"`:,;)\]\\]+)")
_ADDR = re.compile(r"\b0x[0-9a-fA-F]+\b")
_FILE_LINE = re.compile(r"(\.[A-Za-z0-9]{1,6})(?::\d+){1,2}\b")
_PAREN_POS = re.compile(r"\((\d+),\s*(\d+)\)")
_LINE_WORD = re.compile(r"\b(lines?|line no\.?|column|col)\s+\d+(?:\s*[-–]\s*\d+)?", re.I)
_DURATION = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|sec|seconds|µs|us|ns|min)\b")
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_QUOTED = re.compile(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"|`[^`\n]{1,200}`")
_HEXISH = re.compile(
    r"(?<![A-Za-z])(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,}(?![A-Za-z])"
)
_GEN_SUFFIX = re.compile(r"([A-Za-z_])(?:[@#$]|_|\$)\d{2,}\b")
_TYPEVAR_ID = re.compile(r"(@|`)-?\d+\b")
_SPACES = re.compile(r"\s+")


def _quoted(m: re.Match[str]) -> str:
    s = m.group(0)
    s = _HEXISH.sub("<hex>", s)
    s = _TYPEVAR_ID.sub(r"\1<n>", s)
    return _GEN_SUFFIX.sub(r"\1_<n>", s)


def normalize_message(message: str) -> str:
    """The stable part of a tool's message (used for the hash and for matching).

    Each rewrite runs only when its trigger characters are present: most messages need
    few of them, and a run can have tens of thousands of messages.
    """
    s = message.strip()
    if "tmp" in s or "Temp" in s or "/var/folders" in s or "/dev/shm" in s:
        s = _TEMP.sub("<tmp>", s)
    if "-" in s:
        s = _UUID.sub("<uuid>", s)
    if "0x" in s:
        s = _ADDR.sub("<addr>", s)
    if ":\\" in s:
        s = _WIN_PATH.sub(r"\1", s)
    if "/" in s:
        s = _ABS_PATH.sub(r"\1", s)
    has_digit = any(c.isdigit() for c in s)
    if has_digit:
        if ":" in s:
            s = _FILE_LINE.sub(r"\1:<n>", s)
        if "(" in s:
            s = _PAREN_POS.sub("(<n>,<n>)", s)
        low = s.lower()
        if "line" in low or "col" in low:
            s = _LINE_WORD.sub(lambda m: f"{m.group(1).lower()} <n>", s)
        s = _DURATION.sub("<dur>", s)
        if "'" in s or '"' in s or "`" in s:
            s = _QUOTED.sub(_quoted, s)
    return _SPACES.sub(" ", s)
