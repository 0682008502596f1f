-- 042 vector index state: a generation per sqlite-vec bit table (vec_bits_*, made at run
-- time), bumped in the transaction of every sync that adds or removes its rows. A process
-- keeps the sign bits in memory for the Hamming pass and reads this one row before each
-- search, so it refreshes them exactly when they changed, in this process or another.
CREATE TABLE vector_index_state (
    name            TEXT PRIMARY KEY,              -- the vec0 table
    generation      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
