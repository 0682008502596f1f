-- 002 code intelligence: symbols, call graph, dependencies, semantic graph, patterns,
-- domain clusters, code quality, language configs.

CREATE TABLE code_elements (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_id         INTEGER NOT NULL REFERENCES repository_files(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    language        TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN (
                        'module', 'namespace', 'class', 'struct', 'union', 'enum', 'trait',
                        'interface', 'impl', 'type', 'function', 'method', 'constructor',
                        'property', 'field', 'constant', 'variable', 'macro')),
    name            TEXT NOT NULL,
    qualified_name  TEXT NOT NULL,
    ordinal         INTEGER NOT NULL DEFAULT 0,    -- among siblings with the same (qualified_name, kind)
    parent_id       INTEGER REFERENCES code_elements(id) ON DELETE CASCADE,
    start_line      INTEGER NOT NULL,              -- 1-based, includes decorators and doc comments
    start_col       INTEGER NOT NULL DEFAULT 0,    -- 0-based, in characters (code points)
    end_line        INTEGER NOT NULL,              -- 1-based, inclusive
    end_col         INTEGER NOT NULL DEFAULT 0,
    name_line       INTEGER NOT NULL DEFAULT 0,    -- where the name itself is (selection range)
    name_col        INTEGER NOT NULL DEFAULT 0,
    signature       TEXT,
    docstring       TEXT,
    content_hash    TEXT NOT NULL,                 -- SHA-256 of the span's exact bytes
    signature_hash  TEXT NOT NULL,                 -- SHA-256 of the normalized signature
    complexity      INTEGER NOT NULL DEFAULT 1,    -- branch count + 1
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, file_path, qualified_name, kind, ordinal)
);
CREATE INDEX idx_code_elements_name ON code_elements(project_id, name COLLATE NOCASE);
CREATE INDEX idx_code_elements_file ON code_elements(file_id);
CREATE INDEX idx_code_elements_parent ON code_elements(parent_id);
CREATE INDEX idx_code_elements_qualified ON code_elements(project_id, qualified_name);
CREATE INDEX idx_code_elements_content_hash ON code_elements(content_hash);

CREATE TABLE call_graph (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    caller_id       INTEGER NOT NULL REFERENCES code_elements(id) ON DELETE CASCADE,
    callee_id       INTEGER REFERENCES code_elements(id) ON DELETE SET NULL, -- NULL: unresolved
    callee_name     TEXT NOT NULL,                 -- the called name as written (last segment)
    receiver        TEXT,                          -- text before the last '.', '::' or '->'
    line            INTEGER NOT NULL,              -- 1-based line of the call
    col             INTEGER NOT NULL DEFAULT 0,    -- 0-based column (code points) of the name
    resolved_by     TEXT CHECK (resolved_by IN ('scope', 'import', 'unique', 'jedi')),
    needs_resolution INTEGER NOT NULL DEFAULT 0 CHECK (needs_resolution IN (0, 1, 2))
                                                   -- 1: scope/import resolution pending,
                                                   -- 2: scope failed, jedi pending (Python)
);
CREATE INDEX idx_call_graph_caller ON call_graph(caller_id);
CREATE INDEX idx_call_graph_callee ON call_graph(callee_id);
CREATE INDEX idx_call_graph_unresolved ON call_graph(project_id, callee_name) WHERE callee_id IS NULL;

-- What each file imports, as written; call resolution and external_dependencies read it.
CREATE TABLE code_imports (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_id         INTEGER NOT NULL REFERENCES repository_files(id) ON DELETE CASCADE,
    module          TEXT NOT NULL,                 -- 'os.path', '.core', './util', 'fmt', '<stdio.h>'
    name            TEXT,                          -- member imported; NULL whole module; '*' star
    alias           TEXT,                          -- local name when renamed
    line            INTEGER NOT NULL
);
CREATE INDEX idx_code_imports_file ON code_imports(file_id);
