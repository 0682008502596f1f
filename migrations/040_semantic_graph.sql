-- 040 semantic graph (issue 19 part 2): nodes for symbols, files, modules and concepts and
-- the edges between them (calls, imports, uses_concept, same_domain, changes_with), built
-- from what is stored. 002's semantic_nodes holds one analysed symbol per row (symbol_id
-- NOT NULL, purpose NOT NULL) and semantic_edges allows only 002's relationships; SQLite
-- cannot change a NOT NULL or a CHECK in place, so both are rebuilt, keeping every row and
-- id. A node of a symbol with no analysis has analyzed_at NULL and purpose ''.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE semantic_nodes_new (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    node_kind       TEXT NOT NULL DEFAULT 'symbol' CHECK (node_kind = 'symbol'
                        OR node_kind = 'file' OR node_kind = 'module' OR node_kind = 'concept'),
    symbol_id       INTEGER UNIQUE REFERENCES code_elements(id) ON DELETE CASCADE,
    name            TEXT,                          -- file: its path; module: its dotted name
                                                   -- as imported; concept: its text (lower
                                                   -- case); symbol: NULL
    file_path       TEXT,                          -- symbol and file nodes; a module node of
                                                   -- one of the project's files
    purpose         TEXT NOT NULL DEFAULT '',
    description     TEXT,
    concepts        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(concepts)),
    domain_labels   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(domain_labels)),
    confidence      REAL NOT NULL DEFAULT 0 CHECK (confidence BETWEEN 0 AND 1),
    content_hash    TEXT NOT NULL DEFAULT '',      -- the symbol's content_hash when analysed
    model           TEXT,
    point_id        TEXT,
    collection      TEXT,
    analyzed_at     INTEGER,                       -- NULL: in the graph, not analysed
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    side_effects    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(side_effects)),
    CHECK ((node_kind = 'symbol') = (symbol_id IS NOT NULL)),
    CHECK ((node_kind = 'symbol') = (name IS NULL))
);
INSERT INTO semantic_nodes_new (id, project_id, node_kind, symbol_id, name, file_path, purpose,
        description, concepts, domain_labels, confidence, content_hash, model, point_id,
        collection, analyzed_at, updated_at, side_effects)
    SELECT n.id, n.project_id, 'symbol', n.symbol_id, NULL, e.file_path, n.purpose,
           n.description, n.concepts, n.domain_labels, n.confidence, n.content_hash, n.model,
           n.point_id, n.collection, n.analyzed_at, n.updated_at, n.side_effects
    FROM semantic_nodes n LEFT JOIN code_elements e ON e.id = n.symbol_id;

CREATE TABLE semantic_edges_keep AS SELECT * FROM semantic_edges;
DROP TABLE semantic_edges;
DROP TABLE semantic_nodes;
ALTER TABLE semantic_nodes_new RENAME TO semantic_nodes;

CREATE TABLE semantic_edges (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source_node_id  INTEGER NOT NULL REFERENCES semantic_nodes(id) ON DELETE CASCADE,
    target_node_id  INTEGER NOT NULL REFERENCES semantic_nodes(id) ON DELETE CASCADE,
    relationship    TEXT NOT NULL CHECK (relationship = 'calls' OR relationship = 'uses'
                        OR relationship = 'implements' OR relationship = 'extends'
                        OR relationship = 'tests' OR relationship = 'depends_on'
                        OR relationship = 'similar_to' OR relationship = 'related_to'
                        OR relationship = 'imports' OR relationship = 'uses_concept'
                        OR relationship = 'same_domain' OR relationship = 'changes_with'),
    strength        REAL NOT NULL DEFAULT 0 CHECK (strength BETWEEN 0 AND 1),
    metadata        TEXT CHECK (json_valid(metadata)),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    CHECK (source_node_id <> target_node_id),
    UNIQUE (source_node_id, target_node_id, relationship)
);
INSERT INTO semantic_edges (id, project_id, source_node_id, target_node_id, relationship,
        strength, metadata, created_at)
    SELECT id, project_id, source_node_id, target_node_id, relationship, strength, metadata,
           created_at FROM semantic_edges_keep;
DROP TABLE semantic_edges_keep;

CREATE INDEX idx_semantic_nodes_project ON semantic_nodes(project_id, node_kind);
CREATE INDEX idx_semantic_nodes_file ON semantic_nodes(project_id, file_path);
-- (symbol nodes have no name: NULLs never collide)
CREATE UNIQUE INDEX idx_semantic_nodes_named ON semantic_nodes(project_id, node_kind, name);
CREATE INDEX idx_semantic_edges_target ON semantic_edges(target_node_id);
CREATE INDEX idx_semantic_edges_project ON semantic_edges(project_id, relationship);
