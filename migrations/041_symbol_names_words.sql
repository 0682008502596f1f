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
-- Every name that comes or goes, in order, so a process can keep a project's names in
-- memory and bring them up to date by reading what changed since (a search reads the
-- project's last seq through the index: one probe) instead of reading every name again
-- after each save. Names come through the store's one insert path (store/code.py
-- insert_symbols writes their rows; a full index writes one row of added = 2 per
-- transaction instead, "read every name again", which costs less than a row per name) and
-- through the rename trigger (re-created below with its row); names go by the trigger on
-- symbol_names' deletes. The first row takes a random seq and the others follow it, so
-- another database at the same path never shows a seq a process has seen (within +-2^62:
-- the count never overflows). The writer prunes old rows (prune_symbol_names_log) and
-- records below what seq they are gone, so a process behind that reads everything again.
CREATE TABLE symbol_names_log (
    seq         INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL,
    name        TEXT NOT NULL,
    added       INTEGER NOT NULL               -- 1 came, 0 went, 2 read every name again
);
CREATE INDEX idx_symbol_names_log ON symbol_names_log(project_id, seq);
CREATE TABLE symbol_names_log_pruned (
    project_id  INTEGER PRIMARY KEY,
    below       INTEGER NOT NULL               -- rows of seq < below are gone
);
INSERT INTO symbol_names_log(seq, project_id, name, added)
    VALUES (random() % 4611686018427387904, 0, '', 0);
CREATE TRIGGER symbol_names_log_out AFTER DELETE ON symbol_names BEGIN
    INSERT INTO symbol_names_log(project_id, name, added) VALUES (old.project_id, old.name, 0);
END;
DROP TRIGGER symbol_names_renamed_to;
CREATE TRIGGER symbol_names_renamed_to AFTER UPDATE OF project_id, name, kind ON code_elements
WHEN new.kind <> 'module' AND (old.project_id <> new.project_id OR old.name <> new.name
    OR old.kind = 'module') BEGIN
    INSERT INTO symbol_names(project_id, name, lower, len, symbols)
        VALUES (new.project_id, new.name, lower(new.name), length(new.name), 1)
        ON CONFLICT (project_id, name) DO UPDATE SET symbols = symbols + 1;
    INSERT INTO symbol_names_log(project_id, name, added) VALUES (new.project_id, new.name, 1);
END;
