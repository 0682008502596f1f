-- 001 foundation: users, sessions, profile, projects and files, conversation memory,
-- personal facts and patterns, embedding bookkeeping.
-- Conventions: times are INTEGER unix seconds (UTC); money is INTEGER micro-dollars;
-- lines are 1-based and inclusive; paths are project-relative POSIX paths.

CREATE TABLE projects (
    id              INTEGER PRIMARY KEY,
    root_path       TEXT NOT NULL UNIQUE,          -- absolute path of the workspace folder
    name            TEXT NOT NULL,
    parent_project_id INTEGER REFERENCES projects(id) ON DELETE SET NULL, -- submodule of
    build_confirmed INTEGER NOT NULL DEFAULT 0 CHECK (build_confirmed IN (0, 1)),
    last_indexed_at INTEGER,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
);

CREATE TABLE repository_files (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    content_hash    TEXT NOT NULL,                 -- SHA-256 hex of the file bytes
    language        TEXT,
    size_bytes      INTEGER NOT NULL DEFAULT 0,
    line_count      INTEGER NOT NULL DEFAULT 0,
    mtime_ns        INTEGER,
    status          TEXT NOT NULL DEFAULT 'indexed'
                    CHECK (status IN ('indexed', 'skipped_binary', 'skipped_large', 'error')),
    error           TEXT,
    parse_errors    INTEGER NOT NULL DEFAULT 0,    -- tree-sitter ERROR nodes
    indexed_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, file_path)
);
CREATE INDEX idx_repository_files_language ON repository_files(project_id, language);

CREATE TABLE git_repo_attachments (
    id                INTEGER PRIMARY KEY,
    project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    repo_root         TEXT NOT NULL,               -- absolute path of the work tree
    git_dir           TEXT,
    remote_url        TEXT,
    head_commit       TEXT,
    head_ref          TEXT,                        -- NULL when HEAD is detached
    last_mined_commit TEXT,
    last_mined_at     INTEGER,
    mined_commits     INTEGER NOT NULL DEFAULT 0,
    is_shallow        INTEGER NOT NULL DEFAULT 0 CHECK (is_shallow IN (0, 1)),
    status            TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'ok', 'empty', 'not_a_repo', 'error')),
    error             TEXT,
    created_at        INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, repo_root)
);
