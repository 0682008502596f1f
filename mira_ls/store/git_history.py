"""Mined commits and their files, per-file commit counts, the repository attachment and the
mining state (all git-history SQL lives in store/git_*.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mira_ls.store.connection import Connection

# ---------------------------------------------------------------- attachment and state


@dataclass(frozen=True)
class Attachment:
    id: int
    project_id: int
    repo_root: str
    git_dir: str | None
    head_commit: str | None
    head_ref: str | None
    last_mined_commit: str | None
    last_mined_at: int | None
    mined_commits: int
    is_shallow: bool
    status: str
    error: str | None


_ATT_COLS = (
    "id, project_id, repo_root, git_dir, head_commit, head_ref, last_mined_commit, "
    "last_mined_at, mined_commits, is_shallow, status, error"
)


def get_attachment(conn: Connection, project_id: int) -> Attachment | None:
    r = conn.execute(
        f"SELECT {_ATT_COLS} FROM git_repo_attachments WHERE project_id = ? "
        "ORDER BY id DESC LIMIT 1",
        (project_id,),
    ).fetchone()
    if r is None:
        return None
    return Attachment(
        id=r[0],
        project_id=r[1],
        repo_root=r[2],
        git_dir=r[3],
        head_commit=r[4],
        head_ref=r[5],
        last_mined_commit=r[6],
        last_mined_at=r[7],
        mined_commits=r[8],
        is_shallow=bool(r[9]),
        status=r[10],
        error=r[11],
    )


def save_attachment(
    conn: Connection,
    project_id: int,
    repo_root: str,
    *,
    git_dir: str | None = None,
    head_commit: str | None = None,
    head_ref: str | None = None,
    last_mined_commit: str | None = None,
    last_mined_at: int | None = None,
    mined_commits: int = 0,
    is_shallow: bool = False,
    status: str = "pending",
    error: str | None = None,
) -> None:
    """One attachment per project: the row is replaced, never duplicated."""
    conn.execute(
        "DELETE FROM git_repo_attachments WHERE project_id = ? AND repo_root != ?",
        (project_id, repo_root),
    )
    conn.execute(
        "INSERT INTO git_repo_attachments(project_id, repo_root, git_dir, head_commit, "
        "head_ref, last_mined_commit, last_mined_at, mined_commits, is_shallow, status, error) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(project_id, repo_root) DO UPDATE SET "
        "git_dir=excluded.git_dir, head_commit=excluded.head_commit, "
        "head_ref=excluded.head_ref, last_mined_commit=excluded.last_mined_commit, "
        "last_mined_at=excluded.last_mined_at, mined_commits=excluded.mined_commits, "
        "is_shallow=excluded.is_shallow, status=excluded.status, error=excluded.error",
        (
            project_id,
            repo_root,
            git_dir,
            head_commit,
            head_ref,
            last_mined_commit,
            last_mined_at,
            mined_commits,
            int(is_shallow),
            status,
            error,
        ),
    )


@dataclass(frozen=True)
class MiningState:
    policy_hash: str
    mailmap_hash: str
    shallow_hash: str
    complete: bool


def get_state(conn: Connection, project_id: int) -> MiningState | None:
    r = conn.execute(
        "SELECT policy_hash, mailmap_hash, shallow_hash, complete FROM git_mining_state "
        "WHERE project_id = ?",
        (project_id,),
    ).fetchone()
    return MiningState(r[0], r[1], r[2], bool(r[3])) if r else None


def set_state(
    conn: Connection,
    project_id: int,
    policy_hash: str,
    mailmap_hash: str,
    shallow_hash: str,
    complete: bool,
    now: int,
) -> None:
    conn.execute(
        "INSERT INTO git_mining_state(project_id, policy_hash, mailmap_hash, shallow_hash, "
        "complete, updated_at) VALUES (?,?,?,?,?,?) ON CONFLICT(project_id) DO UPDATE SET "
        "policy_hash=excluded.policy_hash, mailmap_hash=excluded.mailmap_hash, "
        "shallow_hash=excluded.shallow_hash, complete=excluded.complete, "
        "updated_at=excluded.updated_at",
        (project_id, policy_hash, mailmap_hash, shallow_hash, int(complete), now),
    )


def clear_project(conn: Connection, project_id: int) -> None:
    """Forget every mined fact of a project (history rewritten, policy or mailmap changed)."""
    conn.execute("DELETE FROM git_commit_files WHERE project_id = ?", (project_id,))
    conn.execute("DELETE FROM historical_fix_symbols WHERE project_id = ?", (project_id,))
    for table in (
        "historical_fixes",
        "git_commits",
        "git_file_stats",
        "file_cochange_patterns",
        "author_expertise",
        "path_fragmentation",
        "blame_annotations",
        "blame_files",
        "git_mining_state",
    ):
        conn.execute(f"DELETE FROM {table} WHERE project_id = ?", (project_id,))


# ---------------------------------------------------------------- commits and files

CommitRow = tuple[int, int, str, int, str, str, int, int, str, str, int, int, int, str | None]
# (id, project_id, hash, parent_count, name, email, authored_at, committed_at, subject,
#  message, files_changed, insertions, deletions, ignored_reason)
FileRow = tuple[int, int, str, str | None, str, int | None, int | None]
# (commit_id, project_id, file_path, old_path, canonical_path, added, deleted)


def next_commit_id(conn: Connection) -> int:
    """Ids are assigned by the miner so files can be inserted with executemany."""
    return int(conn.execute("SELECT coalesce(max(id), 0) + 1 FROM git_commits").fetchone()[0])


def insert_commits(
    conn: Connection, commits: Sequence[CommitRow], files: Sequence[FileRow]
) -> None:
    conn.executemany(
        "INSERT INTO git_commits(id, project_id, commit_hash, parent_count, author_name, "
        "author_email, authored_at, committed_at, subject, message, files_changed, insertions, "
        "deletions, ignored_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        commits,
    )
    conn.executemany(
        "INSERT OR IGNORE INTO git_commit_files(commit_id, project_id, file_path, old_path, "
        "canonical_path, added, deleted) VALUES (?,?,?,?,?,?,?)",
        files,
    )


def rename_canonical(conn: Connection, project_id: int, old: str, new: str) -> int:
    """History stored under ``old`` now belongs to the file's newer name."""
    cur = conn.execute(
        "UPDATE git_commit_files SET canonical_path = ? WHERE project_id = ? AND "
        "canonical_path = ?",
        (new, project_id, old),
    )
    return int(cur.rowcount or 0)


