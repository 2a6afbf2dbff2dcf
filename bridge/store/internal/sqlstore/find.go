package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// The conditions of FindUsers and FindGroups beyond an indexed equality.
// Each is a subquery answered through an index; %s is the placeholder of
// its argument.
const (
	condActive = `active = %s`
	// condInGroup: the members of one group, from the membership's
	// primary key (group_id, user_id).
	condInGroup = `id IN (SELECT user_id FROM group_members WHERE group_id = %s)`
	// condInGroupNamed: the members of the group with one displayName.
	condInGroupNamed = `id IN (SELECT m.user_id FROM scim_groups g JOIN group_members m ON m.group_id = g.id
WHERE g.display_name_lower = %s)`
	// condSyncState: the users in one sync state (every user has its
	// SyncInfo from its creation on).
	condSyncState = `id IN (SELECT user_id FROM sync_info WHERE tombstone = FALSE AND state = %s)`
	// condGSID repeats the unique index's predicate so the planner can use
	// that partial index.
	condGSID = `id IN (SELECT user_id FROM sync_info WHERE gsid = %s AND gsid <> '' AND tombstone = FALSE)`
	// condHasMember: the groups of one user.
	condHasMember = `id IN (SELECT group_id FROM group_members WHERE user_id = %s)`
)

// The backlog gauges' counts, read every few seconds: each from one index
// alone (dirty_since, the smallest index of the dirty set; the live users'
// states from sync_info_tombstone_state).
const (
	sqlDirtyStats = `SELECT COUNT(*), COALESCE(MIN(since), 0) FROM dirty`
	// Grouping by tombstone too, which the WHERE clause fixes, orders the
	// groups as the index is: no table read and no sort on either backend.
	sqlCountSyncStates = `SELECT state, COUNT(*) FROM sync_info WHERE tombstone = FALSE GROUP BY tombstone, state`
)

// conds collects the conditions of a WHERE clause and their numbered
// arguments.
type conds struct {
	parts []string
	args  params
	// nothing is set when a condition can match no row.
	nothing bool
}

// add appends a condition whose %s verbs take the next placeholders, one
// per argument.
func (c *conds) add(format string, args ...any) {
	ph := make([]any, len(args))
	for i, a := range args {
		ph[i] = c.args.add(a)
	}
	c.parts = append(c.parts, fmt.Sprintf(format, ph...))
}

// value adds a condition on a string only a stored value can satisfy: an
// empty or unstorable one matches nothing.
func (c *conds) value(format, v string) {
	if v == "" || unstorable(v) {
		c.nothing = true
		return
	}
	c.add(format, v)
}

func (c *conds) where() string {
	if len(c.parts) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.parts, " AND ")
}

// userConds builds the WHERE clause of f.
func userConds(f store.UserFilter) (*conds, error) {
	c := &conds{}
	switch f.Field {
	case "":
	case "id":
		c.value(`id = %s`, f.Value)
	case "userName":
		c.value(`user_name_lower = %s`, store.Fold(f.Value))
	case "externalId":
		c.value(`external_id = %s`, f.Value)
	case "emails":
		c.value(`id IN (SELECT user_id FROM user_emails WHERE email_lower = %s)`, store.Fold(f.Value))
	default:
		return nil, fmt.Errorf("unsupported user query field %q", f.Field)
	}
	if f.Active != nil {
		c.add(condActive, *f.Active)
	}
	if f.Group != "" {
		c.value(condInGroup, f.Group)
	}
	if f.GroupName != "" {
		c.value(condInGroupNamed, store.Fold(f.GroupName))
	}
	switch {
	case f.SyncState == "":
	case store.ValidSyncState(f.SyncState):
		c.add(condSyncState, f.SyncState)
	default:
		c.nothing = true
	}
	if f.GSID != "" {
		c.value(condGSID, f.GSID)
	}
	return c, nil
}

// groupConds builds the WHERE clause of f.
func groupConds(f store.GroupFilter) (*conds, error) {
	c := &conds{}
	switch f.Field {
	case "":
	case "id":
		c.value(`id = %s`, f.Value)
	case "displayName":
		c.value(`display_name_lower = %s`, store.Fold(f.Value))
	case "externalId":
		c.value(`external_id = %s`, f.Value)
	default:
		return nil, fmt.Errorf("unsupported group query field %q", f.Field)
	}
	if f.Member != "" {
		c.value(condHasMember, f.Member)
	}
	return c, nil
}

// FindUsers implements store.Finder.
func (s *Store) FindUsers(ctx context.Context, f store.UserFilter) ([]store.User, int, error) {
	c, err := userConds(f)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find users: %w", err)
	}
	if c.nothing {
		return nil, 0, nil
	}
	out, total, err := s.listUsers(ctx, c.where(), c.args, f.Query)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find users: %w", err)
	}
	return out, total, nil
}

