-- 049 dependencies basis (issue 13): what a project's external_dependencies were computed
-- from: the code generation (migration 048) and a fingerprint of its manifests' paths,
-- sizes and modification times. An index run that changed no file and finds the same
-- manifests keeps the rows instead of recomputing them (a few hundred ms of Python over
-- every import row, which on a server's start held the GIL while requests waited).
CREATE TABLE dependencies_basis (
    project_id      INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    generation      INTEGER NOT NULL,
    manifests       TEXT NOT NULL
);