def commit_count(conn: Connection, project_id: int) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM git_commits WHERE project_id = ?", (project_id,)
        ).fetchone()[0]
    )


def ignored_hashes(conn: Connection, project_id: int) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT commit_hash FROM git_commits WHERE project_id = ? "
            "AND ignored_reason IS NOT NULL",
            (project_id,),
        )
    ]


@dataclass(frozen=True)
class CommitInfo:
    hash: str
    author_name: str
    author_email: str
    authored_at: int
    subject: str
    ignored_reason: str | None


def last_commit_for_file(conn: Connection, project_id: int, path: str) -> CommitInfo | None:
    """Newest counted commit of a file (renames followed).

    First through git_file_stats' last_commit_at (indexed lookups: the commits of that
    second that touched the file); sorting all of a file's commits cost milliseconds on a
    file with a thousand of them. Without a stats row, the sort."""
    r = conn.execute(
        "SELECT c.commit_hash, c.author_name, c.author_email, c.authored_at, c.subject, "
        "c.ignored_reason FROM git_file_stats s JOIN git_commits c "
        "ON c.project_id = s.project_id AND c.authored_at = s.last_commit_at "
        "WHERE s.project_id = ? AND s.path = ? AND c.ignored_reason IS NULL AND EXISTS ("
        "SELECT 1 FROM git_commit_files f WHERE f.project_id = s.project_id "
        "AND f.canonical_path = s.path AND f.commit_id = c.id) ORDER BY c.id LIMIT 1",
        (project_id, path),
    ).fetchone()
    if r is not None:
        return CommitInfo(*r)
    r = conn.execute(
        "SELECT c.commit_hash, c.author_name, c.author_email, c.authored_at, c.subject, "
        "c.ignored_reason FROM git_commit_files f JOIN git_commits c ON c.id = f.commit_id "
        "WHERE f.project_id = ? AND f.canonical_path = ? AND c.ignored_reason IS NULL "
        "ORDER BY c.authored_at DESC, c.id ASC LIMIT 1",
        (project_id, path),
    ).fetchone()
    return CommitInfo(*r) if r else None


# ---------------------------------------------------------------- per-file commit counts


def replace_file_stats(
    conn: Connection, project_id: int, rows: Iterable[tuple[str, int, int]]
) -> None:
    conn.execute("DELETE FROM git_file_stats WHERE project_id = ?", (project_id,))
    conn.executemany(
        "INSERT INTO git_file_stats(project_id, path, commits, last_commit_at) VALUES (?,?,?,?)",
        ((project_id, p, c, t) for p, c, t in rows),
    )


