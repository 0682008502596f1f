-- 027 fix terms: the words and files of each past fix, so ranking the fixes most like an
-- error reads only the fixes that share a word or a file with it (a fix sharing neither
-- scores below the cut-off) instead of every fix of the project.
CREATE TABLE historical_fix_terms (
    project_id      INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('word', 'file')),
    term            TEXT NOT NULL,                 -- a match word, or a canonical path
    fix_id          INTEGER NOT NULL REFERENCES historical_fixes(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, kind, term, fix_id)
) WITHOUT ROWID;
CREATE INDEX idx_fix_terms_fix ON historical_fix_terms(fix_id);

INSERT OR IGNORE INTO historical_fix_terms(project_id, kind, term, fix_id)
SELECT h.project_id, 'file', j.value, h.id FROM historical_fixes h, json_each(h.files) j
WHERE json_valid(h.files) AND j.type = 'text';

WITH RECURSIVE split(fix_id, project_id, word, rest) AS (
    SELECT id, project_id, '', words || ' ' FROM historical_fixes
    UNION ALL
    SELECT fix_id, project_id, substr(rest, 1, instr(rest, ' ') - 1),
           substr(rest, instr(rest, ' ') + 1)
    FROM split WHERE rest <> ''
)
INSERT OR IGNORE INTO historical_fix_terms(project_id, kind, term, fix_id)
SELECT project_id, 'word', word, fix_id FROM split WHERE word <> '';
