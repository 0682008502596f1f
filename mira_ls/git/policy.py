"""The one ignore policy every analysis (co-change, expertise, fixes, blame) applies.

A commit is ignored, first reason wins, when it is listed in the ignore-revs file, its
author looks like a bot, it is a merge, or it touches more files than the changeset cap
(code-maat's default of 30: a reformat or a vendored drop says nothing about coupling).
Ignored commits are still stored, with their reason, so changing the policy never needs
git again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from mira_ls.config import GitSettings

REASONS = ("ignore_revs", "bot", "merge", "large")


def read_ignore_revs(path: Path) -> frozenset[str]:
    """Full or abbreviated (7+) hex revisions, one per line, '#' comments allowed."""
    try:
        text = path.read_text("utf-8", "replace")
    except (OSError, ValueError):
        return frozenset()
    revs: set[str] = set()
    for line in text.splitlines():
        token = line.split("#", 1)[0].strip().lower()
        if re.fullmatch(r"[0-9a-f]{7,64}", token):
            revs.add(token)
    return frozenset(revs)


@dataclass(frozen=True)
class IgnorePolicy:
    ignore_revs: frozenset[str]
    bot_pattern: re.Pattern[str] | None
    ignore_merges: bool
    max_changeset_files: int
    _short: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_short", tuple(r for r in self.ignore_revs if len(r) < 40))

    @classmethod
    def from_settings(cls, settings: GitSettings, toplevel: Path | str | None) -> IgnorePolicy:
        revs: frozenset[str] = frozenset()
        if toplevel is not None and settings.ignore_revs_file:
            revs = read_ignore_revs(Path(toplevel) / settings.ignore_revs_file)
        try:
            bot = re.compile(settings.bot_pattern, re.IGNORECASE) if settings.bot_pattern else None
        except re.error:
            bot = re.compile(GitSettings().bot_pattern, re.IGNORECASE)
        return cls(revs, bot, settings.ignore_merges, settings.max_changeset_files)

    def _listed(self, commit_hash: str) -> bool:
        if commit_hash in self.ignore_revs:
            return True
        if not self._short:
            return False
        # Abbreviated entries: rare, so a linear check only when the file has any.
        return any(len(r) < len(commit_hash) and commit_hash.startswith(r) for r in self._short)

    def reason(
        self,
        commit_hash: str,
        author_name: str,
        author_email: str,
        parent_count: int,
        files_changed: int,
    ) -> str | None:
        """Why this commit is left out of analyses, or None when it counts."""
        if self.ignore_revs and self._listed(commit_hash):
            return "ignore_revs"
        if self.bot_pattern is not None and (
            self.bot_pattern.search(author_name) or self.bot_pattern.search(author_email)
        ):
            return "bot"
        if self.ignore_merges and parent_count > 1:
            return "merge"
        if files_changed > self.max_changeset_files:
            return "large"
        return None

    def fingerprint(self) -> str:
        """Changes whenever the policy would classify some commit differently."""
        data = {
            "revs": sorted(self.ignore_revs),
            "bot": self.bot_pattern.pattern if self.bot_pattern else None,
            "merges": self.ignore_merges,
            "max": self.max_changeset_files,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
