-- 010: what survives kill -9. A run (index, mine) and its phases are recorded complete only
-- when they are, so the next run knows what an interrupted one left undone; the calls a
-- full index holds back until every symbol is stored are kept here, not only in memory;
-- a file name that is not UTF-8 keeps its exact bytes.

CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,                 -- 'index' | 'mine'
    pid             INTEGER,                       -- the process that ran it
    started_at      INTEGER NOT NULL,              -- unix seconds
    finished_at     INTEGER,                       -- NULL while running or when interrupted
    status          TEXT NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'complete', 'cancelled', 'failed', 'interrupted')),
    message         TEXT
);
CREATE INDEX idx_runs_project_kind ON runs(project_id, kind, id);

CREATE TABLE run_phases (
    run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    phase           TEXT NOT NULL,                 -- 'walk', 'parse', 'resolve calls', ...
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,                       -- set in the transaction that completes it
    PRIMARY KEY (run_id, phase)
);

-- A full index's calls awaiting project-wide resolution, written in the transaction that
-- stores their file's symbols and deleted in the one that stores their resolved edges.
CREATE TABLE index_staged_calls (
    file_id         INTEGER PRIMARY KEY REFERENCES repository_files(id) ON DELETE CASCADE,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    caller_ids      TEXT NOT NULL,                 -- JSON: [first, count] (consecutive) or [[id, ...]]
    calls           BLOB NOT NULL,                 -- the packed (caller index, name, receiver, line, col) list
    call_count      INTEGER NOT NULL
);
CREATE INDEX idx_index_staged_calls_project ON index_staged_calls(project_id);

-- The exact bytes of a file name that is not valid UTF-8 (NULL otherwise); file_path then
-- holds it with the undecodable bytes shown as \xNN.
ALTER TABLE repository_files ADD COLUMN raw_path BLOB;
