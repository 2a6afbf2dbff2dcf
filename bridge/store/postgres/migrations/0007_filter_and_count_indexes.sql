-- SCIM filters on active (active eq true) count and page through the
-- matching users in creation order from this index, not the table.
CREATE INDEX users_active ON users (active, seq);
-- SCIM filters on the sync state, and the backlog gauges' count of live
-- users per state, read this index alone.
CREATE INDEX sync_info_tombstone_state ON sync_info (tombstone, state, user_id);
