"""Migration runner and schema: real files in tmp dirs, the real migrations directory."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mira_ls.store import (
    MigrationChecksumMismatch,
    NotAMiraDatabase,
    SchemaTooNew,
    Store,
    StoreError,
    error_types,
)
from mira_ls.store.migrate import load_migrations, migrations_dir, split_statements

# Tables each migration must create. 003 belongs to the git subsystem and may grow, so it
# is checked as a minimum; every other file is checked exactly.
EXPECTED_TABLES: dict[str, set[str]] = {
    "001_foundation.sql": {
        "users", "sessions", "user_profile", "projects", "git_repo_attachments",
        "repository_files", "local_changes", "memory_entries", "message_analysis",
        "rolling_summaries", "memory_facts", "learned_patterns", "message_embeddings",
    },
    "002_code_intelligence.sql": {
        "code_elements", "call_graph", "code_imports", "external_dependencies", "semantic_nodes",
        "semantic_edges", "concept_index", "semantic_analysis_cache", "design_patterns",
        "design_pattern_members", "pattern_validation_cache", "domain_clusters",
        "domain_cluster_members", "code_quality_issues", "language_configs",
    },
    "003_git_intelligence.sql": {
        "git_commits", "file_cochange_patterns", "blame_annotations", "author_expertise",
        "historical_fixes",
    },
    "004_operations.sql": {
        "operations", "operation_events", "operation_tasks", "artifacts", "file_modifications",
    },
    "005_documents.sql": {"documents", "document_chunks"},
    "006_tool_synthesis.sql": {
        "tool_patterns", "synthesized_tools", "tool_executions", "tool_effectiveness",
        "tool_feedback", "tool_evolution_history",
    },
    "007_build_system.sql": {
        "build_runs", "build_errors", "build_error_occurrences", "build_file_snapshots",
        "build_run_files", "error_resolutions", "build_context_injections",
    },
    "008_budget_cache.sql": {
        "budget_tracking", "budget_summary", "llm_cache", "llm_cache_symbols",
        "llm_cache_stats", "llm_cache_totals", "reasoning_patterns", "reasoning_steps",
        "pattern_usage",
    },
    "009_project_context.sql": {
        "project_guidelines", "project_tasks", "task_sessions", "task_context",
    },
    "010_run_phases.sql": {"runs", "run_phases", "index_staged_calls"},
    "011_budget_holds.sql": {"budget_holds"},
    "012_xray.sql": {"xray_cache"},
    "013_call_receiver_types.sql": set(),
    "015_position_columns.sql": set(),
    # FTS5 tables bring their shadow tables (_config, _content, _data, _docsize, _idx).
    "016_search.sql": {"search_state", "embeddings", "vector_points"} | {
        f"search_{t}{s}" for t in ("symbols", "commits")
        for s in ("", "_config", "_content", "_data", "_docsize", "_idx")
    },
    "017_memory.sql": {"memory_fact_history", "memory_fact_vectors"},
    "018_tasks.sql": {"operation_requests", "task_targets"},
    "021_understanding.sql": set(),
    "022_learning.sql": {"operation_feedback", "fix_outcomes", "pattern_outcomes"},
    "023_artifact_errors.sql": {"artifact_errors"},
    "024_symbol_names.sql": {"symbol_names"},
    "025_memory_recall.sql": {
        f"search_documents{s}" for s in ("", "_config", "_content", "_data", "_docsize", "_idx")
    },
    "027_fix_terms.sql": {"historical_fix_terms"},
    "028_symbol_names_prefix.sql": set(),
    "032_git_vectors.sql": set(),
    "033_rolling_summaries.sql": set(),
    "036_domain_clusters.sql": set(),
    "038_tool_approval.sql": set(),
    "039_learned_patterns.sql": set(),
    "040_semantic_graph.sql": set(),
    "041_symbol_names_words.sql": {"symbol_names_log", "symbol_names_log_pruned"},
    "042_vector_index_state.sql": {"vector_index_state"},
    "044_pattern_signatures.sql": {"pattern_signatures"},
    "045_function_shape.sql": set(),
    "046_message_facts.sql": {"message_fact_extraction", "memory_fact_sources"},
    "047_kept_outcomes.sql": set(),
    "048_code_generation.sql": {"code_generation"},
    "049_dependencies_basis.sql": {"dependencies_basis"},
    "050_code_generation_not_on_stat.sql": set(),
}  # fmt: skip
MINIMUM_ONLY = {"003_git_intelligence.sql"}
SHIPPED = [m.version for m in load_migrations()]  # the versions in migrations/, in order
LAST = SHIPPED[-1]
NEXT = f"{LAST + 1:03d}"  # the version a test's own extra migration takes

# Columns later subsystems were promised, by name.
REQUIRED_COLUMNS: dict[str, set[str]] = {
    "sessions": {"id", "user_id", "project_id", "title", "created_at", "updated_at",
                 "last_active_at"},
    "memory_entries": {"id", "session_id", "role", "content", "token_count", "metadata",
                       "created_at"},
    "local_changes": {"project_id", "file_path", "change_type", "content_hash", "detected_at"},
    "message_embeddings": {"entry_id", "model", "dimension", "collection", "point_id"},
    "external_dependencies": {"id", "project_id", "name", "version_spec", "ecosystem",
                              "source", "file_path", "manifest_path"},
    "semantic_analysis_cache": {"symbol_id", "content_hash"},
    "pattern_validation_cache": {"symbol_id", "content_hash"},
    "semantic_nodes": {"symbol_id", "purpose", "concepts"},
    "operations": {"status", "complexity", "model", "cost_micro"},
    "operation_tasks": {"parent_id"},
    "artifacts": {"diff"},
    "document_chunks": {"chunk_index", "content", "token_count", "point_id", "collection"},
    "build_runs": {"id", "project_id", "name", "tool", "command", "cwd", "started_at",
                   "ended_at", "exit_code", "status", "error_count", "warning_count",
                   "commit_hash", "tree_dirty", "output_bytes", "truncated", "message"},
    "build_errors": {"id", "project_id", "error_hash", "tool", "code", "category", "severity",
                     "message", "normalized_message", "file_path", "line", "col", "end_line",
                     "end_col", "occurrence_count", "first_seen_at", "last_seen_at",
                     "first_run_id", "last_run_id", "status", "resolved_at"},
    "build_error_occurrences": {"run_id", "error_id", "file_path", "line", "col", "message"},
    "build_file_snapshots": {"project_id", "file_path", "content_hash", "content",
                             "captured_at"},
    "error_resolutions": {"id", "project_id", "error_id", "before_run_id", "after_run_id",
                          "diff", "files", "commit_hash", "historical_fix_id", "resolved_at"},
    "build_context_injections": {"id", "project_id", "error_id", "resolution_id",
                                 "request_key", "injected_at", "token_count"},
    "budget_tracking": {"id", "request_id", "created_at", "day", "month", "provider", "model",
                        "reasoning_effort", "operation", "status", "reserved_micro",
                        "cost_micro", "input_tokens", "cached_input_tokens", "output_tokens",
                        "reasoning_tokens", "from_cache", "saved_micro", "project_id",
                        "message"},
    "budget_summary": {"period_type", "period", "cost_micro", "requests", "cache_hits",
                       "input_tokens", "output_tokens", "saved_micro", "updated_at"},
    "llm_cache": {"cache_key", "model", "reasoning_effort", "response", "tool_calls",
                  "input_tokens", "output_tokens", "cost_micro", "size_bytes", "created_at",
                  "expires_at", "last_accessed_at", "access_count"},
    "llm_cache_symbols": {"cache_key", "content_hash"},
    "llm_cache_stats": {"model", "hits", "misses", "saved_micro"},
    "reasoning_steps": {"pattern_id"},
    "project_guidelines": {"id", "project_id", "file_path", "content", "content_hash",
                           "token_count", "loaded_at"},
    "project_tasks": {"parent_id", "status", "priority"},
}  # fmt: skip

# Uniqueness the subsystems rely on for upserts.
REQUIRED_UNIQUE: dict[str, list[tuple[str, ...]]] = {
    "external_dependencies": [("project_id", "ecosystem", "name", "source", "file_path")],
    "build_errors": [("project_id", "error_hash")],
    "build_file_snapshots": [("project_id", "content_hash")],
    "budget_tracking": [("request_id",)],
    "budget_summary": [("period_type", "period")],
    "llm_cache": [("cache_key",)],
    "llm_cache_symbols": [("cache_key", "content_hash")],
    "llm_cache_stats": [("model",)],
    "project_guidelines": [("project_id", "file_path")],
}

# Lookups the code makes, as leading index columns.
REQUIRED_INDEXES: dict[str, list[tuple[str, ...]]] = {
    "budget_tracking": [("day",), ("month", "status")],
    "llm_cache": [("expires_at",), ("last_accessed_at",)],
    "llm_cache_symbols": [("content_hash",)],
    "semantic_analysis_cache": [("content_hash",)],
    "pattern_validation_cache": [("content_hash",)],
    "code_elements": [("parent_id",)],
    "operation_tasks": [("parent_id",)],
    "project_tasks": [("parent_id",)],
}


def tables(conn: Any) -> set[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return {r[0] for r in rows}


def columns(conn: Any, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f'PRAGMA table_xinfo("{table}")')}


def indexes(conn: Any, table: str, *, unique: bool = False) -> list[tuple[str | None, ...]]:
    """Column tuples of each full (non-partial) index; PRIMARY KEYs count as unique."""
    out: list[tuple[str | None, ...]] = []
    for _seq, name, is_unique, _origin, partial in conn.execute(f'PRAGMA index_list("{table}")'):
        if partial or (unique and not is_unique):
            continue
        info = conn.execute(f'PRAGMA index_xinfo("{name}")').fetchall()
        out.append(tuple(r[2] for r in info if r[5]))  # key columns only
    pk = [r for r in conn.execute(f'PRAGMA table_info("{table}")') if r[5]]
    if pk:
        out.append(tuple(r[1] for r in sorted(pk, key=lambda r: r[5])))
    return out


def schema_rows(conn: Any) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


def migration_rows(path: Path) -> list[tuple[Any, ...]]:
    """schema_migrations read with the stdlib driver, read-only, bypassing our code."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT * FROM schema_migrations ORDER BY version").fetchall()
    finally:
        conn.close()


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped migrations that a test may edit."""
    d = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), d)
    return d


# --- the runner ---------------------------------------------------------------------------


def test_fresh_database_applies_every_file_in_order(tmp_path: Path) -> None:
    db = tmp_path / "mira.db"
    with Store(db) as store:
        assert store.applied_now == SHIPPED
    rows = migration_rows(db)
    files = sorted(p.name for p in migrations_dir().glob("*.sql"))
    assert [f"{v:03d}_{name}.sql" for v, name, _, _ in rows] == files
    assert [m.checksum for m in load_migrations()] == [r[2] for r in rows]
    assert all(r[3] > 1_600_000_000 for r in rows)  # unix seconds


def test_rerun_is_a_no_op(tmp_path: Path) -> None:
    db = tmp_path / "mira.db"
    with Store(db) as store:
        before = schema_rows(store.conn())
    rows = migration_rows(db)
    with Store(db) as store:
        assert store.applied_now == []
        assert schema_rows(store.conn()) == before
    assert migration_rows(db) == rows


def test_each_file_creates_its_own_tables(tmp_path: Path) -> None:
    """Apply the files one at a time and attribute the new tables to each."""
    staged = tmp_path / "staged"
    staged.mkdir()
    db = tmp_path / "mira.db"
    seen: set[str] = set()
    for path in sorted(migrations_dir().glob("*.sql")):
        shutil.copy(path, staged / path.name)
        with Store(db, migrations=staged) as store:
            assert store.applied_now == [int(path.name[:3])]
            now = tables(store.conn())
        new = now - seen - {"schema_migrations"}
        expected = EXPECTED_TABLES[path.name]
        if path.name in MINIMUM_ONLY:
            assert expected <= new, f"{path.name} lacks {expected - new}"
        else:
            assert new == expected, (
                f"{path.name}: unexpected {new - expected}, missing {expected - new}"
            )
        seen = now
    assert set(EXPECTED_TABLES) == {p.name for p in migrations_dir().glob("*.sql")}


def test_edited_applied_migration_is_refused(tmp_path: Path, mig_dir: Path) -> None:
    db = tmp_path / "mira.db"
    Store(db, migrations=mig_dir).close()
    rows = migration_rows(db)
    target = mig_dir / "004_operations.sql"
    target.write_text(target.read_text() + "\nCREATE INDEX idx_x ON artifacts(title);\n")
    with pytest.raises(MigrationChecksumMismatch) as err:
        Store(db, migrations=mig_dir)
    msg = str(err.value)
    assert "004_operations.sql" in msg and "edited" in msg and "new NNN_*.sql" in msg
    assert migration_rows(db) == rows
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'idx_x'").fetchone() == (
        0,
    )
    conn.close()


def test_crlf_line_endings_are_not_an_edit(tmp_path: Path, mig_dir: Path) -> None:
    db = tmp_path / "mira.db"
    Store(db, migrations=mig_dir).close()
    target = mig_dir / "005_documents.sql"
    target.write_bytes(target.read_bytes().replace(b"\n", b"\r\n"))
    with Store(db, migrations=mig_dir) as store:
        assert store.applied_now == []


def test_newer_schema_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "mira.db"
    with Store(db) as store, store.write() as c:
        c.execute(
            "INSERT INTO schema_migrations VALUES (?, 'from_the_future', 'abc', unixepoch())",
            (LAST + 3,),
        )
    before = db.read_bytes()
    rows = migration_rows(db)
    with pytest.raises(SchemaTooNew) as err:
        Store(db)
    msg = str(err.value)
    assert f"{LAST + 3:03d}" in msg and "Upgrade mira-ls" in msg and "not changed" in msg
    assert db.read_bytes() == before
    assert migration_rows(db) == rows


def test_failing_migration_leaves_nothing_half_applied(tmp_path: Path, mig_dir: Path) -> None:
    db = tmp_path / "mira.db"
    Store(db, migrations=mig_dir).close()
    bad = mig_dir / f"{NEXT}_broken.sql"
    bad.write_text(
        "CREATE TABLE half_done (x INTEGER);\n"
        "INSERT INTO projects(root_path, name) VALUES ('/p', 'p');\n"
        "CREATE TABLE oops (x INTEGER,);\n"  # syntax error
    )
    with pytest.raises(StoreError) as err:
        Store(db, migrations=mig_dir)
    assert f"{NEXT}_broken.sql" in str(err.value) and "rolled back" in str(err.value)
    conn = sqlite3.connect(db)
    assert "half_done" not in tables(conn)
    assert conn.execute("SELECT count(*) FROM projects").fetchone() == (0,)
    assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (LAST,)
    conn.close()
    # It was never recorded, so fixing the file is allowed and applies it.
    bad.write_text("CREATE TABLE half_done (x INTEGER);\n")
    with Store(db, migrations=mig_dir) as store:
        assert store.applied_now == [LAST + 1]
        assert "half_done" in tables(store.conn())


def test_foreign_key_violation_rolls_a_migration_back(tmp_path: Path, mig_dir: Path) -> None:
    db = tmp_path / "mira.db"
    (mig_dir / f"{NEXT}_dangling.sql").write_text(
        "PRAGMA defer_foreign_keys = ON;\n"
        "INSERT INTO repository_files(project_id, file_path, content_hash) "
        "VALUES (999, 'a.py', 'h');\n"
    )
    with pytest.raises(StoreError, match=rf"{NEXT}_dangling\.sql leaves 1 foreign key violation"):
        Store(db, migrations=mig_dir)
    assert [r[0] for r in migration_rows(db)] == SHIPPED


@pytest.mark.parametrize(
    "statement", ["BEGIN;", "COMMIT;", "begin transaction;", "PRAGMA foreign_keys = OFF;"]
)
def test_transaction_statements_in_a_migration_are_refused(
    tmp_path: Path, mig_dir: Path, statement: str
) -> None:
    (mig_dir / f"{NEXT}_tx.sql").write_text(f"-- note\n{statement}\nCREATE TABLE t (x);\n")
    db = tmp_path / "mira.db"
    with pytest.raises(StoreError, match=rf"{NEXT}_tx\.sql contains"):
        Store(db, migrations=mig_dir)
    assert not db.exists() or "t" not in tables(sqlite3.connect(db))


def test_triggers_and_semicolons_in_strings_survive_splitting(
    tmp_path: Path, mig_dir: Path
) -> None:
    (mig_dir / f"{NEXT}_trigger.sql").write_text(
        "-- a trigger body has its own BEGIN ... END and semicolons\n"
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT DEFAULT 'a;b');\n"
        "CREATE TRIGGER notes_touch AFTER INSERT ON notes BEGIN\n"
        "    UPDATE notes SET body = body || ';x' WHERE id = new.id;\n"
        "END;\n"
        "/* trailing comment; with a semicolon */\n"
    )
    with Store(tmp_path / "mira.db", migrations=mig_dir) as store, store.write() as c:
        c.execute("INSERT INTO notes DEFAULT VALUES")
        assert c.execute("SELECT body FROM notes").fetchone() == ("a;b;x",)


def test_split_statements_drops_comment_only_chunks() -> None:
    sql = "-- header;\nCREATE TABLE a (x);\n/* ; */\nCREATE TABLE b (y);\n;\n-- end; done\n"
    assert split_statements(sql) == [
        "-- header;\nCREATE TABLE a (x);",
        "/* ; */\nCREATE TABLE b (y);",
    ]


def test_missing_file_of_an_applied_migration_is_reported(tmp_path: Path, mig_dir: Path) -> None:
    db = tmp_path / "mira.db"
    Store(db, migrations=mig_dir).close()
    (mig_dir / "005_documents.sql").unlink()
    with pytest.raises(StoreError, match=r"005_documents\.sql is recorded .* missing"):
        Store(db, migrations=mig_dir)


def test_badly_named_migration_file_is_refused(tmp_path: Path, mig_dir: Path) -> None:
    (mig_dir / "10_short.sql").write_text("CREATE TABLE t (x);")
    with pytest.raises(StoreError, match=r"is not NNN_name\.sql"):
        Store(tmp_path / "mira.db", migrations=mig_dir)


def test_database_of_another_program_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('ada')")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(NotAMiraDatabase, match=r"another program.*contacts"):
        Store(db)
    assert db.read_bytes() == before


# --- the schema ---------------------------------------------------------------------------


def test_virtual_tables_are_only_fts5(tmp_db: Store) -> None:
    """FTS5 is part of every SQLite mira-ls runs on; a vec0 table in a migration would make
    the database unreadable without sqlite-vec, so vector tables are made at run time."""
    rows = (
        tmp_db.conn()
        .execute("SELECT name, sql FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")
        .fetchall()
    )
    assert {r[0] for r in rows} == {"search_symbols", "search_commits", "search_documents"}
    assert all(re.search(r"USING fts5\(", r[1], re.I) for r in rows)


@pytest.mark.parametrize("table", sorted(REQUIRED_COLUMNS))
def test_promised_columns_exist(tmp_db: Store, table: str) -> None:
    missing = REQUIRED_COLUMNS[table] - columns(tmp_db.conn(), table)
    assert not missing, f"{table} lacks {sorted(missing)}"


def test_promised_unique_keys_and_indexes_exist(tmp_db: Store) -> None:
    conn = tmp_db.conn()
    for table, keys in REQUIRED_UNIQUE.items():
        have = indexes(conn, table, unique=True)
        for key in keys:
            assert key in have, f"{table} has no UNIQUE{key}; it has {have}"
    for table, keys in REQUIRED_INDEXES.items():
        have = indexes(conn, table)
        for key in keys:
            assert any(h[: len(key)] == key for h in have), f"{table} has no index on {key}"


def test_every_foreign_key_has_an_index(tmp_db: Store) -> None:
    """Deleting a parent must not scan the child table once per row (cascades stay fast)."""
    conn = tmp_db.conn()
    missing = []
    for table in sorted(tables(conn)):
        leading = {h[0] for h in indexes(conn, table) if h}
        for fk in conn.execute(f'PRAGMA foreign_key_list("{table}")'):
            if fk[3] not in leading:
                missing.append(f"{table}.{fk[3]} -> {fk[2]}")
    assert missing == []


def test_pragmas_and_checks_are_clean(tmp_db: Store) -> None:
    conn = tmp_db.conn()
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def _project(c: Any, root: str = "/work/p") -> int:
    return c.execute(
        "INSERT INTO projects(root_path, name) VALUES (?, 'p') RETURNING id", (root,)
    ).fetchone()[0]


BAD_ENUMS = [
    ("memory_entries role", "INSERT INTO memory_entries(session_id, role, content) "
     "VALUES ('s1', 'robot', 'hi')"),
    ("external_dependencies ecosystem", "INSERT INTO external_dependencies(project_id, name, "
     "ecosystem, source, file_path) VALUES (:p, 'x', 'pip', 'import', 'a.py')"),
    ("external_dependencies source", "INSERT INTO external_dependencies(project_id, name, "
     "ecosystem, source, file_path) VALUES (:p, 'x', 'python', 'lockfile', 'a.py')"),
    ("build_runs status", "INSERT INTO build_runs(project_id, name, tool, command, cwd, status) "
     "VALUES (:p, 'ruff', 'ruff', '[\"ruff\"]', '/', 'done')"),
    ("build_runs command not argv", "INSERT INTO build_runs(project_id, name, tool, command, cwd) "
     "VALUES (:p, 'ruff', 'ruff', '\"ruff check\"', '/')"),
    ("build_errors category", "INSERT INTO build_errors(project_id, error_hash, tool, category, "
     "message, normalized_message) VALUES (:p, 'h', 'mypy', 'typo', 'm', 'm')"),
    ("build_errors severity", "INSERT INTO build_errors(project_id, error_hash, tool, severity, "
     "message, normalized_message) VALUES (:p, 'h', 'mypy', 'fatal', 'm', 'm')"),
    ("budget_tracking status", "INSERT INTO budget_tracking(request_id, day, month, provider, "
     "model, status) VALUES ('r', '2025-11-25', '2025-11', 'openai', 'gpt-5.1', 'maybe')"),
    ("budget_tracking day", "INSERT INTO budget_tracking(request_id, day, month, provider, "
     "model, status) VALUES ('r', '25/11/2025', '2025-11', 'openai', 'gpt-5.1', 'settled')"),
    ("budget_tracking month of day", "INSERT INTO budget_tracking(request_id, day, month, "
     "provider, model, status) VALUES ('r', '2025-11-25', '2025-12', 'o', 'm', 'settled')"),
    ("budget_summary period", "INSERT INTO budget_summary(period_type, period) "
     "VALUES ('day', '2025-11')"),
    ("budget_summary period_type", "INSERT INTO budget_summary(period_type, period) "
     "VALUES ('week', '2025-11')"),
    ("llm_cache key not sha256", "INSERT INTO llm_cache(cache_key, model, response, expires_at) "
     "VALUES ('nothex', 'gpt-5.1', 'r', 0)"),
    ("llm_cache tool_calls json", "INSERT INTO llm_cache(cache_key, model, response, tool_calls, "
     "expires_at) VALUES (printf('%064d', 1), 'gpt-5.1', 'r', '{oops', 0)"),
    ("project_tasks status", "INSERT INTO project_tasks(project_id, title, status) "
     "VALUES (:p, 't', 'doing')"),
    ("project_tasks priority", "INSERT INTO project_tasks(project_id, title, priority) "
     "VALUES (:p, 't', 9)"),
    ("rolling_summaries window", "INSERT INTO rolling_summaries(session_id, window_size, "
     "message_count, content) VALUES ('s1', 50, 50, 'x')"),
    ("operations status", "INSERT INTO operations(id, kind, status) VALUES ('o', 'chat', 'ok')"),
    ("code_elements kind", "INSERT INTO code_elements(project_id, file_id, file_path, language, "
     "kind, name, qualified_name, start_line, end_line, content_hash, signature_hash) "
     "VALUES (:p, 1, 'a.py', 'python', 'lambda', 'f', 'f', 1, 1, 'h', 's')"),
    ("boolean", "INSERT INTO build_runs(project_id, name, tool, command, cwd, truncated) "
     "VALUES (:p, 'ruff', 'ruff', '[]', '/', 2)"),
]  # fmt: skip


@pytest.mark.parametrize("sql", [s for _, s in BAD_ENUMS], ids=[n for n, _ in BAD_ENUMS])
def test_check_constraints_reject_bad_values(tmp_db: Store, sql: str) -> None:
    with tmp_db.write() as c:
        p = _project(c)
        c.execute("INSERT INTO users(id, username) VALUES (1, 'me')")
        c.execute("INSERT INTO sessions(id, user_id) VALUES ('s1', 1)")
    with pytest.raises(error_types(), match="CHECK constraint failed"), tmp_db.write() as c:
        c.execute(sql, {"p": p})


def _fill_project(c: Any) -> int:
    """A project with rows in most project-scoped tables."""
    p = _project(c)
    c.execute("INSERT INTO users(id, username) VALUES (1, 'me')")
    c.execute("INSERT INTO sessions(id, user_id, project_id) VALUES ('s1', 1, ?)", (p,))
    f = c.execute(
        "INSERT INTO repository_files(project_id, file_path, content_hash) "
        "VALUES (?, 'a.py', 'fh') RETURNING id",
        (p,),
    ).fetchone()[0]
    sym = c.execute(
        "INSERT INTO code_elements(project_id, file_id, file_path, language, kind, name, "
        "qualified_name, start_line, end_line, content_hash, signature_hash) "
        "VALUES (?, ?, 'a.py', 'python', 'function', 'f', 'f', 1, 3, 'ch', 'sh') RETURNING id",
        (p, f),
    ).fetchone()[0]
    c.execute(
        "INSERT INTO call_graph(project_id, caller_id, callee_id, callee_name, line) "
        "VALUES (?, ?, ?, 'f', 2)",
        (p, sym, sym),
    )
    c.execute(
        "INSERT INTO semantic_analysis_cache(symbol_id, content_hash, result) "
        "VALUES (?, 'ch', '{}')",
        (sym,),
    )
    c.execute(
        "INSERT INTO pattern_validation_cache(symbol_id, pattern_name, content_hash, is_valid) "
        "VALUES (?, 'singleton', 'ch', 1)",
        (sym,),
    )
    c.execute(
        "INSERT INTO external_dependencies(project_id, name, ecosystem, source, file_path) "
        "VALUES (?, 'requests', 'python', 'import', 'a.py')",
        (p,),
    )
    run = c.execute(
        "INSERT INTO build_runs(project_id, name, tool, command, cwd) "
        "VALUES (?, 'ruff', 'ruff', '[\"ruff\", \"check\"]', '/work/p') RETURNING id",
        (p,),
    ).fetchone()[0]
    err = c.execute(
        "INSERT INTO build_errors(project_id, error_hash, tool, code, message, "
        "normalized_message, first_run_id, last_run_id) "
        "VALUES (?, 'eh', 'ruff', 'F401', 'unused', 'unused', ?, ?) RETURNING id",
        (p, run, run),
    ).fetchone()[0]
    c.execute(
        "INSERT INTO build_error_occurrences(run_id, error_id, message) VALUES (?, ?, 'm')",
        (run, err),
    )
    c.execute(
        "INSERT INTO build_file_snapshots(project_id, file_path, content_hash, content) "
        "VALUES (?, 'a.py', 'fh', x'00ff')",
        (p,),
    )
    c.execute(
        "INSERT INTO error_resolutions(project_id, error_id, before_run_id) VALUES (?, ?, ?)",
        (p, err, run),
    )
    c.execute(
        "INSERT INTO project_guidelines(project_id, file_path, content, content_hash) "
        "VALUES (?, 'AGENTS.md', 'be nice', 'gh')",
        (p,),
    )
    parent = c.execute(
        "INSERT INTO project_tasks(project_id, title) VALUES (?, 'parent') RETURNING id", (p,)
    ).fetchone()[0]
    c.execute(
        "INSERT INTO project_tasks(project_id, parent_id, title) VALUES (?, ?, 'child')",
        (p, parent),
    )
    c.execute(
        "INSERT INTO budget_tracking(request_id, day, month, provider, model, status, "
        "project_id) VALUES ('r1', '2025-11-25', '2025-11', 'openai', 'gpt-5.1', 'settled', ?)",
        (p,),
    )
    return p


CASCADED = [
    "repository_files", "code_elements", "call_graph", "semantic_analysis_cache",
    "pattern_validation_cache", "external_dependencies", "build_runs", "build_errors",
    "build_error_occurrences", "build_file_snapshots", "error_resolutions",
    "project_guidelines", "project_tasks",
]  # fmt: skip


def test_deleting_a_project_cascades_and_sets_null(tmp_db: Store) -> None:
    with tmp_db.write() as c:
        p = _fill_project(c)
    conn = tmp_db.conn()
    assert all(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] > 0 for t in CASCADED)
    with tmp_db.write() as c:
        c.execute("DELETE FROM projects WHERE id = ?", (p,))
    for t in CASCADED:
        assert conn.execute(f"SELECT count(*) FROM {t}").fetchone() == (0,), t
    # History that outlives the project keeps its row, without the link.
    assert conn.execute("SELECT project_id FROM budget_tracking").fetchall() == [(None,)]
    assert conn.execute("SELECT project_id FROM sessions").fetchall() == [(None,)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_deleting_a_symbol_drops_its_caches(tmp_db: Store) -> None:
    with tmp_db.write() as c:
        _fill_project(c)
        c.execute("DELETE FROM code_elements")
    conn = tmp_db.conn()
    for t in ("semantic_analysis_cache", "pattern_validation_cache", "call_graph"):
        assert conn.execute(f"SELECT count(*) FROM {t}").fetchone() == (0,), t


def test_llm_cache_symbols_follow_their_entry(tmp_db: Store) -> None:
    key = "ab" * 32
    with tmp_db.write() as c:
        c.execute(
            "INSERT INTO llm_cache(cache_key, model, response, expires_at) "
            "VALUES (?, 'gpt-5.1', 'answer', unixepoch() + 86400)",
            (key,),
        )
        c.executemany(
            "INSERT INTO llm_cache_symbols(cache_key, content_hash) VALUES (?, ?)",
            [(key, "h1"), (key, "h2")],
        )
    with tmp_db.write() as c:
        # what the LLM cache does when the symbol with content_hash h2 is edited
        c.execute(
            "DELETE FROM llm_cache WHERE cache_key IN "
            "(SELECT cache_key FROM llm_cache_symbols WHERE content_hash = 'h2')"
        )
    conn = tmp_db.conn()
    assert conn.execute("SELECT count(*) FROM llm_cache_symbols").fetchone() == (0,)


def test_unique_keys_reject_duplicates(tmp_db: Store) -> None:
    with tmp_db.write() as c:
        p = _fill_project(c)
    dupes = [
        (
            "INSERT INTO external_dependencies(project_id, name, ecosystem, source, file_path) "
            "VALUES (?, 'requests', 'python', 'import', 'a.py')",
            (p,),
        ),
        (
            "INSERT INTO build_errors(project_id, error_hash, tool, message, normalized_message) "
            "VALUES (?, 'eh', 'ruff', 'm', 'm')",
            (p,),
        ),
        (
            "INSERT INTO project_guidelines(project_id, file_path, content, content_hash) "
            "VALUES (?, 'AGENTS.md', 'x', 'y')",
            (p,),
        ),
    ]
    for sql, args in dupes:
        with pytest.raises(error_types(), match="UNIQUE"), tmp_db.write() as c:
            c.execute(sql, args)


def test_global_memory_fact_keys_are_unique_and_upsertable(tmp_db: Store) -> None:
    upsert = (
        "INSERT INTO memory_facts(user_id, project_id, key, value) VALUES (1, NULL, 'editor', ?) "
        "ON CONFLICT (user_id, ifnull(project_id, 0), key) DO UPDATE SET value = excluded.value"
    )
    with tmp_db.write() as c:
        c.execute("INSERT INTO users(id, username) VALUES (1, 'me')")
        c.execute(upsert, ("vim",))
        c.execute(upsert, ("helix",))
    rows = tmp_db.conn().execute("SELECT key, value FROM memory_facts").fetchall()
    assert rows == [("editor", "helix")]


def test_generated_rates(tmp_db: Store) -> None:
    with tmp_db.write() as c:
        c.execute(
            "INSERT INTO reasoning_patterns(name, description, trigger_type, use_count, "
            "success_count) VALUES ('n', 'd', 'build_error', 4, 3)"
        )
    assert tmp_db.conn().execute("SELECT success_rate FROM reasoning_patterns").fetchone() == (
        0.75,
    )


def test_migration_files_follow_the_conventions() -> None:
    for m in load_migrations():
        text = m.path.read_text()
        assert not re.search(r"\bREAL\b[^\n]*_micro|_micro\s+REAL", text), m.filename
        if m.version <= 9:  # the seed's base schema has no virtual tables
            assert "CREATE VIRTUAL TABLE" not in text.upper(), m.filename
        else:
            assert not re.search(r"USING\s+vec0", text, re.I), m.filename
