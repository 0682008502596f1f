-- 047 kept outcomes (issue 20): an applied artifact whose change is still in its file a day
-- after it was applied was 'kept' (a success of its operation); one whose change is no longer
-- there was 'not_kept' (a failure; a file saved back to its original is still 'reverted').
-- SQLite cannot widen a CHECK in place: fix_outcomes and pattern_outcomes (022) are copied
-- into tables whose CHECKs name the two new values; no other table refers to them.
CREATE TABLE fix_outcomes_047 (
    artifact_id     INTEGER PRIMARY KEY REFERENCES artifacts(id) ON DELETE CASCADE,
    outcome         TEXT NOT NULL CHECK (outcome IN ('stayed', 'reverted', 'returned', 'kept',
                        'not_kept')),
    run_id          INTEGER REFERENCES build_runs(id) ON DELETE SET NULL,
    decided_at      INTEGER NOT NULL DEFAULT (unixepoch())
);
INSERT INTO fix_outcomes_047(artifact_id, outcome, run_id, decided_at)
    SELECT artifact_id, outcome, run_id, decided_at FROM fix_outcomes;
DROP TABLE fix_outcomes;
ALTER TABLE fix_outcomes_047 RENAME TO fix_outcomes;
CREATE INDEX idx_fix_outcomes_run ON fix_outcomes(run_id);

CREATE TABLE pattern_outcomes_047 (
    operation_id    TEXT NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
    pattern_id      INTEGER NOT NULL REFERENCES reasoning_patterns(id) ON DELETE CASCADE,
    success         INTEGER NOT NULL CHECK (success IN (0, 1)),
    reason          TEXT NOT NULL CHECK (reason IN ('stayed', 'reverted', 'returned',
                        'helpful', 'unhelpful', 'kept', 'not_kept')),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (operation_id, pattern_id)
) WITHOUT ROWID;
INSERT INTO pattern_outcomes_047(operation_id, pattern_id, success, reason, updated_at)
    SELECT operation_id, pattern_id, success, reason, updated_at FROM pattern_outcomes;
DROP TABLE pattern_outcomes;
ALTER TABLE pattern_outcomes_047 RENAME TO pattern_outcomes;
CREATE INDEX idx_pattern_outcomes_pattern ON pattern_outcomes(pattern_id);

-- The applied artifacts a day check looks at: applied, not judged to the end yet.
CREATE INDEX idx_artifacts_applied ON artifacts(project_id, applied_at) WHERE status = 'applied';
