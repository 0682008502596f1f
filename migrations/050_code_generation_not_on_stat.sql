-- 050 code generation, not moved by a stat (issue 13): migration 048's update trigger fired
-- for every UPDATE of a file row, also for the size and mtime that an index run refreshes
-- when a checkout or a touch moved them without changing the bytes; that made the held
-- resolvers and the dependencies (migration 049) start again for nothing. Now only the
-- columns that describe the file's content, name or state move it.
DROP TRIGGER code_generation_file_update;
CREATE TRIGGER code_generation_file_update
AFTER UPDATE OF project_id, file_path, content_hash, language, line_count, status, error,
    parse_errors, indexed_at, raw_path, non_ascii_lines ON repository_files BEGIN
    INSERT INTO code_generation(project_id, generation) VALUES (NEW.project_id, 1)
        ON CONFLICT(project_id) DO UPDATE SET generation = generation + 1;
END;
