-- 041: workspace/symbol reads fewer names of symbol_names.
-- The initials probe of one split of the query ('tear' + 'd' for 'teard') read every name
-- whose initials begin with the pieces' first letters ('td...': all the test_ names begin
-- with t) and GLOBbed each; when the first piece is longer than the initials, the probe
-- reads the names whose first word begins with it instead (the words start with word 0
-- after its marker), through this index.
CREATE INDEX idx_symbol_names_words ON symbol_names(project_id, words);
-- The names in the order of the ranking's ties (shorter name first, then the name), with
-- their lower case (covering): what a process reads to hold a project's names in memory.
CREATE INDEX idx_symbol_names_len ON symbol_names(project_id, len, name, lower);
-- A generation per project that changes whenever a name comes or goes, so a process can
-- keep the names in memory, in that order, and know when to read them again (one indexed
-- read per search instead of a scan). It starts at a random value, so that another
-- database at the same path never shows a generation a process has cached (within
-- +-2^62: adding one never overflows).
CREATE TABLE symbol_names_generation (
    project_id  INTEGER PRIMARY KEY,
    generation  INTEGER NOT NULL
);
CREATE TRIGGER symbol_names_generation_in AFTER INSERT ON symbol_names BEGIN
    INSERT INTO symbol_names_generation(project_id, generation)
        VALUES (new.project_id, random() % 4611686018427387904)
        ON CONFLICT (project_id) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER symbol_names_generation_out AFTER DELETE ON symbol_names BEGIN
    INSERT INTO symbol_names_generation(project_id, generation)
        VALUES (old.project_id, random() % 4611686018427387904)
        ON CONFLICT (project_id) DO UPDATE SET generation = generation + 1;
END;
INSERT INTO symbol_names_generation(project_id, generation)
    SELECT project_id, random() % 4611686018427387904 FROM symbol_names GROUP BY project_id;
