-- Call graph truth (issue 15): a call's receiver type, as the parser inferred it, and
-- 'type' resolutions (a method found through the receiver's type and its bases), and
-- the module of a call that leaves the project.
-- SQLite cannot change a CHECK constraint in place, so call_graph is rebuilt; no table
-- references it.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE call_graph_new (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    caller_id       INTEGER NOT NULL REFERENCES code_elements(id) ON DELETE CASCADE,
    callee_id       INTEGER REFERENCES code_elements(id) ON DELETE SET NULL, -- NULL: unresolved
    callee_name     TEXT NOT NULL,                 -- the called name as written (last segment)
    receiver        TEXT,                          -- text before the last '.', '::' or '->'
    line            INTEGER NOT NULL,              -- 1-based line of the call
    col             INTEGER NOT NULL DEFAULT 0,    -- 0-based column (code points) of the name
    resolved_by     TEXT CHECK (resolved_by IN ('scope', 'import', 'unique', 'jedi', 'type')),
    needs_resolution INTEGER NOT NULL DEFAULT 0 CHECK (needs_resolution = 0
                        OR needs_resolution = 1 OR needs_resolution = 2),
                                                   -- 1: scope/import resolution pending,
                                                   -- 2: scope failed, jedi pending (Python)
    receiver_type   TEXT,                          -- Python: the receiver's type expression in
                                                   -- the caller's file ('Flask()',
                                                   -- 'Flask().test_client()', 'fixture:app'),
                                                   -- NULL when the parser could not tell
    external        TEXT                           -- unresolved because it leaves the project:
                                                   -- the module called into ('flask',
                                                   -- 'os.path'); builtins are told apart
                                                   -- when read (resolve_external)
);
INSERT INTO call_graph_new (id, project_id, caller_id, callee_id, callee_name, receiver, line,
                            col, resolved_by, needs_resolution)
    SELECT id, project_id, caller_id, callee_id, callee_name, receiver, line, col, resolved_by,
           needs_resolution FROM call_graph;
DROP TABLE call_graph;
ALTER TABLE call_graph_new RENAME TO call_graph;
CREATE INDEX idx_call_graph_caller ON call_graph(caller_id);
CREATE INDEX idx_call_graph_callee ON call_graph(callee_id);
CREATE INDEX idx_call_graph_unresolved ON call_graph(project_id, callee_name) WHERE callee_id IS NULL;
CREATE INDEX idx_call_graph_pending ON call_graph(project_id, needs_resolution);
