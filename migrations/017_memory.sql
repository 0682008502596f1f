-- 017 memory: what 001 lacks to keep facts correctable and forgettable.
-- A fact's earlier values, with when each was true: an update or a delete decided against a
-- new statement moves the old value here (memory_facts keeps one row per key).
CREATE TABLE memory_fact_history (
    id              INTEGER PRIMARY KEY,
    fact_id         INTEGER NOT NULL REFERENCES memory_facts(id) ON DELETE CASCADE,
    value           TEXT NOT NULL,
    confidence      REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    valid_from      INTEGER NOT NULL,              -- when this value was first recorded
    valid_to        INTEGER NOT NULL,              -- when it was superseded or deleted
    reason          TEXT NOT NULL CHECK (reason IN ('updated', 'deleted')),
    source_entry_id INTEGER REFERENCES memory_entries(id) ON DELETE SET NULL
);
CREATE INDEX idx_memory_fact_history_fact ON memory_fact_history(fact_id, valid_to);
CREATE INDEX idx_memory_fact_history_source ON memory_fact_history(source_entry_id);

-- The vector of each fact ("key: value"), kept out of vector_points on purpose: the vector
-- stores mirror vector_points (a Qdrant server may be a team's), and memory stays in the
-- user's own database. Forgetting a fact cascades here; the embedding itself is removed
-- by store/memory_facts.py when no other row uses it.
CREATE TABLE memory_fact_vectors (
    fact_id         INTEGER PRIMARY KEY REFERENCES memory_facts(id) ON DELETE CASCADE,
    embedding_id    INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE
);
CREATE INDEX idx_memory_fact_vectors_embedding ON memory_fact_vectors(embedding_id);
