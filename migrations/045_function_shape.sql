-- Nesting depth and parameter count of functions, measured by the index from the tree it
-- parses anyway (index/metrics.py), so the quality pass needs no second parse. NULL for
-- other kinds and for rows indexed before this migration (measuring fills those in).
ALTER TABLE code_elements ADD COLUMN nesting INTEGER;
ALTER TABLE code_elements ADD COLUMN params INTEGER;
