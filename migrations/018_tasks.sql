-- 018 tasks and operations: what 004 and 009 lack to tie LLM work to a task.
-- operations.command is the command the user ran (chat, explain, fix_error, review,
-- decompose), finer than 004's kind; task_id is the task that was current when it ran.
-- operation_requests links an operation to its budget_tracking rows (one per upstream call
-- or cache hit), so its cost is the budget's own record. task_targets are the files and
-- symbols a (decomposed) task expects to touch, resolved against the index when the name
-- was found (the name is kept as text either way).

ALTER TABLE operations ADD COLUMN command TEXT;
ALTER TABLE operations ADD COLUMN task_id INTEGER REFERENCES project_tasks(id) ON DELETE SET NULL;
CREATE INDEX idx_operations_task ON operations(task_id, created_at);

CREATE TABLE operation_requests (
    operation_id    TEXT NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
    request_id      TEXT NOT NULL,                 -- budget_tracking.request_id
    PRIMARY KEY (operation_id, request_id)
) WITHOUT ROWID;

ALTER TABLE project_tasks ADD COLUMN rationale TEXT;

CREATE TABLE task_targets (
    id              INTEGER PRIMARY KEY,
    task_id         INTEGER NOT NULL REFERENCES project_tasks(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('file', 'symbol')),
    name            TEXT NOT NULL,                 -- as the model wrote it
    file_path       TEXT,                          -- resolved: project-relative
    symbol_id       INTEGER REFERENCES code_elements(id) ON DELETE SET NULL,
    line            INTEGER                        -- resolved symbol's first line (1-based)
);
CREATE INDEX idx_task_targets_task ON task_targets(task_id);
CREATE INDEX idx_task_targets_symbol ON task_targets(symbol_id);
