-- 008 budget and cache: every LLM request's reservation and settled cost, day/month
-- aggregates, the response cache (with the symbols whose content fed each entry), cache
-- statistics per model, and reusable reasoning patterns.
-- Money is INTEGER micro-dollars; budget days and months are UTC.

-- One row per request. A request reserves its worst-case cost ('reserved') inside a
-- BEGIN IMMEDIATE transaction that first sums the period, then settles the real cost.
CREATE TABLE budget_tracking (
    id              INTEGER PRIMARY KEY,
    request_id      TEXT NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    day             TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    month           TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    provider        TEXT NOT NULL,
    model           TEXT NOT NULL,
    reasoning_effort TEXT,                         -- provider vocabulary; NULL when not sent
    operation       TEXT,                          -- 'chat', 'explain', 'fix_error', 'embed', ...
    status          TEXT NOT NULL CHECK (status IN ('reserved', 'settled', 'refused',
                        'cache_hit', 'cancelled', 'error')),
    reserved_micro  INTEGER NOT NULL DEFAULT 0 CHECK (reserved_micro >= 0),
    cost_micro      INTEGER NOT NULL DEFAULT 0 CHECK (cost_micro >= 0),
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    from_cache      INTEGER NOT NULL DEFAULT 0 CHECK (from_cache IN (0, 1)),
    saved_micro     INTEGER NOT NULL DEFAULT 0 CHECK (saved_micro >= 0),
    project_id      INTEGER REFERENCES projects(id) ON DELETE SET NULL,
    message         TEXT,                          -- refusal or error text
    settled_at      INTEGER,
    CHECK (substr(day, 1, 7) = month)
);
CREATE INDEX idx_budget_tracking_day ON budget_tracking(day);
CREATE INDEX idx_budget_tracking_month_status ON budget_tracking(month, status);
CREATE INDEX idx_budget_tracking_project ON budget_tracking(project_id);
CREATE INDEX idx_budget_tracking_open ON budget_tracking(created_at) WHERE status = 'reserved';