def recompute_file_stats(conn: Connection, project_id: int, paths: Iterable[str]) -> None:
    """Recount counted commits of these canonical paths from the stored rows."""
    for p in paths:
        conn.execute(
            "DELETE FROM git_file_stats WHERE project_id = ? AND path = ?", (project_id, p)
        )
        conn.execute(
            "INSERT INTO git_file_stats(project_id, path, commits, last_commit_at) "
            "SELECT ?, ?, count(DISTINCT f.commit_id), max(c.authored_at) FROM git_commit_files f "
            "JOIN git_commits c ON c.id = f.commit_id WHERE f.project_id = ? AND "
            "f.canonical_path = ? AND c.ignored_reason IS NULL HAVING count(*) > 0",
            (project_id, p, project_id, p),
        )


def file_stats(
    conn: Connection, project_id: int, paths: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """path -> (commits, last_commit_at) for those that have counted commits."""
    out: dict[str, tuple[int, int]] = {}
    ps = list(paths)
    for i in range(0, len(ps), 500):
        part = ps[i : i + 500]
        q = ",".join("?" * len(part))
        for p, c, t in conn.execute(
            f"SELECT path, commits, last_commit_at FROM git_file_stats WHERE project_id = ? "
            f"AND path IN ({q})",
            (project_id, *part),
        ):
            out[p] = (int(c), int(t))
    return out


def file_commit_count(conn: Connection, project_id: int, path: str) -> int:
    r = conn.execute(
        "SELECT commits FROM git_file_stats WHERE project_id = ? AND path = ?", (project_id, path)
    ).fetchone()
    return int(r[0]) if r else 0


def all_file_stats(conn: Connection, project_id: int) -> list[tuple[str, int, int]]:
    return [
        (r[0], int(r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT path, commits, last_commit_at FROM git_file_stats WHERE project_id = ? "
            "ORDER BY path",
            (project_id,),
        )
    ]


def co_counts(conn: Connection, project_id: int, path: str) -> list[tuple[str, int, int]]:
    """(partner, shared counted commits, last time together) for every partner of ``path``."""
    return [
        (r[0], int(r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT f2.canonical_path, count(DISTINCT f1.commit_id), max(c.authored_at) "
            "FROM git_commit_files f1 JOIN git_commits c ON c.id = f1.commit_id "
            "JOIN git_commit_files f2 ON f2.commit_id = f1.commit_id "
            "WHERE f1.project_id = ? AND f1.canonical_path = ? AND c.ignored_reason IS NULL "
            "AND f2.canonical_path != f1.canonical_path GROUP BY f2.canonical_path",
            (project_id, path),
        )
    ]


def author_file_aggregates(
    conn: Connection, project_id: int, path: str
) -> list[tuple[str, int, int, int, int]]:
    """(email, commits, lines added, lines deleted, last commit) per author of one file."""
    return [
        (r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]))
        for r in conn.execute(
            "SELECT c.author_email, count(DISTINCT c.id), coalesce(sum(f.added), 0), "
            "coalesce(sum(f.deleted), 0), max(c.authored_at) FROM git_commit_files f "
            "JOIN git_commits c ON c.id = f.commit_id WHERE f.project_id = ? AND "
            "f.canonical_path = ? AND c.ignored_reason IS NULL GROUP BY c.author_email",
            (project_id, path),
        )
    ]


def counted_file_rows(
    conn: Connection, project_id: int
) -> Iterable[tuple[int, str, str, int, int, int]]:
    """(commit id, email, canonical path, added, deleted, authored_at) of counted commits."""
    return conn.execute(
        "SELECT c.id, c.author_email, f.canonical_path, coalesce(f.added, 0), "
        "coalesce(f.deleted, 0), c.authored_at FROM git_commits c JOIN git_commit_files f "
        "ON f.commit_id = c.id WHERE c.project_id = ? AND c.ignored_reason IS NULL "
        "ORDER BY c.id",
        (project_id,),
    )


def newest_names(conn: Connection, project_id: int, emails: Iterable[str]) -> dict[str, str]:
    """email -> the name of that author's newest commit."""
    out: dict[str, str] = {}
    for e in emails:
        r = conn.execute(
            "SELECT author_name FROM git_commits WHERE project_id = ? AND author_email = ? "
            "ORDER BY authored_at DESC, id ASC LIMIT 1",
            (project_id, e),
        ).fetchone()
        if r:
            out[e] = r[0]
    return out
