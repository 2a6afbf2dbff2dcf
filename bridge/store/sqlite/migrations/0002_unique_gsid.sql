-- One Gainsight user is linked to at most one SCIM user (live or
-- tombstone): a write that would link a second one fails, so a race
-- between a deletion and a re-create can never leave two links.
DROP INDEX sync_info_gsid;
CREATE UNIQUE INDEX sync_info_gsid ON sync_info (gsid) WHERE gsid <> '';
