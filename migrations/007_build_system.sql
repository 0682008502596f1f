-- 007 build system: runs of build/test/lint commands, errors deduplicated by error_hash,
-- where each error occurred, file snapshots to diff against, resolutions and what was
-- injected into LLM context.

CREATE TABLE build_runs (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,                 -- configured or detected command name
    tool            TEXT NOT NULL,                 -- parser used: 'ruff', 'mypy', 'pytest', ...
    command         TEXT NOT NULL CHECK (json_valid(command) AND json_type(command) = 'array'),
    cwd             TEXT NOT NULL,
    started_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    ended_at        INTEGER,
    exit_code       INTEGER,
    status          TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded',
                        'failed', 'timeout', 'cancelled', 'error')),
    error_count     INTEGER NOT NULL DEFAULT 0 CHECK (error_count >= 0),
    warning_count   INTEGER NOT NULL DEFAULT 0 CHECK (warning_count >= 0),
    commit_hash     TEXT,                          -- HEAD at start; NULL outside git
    tree_dirty      INTEGER CHECK (tree_dirty IN (0, 1)),
    output_bytes    INTEGER NOT NULL DEFAULT 0,
    truncated       INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1)),
    message         TEXT                           -- why it failed to run, for status 'error'
);
CREATE INDEX idx_build_runs_project ON build_runs(project_id, started_at);
CREATE INDEX idx_build_runs_name ON build_runs(project_id, name, id);

-- One row per distinct error (error_hash = SHA-256(tool + code + normalized message +
-- file basename)); occurrences and first/last seen track it across runs.
CREATE TABLE build_errors (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    error_hash      TEXT NOT NULL,
    tool            TEXT NOT NULL,
    code            TEXT,                          -- 'F401', 'arg-type', 'TS2322', 'E0308', ...
    category        TEXT NOT NULL DEFAULT 'other' CHECK (category IN ('type', 'import',
                        'syntax', 'name', 'attribute', 'test-failure', 'lint', 'other')),
    severity        TEXT NOT NULL DEFAULT 'error' CHECK (severity IN ('error', 'warning',
                        'information', 'hint')),
    message         TEXT NOT NULL,                 -- as last reported
    normalized_message TEXT NOT NULL,              -- paths, numbers and names stripped
    file_path       TEXT,                          -- last location (project-relative)
    line            INTEGER,                       -- 1-based
    col             INTEGER,                       -- 1-based, code points
    end_line        INTEGER,
    end_col         INTEGER,
    occurrence_count INTEGER NOT NULL DEFAULT 1 CHECK (occurrence_count >= 1),
    first_seen_at   INTEGER NOT NULL DEFAULT (unixepoch()),
    last_seen_at    INTEGER NOT NULL DEFAULT (unixepoch()),
    first_run_id    INTEGER REFERENCES build_runs(id) ON DELETE SET NULL,
    last_run_id     INTEGER REFERENCES build_runs(id) ON DELETE SET NULL,
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolved_at     INTEGER,
    UNIQUE (project_id, error_hash)
);
CREATE INDEX idx_build_errors_open_file ON build_errors(project_id, file_path)
    WHERE status = 'open';
CREATE INDEX idx_build_errors_code ON build_errors(project_id, tool, code);
CREATE INDEX idx_build_errors_category ON build_errors(project_id, category);
CREATE INDEX idx_build_errors_first_run ON build_errors(first_run_id);
CREATE INDEX idx_build_errors_last_run ON build_errors(last_run_id);

-- Each place an error was reported in a run (one error can occur at several places).
CREATE TABLE build_error_occurrences (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES build_runs(id) ON DELETE CASCADE,
    error_id        INTEGER NOT NULL REFERENCES build_errors(id) ON DELETE CASCADE,
    file_path       TEXT,
    line            INTEGER,
    col             INTEGER,
    end_line        INTEGER,
    end_col         INTEGER,
    message         TEXT NOT NULL,
    related         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(related)), -- [[path, line]]
    hint            TEXT                           -- the tool's advice (notes, help)
);
CREATE INDEX idx_build_error_occurrences_run ON build_error_occurrences(run_id);
CREATE INDEX idx_build_error_occurrences_error ON build_error_occurrences(error_id);

-- Contents of files that had open errors, deduplicated by hash, so the change that made
-- an error disappear can be diffed later (also outside git).
CREATE TABLE build_file_snapshots (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    content_hash    TEXT NOT NULL,                 -- SHA-256 of content
    content         BLOB NOT NULL,
    size_bytes      INTEGER GENERATED ALWAYS AS (length(content)) VIRTUAL,
    captured_at     INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, content_hash)
);
CREATE INDEX idx_build_file_snapshots_file ON build_file_snapshots(project_id, file_path, captured_at);

-- Which content each file with an open error had at a run: the two sides of a diff.
CREATE TABLE build_run_files (
    run_id          INTEGER NOT NULL REFERENCES build_runs(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    content_hash    TEXT NOT NULL,                 -- build_file_snapshots.content_hash
    PRIMARY KEY (run_id, file_path)
) WITHOUT ROWID;
CREATE INDEX idx_build_run_files_hash ON build_run_files(content_hash);

-- An error present in before_run and gone in after_run, with what changed in between.
CREATE TABLE error_resolutions (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    error_id        INTEGER NOT NULL REFERENCES build_errors(id) ON DELETE CASCADE,
    before_run_id   INTEGER REFERENCES build_runs(id) ON DELETE SET NULL,
    after_run_id    INTEGER REFERENCES build_runs(id) ON DELETE SET NULL,
    diff            TEXT,                          -- unified diff of the touched files
    files           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(files)),
    commit_hash     TEXT,                          -- the commit that fixed it, if any
    historical_fix_id INTEGER REFERENCES historical_fixes(id) ON DELETE SET NULL,
    summary         TEXT,
    resolved_at     INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_error_resolutions_error ON error_resolutions(error_id, resolved_at);
CREATE INDEX idx_error_resolutions_project ON error_resolutions(project_id, resolved_at);
CREATE INDEX idx_error_resolutions_before ON error_resolutions(before_run_id);
CREATE INDEX idx_error_resolutions_after ON error_resolutions(after_run_id);
CREATE INDEX idx_error_resolutions_fix ON error_resolutions(historical_fix_id);

-- Build errors and resolutions put into an LLM request's context.
CREATE TABLE build_context_injections (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    error_id        INTEGER NOT NULL REFERENCES build_errors(id) ON DELETE CASCADE,
    resolution_id   INTEGER REFERENCES error_resolutions(id) ON DELETE SET NULL,
    request_key     TEXT NOT NULL,                 -- llm_cache key or operation id
    injected_at     INTEGER NOT NULL DEFAULT (unixepoch()),
    token_count     INTEGER NOT NULL DEFAULT 0 CHECK (token_count >= 0)
);
CREATE INDEX idx_build_context_injections_error ON build_context_injections(error_id);
CREATE INDEX idx_build_context_injections_request ON build_context_injections(request_key);
CREATE INDEX idx_build_context_injections_resolution ON build_context_injections(resolution_id);
CREATE INDEX idx_build_context_injections_project ON build_context_injections(project_id);
