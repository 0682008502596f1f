-- 006 tool synthesis: repeated work detected in a project, tools generated for it, their
-- executions, aggregated effectiveness, user feedback and version history.

CREATE TABLE tool_patterns (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    pattern_type    TEXT NOT NULL CHECK (pattern_type IN ('file_operation', 'code_generation',
                        'refactor', 'search', 'build', 'test', 'analysis', 'other')),
    description     TEXT NOT NULL,
    occurrences     INTEGER NOT NULL DEFAULT 1 CHECK (occurrences >= 0),
    example_locations TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(example_locations)),
    confidence      REAL NOT NULL DEFAULT 0 CHECK (confidence BETWEEN 0 AND 1),
    should_synthesize INTEGER NOT NULL DEFAULT 0 CHECK (should_synthesize IN (0, 1)),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, name)
);
CREATE INDEX idx_tool_patterns_candidates ON tool_patterns(project_id, confidence DESC)
    WHERE should_synthesize = 1;

CREATE TABLE synthesized_tools (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    pattern_id      INTEGER REFERENCES tool_patterns(id) ON DELETE SET NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    language        TEXT NOT NULL DEFAULT 'python',
    source_code     TEXT NOT NULL,
    source_hash     TEXT NOT NULL,                 -- SHA-256 of source_code
    parameters      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(parameters)), -- JSON Schema
    status          TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'validated',
                        'active', 'failed', 'disabled')),
    error           TEXT,                          -- why validation failed
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, name)
);
CREATE INDEX idx_synthesized_tools_pattern ON synthesized_tools(pattern_id);

CREATE TABLE tool_executions (
    id              INTEGER PRIMARY KEY,
    tool_id         INTEGER NOT NULL REFERENCES synthesized_tools(id) ON DELETE CASCADE,
    tool_version    INTEGER NOT NULL,
    operation_id    TEXT REFERENCES operations(id) ON DELETE SET NULL,
    session_id      TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    arguments       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(arguments)),
    success         INTEGER NOT NULL CHECK (success IN (0, 1)),
    output          TEXT,
    error           TEXT,
    duration_ms     INTEGER NOT NULL CHECK (duration_ms >= 0),
    executed_at     INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_tool_executions_tool ON tool_executions(tool_id, executed_at);
CREATE INDEX idx_tool_executions_operation ON tool_executions(operation_id);
CREATE INDEX idx_tool_executions_session ON tool_executions(session_id);

-- Running totals per tool, updated with each execution.
CREATE TABLE tool_effectiveness (
    tool_id         INTEGER PRIMARY KEY REFERENCES synthesized_tools(id) ON DELETE CASCADE,
    total_executions INTEGER NOT NULL DEFAULT 0,
    successful_executions INTEGER NOT NULL DEFAULT 0,
    failed_executions INTEGER NOT NULL DEFAULT 0,
    total_duration_ms INTEGER NOT NULL DEFAULT 0,
    time_saved_ms   INTEGER NOT NULL DEFAULT 0,
    success_rate    REAL GENERATED ALWAYS AS (
                        CASE WHEN total_executions > 0
                             THEN 1.0 * successful_executions / total_executions END) VIRTUAL,
    last_executed_at INTEGER,
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    CHECK (successful_executions + failed_executions <= total_executions)
);

CREATE TABLE tool_feedback (
    id              INTEGER PRIMARY KEY,
    tool_id         INTEGER NOT NULL REFERENCES synthesized_tools(id) ON DELETE CASCADE,
    execution_id    INTEGER REFERENCES tool_executions(id) ON DELETE SET NULL,
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
    issue_type      TEXT CHECK (issue_type IN ('bug', 'wrong_result', 'slow', 'unclear',
                                               'other')),
    comment         TEXT,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_tool_feedback_tool ON tool_feedback(tool_id, created_at);
CREATE INDEX idx_tool_feedback_execution ON tool_feedback(execution_id);
CREATE INDEX idx_tool_feedback_user ON tool_feedback(user_id);

CREATE TABLE tool_evolution_history (
    id              INTEGER PRIMARY KEY,
    tool_id         INTEGER NOT NULL REFERENCES synthesized_tools(id) ON DELETE CASCADE,
    from_version    INTEGER NOT NULL,
    to_version      INTEGER NOT NULL,
    change_description TEXT NOT NULL,
    motivation      TEXT,                          -- e.g. the feedback or failures behind it
    source_diff     TEXT,                          -- unified diff of source_code
    evolved_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    CHECK (to_version > from_version),
    UNIQUE (tool_id, to_version)
);
