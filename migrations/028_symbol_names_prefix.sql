-- 028: workspace/symbol's prefix matches through an index. A short query that many names
-- begin with ('tes' in a project of test_ functions) ranked every name holding it as a
-- subsequence; when the names beginning with it fill the answer, they are its best ranks
-- and this index finds them without reading the others.
CREATE INDEX idx_symbol_names_nocase ON symbol_names(project_id, name COLLATE NOCASE);