CREATE TABLE budget_summary (
    period_type     TEXT NOT NULL CHECK (period_type IN ('day', 'month')),
    period          TEXT NOT NULL,                 -- 'YYYY-MM-DD' or 'YYYY-MM'
    cost_micro      INTEGER NOT NULL DEFAULT 0 CHECK (cost_micro >= 0),
    reserved_micro  INTEGER NOT NULL DEFAULT 0 CHECK (reserved_micro >= 0), -- open reservations
    requests        INTEGER NOT NULL DEFAULT 0,
    cache_hits      INTEGER NOT NULL DEFAULT 0,
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    saved_micro     INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (period_type, period),
    CHECK ((period_type = 'day' AND period GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]')
        OR (period_type = 'month' AND period GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'))
) WITHOUT ROWID;

-- Cached responses, keyed on the SHA-256 (hex) of the canonical request JSON.
CREATE TABLE llm_cache (
    cache_key       TEXT PRIMARY KEY
                    CHECK (length(cache_key) = 64 AND cache_key NOT GLOB '*[^0-9a-f]*'),
    model           TEXT NOT NULL,
    reasoning_effort TEXT,
    response        TEXT NOT NULL,
    tool_calls      TEXT CHECK (json_valid(tool_calls)),
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    cost_micro      INTEGER NOT NULL DEFAULT 0 CHECK (cost_micro >= 0), -- what a miss cost
    size_bytes      INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    expires_at      INTEGER NOT NULL,
    last_accessed_at INTEGER NOT NULL DEFAULT (unixepoch()),
    access_count    INTEGER NOT NULL DEFAULT 0 CHECK (access_count >= 0),
    lru_tick        INTEGER NOT NULL DEFAULT 0     -- time.time_ns() of the last access: LRU order
);
CREATE INDEX idx_llm_cache_expires ON llm_cache(expires_at);
CREATE INDEX idx_llm_cache_last_access ON llm_cache(last_accessed_at);
CREATE INDEX idx_llm_cache_lru ON llm_cache(lru_tick);

-- Running totals so the size cap is checked without summing the table on every insert.
CREATE TABLE llm_cache_totals (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    entries         INTEGER NOT NULL DEFAULT 0,
    bytes           INTEGER NOT NULL DEFAULT 0
);
INSERT INTO llm_cache_totals(id) VALUES (1);
CREATE TRIGGER llm_cache_totals_insert AFTER INSERT ON llm_cache BEGIN
    UPDATE llm_cache_totals SET entries = entries + 1, bytes = bytes + NEW.size_bytes
    WHERE id = 1;
END;
CREATE TRIGGER llm_cache_totals_delete AFTER DELETE ON llm_cache BEGIN
    UPDATE llm_cache_totals SET entries = entries - 1, bytes = bytes - OLD.size_bytes
    WHERE id = 1;
END;
CREATE TRIGGER llm_cache_totals_resize AFTER UPDATE OF size_bytes ON llm_cache BEGIN
    UPDATE llm_cache_totals SET bytes = bytes - OLD.size_bytes + NEW.size_bytes WHERE id = 1;
END;

-- The content_hash of every symbol whose text went into a cached request: editing that
-- symbol deletes the entries (lookup by content_hash).
CREATE TABLE llm_cache_symbols (
    cache_key       TEXT NOT NULL REFERENCES llm_cache(cache_key) ON DELETE CASCADE,
    content_hash    TEXT NOT NULL,
    PRIMARY KEY (cache_key, content_hash)
) WITHOUT ROWID;
CREATE INDEX idx_llm_cache_symbols_hash ON llm_cache_symbols(content_hash);

CREATE TABLE llm_cache_stats (
    model           TEXT PRIMARY KEY,
    hits            INTEGER NOT NULL DEFAULT 0 CHECK (hits >= 0),
    misses          INTEGER NOT NULL DEFAULT 0 CHECK (misses >= 0),
    saved_micro     INTEGER NOT NULL DEFAULT 0 CHECK (saved_micro >= 0),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch())
) WITHOUT ROWID;

-- Reasoning that worked before (how an error kind was diagnosed and fixed), replayed as
-- context for similar requests.
CREATE TABLE reasoning_patterns (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER REFERENCES projects(id) ON DELETE CASCADE, -- NULL: any project
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    trigger_type    TEXT NOT NULL CHECK (trigger_type IN ('build_error', 'question', 'refactor',
                        'feature', 'debug', 'review', 'other')),
    trigger_key     TEXT,                          -- e.g. error category or code it applies to
    solution_template TEXT,
    applicable_contexts TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(applicable_contexts)),
    use_count       INTEGER NOT NULL DEFAULT 0 CHECK (use_count >= 0),
    success_count   INTEGER NOT NULL DEFAULT 0 CHECK (success_count >= 0),
    success_rate    REAL GENERATED ALWAYS AS (
                        CASE WHEN use_count > 0 THEN 1.0 * success_count / use_count END) VIRTUAL,
    saved_micro     INTEGER NOT NULL DEFAULT 0 CHECK (saved_micro >= 0),
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    last_used_at    INTEGER,
    CHECK (success_count <= use_count)
);
CREATE INDEX idx_reasoning_patterns_trigger ON reasoning_patterns(trigger_type, trigger_key);
CREATE INDEX idx_reasoning_patterns_project ON reasoning_patterns(project_id);

CREATE TABLE reasoning_steps (
    id              INTEGER PRIMARY KEY,
    pattern_id      INTEGER NOT NULL REFERENCES reasoning_patterns(id) ON DELETE CASCADE,
    step_number     INTEGER NOT NULL CHECK (step_number >= 1),
    step_type       TEXT NOT NULL CHECK (step_type IN ('gather', 'analyze', 'hypothesize',
                        'decide', 'act', 'verify', 'other')),
    description     TEXT NOT NULL,
    rationale       TEXT,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (pattern_id, step_number)
);

CREATE TABLE pattern_usage (
    id              INTEGER PRIMARY KEY,
    pattern_id      INTEGER NOT NULL REFERENCES reasoning_patterns(id) ON DELETE CASCADE,
    operation_id    TEXT REFERENCES operations(id) ON DELETE SET NULL,
    project_id      INTEGER REFERENCES projects(id) ON DELETE SET NULL,
    match_score     REAL CHECK (match_score BETWEEN 0 AND 1),
    success         INTEGER CHECK (success IN (0, 1)),  -- NULL until the outcome is known
    outcome_notes   TEXT,
    time_saved_ms   INTEGER,
    saved_micro     INTEGER NOT NULL DEFAULT 0 CHECK (saved_micro >= 0),
    used_at         INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX idx_pattern_usage_pattern ON pattern_usage(pattern_id, used_at);
CREATE INDEX idx_pattern_usage_operation ON pattern_usage(operation_id);
CREATE INDEX idx_pattern_usage_project ON pattern_usage(project_id);
