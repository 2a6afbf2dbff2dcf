-- Fewer index entries per write. The state of live users is counted and
-- filtered through sync_info_tombstone_state; only tombstones are looked
-- up by userName (a re-created user takes its tombstone's link over); only
-- users with a manager are looked up by manager.
DROP INDEX sync_info_state;
DROP INDEX sync_info_user_name;
CREATE INDEX sync_info_tombstone_name ON sync_info (user_name_lower) WHERE tombstone = TRUE;
DROP INDEX users_manager_id;
CREATE INDEX users_manager_id ON users (manager_id) WHERE manager_id <> '';
-- Group members are shown with their displayName: a column, so a large
-- group's names are read without decoding every member's document.
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
UPDATE users SET display_name = doc::jsonb ->> 'displayName'
WHERE jsonb_typeof(doc::jsonb -> 'displayName') = 'string';
