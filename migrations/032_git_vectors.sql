-- 032 git vectors: the `git` collection holds a point per commit (kind 'commit', commit_id
-- set) and a point per historical fix (kind 'fix', fix_id set: the fix's message and the
-- definitions it touched). A fix and its commit are two entries of one collection, so the
-- fix's point is keyed by its own row; deleting the fix (or its commit) deletes the point.
ALTER TABLE vector_points ADD COLUMN fix_id INTEGER REFERENCES historical_fixes(id) ON DELETE CASCADE;
CREATE UNIQUE INDEX idx_vector_points_fix ON vector_points(fix_id, collection);
