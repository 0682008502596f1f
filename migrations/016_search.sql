-- 016 search: the keyword index, always on (no endpoint or key needed).
-- FTS5 tables whose rowid is the id of the row they index. Their text is prepared in
-- Python (mira_ls/search/terms.py): every compound identifier is followed by its words
-- (parseHTTPHeader -> "parseHTTPHeader parse http header"), and '_' is a token character,
-- so the whole identifier is one token too and an exact name still matches best.
-- Porter stemming lets "retries" find retry and "uploads" upload.

-- One row per code_elements row (rowid = code_elements.id); written by the indexer in the
-- same transaction as the symbol: a body edit rewrites one row, a delete removes it.
CREATE VIRTUAL TABLE search_symbols USING fts5(
    name, qualified_name, path, signature, docstring, body,
    tokenize = "porter unicode61 tokenchars '_'"
);

CREATE TRIGGER search_symbols_gone AFTER DELETE ON code_elements BEGIN
    DELETE FROM search_symbols WHERE rowid = old.id;
END;

-- One row per git_commits row (rowid = git_commits.id): subject, body, changed paths.
CREATE VIRTUAL TABLE search_commits USING fts5(
    subject, message, files,
    tokenize = "porter unicode61 tokenchars '_'"
);

CREATE TRIGGER search_commits_gone AFTER DELETE ON git_commits BEGIN
    DELETE FROM search_commits WHERE rowid = old.id;
END;

-- Per project: the symbols indexed before this migration still need their rows (filled by
-- the next `mira-ls index` or server start), and how far commits are in search_commits.
CREATE TABLE search_state (
    project_id      INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    symbols_backfill INTEGER NOT NULL DEFAULT 0 CHECK (symbols_backfill IN (0, 1)),
    commits_upto    INTEGER NOT NULL DEFAULT 0     -- git_commits.id up to which rows exist
);
INSERT INTO search_state(project_id, symbols_backfill)
    SELECT DISTINCT project_id, 1 FROM code_elements;

-- Vectors by the text they embed: (model, dimensions, SHA-256 of the exact text sent). A
-- text is embedded once, whichever symbol, file, project or clone it comes from; the vector
-- stores (sqlite-vec, Qdrant) index copies of these under point ids derived from that key.
CREATE TABLE embeddings (
    id              INTEGER PRIMARY KEY,
    model           TEXT NOT NULL,
    dimensions      INTEGER NOT NULL CHECK (dimensions > 0),
    text_hash       TEXT NOT NULL,                 -- SHA-256 hex of the embedded text
    vector          BLOB NOT NULL CHECK (length(vector) = 4 * dimensions), -- float32 LE
    tokens          INTEGER NOT NULL DEFAULT 0,    -- o200k count of the text (estimates)
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (model, dimensions, text_hash)
);

-- What is in the vector collections: one row per embedded entry (a symbol's text, a commit
-- message, a conversation message), its payload for filtering, and the vector it points to.
-- sqlite-vec keeps the sign bits of each vector in a vec0 table made at run time (rowid =
-- this id; a vec0 table in a migration would make the file unreadable without the
-- extension); Qdrant keeps its copy under point_id. Deleting a symbol or commit deletes
-- its row here; the vector stores drop rows without one when they next sync.
CREATE TABLE vector_points (
    id              INTEGER PRIMARY KEY,
    collection      TEXT NOT NULL CHECK (collection IN ('code', 'git', 'conversation')),
    point_id        TEXT NOT NULL,                 -- UUID of (model, dimensions, text hash)
    embedding_id    INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
    project_id      INTEGER REFERENCES projects(id) ON DELETE CASCADE,
    user_id         INTEGER REFERENCES users(id) ON DELETE CASCADE, -- conversation: its owner
    kind            TEXT NOT NULL,                 -- symbol kind, 'commit', 'message'...
    path            TEXT,
    symbol_id       INTEGER REFERENCES code_elements(id) ON DELETE CASCADE,
    commit_id       INTEGER REFERENCES git_commits(id) ON DELETE CASCADE,
    content_hash    TEXT NOT NULL,                 -- SHA-256 of the embedded text
    created_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
-- Each foreign key leads a full index, so a cascade from its parent never scans this
-- table (NULLs are distinct in a UNIQUE index: points without a symbol do not collide).
CREATE UNIQUE INDEX idx_vector_points_symbol ON vector_points(symbol_id, collection);
CREATE UNIQUE INDEX idx_vector_points_commit ON vector_points(commit_id, collection);
CREATE INDEX idx_vector_points_project ON vector_points(project_id, collection);
CREATE INDEX idx_vector_points_user ON vector_points(user_id);
CREATE INDEX idx_vector_points_embedding ON vector_points(embedding_id);
