-- 046 message facts: what 001/017/025 lack to extract facts from chat messages.
-- Each user message considered for facts (after its analysis) is marked once, with the hash
-- of its text: a text extracted once has its candidate facts copied, never asked again; a
-- batch whose answer stayed invalid after its retry is marked failed, nothing else written.
CREATE TABLE message_fact_extraction (
    entry_id        INTEGER PRIMARY KEY REFERENCES memory_entries(id) ON DELETE CASCADE,
    content_hash    TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    candidates      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(candidates)),
    error           TEXT,
    model           TEXT,
    extracted_at    INTEGER NOT NULL
);
CREATE INDEX idx_message_fact_extraction_hash ON message_fact_extraction(content_hash, status);

-- Every message a fact came from or was confirmed, changed or deleted by (memory_facts.
-- source_entry_id keeps only the one its current value came from): a fact inferred from
-- chat messages whose only source is a forgotten message goes with it.
CREATE TABLE memory_fact_sources (
    fact_id         INTEGER NOT NULL REFERENCES memory_facts(id) ON DELETE CASCADE,
    entry_id        INTEGER NOT NULL REFERENCES memory_entries(id) ON DELETE CASCADE,
    action          TEXT NOT NULL CHECK (action IN ('add', 'update', 'delete', 'keep')),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (fact_id, entry_id)
);
CREATE INDEX idx_memory_fact_sources_entry ON memory_fact_sources(entry_id);
