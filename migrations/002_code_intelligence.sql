-- 002 code intelligence: symbols, call graph, dependencies, semantic graph, patterns,
-- domain clusters, code quality, language configs.

CREATE TABLE code_elements (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_id         INTEGER NOT NULL REFERENCES repository_files(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    language        TEXT NOT NULL,
    -- CHECKs on the code tables are OR chains, not IN lists: SQLite rebuilds the lookup
    -- table of an IN list of more than two values for every inserted row, which
    -- doubled the cost of a bulk insert.
    kind            TEXT NOT NULL CHECK (
                        kind = 'module' OR kind = 'namespace' OR kind = 'class' OR
                        kind = 'struct' OR kind = 'union' OR kind = 'enum' OR
                        kind = 'trait' OR kind = 'interface' OR kind = 'impl' OR
                        kind = 'type' OR kind = 'function' OR kind = 'method' OR
                        kind = 'constructor' OR kind = 'property' OR kind = 'field' OR
                        kind = 'constant' OR kind = 'variable' OR kind = 'macro'),
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
    UNIQUE (file_id, qualified_name, kind, ordinal)  -- identity; also serves lookups by file
);
CREATE INDEX idx_code_elements_name ON code_elements(project_id, name COLLATE NOCASE);
CREATE INDEX idx_code_elements_parent ON code_elements(parent_id);
CREATE INDEX idx_code_elements_qualified ON code_elements(project_id, qualified_name);
-- No index on content_hash: nothing looks a symbol up by its hash (the caches keyed on a
-- hash index their own column), and a random 64-character key is the dearest to maintain.

CREATE TABLE call_graph (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    caller_id       INTEGER NOT NULL REFERENCES code_elements(id) ON DELETE CASCADE,
    callee_id       INTEGER REFERENCES code_elements(id) ON DELETE SET NULL, -- NULL: unresolved
    callee_name     TEXT NOT NULL,                 -- the called name as written (last segment)
    receiver        TEXT,                          -- text before the last '.', '::' or '->'
    line            INTEGER NOT NULL,              -- 1-based line of the call
    col             INTEGER NOT NULL DEFAULT 0,    -- 0-based column (code points) of the name
    resolved_by     TEXT CHECK (resolved_by = 'scope' OR resolved_by = 'import'
                                OR resolved_by = 'unique' OR resolved_by = 'jedi'),
    needs_resolution INTEGER NOT NULL DEFAULT 0 CHECK (needs_resolution = 0
                        OR needs_resolution = 1 OR needs_resolution = 2)
                                                   -- 1: scope/import resolution pending,
                                                   -- 2: scope failed, jedi pending (Python)
);
CREATE INDEX idx_call_graph_caller ON call_graph(caller_id);
CREATE INDEX idx_call_graph_callee ON call_graph(callee_id);
CREATE INDEX idx_call_graph_unresolved ON call_graph(project_id, callee_name) WHERE callee_id IS NULL;
-- Leads with project_id (foreign key, per-project counts) and finds the edges waiting for
-- resolution without scanning the project's edges.
CREATE INDEX idx_call_graph_pending ON call_graph(project_id, needs_resolution);

-- Packages a project uses, from import statements ('import', file_path = the importing
-- file) and from manifests ('manifest', file_path = manifest_path = the manifest).
CREATE TABLE external_dependencies (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,                 -- distribution/package/module name
    version_spec    TEXT,                          -- as written in the manifest
    ecosystem       TEXT NOT NULL
                    CHECK (ecosystem IN ('python', 'npm', 'cargo', 'go', 'maven', 'c', 'other')),
    source          TEXT NOT NULL CHECK (source IN ('import', 'manifest')),
    file_path       TEXT NOT NULL,
    manifest_path   TEXT,
    line            INTEGER,                       -- 1-based line of the import/declaration
    is_dev          INTEGER NOT NULL DEFAULT 0 CHECK (is_dev IN (0, 1)),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, ecosystem, name, source, file_path)
);
CREATE INDEX idx_external_dependencies_name ON external_dependencies(project_id, name);
CREATE INDEX idx_external_dependencies_file ON external_dependencies(project_id, file_path);

