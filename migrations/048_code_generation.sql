-- 048 code generation (issue 13): a per-project counter that moves whenever a file's rows
-- change (its symbols and imports are written with its repository_files row, in the same
-- transaction). A request-side resolver keeps what it evaluated (class hierarchies, scopes)
-- while the counter stands still, instead of evaluating them again for every request.
-- No foreign key: deleting a project deletes its file rows, whose trigger writes this row
-- again; a counter left behind only has to move, never to be right about a project.
CREATE TABLE code_generation (
    project_id      INTEGER PRIMARY KEY,
    generation      INTEGER NOT NULL
);
CREATE TRIGGER code_generation_file_insert AFTER INSERT ON repository_files BEGIN
    INSERT INTO code_generation(project_id, generation) VALUES (NEW.project_id, 1)
        ON CONFLICT(project_id) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER code_generation_file_update AFTER UPDATE ON repository_files BEGIN
    INSERT INTO code_generation(project_id, generation) VALUES (NEW.project_id, 1)
        ON CONFLICT(project_id) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER code_generation_file_delete AFTER DELETE ON repository_files BEGIN
    INSERT INTO code_generation(project_id, generation) VALUES (OLD.project_id, 1)
        ON CONFLICT(project_id) DO UPDATE SET generation = generation + 1;
END;
