"""On save: 'usually changed together with `path` (n of m commits)' when a file differs
from HEAD and a strong co-change partner does not. Runs ``git diff HEAD --name-only`` (the
didSave path, never the hover path); the diagnostic clears once the partner is modified
too or the file is back to HEAD."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lsprotocol import types

from mira_ls.config import Settings
from mira_ls.features.positions import Lines
from mira_ls.git.repo import modified_against_head
from mira_ls.store import git_cochange
from mira_ls.store.connection import Connection

SOURCE = "mira-ls"
CODE = "cochange"


def _diagnostics_for(
    conn: Connection,
    project_id: int,
    root: Path,
    rel_path: str,
    modified: set[str],
    settings: Settings,
    lines: Lines,
) -> list[types.Diagnostic]:
    if rel_path not in modified:
        return []
    cs = settings.cochange
    out = []
    end: types.Position | None = None  # the first line, in the client's units
    for p in git_cochange.strong_partners(
        conn, project_id, rel_path, cs.strong_confidence, cs.strong_shared
    ):
        if p.path in modified or not (root / p.path).is_file():
            continue
        if end is None:
            end = lines.line_end(root / rel_path, 1)
        out.append(
            types.Diagnostic(
                range=types.Range(types.Position(0, 0), end),
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
    conn: Connection,
    project_id: int,
    root: Path | str,
    rel_paths: Iterable[str],
    settings: Settings,
    lines: Lines | None = None,
) -> dict[str, list[types.Diagnostic]]:
    """Diagnostics for several files with one git call (every open file after a save:
    saving a partner clears the diagnostic on the others). ``lines`` measures the first
    line in the client's units (UTF-16 from disk if None)."""
    paths = list(rel_paths)
    if not settings.cochange.diagnostic:
        return {p: [] for p in paths}
    modified = modified_against_head(root, trusted=settings.git.trust_repository_config)
    if modified is None:
        return {p: [] for p in paths}
    root_p = Path(root)
    lines = lines or Lines()
    return {
        p: _diagnostics_for(conn, project_id, root_p, p, modified, settings, lines) for p in paths
    }


def cochange_diagnostics(
    conn: Connection,
    project_id: int,
    root: Path | str,
    rel_path: str,
    settings: Settings,
    lines: Lines | None = None,
) -> list[types.Diagnostic]:
    return cochange_diagnostics_many(conn, project_id, root, [rel_path], settings, lines)[rel_path]