-- What a symbol is for, as analysed (by the LLM or heuristics) at a given content_hash.
CREATE TABLE semantic_nodes (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    symbol_id       INTEGER NOT NULL UNIQUE REFERENCES code_elements(id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL,
    description     TEXT,
    concepts        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(concepts)),
    domain_labels   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(domain_labels)),
    confidence      REAL NOT NULL DEFAULT 0 CHECK (confidence BETWEEN 0 AND 1),
    content_hash    TEXT NOT NULL,                 -- the symbol's content_hash when analysed
    model           TEXT,
    point_id        TEXT,                          -- vector of the purpose text, if embedded
    collection      TEXT,
    analyzed_at     INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_semantic_nodes_project ON semantic_nodes(project_id);

CREATE TABLE semantic_edges (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source_node_id  INTEGER NOT NULL REFERENCES semantic_nodes(id) ON DELETE CASCADE,
    target_node_id  INTEGER NOT NULL REFERENCES semantic_nodes(id) ON DELETE CASCADE,
    relationship    TEXT NOT NULL CHECK (relationship IN ('calls', 'uses', 'implements',
                        'extends', 'tests', 'depends_on', 'similar_to', 'related_to')),
    strength        REAL NOT NULL DEFAULT 0 CHECK (strength BETWEEN 0 AND 1),
    metadata        TEXT CHECK (json_valid(metadata)),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    CHECK (source_node_id <> target_node_id),
    UNIQUE (source_node_id, target_node_id, relationship)
);
CREATE INDEX idx_semantic_edges_target ON semantic_edges(target_node_id);
CREATE INDEX idx_semantic_edges_project ON semantic_edges(project_id);

-- Concept -> symbols, one row per pair (a symbol's concepts also sit in semantic_nodes).
CREATE TABLE concept_index (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    concept         TEXT NOT NULL COLLATE NOCASE,
    symbol_id       INTEGER NOT NULL REFERENCES code_elements(id) ON DELETE CASCADE,
    confidence      REAL NOT NULL DEFAULT 0 CHECK (confidence BETWEEN 0 AND 1),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, concept, symbol_id)
);
CREATE INDEX idx_concept_index_symbol ON concept_index(symbol_id);

-- Analysis results keyed on (symbol, content_hash): a changed body misses the cache, and
-- the indexer deletes rows whose content_hash no longer matches the symbol.
CREATE TABLE semantic_analysis_cache (
    id              INTEGER PRIMARY KEY,
    symbol_id       INTEGER NOT NULL REFERENCES code_elements(id) ON DELETE CASCADE,
    content_hash    TEXT NOT NULL,
    analysis_kind   TEXT NOT NULL DEFAULT 'semantic',
    result          TEXT NOT NULL CHECK (json_valid(result)),
    confidence      REAL NOT NULL DEFAULT 0 CHECK (confidence BETWEEN 0 AND 1),
    model           TEXT,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    last_used_at    INTEGER NOT NULL DEFAULT (unixepoch()),
    hit_count       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (symbol_id, analysis_kind, content_hash)
);
CREATE INDEX idx_semantic_analysis_cache_hash ON semantic_analysis_cache(content_hash);
CREATE INDEX idx_semantic_analysis_cache_used ON semantic_analysis_cache(last_used_at);

