-- 036 domain clusters: what 002's domain_clusters (and 021's named_by) lack for
-- recomputed, named communities.

-- SHA-256 of the cluster's sorted member paths: a recomputation that finds the same
-- members keeps the name the LLM gave them without asking again.
ALTER TABLE domain_clusters ADD COLUMN member_hash TEXT NOT NULL DEFAULT '';
-- The cluster's top experts, computed with it (JSON list of {"author", "email",
-- "commits", "lines_added"}), so the hover reads them and computes nothing.
ALTER TABLE domain_clusters ADD COLUMN experts TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(experts));

-- The hover looks the cluster of a file up by its path.
CREATE INDEX idx_domain_cluster_members_path ON domain_cluster_members(file_path);
