-- The audit trail: one row per event for one user, append-only, pruned by
-- age and row count. Read newest first by user (id or userName) and by
-- time; at is Unix nanoseconds. changes is a JSON list of changed fields.
CREATE TABLE audit (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              BIGINT  NOT NULL,
    user_id         TEXT    NOT NULL DEFAULT '',
    user_name       TEXT    NOT NULL DEFAULT '',
    user_name_lower TEXT    NOT NULL DEFAULT '',
    op              TEXT    NOT NULL,
    source          TEXT    NOT NULL DEFAULT '',
    actor           TEXT    NOT NULL DEFAULT '',
    replica         TEXT    NOT NULL DEFAULT '',
    request_id      TEXT    NOT NULL DEFAULT '',
    gsid            TEXT    NOT NULL DEFAULT '',
    result          TEXT    NOT NULL DEFAULT '',
    error           TEXT    NOT NULL DEFAULT '',
    detail          TEXT    NOT NULL DEFAULT '',
    changes         TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX audit_user_at ON audit (user_id, at, id);
CREATE INDEX audit_user_name_at ON audit (user_name_lower, at, id);
CREATE INDEX audit_at ON audit (at, id);
