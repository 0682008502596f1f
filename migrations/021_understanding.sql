-- 021 code understanding: what 002's semantic, pattern, cluster and quality tables lack.
-- code_quality_issues: one row per measured metric over its threshold (metric, value,
-- threshold) with the file's churn (counted commits) when git history is mined.
-- semantic_nodes: the side effects an analysis names. domain_clusters: how the name was
-- found (the LLM or the files' common path). design_patterns: a structural candidate until
-- the LLM validated (or rejected) it, with the evidence the detector saw.

ALTER TABLE code_quality_issues ADD COLUMN metric TEXT;      -- complexity, nesting, length, params
ALTER TABLE code_quality_issues ADD COLUMN value INTEGER;
ALTER TABLE code_quality_issues ADD COLUMN threshold INTEGER;
ALTER TABLE code_quality_issues ADD COLUMN churn INTEGER;    -- counted commits of the file

ALTER TABLE semantic_nodes ADD COLUMN side_effects TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(side_effects));

ALTER TABLE domain_clusters ADD COLUMN named_by TEXT NOT NULL DEFAULT 'path'
    CHECK (named_by IN ('path', 'llm'));

ALTER TABLE design_patterns ADD COLUMN status TEXT NOT NULL DEFAULT 'candidate'
    CHECK (status IN ('candidate', 'validated', 'rejected'));
ALTER TABLE design_patterns ADD COLUMN evidence TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(evidence));
