-- 012 X-Ray: the symbol-level history of one file, computed on demand and kept per HEAD
-- (a new HEAD makes it stale; the next request computes it again).

CREATE TABLE xray_cache (
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,                 -- project-relative
    head            TEXT NOT NULL,                 -- the commit it was computed at
    commits         INTEGER NOT NULL,              -- counted commits of the file
    result          TEXT NOT NULL,                 -- JSON: the `mira-ls xray --json` document
    seconds         REAL NOT NULL DEFAULT 0,
    computed_at     INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (project_id, file_path)
) WITHOUT ROWID;
