-- 039 learned patterns: what 001/025 lack to fold patterns again without losing the user's word.
-- rule names the detector that found a pattern (NULL: one the user wrote), so the next fold
-- updates the same row even when the user reworded its description; dismissed keeps a
-- pattern the user forgot from being found again by the same rule.
ALTER TABLE learned_patterns ADD COLUMN rule TEXT;
ALTER TABLE learned_patterns ADD COLUMN dismissed INTEGER NOT NULL DEFAULT 0
    CHECK (dismissed IN (0, 1));
CREATE UNIQUE INDEX idx_learned_patterns_rule
    ON learned_patterns(user_id, ifnull(project_id, 0), rule) WHERE rule IS NOT NULL;
