-- 003 git intelligence: commits (with their files), co-change, blame, expertise, fixes.

CREATE TABLE git_commits (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    commit_hash     TEXT NOT NULL,
    parent_count    INTEGER NOT NULL DEFAULT 1,
    author_name     TEXT NOT NULL,                 -- after .mailmap
    author_email    TEXT NOT NULL,
    authored_at     INTEGER NOT NULL,
    committed_at    INTEGER NOT NULL,
    subject         TEXT NOT NULL,
    message         TEXT NOT NULL,
    files_changed   INTEGER NOT NULL DEFAULT 0,
    insertions      INTEGER NOT NULL DEFAULT 0,
    deletions       INTEGER NOT NULL DEFAULT 0,
    ignored_reason  TEXT CHECK (ignored_reason IN ('ignore_revs', 'bot', 'merge', 'large')),
    UNIQUE (project_id, commit_hash)
);
CREATE INDEX idx_git_commits_time ON git_commits(project_id, committed_at);

CREATE TABLE git_commit_files (
    commit_id       INTEGER NOT NULL REFERENCES git_commits(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    old_path        TEXT,                          -- set on renames
    added           INTEGER,                       -- NULL for binary files
    deleted         INTEGER,
    PRIMARY KEY (commit_id, file_path)
);
CREATE INDEX idx_git_commit_files_path ON git_commit_files(file_path);

CREATE TABLE file_cochange_patterns (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_a          TEXT NOT NULL,
    file_b          TEXT NOT NULL,
    shared_commits  INTEGER NOT NULL,
    commits_a       INTEGER NOT NULL,
    commits_b       INTEGER NOT NULL,
    confidence      REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),  -- Jaccard
    dice            REAL NOT NULL CHECK (dice BETWEEN 0 AND 1),
    last_changed_together INTEGER,
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, file_a, file_b)
);
CREATE INDEX idx_cochange_b ON file_cochange_patterns(project_id, file_b);

CREATE TABLE blame_annotations (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    blob_id         TEXT NOT NULL,                 -- git blob of the blamed content
    line_start      INTEGER NOT NULL,
    line_end        INTEGER NOT NULL,
    commit_hash     TEXT NOT NULL,                 -- all zeros: not committed yet
    author_name     TEXT NOT NULL,
    author_email    TEXT NOT NULL,
    authored_at     INTEGER NOT NULL,
    summary         TEXT,
    computed_at     INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_blame_file ON blame_annotations(project_id, file_path, blob_id);

CREATE TABLE author_expertise (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    scope           TEXT NOT NULL CHECK (scope IN ('file', 'directory')),
    path            TEXT NOT NULL,                 -- '' is the repository root directory
    author_name     TEXT NOT NULL,
    author_email    TEXT NOT NULL,
    commits         INTEGER NOT NULL,
    lines_added     INTEGER NOT NULL,
    lines_deleted   INTEGER NOT NULL DEFAULT 0,
    last_commit_at  INTEGER NOT NULL,
    score           REAL NOT NULL CHECK (score BETWEEN 0 AND 100),
    ownership_share REAL NOT NULL CHECK (ownership_share BETWEEN 0 AND 1),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, scope, path, author_email)
);
CREATE INDEX idx_expertise_path ON author_expertise(project_id, path, score DESC);

CREATE TABLE historical_fixes (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    commit_hash     TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message         TEXT NOT NULL,
    category        TEXT NOT NULL,
    error_text      TEXT,
    files           TEXT NOT NULL DEFAULT '[]',    -- JSON list of paths
    symbols         TEXT NOT NULL DEFAULT '[]',    -- JSON list of qualified names
    issue_refs      TEXT NOT NULL DEFAULT '[]',
    similarity_hash TEXT NOT NULL,
    fixed_at        INTEGER NOT NULL,
    UNIQUE (project_id, commit_hash)
);
CREATE INDEX idx_fixes_hash ON historical_fixes(project_id, similarity_hash);
