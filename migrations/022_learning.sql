-- 022 learning from outcomes (issue 20, first step): the user's word on an answer, whether an
-- applied fix stayed (its error gone in the next complete build run), and the judged outcomes
-- that reasoning_patterns (008) count. A pattern is one approach (kind of change) that fixed
-- errors of one category in a project; its use_count is the number of judged outcomes, its
-- success_count the good ones.

-- One judgment per operation: giving feedback again replaces it. artifacts: what the
-- operation had produced when the feedback was given ([{id, file, status}]).
CREATE TABLE operation_feedback (
    operation_id    TEXT PRIMARY KEY REFERENCES operations(id) ON DELETE CASCADE,
    helpful         INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    note            TEXT,
    artifacts       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(artifacts)),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
) WITHOUT ROWID;

-- What became of an applied fix (an artifact): 'stayed' when the first complete build run
-- after it was applied no longer reported its error; 'reverted' when the file was saved back
-- to its original; 'returned' when its error came back (023's artifact_errors.returned_at).
CREATE TABLE fix_outcomes (
    artifact_id     INTEGER PRIMARY KEY REFERENCES artifacts(id) ON DELETE CASCADE,
    outcome         TEXT NOT NULL CHECK (outcome IN ('stayed', 'reverted', 'returned')),
    run_id          INTEGER REFERENCES build_runs(id) ON DELETE SET NULL,
    decided_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_fix_outcomes_run ON fix_outcomes(run_id);

-- approach: the machine key of the kind of change (import, signature, guard, addition,
-- removal, edit); name, description, solution_template and the steps are the user's to edit.
ALTER TABLE reasoning_patterns ADD COLUMN approach TEXT;
ALTER TABLE reasoning_patterns ADD COLUMN last_success_at INTEGER;
ALTER TABLE reasoning_patterns ADD COLUMN retired_at INTEGER;  -- set: never used again
-- What a fixError looks up: the live patterns of a category that have worked.
CREATE INDEX idx_reasoning_patterns_live ON reasoning_patterns(project_id, trigger_key,
    success_rate DESC, success_count DESC, last_success_at DESC, id)
    WHERE trigger_type = 'build_error' AND retired_at IS NULL AND success_count > 0;

-- The latest judged outcome of an operation for a pattern (its own fix's approach, or a
-- pattern its context showed): success 1 or 0, and why.
CREATE TABLE pattern_outcomes (
    operation_id    TEXT NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
    pattern_id      INTEGER NOT NULL REFERENCES reasoning_patterns(id) ON DELETE CASCADE,
    success         INTEGER NOT NULL CHECK (success IN (0, 1)),
    reason          TEXT NOT NULL CHECK (reason IN ('stayed', 'reverted', 'returned',
                        'helpful', 'unhelpful')),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (operation_id, pattern_id)
) WITHOUT ROWID;
CREATE INDEX idx_pattern_outcomes_pattern ON pattern_outcomes(pattern_id);
