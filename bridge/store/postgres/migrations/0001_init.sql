-- Users as accepted over SCIM. seq gives the stable creation order that
-- list offsets rely on; the *_lower columns carry the case-insensitive
-- uniqueness and lookups.
CREATE TABLE users (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    user_name       TEXT    NOT NULL,
    user_name_lower TEXT    NOT NULL UNIQUE,
    external_id     TEXT    NOT NULL DEFAULT '',
    emails          TEXT    NOT NULL DEFAULT '[]',
    manager_id      TEXT    NOT NULL DEFAULT '',
    active          BOOLEAN NOT NULL,
    source          TEXT    NOT NULL,
    doc             TEXT    NOT NULL,
    version         BIGINT  NOT NULL,
    created         BIGINT  NOT NULL,
    modified        BIGINT  NOT NULL
);
CREATE INDEX users_external_id ON users (external_id);
CREATE INDEX users_manager_id ON users (manager_id);

CREATE TABLE user_emails (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email_lower TEXT NOT NULL,
    PRIMARY KEY (user_id, email_lower)
);
CREATE INDEX user_emails_email ON user_emails (email_lower);

CREATE TABLE scim_groups (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                 TEXT    NOT NULL UNIQUE,
    display_name       TEXT    NOT NULL,
    display_name_lower TEXT    NOT NULL UNIQUE,
    external_id        TEXT    NOT NULL DEFAULT '',
    source             TEXT    NOT NULL,
    doc                TEXT    NOT NULL,
    version            BIGINT  NOT NULL,
    created            BIGINT  NOT NULL,
    modified           BIGINT  NOT NULL
);
CREATE INDEX scim_groups_external_id ON scim_groups (external_id);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- Links to Gainsight. No foreign key to users: a row outlives its user as a
-- tombstone.
CREATE TABLE sync_info (
    user_id         TEXT    PRIMARY KEY,
    user_name       TEXT    NOT NULL,
    user_name_lower TEXT    NOT NULL,
    gsid            TEXT    NOT NULL DEFAULT '',
    record          TEXT    NOT NULL DEFAULT 'null',
    active          BOOLEAN NOT NULL DEFAULT FALSE,
    state           TEXT    NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    tombstone       BOOLEAN NOT NULL DEFAULT FALSE,
    updated         BIGINT  NOT NULL
);
CREATE INDEX sync_info_user_name ON sync_info (user_name_lower);
CREATE INDEX sync_info_gsid ON sync_info (gsid);
CREATE INDEX sync_info_state ON sync_info (state);

-- The dirty set. Times are Unix nanoseconds; lease_until 0 = not leased.
CREATE TABLE dirty (
    user_id     TEXT    PRIMARY KEY,
    generation  BIGINT  NOT NULL,
    attempts    BIGINT  NOT NULL DEFAULT 0,
    since       BIGINT  NOT NULL,
    due         BIGINT  NOT NULL,
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX dirty_since ON dirty (since, user_id);

-- Gainsight rate budget counters per fixed window.
CREATE TABLE budget (
    window_name  TEXT    NOT NULL,
    window_start BIGINT  NOT NULL,
    used         BIGINT  NOT NULL,
    PRIMARY KEY (window_name, window_start)
);
