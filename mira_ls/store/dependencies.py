"""external_dependencies: what a project uses from outside (imports and manifests)."""

from __future__ import annotations

from dataclasses import dataclass

from mira_ls.store.connection import Connection

COLS = "name, version_spec, ecosystem, source, file_path, manifest_path, line, is_dev"


@dataclass(frozen=True)
class Dependency:
    name: str
    version_spec: str | None
    ecosystem: str  # python, npm, cargo, go, maven, c, other
    source: str  # 'import' or 'manifest'
    file_path: str  # the first importing file ('import') or the manifest ('manifest')
    manifest_path: str | None  # the manifest declaring it (source 'manifest')
    line: int | None = None  # 1-based line of the import or declaration, when known
    is_dev: bool = False  # a development/optional dependency in its manifest


def table_exists(conn: Connection) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'external_dependencies'"
        ).fetchone()
        is not None
    )


def replace_dependencies(conn: Connection, project_id: int, deps: list[Dependency]) -> bool:
    """Replace a project's rows (a dependency listed twice in one manifest is one row);
    False when the schema has no such table yet."""
    if not table_exists(conn):
        return False
    conn.execute("DELETE FROM external_dependencies WHERE project_id = ?", (project_id,))
    conn.executemany(
        f"INSERT OR IGNORE INTO external_dependencies(project_id, {COLS})"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (project_id, d.name, d.version_spec, d.ecosystem, d.source, d.file_path,
             d.manifest_path, d.line, int(d.is_dev))
            for d in deps
        ],
    )  # fmt: skip
    return True


def basis(conn: Connection, project_id: int) -> tuple[int, str] | None:
    """(code generation, manifests fingerprint) the stored rows were computed from."""
    row = conn.execute(
        "SELECT generation, manifests FROM dependencies_basis WHERE project_id = ?",
        (project_id,),
    ).fetchone()
    return (int(row[0]), str(row[1])) if row is not None else None


def set_basis(conn: Connection, project_id: int, generation: int, manifests: str) -> None:
    conn.execute(
        "INSERT INTO dependencies_basis(project_id, generation, manifests) VALUES (?, ?, ?)"
        " ON CONFLICT(project_id) DO UPDATE SET generation = excluded.generation,"
        " manifests = excluded.manifests",
        (project_id, generation, manifests),
    )


def dependencies(conn: Connection, project_id: int) -> list[Dependency]:
    if not table_exists(conn):
        return []
    rows = conn.execute(
        f"SELECT {COLS} FROM external_dependencies WHERE project_id = ?"
        " ORDER BY ecosystem, name, source, file_path",
        (project_id,),
    ).fetchall()
    return [
        Dependency(
            name=r[0],
            version_spec=r[1],
            ecosystem=r[2],
            source=r[3],
            file_path=r[4],
            manifest_path=r[5],
            line=r[6],
            is_dev=bool(r[7]),
        )
        for r in rows
    ]
