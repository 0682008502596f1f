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
CREATE INDEX idx_projects_parent ON projects(parent_project_id);

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

-- Uncommitted changes per file as last seen by `git status` or the file watcher; one row
-- per changed file, replaced on each scan and deleted when the file is clean again.
CREATE TABLE local_changes (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    change_type     TEXT NOT NULL
                    CHECK (change_type IN ('added', 'modified', 'deleted', 'renamed',
                                           'untracked', 'conflicted')),
    old_path        TEXT,                          -- set on renames
    staged          INTEGER NOT NULL DEFAULT 0 CHECK (staged IN (0, 1)),
    base_hash       TEXT,                          -- git blob id at HEAD; NULL for new files
    content_hash    TEXT,                          -- SHA-256 of the working copy; NULL if deleted
    lines_added     INTEGER,
    lines_deleted   INTEGER,
    detected_at     INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, file_path)
);
CREATE INDEX idx_local_changes_detected ON local_changes(project_id, detected_at);

-- The people using this database (normally one: the OS user running the server).
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT,
    email           TEXT,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    last_seen_at    INTEGER
);

-- What mira-ls has learned about how the user likes to work; one row per user.
CREATE TABLE user_profile (
    user_id             INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    coding_preferences  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(coding_preferences)),
    communication_style TEXT,
    tech_stack          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tech_stack)),
    experience_level    TEXT CHECK (experience_level IN ('beginner', 'intermediate',
                                                          'advanced', 'expert')),
    learning_goals      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(learning_goals)),
    preferred_language  TEXT,                      -- natural language of answers
    created_at          INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at          INTEGER NOT NULL DEFAULT (unixepoch())
);

-- A conversation (chat thread), optionally tied to a project.
CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,              -- uuid
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id      INTEGER REFERENCES projects(id) ON DELETE SET NULL,
    title           TEXT,
    client_name     TEXT,                          -- editor that opened it (LSP clientInfo)
    message_count   INTEGER NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    last_active_at  INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_sessions_user_active ON sessions(user_id, last_active_at DESC);
CREATE INDEX idx_sessions_project_active ON sessions(project_id, last_active_at DESC);

