-- 011 budget holds: when an upstream call reports a cost above what was reserved for it
-- (a server that ignores the output cap, or reports impossible usage), the true cost is
-- recorded and spending stops until the next daily reset or until the user confirms
-- (`mira-ls budget --resume`, the mira.resumeBudget command). The hold survives restarts.
CREATE TABLE budget_holds (
    id              INTEGER PRIMARY KEY,
    created_at      INTEGER NOT NULL,
    until_at        INTEGER NOT NULL,              -- the next daily reset (UTC)
    request_id      TEXT,                          -- budget_tracking.request_id of the call
    reserved_micro  INTEGER NOT NULL CHECK (reserved_micro >= 0),
    cost_micro      INTEGER NOT NULL CHECK (cost_micro >= 0),
    message         TEXT NOT NULL,                 -- the sentence the user was shown
    resumed_at      INTEGER,                       -- NULL while the hold stands
    CHECK (until_at >= created_at)
);
CREATE INDEX idx_budget_holds_open ON budget_holds(until_at) WHERE resumed_at IS NULL;
