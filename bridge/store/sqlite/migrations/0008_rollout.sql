-- Shadow mode's plans: what the sync engine would send for each user,
-- kept until it runs live. doc is the engine's description of the change
-- (JSON); plan_kinds lists its kinds, so plans are counted and listed by
-- kind from an index.
CREATE TABLE plans (
    user_id         TEXT    PRIMARY KEY,
    user_name       TEXT    NOT NULL,
    user_name_lower TEXT    NOT NULL,
    priority        INTEGER NOT NULL,
    planned         INTEGER NOT NULL,
    doc             TEXT    NOT NULL
);
CREATE INDEX plans_user_name ON plans (user_name_lower, user_id);
CREATE TABLE plan_kinds (
    user_id TEXT NOT NULL REFERENCES plans (user_id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    PRIMARY KEY (kind, user_id)
);
CREATE INDEX plan_kinds_user ON plan_kinds (user_id);

-- The mass-deactivation guard. Every reservation locks guard_lock's one
-- row first, so the replicas' reservations queue and share one count.
-- guard_counted holds the deactivations counted in the window (at is Unix
-- nanoseconds), one row per user, so a retried deactivation is not counted
-- twice; guard_holds the users whose deactivation waits for an operator.
CREATE TABLE guard_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1)
);
INSERT INTO guard_lock (id) VALUES (1);
CREATE TABLE guard_counted (
    user_id TEXT    PRIMARY KEY,
    at      INTEGER NOT NULL
);
CREATE INDEX guard_counted_at ON guard_counted (at);
CREATE TABLE guard_holds (
    user_id     TEXT    PRIMARY KEY,
    user_name   TEXT    NOT NULL,
    gsid        TEXT    NOT NULL DEFAULT '',
    held        INTEGER NOT NULL,
    approved_by TEXT    NOT NULL DEFAULT '',
    approved    INTEGER NOT NULL DEFAULT 0,
    rejected_by TEXT    NOT NULL DEFAULT '',
    rejected    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX guard_holds_held ON guard_holds (held, user_id);
