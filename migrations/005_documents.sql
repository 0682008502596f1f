-- 005 documents: files the user gives mira-ls as reference (specs, notes, READMEs) and
-- their chunks, each chunk with the vector point that holds its embedding.

CREATE TABLE documents (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER REFERENCES projects(id) ON DELETE CASCADE, -- NULL: personal
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    source_path     TEXT NOT NULL,                 -- absolute path or URL it was read from
    title           TEXT,
    mime_type       TEXT,
    size_bytes      INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    content_hash    TEXT NOT NULL,                 -- SHA-256 of the source bytes
    page_count      INTEGER,
    chunk_count     INTEGER NOT NULL DEFAULT 0,
    token_count     INTEGER NOT NULL DEFAULT 0,
    metadata        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'chunked',
                        'embedded', 'error')),
    error           TEXT,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE UNIQUE INDEX idx_documents_source ON documents(ifnull(project_id, 0), source_path);
CREATE INDEX idx_documents_hash ON documents(content_hash);
CREATE INDEX idx_documents_project ON documents(project_id);
CREATE INDEX idx_documents_user ON documents(user_id);

CREATE TABLE document_chunks (
    id              INTEGER PRIMARY KEY,
    document_id     INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    chunk_index     INTEGER NOT NULL CHECK (chunk_index >= 0),
    content         TEXT NOT NULL,
    token_count     INTEGER NOT NULL DEFAULT 0,
    content_hash    TEXT NOT NULL,
    page_number     INTEGER,
    start_offset    INTEGER,                       -- character offsets in the document text
    end_offset      INTEGER,
    embedding_model TEXT,
    point_id        TEXT,                          -- NULL until embedded
    collection      TEXT,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (document_id, chunk_index)
);
CREATE INDEX idx_document_chunks_point ON document_chunks(collection, point_id);
