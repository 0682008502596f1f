"""Projects: one row per workspace folder (a submodule is its own project)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mira_ls.store.connection import Connection


@dataclass(frozen=True)
class Project:
    id: int
    root_path: str
    name: str
    parent_project_id: int | None
    build_confirmed: bool
    last_indexed_at: int | None


_COLS = "id, root_path, name, parent_project_id, build_confirmed, last_indexed_at"


def _row(r: Any) -> Project:
    return Project(int(r[0]), r[1], r[2], r[3], bool(r[4]), r[5])


def get_or_create(conn: Connection, root: Path | str, name: str | None = None) -> Project:
    """The project row for an absolute workspace root, created on first sight."""
    root_s = str(Path(root).resolve())
    r = conn.execute(f"SELECT {_COLS} FROM projects WHERE root_path = ?", (root_s,)).fetchone()
    if r is not None:
        return _row(r)
    conn.execute(
        "INSERT OR IGNORE INTO projects(root_path, name) VALUES (?, ?)",
        (root_s, name or Path(root_s).name or root_s),
    )
    r = conn.execute(f"SELECT {_COLS} FROM projects WHERE root_path = ?", (root_s,)).fetchone()
    return _row(r)


def by_root(conn: Connection, root: Path | str) -> Project | None:
    r = conn.execute(
        f"SELECT {_COLS} FROM projects WHERE root_path = ?", (str(Path(root).resolve()),)
    ).fetchone()
    return _row(r) if r else None


def by_id(conn: Connection, project_id: int) -> Project | None:
    r = conn.execute(f"SELECT {_COLS} FROM projects WHERE id = ?", (project_id,)).fetchone()
    return _row(r) if r else None


def for_path(conn: Connection, path: Path | str) -> Project | None:
    """The innermost project whose root contains an absolute path."""
    p = str(Path(path).resolve())
    best: Project | None = None
    for r in conn.execute(f"SELECT {_COLS} FROM projects").fetchall():
        root = r[1]
        if (p == root or p.startswith(root.rstrip("/") + "/")) and (
            best is None or len(root) > len(best.root_path)
        ):
            best = _row(r)
    return best


def all_projects(conn: Connection) -> list[Project]:
    return [_row(r) for r in conn.execute(f"SELECT {_COLS} FROM projects ORDER BY id")]


def set_indexed(conn: Connection, project_id: int, at: int) -> None:
    conn.execute(
        "UPDATE projects SET last_indexed_at = ?, updated_at = ? WHERE id = ?",
        (at, at, project_id),
    )


def set_build_confirmed(conn: Connection, project_id: int, confirmed: bool) -> None:
    conn.execute(
        "UPDATE projects SET build_confirmed = ? WHERE id = ?", (int(confirmed), project_id)
    )
