"""What a watched-file event means for mira-ls.

The server watches ``**/*`` (one registration serves every language and the repository's
own ``.git``), so most events are noise: this decides which ones move HEAD (mine again),
which are source files to re-index, and which to ignore.
"""

from __future__ import annotations

from mira_ls.index.languages import language_for_path


def is_git_head_change(rel_path: str) -> bool:
    """A commit, checkout or reset: HEAD or a ref moved."""
    return rel_path in (".git/HEAD", ".git/packed-refs") or rel_path.startswith(".git/refs/")


def classify(rel_path: str) -> str | None:
    """ "head" (mine again), "source" (re-index the file) or None (ignore)."""
    if is_git_head_change(rel_path):
        return "head"
    if ".git/" in f"/{rel_path}" or language_for_path(rel_path) is None:
        return None
    return "source"
