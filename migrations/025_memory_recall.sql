-- 025 memory recall: what 001/005 lack for message analysis, recall, summaries and documents.

-- Message analysis is cached by the message's hash (the same text is analysed once); a
-- batch whose answer stayed invalid after its retry marks its messages failed (status,
-- error) with nothing else written. intent_label keeps the issue's labels (question,
-- request, correction, preference, feedback, other); intent keeps 001's vocabulary.
ALTER TABLE message_analysis ADD COLUMN content_hash TEXT;
ALTER TABLE message_analysis ADD COLUMN status TEXT NOT NULL DEFAULT 'done'
    CHECK (status IN ('done', 'failed'));
ALTER TABLE message_analysis ADD COLUMN error TEXT;
ALTER TABLE message_analysis ADD COLUMN intent_label TEXT;
CREATE INDEX idx_message_analysis_hash ON message_analysis(content_hash, status);

-- The vector of a message ('conversation' collection) and of a summary or document chunk:
-- kept in the user's own database (never in vector_points, which a shared Qdrant mirrors).
ALTER TABLE message_embeddings ADD COLUMN embedding_id INTEGER
    REFERENCES embeddings(id) ON DELETE CASCADE;
CREATE INDEX idx_message_embeddings_embedding ON message_embeddings(embedding_id);
CREATE INDEX idx_message_embeddings_entry ON message_embeddings(entry_id);
ALTER TABLE rolling_summaries ADD COLUMN embedding_id INTEGER
    REFERENCES embeddings(id) ON DELETE SET NULL;
CREATE INDEX idx_rolling_summaries_embedding ON rolling_summaries(embedding_id);
ALTER TABLE document_chunks ADD COLUMN section TEXT;     -- heading path, for citations
ALTER TABLE document_chunks ADD COLUMN embedding_id INTEGER
    REFERENCES embeddings(id) ON DELETE SET NULL;
CREATE INDEX idx_document_chunks_embedding ON document_chunks(embedding_id);

-- Keyword index of document chunks (rowid = document_chunks.id).
CREATE VIRTUAL TABLE search_documents USING fts5(
    section, content,
    tokenize = "porter unicode61 tokenchars '_'"
);
CREATE TRIGGER search_documents_gone AFTER DELETE ON document_chunks BEGIN
    DELETE FROM search_documents WHERE rowid = old.id;
END;

-- Profile and patterns are editable records: a field or pattern the user edited is not
-- overwritten by the next fold.
ALTER TABLE user_profile ADD COLUMN verbosity TEXT;
ALTER TABLE user_profile ADD COLUMN edited_fields TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(edited_fields));
ALTER TABLE learned_patterns ADD COLUMN user_edited INTEGER NOT NULL DEFAULT 0
    CHECK (user_edited IN (0, 1));
