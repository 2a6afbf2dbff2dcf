-- Links get a stable key, link_id: a re-create of a deleted userName takes
-- the tombstone's link over by changing its user_id, so a pass that
-- finishes late still finds the link it worked on. version makes every
-- write of a link a compare-and-swap; unknown is the explicit "a write's
-- outcome is not known" flag, which a non-empty last_error used to stand
-- for.
ALTER TABLE sync_info ADD COLUMN link_id TEXT;
UPDATE sync_info SET link_id = user_id;
ALTER TABLE sync_info ALTER COLUMN link_id SET NOT NULL;
ALTER TABLE sync_info DROP CONSTRAINT sync_info_pkey;
ALTER TABLE sync_info ADD PRIMARY KEY (link_id);
ALTER TABLE sync_info ADD CONSTRAINT sync_info_user_id UNIQUE (user_id);
ALTER TABLE sync_info ADD COLUMN unknown BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE sync_info SET unknown = TRUE WHERE last_error <> '';
ALTER TABLE sync_info ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
-- Tombstone retention walks the tombstones by age.
CREATE INDEX sync_info_tombstone_updated ON sync_info (updated) WHERE tombstone = TRUE;

-- Periodic jobs that replicas run once per interval between them.
CREATE TABLE jobs (
    name     TEXT   PRIMARY KEY,
    last_run BIGINT NOT NULL
);
