-- 023 artifact_errors: the build error a proposed fix (an artifact) was made for, and whether
-- that error came back in a build run that started after the fix was applied. A fix whose
-- error returned did not fix it; later reasoning about fixes reads this.

CREATE TABLE artifact_errors (
    artifact_id     INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    error_id        INTEGER NOT NULL REFERENCES build_errors(id) ON DELETE CASCADE,
    returned_at     INTEGER,                       -- seen again after the fix was applied
    returned_run_id INTEGER REFERENCES build_runs(id) ON DELETE SET NULL,
    PRIMARY KEY (artifact_id, error_id)
) WITHOUT ROWID;
CREATE INDEX idx_artifact_errors_error ON artifact_errors(error_id);
CREATE INDEX idx_artifact_errors_run ON artifact_errors(returned_run_id);
