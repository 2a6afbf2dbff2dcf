-- Links get a stable key, link_id: a re-create of a deleted userName takes
-- the tombstone's link over by changing its user_id, so a pass that
-- finishes late still finds the link it worked on. version makes every
-- write of a link a compare-and-swap; unknown is the explicit "a write's
-- outcome is not known" flag, which a non-empty last_error used to stand
-- for.
CREATE TABLE sync_links (
    link_id         TEXT    PRIMARY KEY,
    user_id         TEXT    NOT NULL UNIQUE,
    user_name       TEXT    NOT NULL,
    user_name_lower TEXT    NOT NULL,
    gsid            TEXT    NOT NULL DEFAULT '',
    record          TEXT    NOT NULL DEFAULT 'null',
    active          INTEGER NOT NULL DEFAULT 0,
    unknown         INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    tombstone       INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 1,
    updated         INTEGER NOT NULL
);
INSERT INTO sync_links (link_id, user_id, user_name, user_name_lower, gsid, record, active, unknown, state, last_error, tombstone, version, updated)
SELECT user_id, user_id, user_name, user_name_lower, gsid, record, active, last_error <> '', state, last_error, tombstone, 1, updated
FROM sync_info;
DROP TABLE sync_info;
ALTER TABLE sync_links RENAME TO sync_info;
CREATE INDEX sync_info_user_name ON sync_info (user_name_lower);
CREATE UNIQUE INDEX sync_info_gsid ON sync_info (gsid) WHERE gsid <> '';
CREATE INDEX sync_info_state ON sync_info (state);
-- Tombstone retention walks the tombstones by age.
CREATE INDEX sync_info_tombstone_updated ON sync_info (updated) WHERE tombstone = TRUE;

-- Periodic jobs that replicas run once per interval between them.
CREATE TABLE jobs (
    name     TEXT    PRIMARY KEY,
    last_run INTEGER NOT NULL
);
