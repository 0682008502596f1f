-- 009 project context: guideline files (CLAUDE.md, AGENTS.md, ...) loaded per project with
-- hash-based reloading, and project tasks with their sessions and context snapshots.

CREATE TABLE project_guidelines (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,                 -- project-relative
    content         TEXT NOT NULL,
    content_hash    TEXT NOT NULL,                 -- SHA-256: reload only when it changes
    token_count     INTEGER NOT NULL DEFAULT 0 CHECK (token_count >= 0),
    loaded_at       INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, file_path)
);

-- Work items, nested via parent_id (an LLM may break a task into subtasks).
-- priority: 0 low, 1 normal, 2 high, 3 urgent.
CREATE TABLE project_tasks (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    parent_id       INTEGER REFERENCES project_tasks(id) ON DELETE CASCADE,
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    position        INTEGER NOT NULL DEFAULT 0,    -- order among siblings
    title           TEXT NOT NULL,
    description     TEXT,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'in_progress',
                        'blocked', 'completed', 'cancelled')),
    priority        INTEGER NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 3),
    source          TEXT NOT NULL DEFAULT 'user' CHECK (source IN ('user', 'llm', 'imported')),
    complexity      TEXT CHECK (complexity IN ('simple', 'moderate', 'complex')),
    estimate_minutes INTEGER CHECK (estimate_minutes >= 0),
    tags            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    started_at      INTEGER,
    completed_at    INTEGER
);
CREATE INDEX idx_project_tasks_project ON project_tasks(project_id, status, priority DESC);
CREATE INDEX idx_project_tasks_parent ON project_tasks(parent_id, position);
CREATE INDEX idx_project_tasks_user ON project_tasks(user_id);

-- Periods of work on a task, so the next session can pick up where the last one ended.
CREATE TABLE task_sessions (
    id              INTEGER PRIMARY KEY,
    task_id         INTEGER NOT NULL REFERENCES project_tasks(id) ON DELETE CASCADE,
    session_id      TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    started_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    ended_at        INTEGER,
    progress_notes  TEXT,
    files_modified  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(files_modified)),
    commits         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(commits)),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX idx_task_sessions_task ON task_sessions(task_id, started_at);
CREATE INDEX idx_task_sessions_session ON task_sessions(session_id);

-- Snapshots of what was relevant to a task (files, symbols, errors, notes).
CREATE TABLE task_context (
    id              INTEGER PRIMARY KEY,
    task_id         INTEGER NOT NULL REFERENCES project_tasks(id) ON DELETE CASCADE,
    context_type    TEXT NOT NULL CHECK (context_type IN ('files', 'symbols', 'errors',
                        'commits', 'notes', 'snapshot', 'other')),
    data            TEXT NOT NULL CHECK (json_valid(data)),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_task_context_task ON task_context(task_id, context_type);
