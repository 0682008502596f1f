"""On save: 'usually changed together with `path` (n of m commits)' when a file differs
from HEAD and a strong co-change partner does not. Runs ``git diff HEAD --name-only`` (the
didSave path, never the hover path); the diagnostic clears once the partner is modified
too or the file is back to HEAD."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lsprotocol import types

from mira_ls.config import Settings
from mira_ls.git.repo import modified_against_head
from mira_ls.store import git_cochange

SOURCE = "mira-ls"
CODE = "cochange"


def _first_line_length(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            line = fh.readline(4096)
    except OSError:
        return 0
    return len(line.rstrip(b"\r\n").decode("utf-8", "replace"))


def _diagnostics_for(
    conn: Any,
    project_id: int,
    root: Path,
    rel_path: str,
    modified: set[str],
    settings: Settings,
) -> list[types.Diagnostic]:
    if rel_path not in modified:
        return []
    cs = settings.cochange
    out = []
    width = None
    for p in git_cochange.strong_partners(
        conn, project_id, rel_path, cs.strong_confidence, cs.strong_shared
    ):
        if p.path in modified or not (root / p.path).is_file():
            continue
        if width is None:
            width = _first_line_length(root / rel_path)
        out.append(
            types.Diagnostic(
                range=types.Range(types.Position(0, 0), types.Position(0, width)),
                message=(
                    f"usually changed together with `{p.path}` ({p.shared} of {p.commits} commits)"
                ),
                severity=types.DiagnosticSeverity.Information,
                source=SOURCE,
                code=CODE,
                data={"partner": p.path, "shared": p.shared, "commits": p.commits},
            )
        )
    return out


def cochange_diagnostics_many(
    store: Any, project_id: int, root: Path | str, rel_paths: Iterable[str], settings: Settings
) -> dict[str, list[types.Diagnostic]]:
    """Diagnostics for several files with one git call (every open file after a save:
    saving a partner clears the diagnostic on the others)."""
    paths = list(rel_paths)
    if not settings.cochange.diagnostic:
        return {p: [] for p in paths}
    modified = modified_against_head(root)
    if modified is None:
        return {p: [] for p in paths}
    conn = store.conn() if hasattr(store, "conn") else store
    root_p = Path(root)
    return {p: _diagnostics_for(conn, project_id, root_p, p, modified, settings) for p in paths}


def cochange_diagnostics(
    store: Any, project_id: int, root: Path | str, rel_path: str, settings: Settings
) -> list[types.Diagnostic]:
    return cochange_diagnostics_many(store, project_id, root, [rel_path], settings)[rel_path]
