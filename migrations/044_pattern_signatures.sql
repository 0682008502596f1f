-- 044 pattern signatures (issue 20): what a reasoning pattern is matched by beside its
-- category. Each problem a pattern's own fix solved adds its signature: the build error's
-- error_hash, its tool and code ('ruff:F401'), the file's language, the concepts of the
-- definitions at the error's line (concept_index), and 'text': the SHA-256 of the error's
-- text as embedded (embeddings.text_hash), whose stored vector takes part in the match when
-- the configured embedding space has one. seen: how many of its fixes had that value.
CREATE TABLE pattern_signatures (
    pattern_id      INTEGER NOT NULL REFERENCES reasoning_patterns(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('error_hash', 'code', 'language', 'concept',
                        'text')),
    value           TEXT NOT NULL,
    seen            INTEGER NOT NULL DEFAULT 1 CHECK (seen >= 1),
    last_at         INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (pattern_id, kind, value)
) WITHOUT ROWID;
-- A new error's hash or code finds the patterns that fixed it before, in any category, the
-- most recently seen first (read in index order: no sort however many share a code).
CREATE INDEX idx_pattern_signatures_value ON pattern_signatures(kind, value, last_at DESC);

-- A step that is a tool call of the fix that worked (the latest success that made any):
-- the tool's name and its arguments (redacted as they were recorded); NULL for the
-- gather / act / verify steps.
ALTER TABLE reasoning_steps ADD COLUMN tool_name TEXT;
ALTER TABLE reasoning_steps ADD COLUMN tool_arguments TEXT
    CHECK (tool_arguments IS NULL OR json_valid(tool_arguments));

-- 1: the pattern's name, description and template were redacted (secret-looking strings
-- masked) when they were stored, so the context that shows them needs no redaction pass of
-- its own at every assembly; 0 (patterns stored before this migration): redacted when read.
ALTER TABLE reasoning_patterns ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0
    CHECK (redacted IN (0, 1));