-- A design pattern found in a project; the symbols taking part are in the members table.
CREATE TABLE design_patterns (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    pattern_name    TEXT NOT NULL,                 -- 'singleton', 'factory', 'observer', ...
    category        TEXT NOT NULL DEFAULT 'other' CHECK (category IN ('creational', 'structural',
                        'behavioral', 'architectural', 'concurrency', 'idiom',
                        'anti_pattern', 'other')),
    description     TEXT,
    confidence      REAL NOT NULL DEFAULT 0 CHECK (confidence BETWEEN 0 AND 1),
    point_id        TEXT,
    collection      TEXT,
    detected_at     INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_design_patterns_project ON design_patterns(project_id, pattern_name);

CREATE TABLE design_pattern_members (
    pattern_id      INTEGER NOT NULL REFERENCES design_patterns(id) ON DELETE CASCADE,
    symbol_id       INTEGER NOT NULL REFERENCES code_elements(id) ON DELETE CASCADE,
    role            TEXT,                          -- 'subject', 'observer', 'product', ...
    PRIMARY KEY (pattern_id, symbol_id)
) WITHOUT ROWID;
CREATE INDEX idx_design_pattern_members_symbol ON design_pattern_members(symbol_id);

-- Whether a symbol follows a pattern, keyed on its content_hash (invalidated like above).
CREATE TABLE pattern_validation_cache (
    id              INTEGER PRIMARY KEY,
    symbol_id       INTEGER NOT NULL REFERENCES code_elements(id) ON DELETE CASCADE,
    pattern_id      INTEGER REFERENCES design_patterns(id) ON DELETE CASCADE,
    pattern_name    TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    is_valid        INTEGER NOT NULL CHECK (is_valid IN (0, 1)),
    result          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(result)),  -- violations, notes
    confidence      REAL NOT NULL DEFAULT 0 CHECK (confidence BETWEEN 0 AND 1),
    model           TEXT,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    last_used_at    INTEGER NOT NULL DEFAULT (unixepoch()),
    hit_count       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (symbol_id, pattern_name, content_hash)
);
CREATE INDEX idx_pattern_validation_cache_hash ON pattern_validation_cache(content_hash);
CREATE INDEX idx_pattern_validation_cache_pattern ON pattern_validation_cache(pattern_id);

-- Functional areas of a project ('auth', 'billing', ...), nested via parent_id.
CREATE TABLE domain_clusters (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    parent_id       INTEGER REFERENCES domain_clusters(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    description     TEXT,
    cohesion        REAL NOT NULL DEFAULT 0 CHECK (cohesion BETWEEN 0 AND 1),
    file_count      INTEGER NOT NULL DEFAULT 0,
    symbol_count    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (project_id, name)
);
CREATE INDEX idx_domain_clusters_parent ON domain_clusters(parent_id);

CREATE TABLE domain_cluster_members (
    id              INTEGER PRIMARY KEY,
    cluster_id      INTEGER NOT NULL REFERENCES domain_clusters(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    symbol_id       INTEGER REFERENCES code_elements(id) ON DELETE CASCADE, -- NULL: whole file
    weight          REAL NOT NULL DEFAULT 1 CHECK (weight BETWEEN 0 AND 1)
);
CREATE UNIQUE INDEX idx_domain_cluster_members_key
    ON domain_cluster_members(cluster_id, file_path, ifnull(symbol_id, 0));
CREATE INDEX idx_domain_cluster_members_symbol ON domain_cluster_members(symbol_id);

CREATE TABLE code_quality_issues (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_path       TEXT NOT NULL,
    symbol_id       INTEGER REFERENCES code_elements(id) ON DELETE CASCADE,
    issue_type      TEXT NOT NULL CHECK (issue_type IN ('complexity', 'long_function',
                        'duplication', 'naming', 'dead_code', 'missing_docs',
                        'error_handling', 'security', 'performance', 'style', 'other')),
    severity        TEXT NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high',
                                                      'critical')),
    message         TEXT NOT NULL,
    start_line      INTEGER,                       -- 1-based inclusive
    end_line        INTEGER,
    suggested_fix   TEXT,
    auto_fixable    INTEGER NOT NULL DEFAULT 0 CHECK (auto_fixable IN (0, 1)),
    content_hash    TEXT,                          -- symbol content the issue was found in
    status          TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'resolved', 'ignored')),
    detected_at     INTEGER NOT NULL DEFAULT (unixepoch()),
    resolved_at     INTEGER
);
CREATE INDEX idx_code_quality_issues_file ON code_quality_issues(project_id, file_path);
CREATE INDEX idx_code_quality_issues_symbol ON code_quality_issues(symbol_id);
CREATE INDEX idx_code_quality_issues_open
    ON code_quality_issues(project_id, severity) WHERE status = 'open';

-- Per-language indexing settings (extensions, grammar, enabled), overriding built-ins.
CREATE TABLE language_configs (
    id              INTEGER PRIMARY KEY,
    language        TEXT NOT NULL UNIQUE,
    file_extensions TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(file_extensions)),
    grammar         TEXT,                          -- tree-sitter grammar module name
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    config          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
);

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
CREATE INDEX idx_code_imports_project ON code_imports(project_id);
