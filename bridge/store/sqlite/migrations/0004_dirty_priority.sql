-- The dirty set is claimed by priority (1 low, 2 normal, 3 high, 4
-- urgent), oldest first within one: raised is when the entry got its
-- priority. next_priority is the highest priority marked since the entry
-- was claimed, what is left once the claimed work is done.
ALTER TABLE dirty ADD COLUMN priority INTEGER NOT NULL DEFAULT 2;
ALTER TABLE dirty ADD COLUMN next_priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dirty ADD COLUMN raised INTEGER NOT NULL DEFAULT 0;
UPDATE dirty SET raised = since;
CREATE INDEX dirty_claim ON dirty (priority DESC, raised, user_id);
