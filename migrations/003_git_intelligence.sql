-- 003 git intelligence: commits (with their files), co-change, blame, expertise, fixes.
-- Paths are project-relative POSIX paths. "canonical_path" is the path a file has at the
-- newest mined commit, so history before a rename counts for the file under its current
-- name. Times are author times (what `git log` shows) unless the column says otherwise.

CREATE TABLE git_commits (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    commit_hash     TEXT NOT NULL,
    parent_count    INTEGER NOT NULL DEFAULT 1,
    author_name     TEXT NOT NULL,                 -- after .mailmap
    author_email    TEXT NOT NULL,                 -- after .mailmap, lower case
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
CREATE INDEX idx_git_commits_time ON git_commits(project_id, authored_at);
CREATE INDEX idx_git_commits_author ON git_commits(project_id, author_email, authored_at);

CREATE TABLE git_commit_files (
    commit_id       INTEGER NOT NULL REFERENCES git_commits(id) ON DELETE CASCADE,
    project_id      INTEGER NOT NULL,
    file_path       TEXT NOT NULL,                 -- path in that commit
    old_path        TEXT,                          -- set on renames
    canonical_path  TEXT NOT NULL,                 -- the file's newest name (renames followed)
    added           INTEGER,                       -- NULL for binary files
    deleted         INTEGER,
    PRIMARY KEY (commit_id, file_path)
) WITHOUT ROWID;
CREATE INDEX idx_git_commit_files_canonical
    ON git_commit_files(project_id, canonical_path, commit_id);

-- Per canonical file: commits that count under the ignore policy (the "m" of "n of m").
CREATE TABLE git_file_stats (
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    path            TEXT NOT NULL,
    commits         INTEGER NOT NULL,
    last_commit_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, path)
) WITHOUT ROWID;

-- What the last mining run was based on; any change means mining again from scratch.
CREATE TABLE git_mining_state (
    project_id      INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    policy_hash     TEXT NOT NULL,                 -- ignore policy (settings + ignore-revs)
    mailmap_hash    TEXT NOT NULL,                 -- .mailmap content
    shallow_hash    TEXT NOT NULL DEFAULT '',      -- .git/shallow content ('' = full clone)
    complete        INTEGER NOT NULL DEFAULT 0,    -- 0 while a from-scratch run is under way
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
);

-- One row per (file, partner): the file's top partners; a pair appears once per direction.
CREATE TABLE file_cochange_patterns (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_a          TEXT NOT NULL,                 -- the file
    file_b          TEXT NOT NULL,                 -- one of its partners
    shared_commits  INTEGER NOT NULL,              -- c
    commits_a       INTEGER NOT NULL,              -- a
    commits_b       INTEGER NOT NULL,              -- b
    confidence      REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),  -- Jaccard c/(a+b-c)
    dice            REAL NOT NULL CHECK (dice BETWEEN 0 AND 1),        -- 2c/(a+b)
    last_changed_together INTEGER,
    rank            INTEGER NOT NULL DEFAULT 1,    -- 1 = strongest partner of file_a
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, file_a, file_b)
);
CREATE INDEX idx_cochange_b ON file_cochange_patterns(project_id, file_b);

-- Which blobs have been blamed (also failures, so an untracked file is not retried).
CREATE TABLE blame_files (
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    blob_id         TEXT NOT NULL,                 -- git blob id of the blamed content
    status          TEXT NOT NULL CHECK (status IN ('ok', 'untracked', 'error')),
    line_count      INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    computed_at     INTEGER NOT NULL,
    seq             INTEGER NOT NULL DEFAULT 0,    -- higher = used more recently
    PRIMARY KEY (project_id, file_path, blob_id)
) WITHOUT ROWID;

CREATE TABLE blame_annotations (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    blob_id         TEXT NOT NULL,
    line_start      INTEGER NOT NULL,              -- 1-based, inclusive
    line_end        INTEGER NOT NULL,
    commit_hash     TEXT NOT NULL,                 -- all zeros: not committed yet
    author_name     TEXT NOT NULL,
    author_email    TEXT NOT NULL,
    authored_at     INTEGER NOT NULL,
    summary         TEXT,
    computed_at     INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_blame_file ON blame_annotations(project_id, file_path, blob_id, line_start);

-- Raw aggregates per author and file or directory; the score stored is as of updated_at
-- (readers recompute recency against the wall clock).
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

-- Per file or directory: 1 - sum(share^2) over authors' shares of lines added.
CREATE TABLE path_fragmentation (
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    scope           TEXT NOT NULL CHECK (scope IN ('file', 'directory')),
    path            TEXT NOT NULL,
    authors         INTEGER NOT NULL,
    fragmentation   REAL NOT NULL CHECK (fragmentation BETWEEN 0 AND 1),
    PRIMARY KEY (project_id, scope, path)
) WITHOUT ROWID;

CREATE TABLE historical_fixes (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    commit_id       INTEGER REFERENCES git_commits(id) ON DELETE CASCADE,
    commit_hash     TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message         TEXT NOT NULL,
    category        TEXT NOT NULL,
    error_text      TEXT,
    files           TEXT NOT NULL DEFAULT '[]',    -- JSON list of canonical paths
    symbols         TEXT NOT NULL DEFAULT '[]',    -- JSON list of [path, name] touched
    symbols_done    INTEGER NOT NULL DEFAULT 0 CHECK (symbols_done IN (0, 1)),
    issue_refs      TEXT NOT NULL DEFAULT '[]',
    words           TEXT NOT NULL DEFAULT '',      -- space-separated match words
    similarity_hash TEXT NOT NULL,                 -- SHA-256(category + normalized message)
    fixed_at        INTEGER NOT NULL,
    UNIQUE (project_id, commit_hash)
);
CREATE INDEX idx_fixes_hash ON historical_fixes(project_id, similarity_hash);
CREATE INDEX idx_fixes_commit ON historical_fixes(commit_id);

-- Definitions a fix touched, for "past fixes of this symbol" lookups on the hover path.
CREATE TABLE historical_fix_symbols (
    fix_id          INTEGER NOT NULL REFERENCES historical_fixes(id) ON DELETE CASCADE,
    project_id      INTEGER NOT NULL,
    file_path       TEXT NOT NULL,                 -- canonical path
    name            TEXT NOT NULL,
    PRIMARY KEY (fix_id, file_path, name)
) WITHOUT ROWID;
CREATE INDEX idx_fix_symbols_lookup ON historical_fix_symbols(project_id, file_path, name);
