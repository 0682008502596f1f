-- 004 operations: LLM-backed work items (chat, explain, fix), their event stream, task
-- breakdown, produced artifacts (with diffs) and the file modifications they caused.

CREATE TABLE operations (
    id              TEXT PRIMARY KEY,              -- uuid; also the id of mira/chatChunk
    parent_id       TEXT REFERENCES operations(id) ON DELETE SET NULL,
    session_id      TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    project_id      INTEGER REFERENCES projects(id) ON DELETE SET NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('chat', 'explain', 'fix_error', 'generate',
                        'refactor', 'analyze', 'summarize', 'other')),
    request         TEXT,                          -- the question or instruction
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'planning',
                        'running', 'completed', 'failed', 'cancelled')),
    complexity      TEXT CHECK (complexity IN ('simple', 'moderate', 'complex')),
    model           TEXT,                          -- the model the request was routed to
    reasoning_effort TEXT,                         -- provider vocabulary (none/low/medium/high)
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    cost_micro      INTEGER NOT NULL DEFAULT 0 CHECK (cost_micro >= 0),
    from_cache      INTEGER NOT NULL DEFAULT 0 CHECK (from_cache IN (0, 1)),
    result_summary  TEXT,
    answer_path     TEXT,                          -- markdown file shown to the user
    error           TEXT,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    started_at      INTEGER,
    completed_at    INTEGER,
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_operations_session ON operations(session_id, created_at);
CREATE INDEX idx_operations_project ON operations(project_id, created_at);
CREATE INDEX idx_operations_parent ON operations(parent_id);
CREATE INDEX idx_operations_active ON operations(status)
    WHERE status IN ('pending', 'planning', 'running');

-- Ordered event stream of an operation (what $/progress and mira/chatChunk carried).
CREATE TABLE operation_events (
    id              INTEGER PRIMARY KEY,
    operation_id    TEXT NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL CHECK (seq >= 0),
    event_type      TEXT NOT NULL CHECK (event_type IN ('started', 'status', 'progress',
                        'chunk', 'tool_call', 'tool_result', 'artifact', 'error',
                        'completed', 'cancelled')),
    data            TEXT CHECK (json_valid(data)),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (operation_id, seq)
);

-- Steps an operation was broken into, nested via parent_id.
CREATE TABLE operation_tasks (
    id              INTEGER PRIMARY KEY,
    operation_id    TEXT NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
    parent_id       INTEGER REFERENCES operation_tasks(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL DEFAULT 0,    -- order among siblings
    description     TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running',
                        'completed', 'failed', 'skipped')),
    priority        INTEGER NOT NULL DEFAULT 0,
    result          TEXT,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    started_at      INTEGER,
    completed_at    INTEGER
);
CREATE INDEX idx_operation_tasks_operation ON operation_tasks(operation_id, position);
CREATE INDEX idx_operation_tasks_parent ON operation_tasks(parent_id);

-- Code or text an operation produced; for a file, the original it diffs against.
CREATE TABLE artifacts (
    id              INTEGER PRIMARY KEY,
    operation_id    TEXT REFERENCES operations(id) ON DELETE CASCADE,
    project_id      INTEGER REFERENCES projects(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('code', 'patch', 'file', 'answer', 'document',
                                                  'other')),
    title           TEXT,
    file_path       TEXT,                          -- project-relative, when it targets a file
    language        TEXT,
    content         TEXT NOT NULL,
    content_hash    TEXT NOT NULL,                 -- SHA-256 of content
    original_content TEXT,
    original_hash   TEXT,                          -- SHA-256 of the file when generated
    diff            TEXT,                          -- unified diff original -> content
    lines_added     INTEGER NOT NULL DEFAULT 0,
    lines_removed   INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'applied',
                        'rejected', 'reverted')),
    applied_at      INTEGER,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_artifacts_operation ON artifacts(operation_id);
CREATE INDEX idx_artifacts_file ON artifacts(project_id, file_path);

-- History of changes made to files (by applied artifacts, build fixes or tools).
CREATE TABLE file_modifications (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    artifact_id     INTEGER REFERENCES artifacts(id) ON DELETE SET NULL,
    operation_id    TEXT REFERENCES operations(id) ON DELETE SET NULL,
    file_path       TEXT NOT NULL,
    old_path        TEXT,                          -- set on renames
    modification_type TEXT NOT NULL CHECK (modification_type IN ('create', 'modify', 'delete',
                                                                 'rename')),
    source          TEXT NOT NULL DEFAULT 'artifact' CHECK (source IN ('artifact', 'user',
                        'build_fix', 'tool')),
    old_hash        TEXT,
    new_hash        TEXT,
    diff            TEXT,
    lines_added     INTEGER NOT NULL DEFAULT 0,
    lines_removed   INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_file_modifications_file ON file_modifications(project_id, file_path, created_at);
CREATE INDEX idx_file_modifications_artifact ON file_modifications(artifact_id);
CREATE INDEX idx_file_modifications_operation ON file_modifications(operation_id);
