-- A group's answer lists its members with their names. Each membership
-- now holds its member's name (the displayName, else the userName), kept
-- in step by the user's writes, and the memberships are stored in their
-- primary key's order (WITHOUT ROWID): a group's members, names included,
-- are read from consecutive pages, without a look-up of each user.
CREATE TABLE group_members_named (
    group_id TEXT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
INSERT INTO group_members_named (group_id, user_id, name)
SELECT m.group_id, m.user_id, COALESCE(NULLIF(u.display_name, ''), u.user_name, '')
FROM group_members m JOIN users u ON u.id = m.user_id;
DROP TABLE group_members;
ALTER TABLE group_members_named RENAME TO group_members;
CREATE INDEX group_members_user ON group_members (user_id);
