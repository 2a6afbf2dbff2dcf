-- A group's answer lists its members with their names. Each membership
-- now holds its member's name (the displayName, else the userName), kept
-- in step by the user's writes: a group's members, names included, are
-- read without a look-up of each user.
ALTER TABLE group_members ADD COLUMN name TEXT NOT NULL DEFAULT '';
UPDATE group_members m SET name = COALESCE(NULLIF(u.display_name, ''), u.user_name, '')
FROM users u WHERE u.id = m.user_id;
