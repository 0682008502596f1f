-- 033 rolling summaries: what 001/025 lack for schema-checked summaries of a session.

-- A summary is a short text plus the key facts and decisions of its block (a JSON list of
-- text), so a level-2 summary is made from its ten level-1 summaries' texts and facts.
ALTER TABLE rolling_summaries ADD COLUMN key_facts TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(key_facts));

-- One summary per block: a block is named by its session, level (window_size) and first
-- message, so two runs racing write it once.
CREATE UNIQUE INDEX idx_rolling_summaries_block
    ON rolling_summaries(session_id, window_size, first_entry_id);