// FindGroups implements store.Finder.
func (s *Store) FindGroups(ctx context.Context, f store.GroupFilter, withMembers bool) ([]store.Group, int, error) {
	c, err := groupConds(f)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find groups: %w", err)
	}
	if c.nothing {
		return nil, 0, nil
	}
	out, total, err := s.listGroups(ctx, c.where(), c.args, f.Query, withMembers)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find groups: %w", err)
	}
	return out, total, nil
}

// GroupsOfUsers implements store.Finder.
func (s *Store) GroupsOfUsers(ctx context.Context, ids []string) (map[string][]store.GroupRef, error) {
	keep := make([]string, 0, len(ids))
	for _, id := range ids {
		if !unstorable(id) {
			keep = append(keep, id)
		}
	}
	m, err := s.groupsOf(ctx, s.r, keep, "")
	if err != nil {
		return nil, fmt.Errorf("store: groups of users: %w", err)
	}
	return m, nil
}

// SyncOfUsers implements store.Finder.
func (s *Store) SyncOfUsers(ctx context.Context, ids []string) (map[string]store.SyncInfo, error) {
	keep := make([]string, 0, len(ids))
	for _, id := range ids {
		if !unstorable(id) {
			keep = append(keep, id)
		}
	}
	out := make(map[string]store.SyncInfo, len(keep))
	for _, c := range chunks(store.DistinctIDs(keep)) {
		if err := s.syncOf(ctx, c, out); err != nil {
			return nil, fmt.Errorf("store: sync info of users: %w", err)
		}
	}
	return out, nil
}

func (s *Store) syncOf(ctx context.Context, ids []string, out map[string]store.SyncInfo) error {
	rows, err := s.r.QueryContext(ctx, syncOfSQL(len(ids)), anys(ids)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		i, err := scanSync(rows)
		if err != nil {
			return err
		}
		out[i.UserID] = i
	}
	return rows.Err()
}

// syncOfSQL selects the SyncInfo of n users.
func syncOfSQL(n int) string {
	return `SELECT ` + syncCols + ` FROM sync_info WHERE user_id IN (` + placeholders(1, n) + `)`
}

// FindPlannedQueries returns the statements of FindUsers, FindGroups,
// GroupsOfUsers and SyncOfUsers, and of the backlog gauges' counts
// (DirtyStats, CountSyncStates), as the store runs them, for the backends'
// plan tests (as PlannedQueries).
func FindPlannedQueries(d Dialect) []PlannedQuery {
	var out []PlannedQuery
	active, inactive := true, false
	for _, q := range []struct {
		name string
		f    store.UserFilter
	}{
		{"active", store.UserFilter{Active: &active}},
		{"inactive", store.UserFilter{Active: &inactive}},
		{"in group", store.UserFilter{Group: "g-1"}},
		{"in group named", store.UserFilter{GroupName: "Group 1"}},
		// Most users are synced once the backlog is drained, so synced
		// reads most of them whatever the plan: the selective states are
		// the ones a plan test can judge.
		{"failed", store.UserFilter{SyncState: store.StateFailed}},
		{"pending", store.UserFilter{SyncState: store.StatePending}},
		{"GSID", store.UserFilter{GSID: "gs-10"}},
		{"userName and active", store.UserFilter{Query: store.Query{Field: "userName", Value: "user-1@example.com"}, Active: &active}},
	} {
		c, _ := userConds(q.f)
		f := q.f
		f.Limit = 100
		count, list, listArgs := listSQL("users", userCols, c.where(), f.Query, c.args)
		out = append(out, PlannedQuery{Name: "count users " + q.name, SQL: count, Args: c.args},
			PlannedQuery{Name: "users " + q.name, SQL: list, Args: listArgs})
	}
	for _, q := range []struct {
		name string
		f    store.UserFilter
	}{
		{"views by userName", store.UserFilter{Query: store.Query{Field: "userName", Value: "user-1@example.com", Limit: 100}}},
		{"views of a page", store.UserFilter{Query: store.Query{Limit: 100}}},
		{"views of a deep page", store.UserFilter{Query: store.Query{Offset: 1500, Limit: 100}}},
		{"views of a deep page of active users", store.UserFilter{Query: store.Query{Offset: 1500, Limit: 100}, Active: &active}},
	} {
		c, _ := userConds(q.f)
		sql, args := viewSQL(d, c.where(), q.f.Query, c.args)
		out = append(out, PlannedQuery{Name: "user " + q.name, SQL: sql, Args: args})
	}
	c, _ := groupConds(store.GroupFilter{Member: "u-1"})
	count, list, listArgs := listSQL("scim_groups", groupCols, c.where(), store.Query{Limit: 100}, c.args)
	out = append(out, PlannedQuery{Name: "count groups with member", SQL: count, Args: c.args},
		PlannedQuery{Name: "groups with member", SQL: list, Args: listArgs},
		PlannedQuery{Name: "sync info of users", SQL: syncOfSQL(2), Args: []any{"u-1", "u-2"}},
		PlannedQuery{Name: "dirty stats", SQL: sqlDirtyStats},
		PlannedQuery{Name: "count sync states", SQL: sqlCountSyncStates})
	return out
}