-- Conversation messages. parent_id threads a reply to the message it answers.
CREATE TABLE memory_entries (
    id              INTEGER PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    parent_id       INTEGER REFERENCES memory_entries(id) ON DELETE SET NULL,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content         TEXT NOT NULL,
    token_count     INTEGER NOT NULL DEFAULT 0 CHECK (token_count >= 0),  -- o200k_base
    model           TEXT,                          -- assistant messages: the model that wrote it
    cost_micro      INTEGER NOT NULL DEFAULT 0 CHECK (cost_micro >= 0),
    metadata        TEXT CHECK (json_valid(metadata)),  -- NULL or a JSON object
    created_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_memory_entries_session ON memory_entries(session_id, id);
CREATE INDEX idx_memory_entries_parent ON memory_entries(parent_id);

-- Per-message analysis (one row per entry) used to rank what to recall.
CREATE TABLE message_analysis (
    id                   INTEGER PRIMARY KEY,
    entry_id             INTEGER NOT NULL UNIQUE REFERENCES memory_entries(id) ON DELETE CASCADE,
    salience             REAL NOT NULL DEFAULT 0.5 CHECK (salience BETWEEN 0 AND 1),
    intent               TEXT CHECK (intent IN ('question', 'request', 'statement', 'feedback',
                                                'correction', 'greeting', 'other')),
    mood                 TEXT,
    topics               TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(topics)),
    contains_code        INTEGER NOT NULL DEFAULT 0 CHECK (contains_code IN (0, 1)),
    contains_error       INTEGER NOT NULL DEFAULT 0 CHECK (contains_error IN (0, 1)),
    error_type           TEXT,
    programming_language TEXT,
    analyzed_by          TEXT,                     -- model name, or 'heuristic'
    analyzed_at          INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_message_analysis_salience ON message_analysis(salience DESC);

-- Compressed history: one summary per window of 10 or 100 messages of a session.
CREATE TABLE rolling_summaries (
    id              INTEGER PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    window_size     INTEGER NOT NULL CHECK (window_size IN (10, 100)),
    first_entry_id  INTEGER REFERENCES memory_entries(id) ON DELETE SET NULL,
    last_entry_id   INTEGER REFERENCES memory_entries(id) ON DELETE SET NULL,
    message_count   INTEGER NOT NULL CHECK (message_count > 0),
    content         TEXT NOT NULL,
    token_count     INTEGER NOT NULL DEFAULT 0,
    model           TEXT,
    cost_micro      INTEGER NOT NULL DEFAULT 0 CHECK (cost_micro >= 0),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_rolling_summaries_session ON rolling_summaries(session_id, window_size, id);
CREATE INDEX idx_rolling_summaries_first ON rolling_summaries(first_entry_id);
CREATE INDEX idx_rolling_summaries_last ON rolling_summaries(last_entry_id);

-- Key/value facts about the user, global (project_id NULL) or per project.
CREATE TABLE memory_facts (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id      INTEGER REFERENCES projects(id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    value           TEXT NOT NULL,
    category        TEXT,
    confidence      REAL NOT NULL DEFAULT 1.0 CHECK (confidence BETWEEN 0 AND 1),
    source          TEXT NOT NULL DEFAULT 'inferred'
                    CHECK (source IN ('user', 'inferred', 'imported', 'system')),
    source_entry_id INTEGER REFERENCES memory_entries(id) ON DELETE SET NULL,
    deprecated      INTEGER NOT NULL DEFAULT 0 CHECK (deprecated IN (0, 1)),
    use_count       INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    last_used_at    INTEGER
);
-- ifnull() so a global fact's key is unique too (NULLs are distinct in UNIQUE);
-- upsert with ON CONFLICT (user_id, ifnull(project_id, 0), key).
CREATE UNIQUE INDEX idx_memory_facts_key ON memory_facts(user_id, ifnull(project_id, 0), key);
CREATE INDEX idx_memory_facts_category ON memory_facts(user_id, category) WHERE deprecated = 0;
CREATE INDEX idx_memory_facts_project ON memory_facts(project_id);
CREATE INDEX idx_memory_facts_source ON memory_facts(source_entry_id);

-- Behavioural patterns observed in how the user works.
CREATE TABLE learned_patterns (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id      INTEGER REFERENCES projects(id) ON DELETE CASCADE,
    pattern_type    TEXT NOT NULL CHECK (pattern_type IN ('coding_style', 'workflow',
                        'preference', 'communication', 'mistake', 'other')),
    description     TEXT NOT NULL,
    applies_when    TEXT,
    examples        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(examples)),
    confidence      REAL NOT NULL DEFAULT 0.5 CHECK (confidence BETWEEN 0 AND 1),
    times_observed  INTEGER NOT NULL DEFAULT 1 CHECK (times_observed >= 0),
    times_applied   INTEGER NOT NULL DEFAULT 0 CHECK (times_applied >= 0),
    first_seen_at   INTEGER NOT NULL DEFAULT (unixepoch()),
    last_seen_at    INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_learned_patterns_user ON learned_patterns(user_id, pattern_type, confidence DESC);
CREATE INDEX idx_learned_patterns_project ON learned_patterns(project_id);

-- Which entry was embedded, with which model and dimension, and where the vector lives
-- (sqlite-vec table or Qdrant collection + point id).
CREATE TABLE message_embeddings (
    id              INTEGER PRIMARY KEY,
    entry_id        INTEGER NOT NULL REFERENCES memory_entries(id) ON DELETE CASCADE,
    model           TEXT NOT NULL,
    dimension       INTEGER NOT NULL CHECK (dimension > 0),
    backend         TEXT NOT NULL CHECK (backend IN ('sqlite-vec', 'qdrant')),
    collection      TEXT NOT NULL,
    point_id        TEXT NOT NULL,
    content_hash    TEXT NOT NULL,                 -- SHA-256 of the embedded text
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (entry_id, model, collection)
);
CREATE INDEX idx_message_embeddings_point ON message_embeddings(collection, point_id);
