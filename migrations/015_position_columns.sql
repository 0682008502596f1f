-- Ready-to-serve positions (issue 13). Stored columns count code points; a client counting
-- UTF-16 or UTF-8 units needs the line's text only where a line is not ASCII. The indexer
-- records those lines per file, so converting a position elsewhere needs no file read.
--   NULL: not known (indexed before this migration, or too many to list): read the file
--   '':   every line is ASCII
--   '3,17,240': the 1-based numbers of the lines that are not
ALTER TABLE repository_files ADD COLUMN non_ascii_lines TEXT;
