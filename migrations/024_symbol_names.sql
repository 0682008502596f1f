-- 024 symbol names: what workspace/symbol ranks, one row per distinct name of a project's
-- symbols other than modules (a module is never an answer), with what the ranking needs
-- ready: lower(name) and length(name) as SQLite computes them, and the words of the name
-- for the initials match ('gcs' and 'getcs' for get_call_sites). The words need Python's
-- split (camelCase humps): the store's one insert path (mira_ls/store/code.py
-- insert_symbols) counts new symbols in with their words; the triggers below count out every
-- delete (cascades included) and follow a rename. A row without words (made here, or by a
-- rename) is filled by the next index run (fill_symbol_words); a search treats it the slow
-- way meanwhile.

CREATE TABLE symbol_names (
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,                 -- as written (two spellings: two rows)
    lower           TEXT NOT NULL,                 -- lower(name)
    len             INTEGER NOT NULL,              -- length(name)
    symbols         INTEGER NOT NULL,              -- code_elements rows with this name
    initials        TEXT,                          -- first letters of the first 8 words
    words           TEXT,                          -- the first 8 words, lower case, word i
                                                   -- after the marker char(57344 + i)
    PRIMARY KEY (project_id, name)
) WITHOUT ROWID;
CREATE INDEX idx_symbol_names_initials ON symbol_names(project_id, initials);
CREATE INDEX idx_symbol_names_unfilled ON symbol_names(project_id) WHERE words IS NULL;

CREATE TRIGGER symbol_names_gone AFTER DELETE ON code_elements
WHEN old.kind <> 'module' BEGIN
    UPDATE symbol_names SET symbols = symbols - 1
        WHERE project_id = old.project_id AND name = old.name;
    DELETE FROM symbol_names
        WHERE project_id = old.project_id AND name = old.name AND symbols <= 0;
END;

CREATE TRIGGER symbol_names_renamed_from AFTER UPDATE OF project_id, name, kind ON code_elements
WHEN old.kind <> 'module' AND (old.project_id <> new.project_id OR old.name <> new.name
    OR new.kind = 'module') BEGIN
    UPDATE symbol_names SET symbols = symbols - 1
        WHERE project_id = old.project_id AND name = old.name;
    DELETE FROM symbol_names
        WHERE project_id = old.project_id AND name = old.name AND symbols <= 0;
END;

CREATE TRIGGER symbol_names_renamed_to AFTER UPDATE OF project_id, name, kind ON code_elements
WHEN new.kind <> 'module' AND (old.project_id <> new.project_id OR old.name <> new.name
    OR old.kind = 'module') BEGIN
    INSERT INTO symbol_names(project_id, name, lower, len, symbols)
        VALUES (new.project_id, new.name, lower(new.name), length(new.name), 1)
        ON CONFLICT (project_id, name) DO UPDATE SET symbols = symbols + 1;
END;

INSERT INTO symbol_names(project_id, name, lower, len, symbols)
    SELECT project_id, name, lower(name), length(name), count(*) FROM code_elements
    WHERE kind <> 'module' GROUP BY project_id, name;
