package sqlstore

import (
	"fmt"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// The statements of the lookups that run on every SCIM request or sync
// step. Each must be answered through an index: PlannedQueries hands them
// to the backends' plan tests.
const (
	sqlUserByID   = `SELECT ` + userCols + ` FROM users WHERE id = $1`
	sqlInsertUser = `INSERT INTO users (id, user_name, user_name_lower, external_id, emails, manager_id, active, source, doc, version, created, modified, display_name)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	// sqlMemberNameOf, followed by a user id's expression and ")", is the
	// name of that user (memberName), NULL when there is no such user.
	sqlMemberNameOf = `(SELECT COALESCE(NULLIF(display_name, ''), user_name) FROM users WHERE id = `
	// sqlAddMember adds user $2 to group $1 with its name (memberName); a
	// user that does not exist (deleted meanwhile) fails the foreign key.
	sqlAddMember = `INSERT INTO group_members (group_id, user_id, name)
VALUES ($1, $2, COALESCE(` + sqlMemberNameOf + `$2), ''))`
	// sqlRenameMember sets the name user $1's memberships hold to $2.
	sqlRenameMember = `UPDATE group_members SET name = $2 WHERE user_id = $1`
	sqlUpdateUser   = `UPDATE users SET user_name = $1, user_name_lower = $2, external_id = $3, emails = $4, manager_id = $5,
active = $6, source = $7, doc = $8, version = $9, modified = $10, display_name = $13 WHERE id = $11 AND version = $12`
	// sqlUsersByManager repeats the partial index's predicate so the
	// planner can use it.
	sqlUsersByManager = `SELECT id FROM users WHERE manager_id = $1 AND manager_id <> '' ORDER BY seq`
	sqlGroupByID      = `SELECT ` + groupCols + ` FROM scim_groups WHERE id = $1`
	// sqlTombstoneByName finds the tombstone a re-created userName
	// re-attaches to.
	sqlTombstoneByName = `SELECT link_id FROM sync_info WHERE user_name_lower = $1 AND tombstone = TRUE
ORDER BY updated DESC, user_id LIMIT 1`
	// sqlAttachNew gives a new user a fresh pending link when no link of
	// its id ($2) and no tombstone of its userName ($4) exist: then the
	// link is the values given, and nothing needs reading back.
	sqlAttachNew = `INSERT INTO sync_info (link_id, user_id, user_name, user_name_lower, gsid, record, active, unknown, state, last_error, tombstone, version, updated)
SELECT $1, $2, $3, $4, '', 'null', FALSE, FALSE, $5, '', FALSE, 1, $6
WHERE NOT EXISTS (SELECT 1 FROM sync_info WHERE user_name_lower = $4 AND tombstone = TRUE)
ON CONFLICT (user_id) DO NOTHING`
	// sqlAttachFresh gives a new user a fresh pending link, unless a
	// tombstone of its userName ($4) exists, whose link it takes over
	// instead (no row is written or returned then).
	sqlAttachFresh = `INSERT INTO sync_info (link_id, user_id, user_name, user_name_lower, gsid, record, active, unknown, state, last_error, tombstone, version, updated)
SELECT $1, $2, $3, $4, '', 'null', FALSE, FALSE, $5, '', FALSE, 1, $6
WHERE NOT EXISTS (SELECT 1 FROM sync_info WHERE user_name_lower = $4 AND tombstone = TRUE)
ON CONFLICT (user_id) DO UPDATE SET user_name = $3, user_name_lower = $4, state = $5, tombstone = FALSE,
version = sync_info.version + 1, updated = $6 RETURNING ` + syncCols
	// sqlTakeOverLink gives a tombstone's link ($6) to a new user.
	sqlTakeOverLink = `UPDATE sync_info SET user_id = $1, user_name = $2, user_name_lower = $3, state = $4, tombstone = FALSE,
version = version + 1, updated = $5 WHERE link_id = $6 RETURNING ` + syncCols
	// sqlTouchGroupsOfUser bumps the version of every group a deleted
	// user leaves.
	sqlTouchGroupsOfUser = `UPDATE scim_groups SET version = version + 1, modified = $2
WHERE id IN (SELECT group_id FROM group_members WHERE user_id = $1)`
	sqlSyncByUser = `SELECT ` + syncCols + ` FROM sync_info WHERE user_id = $1`
	sqlSyncByLink = `SELECT ` + syncCols + ` FROM sync_info WHERE link_id = $1`
	// sqlLinksAfter pages through the linked links in link id order.
	sqlLinksAfter = `SELECT ` + syncCols + ` FROM sync_info WHERE link_id > $1 AND gsid <> '' ORDER BY link_id LIMIT $2`
	// sqlPurgeTombstones removes the settled tombstones older than $1:
	// never linked or confirmed inactive, no write of unknown outcome, not
	// dirty.
	sqlPurgeTombstones = `DELETE FROM sync_info WHERE tombstone = TRUE AND updated < $1 AND unknown = FALSE
AND (gsid = '' OR active = FALSE) AND NOT EXISTS (SELECT 1 FROM dirty WHERE dirty.user_id = sync_info.user_id)`
	// sqlUserIDsAfter pages through the user ids in id order.
	sqlUserIDsAfter = `SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2`
	// sqlLockUsers locks users in id order, so group writes that affect
	// the same users queue on them instead of deadlocking.
	sqlLockUsers = `SELECT id FROM users WHERE id IN (%s) ORDER BY id`
	// sqlSyncByGSID repeats the unique index's predicate so the planner
	// can use that partial index.
	sqlSyncByGSID = `SELECT ` + syncCols + ` FROM sync_info WHERE gsid = $1 AND gsid <> ''`
	// sqlClaimDirty picks the due, unleased entries of priority $3 or
	// higher: highest priority first, oldest first within one, in the
	// order of the dirty_claim index.
	sqlClaimDirty = `SELECT user_id, generation, attempts, since, priority FROM dirty
WHERE priority >= $3 AND due <= $1 AND lease_until <= $1 ORDER BY priority DESC, raised, user_id LIMIT $2`
	// sqlMarkDirty inserts a dirty entry or bumps it, raising its priority
	// to $3 (never lowering it) and collecting $3 in next_priority.
	sqlMarkDirty = `INSERT INTO dirty (user_id, generation, attempts, since, due, lease_owner, lease_until, priority, next_priority, raised)
VALUES ($1, 1, 0, $2, $2, '', 0, $3, $3, $2)
ON CONFLICT (user_id) DO UPDATE SET generation = dirty.generation + 1, attempts = 0, due = $2,
raised = CASE WHEN dirty.priority < $3 THEN $2 ELSE dirty.raised END,
priority = CASE WHEN dirty.priority < $3 THEN $3 ELSE dirty.priority END,
next_priority = CASE WHEN dirty.next_priority < $3 THEN $3 ELSE dirty.next_priority END`
	// sqlSnapshotKeys reads snapshot keys by hash (the primary key).
	sqlSnapshotKeys = `SELECT key_hash, gsid, active FROM snapshot_keys WHERE key_hash IN (%s)`
	// sqlUnlinkedDirty counts the dirty entries of live, unlinked users.
	sqlUnlinkedDirty = `SELECT COUNT(*) FROM dirty d JOIN sync_info s ON s.user_id = d.user_id
WHERE s.gsid = '' AND s.tombstone = FALSE`
)

// noLimit stands for "no LIMIT" in a portable LIMIT clause.
const noLimit = int64(1) << 62

// listSQL returns the COUNT and the paged SELECT of a list of table
// filtered by where (whose arguments are args), in creation order. Offset
// and Limit are pushed into the SELECT, so a page never loads more rows
// than it shows.
func listSQL(table, cols, where string, q store.Query, args []any) (count, list string, listArgs []any) {
	limit := noLimit
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	offset := int64(0)
	if q.Offset > 0 {
		offset = int64(q.Offset)
	}
	n := len(args)
	count = `SELECT COUNT(*) FROM ` + table + where
	list = `SELECT ` + cols + ` FROM ` + table + where + ` ORDER BY seq` + fmt.Sprintf(" LIMIT $%d OFFSET $%d", n+1, n+2)
	listArgs = append(append([]any{}, args...), limit, offset)
	return count, list, listArgs
}

// membersSQL selects the members of n groups.
func membersSQL(n int) string {
	return `SELECT group_id, user_id FROM group_members WHERE group_id IN (` + placeholders(1, n) + `) ORDER BY group_id, user_id`
}

// membersWithNamesSQL selects the members of n groups with their names
// (memberName), which each membership holds; one without (added by a
// replica of an earlier release during a rolling update) is named from
// its user.
func membersWithNamesSQL(n int) string {
	return `SELECT group_id, user_id, COALESCE(NULLIF(name, ''), ` + sqlMemberNameOf + `group_members.user_id), '')
FROM group_members WHERE group_id IN (` + placeholders(1, n) + `) ORDER BY group_id, user_id`
}

// groupsOfSQL selects the groups of n users ($2…), leaving out group $1.
func groupsOfSQL(n int) string {
	return `SELECT m.user_id, g.id, g.display_name, g.external_id FROM group_members m
JOIN scim_groups g ON g.id = m.group_id WHERE m.user_id IN (` + placeholders(2, n) + `) AND g.id <> $1 ORDER BY g.seq`
}

// lockUsersSQL selects n users ($1…) in id order, to be locked.
func lockUsersSQL(n int) string {
	return fmt.Sprintf(sqlLockUsers, placeholders(1, n))
}

// PlannedQuery is one statement the store runs, with sample arguments, for
// tests that ask a database how it would answer it.
type PlannedQuery struct {
	Name string
	SQL  string
	Args []any
}

// PlannedQueries returns the store's lookups as the store runs them on a
// backend with dialect d, built by the same code. Each must be answered
// through an index, never by reading a whole table; "list users" and "list
// groups" (no filter, one page) read the creation-order index up to the
// page's end.
func PlannedQueries(d Dialect) []PlannedQuery {
	var out []PlannedQuery
	add := func(name, sql string, args ...any) {
		out = append(out, PlannedQuery{Name: name, SQL: sql, Args: args})
	}
	for _, q := range []store.Query{
		{Field: "id", Value: "u-1"},
		{Field: "userName", Value: "user-1@example.com"},
		{Field: "externalId", Value: "ext-1"},
		{Field: "emails", Value: "user-1@example.com"},
	} {
		where, args, _ := userWhere(q)
		q.Limit = 1
		count, list, listArgs := listSQL("users", userCols, where, q, args)
		add("count users by "+q.Field, count, args...)
		add("users by "+q.Field, list, listArgs...)
	}
	for _, q := range []store.Query{
		{Field: "id", Value: "g-1"},
		{Field: "displayName", Value: "group 1"},
		{Field: "externalId", Value: "gext-1"},
	} {
		where, args, _ := groupWhere(q)
		q.Limit = 1
		count, list, listArgs := listSQL("scim_groups", groupCols, where, q, args)
		add("count groups by "+q.Field, count, args...)
		add("groups by "+q.Field, list, listArgs...)
	}
	_, list, listArgs := listSQL("users", userCols, "", store.Query{Offset: 100, Limit: 50}, nil)
	add("list users", list, listArgs...)
	_, list, listArgs = listSQL("scim_groups", groupCols, "", store.Query{Offset: 10, Limit: 5}, nil)
	add("list groups", list, listArgs...)
	add("user by id for update", sqlUserByID+d.LockRow, "u-1")
	add("group by id for update", sqlGroupByID+d.LockRow, "g-1")
	add("users by manager", sqlUsersByManager, "u-1")
	add("members of groups", membersSQL(2), "g-1", "g-2")
	add("members of groups with names", membersWithNamesSQL(2), "g-1", "g-2")
	add("add a member", sqlAddMember, "g-1", "u-1")
	add("rename a member", sqlRenameMember, "u-1", "Ann Lee")
	add("groups of users", groupsOfSQL(2), "g-1", "u-1", "u-2")
	add("groups of a deleted user", sqlTouchGroupsOfUser, "u-1", int64(1))
	add("tombstone by userName", sqlTombstoneByName+d.LockRow, "user-1@example.com")
	add("attach a fresh link", sqlAttachFresh, "l-new", "u-new", "user-1@example.com", "user-1@example.com", store.StatePending, int64(1))
	add("sync info by user", sqlSyncByUser, "u-1")
	add("sync info by link", sqlSyncByLink+d.LockRow, "l-1")
	add("links after", sqlLinksAfter, "l-100", 100)
	add("purge tombstones", sqlPurgeTombstones, int64(1000))
	add("user ids after", sqlUserIDsAfter, "u-100", 100)
	add("lock users", lockUsersSQL(2)+d.LockRow, "u-1", "u-2")
	add("sync info by GSID", sqlSyncByGSID, "gs-1")
	add("claim dirty", sqlClaimDirty+d.SkipLocked, int64(1)<<40, 10, 1)
	add("claim urgent dirty", sqlClaimDirty+d.SkipLocked, int64(1)<<40, 10, 4)
	add("snapshot keys", fmt.Sprintf(sqlSnapshotKeys, placeholders(1, 2)), "h-1", "h-2")
	for name, q := range map[string]store.AuditQuery{
		"history of a user":      {UserID: "u-1", Limit: 50},
		"history of a userName":  {UserName: "user-1@example.com", Limit: 50},
		"history since":          {Since: time.Unix(1, 0), Limit: 50},
		"next page of a history": {UserID: "u-1", BeforeTime: time.Unix(2, 0), BeforeID: 7, Limit: 50},
	} {
		query, args, _ := auditListSQL(q)
		add(name, query, args...)
	}
	return out
}
