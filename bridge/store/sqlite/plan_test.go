package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/plantest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/sqlstore"
)

// TestQueryPlans asks SQLite (EXPLAIN QUERY PLAN) how it answers each of the
// store's lookups over a seeded database: through the expected index, never
// by reading a whole table (a "SCAN" of a table), and for a page of a list
// without sorting everything first, so LIMIT stops the read.
func TestQueryPlans(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "plan.db")
	s, err := Open(ctx, path, Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	if err := plantest.Seed(ctx, db); err != nil {
		t.Fatal(err)
	}

	want := map[string]struct {
		index   string // a plan step must use this index ("" = the rowid, seq)
		ordered bool   // a scan in index order, stopped by LIMIT, is the plan
	}{
		"count users by id":            {index: "sqlite_autoindex_users_1"},
		"users by id":                  {index: "sqlite_autoindex_users_1"},
		"count users by userName":      {index: "sqlite_autoindex_users_2"},
		"users by userName":            {index: "sqlite_autoindex_users_2"},
		"count users by externalId":    {index: "users_external_id"},
		"users by externalId":          {index: "users_external_id"},
		"count users by emails":        {index: "user_emails_email"},
		"users by emails":              {index: "user_emails_email"},
		"count groups by id":           {index: "sqlite_autoindex_scim_groups_1"},
		"groups by id":                 {index: "sqlite_autoindex_scim_groups_1"},
		"count groups by displayName":  {index: "sqlite_autoindex_scim_groups_2"},
		"groups by displayName":        {index: "sqlite_autoindex_scim_groups_2"},
		"count groups by externalId":   {index: "scim_groups_external_id"},
		"groups by externalId":         {index: "scim_groups_external_id"},
		"list users":                   {ordered: true},
		"list groups":                  {ordered: true},
		"user by id for update":        {index: "sqlite_autoindex_users_1"},
		"group by id for update":       {index: "sqlite_autoindex_scim_groups_1"},
		"users by manager":             {index: "users_manager_id"},
		"members of groups":            {index: "group_members PRIMARY KEY"},
		"members of groups with names": {index: "group_members PRIMARY KEY"},
		"add a member":                 {index: "sqlite_autoindex_users_1"},
		"rename a member":              {index: "group_members_user"},
		"groups of users":              {index: "group_members_user"},
		"groups of a deleted user":     {index: "group_members_user"},
		"tombstone by userName":        {index: "sync_info_tombstone_name"},
		"attach a fresh link":          {index: "sync_info_tombstone_name"},
		"sync info by user":            {index: "sqlite_autoindex_sync_info_2"},
		"sync info by link":            {index: "sqlite_autoindex_sync_info_1"},
		"links after":                  {index: "sqlite_autoindex_sync_info_1", ordered: true},
		"purge tombstones":             {index: "sync_info_tombstone_updated"},
		"user ids after":               {index: "sqlite_autoindex_users_1", ordered: true},
		"lock users":                   {index: "sqlite_autoindex_users_1"},
		"sync info by GSID":            {index: "sync_info_gsid"},
		"claim dirty":                  {index: "dirty_claim", ordered: true},
		"claim urgent dirty":           {index: "dirty_claim", ordered: true},
		"snapshot keys":                {index: "sqlite_autoindex_snapshot_keys_1"},
		"history of a user":            {index: "audit_user_at", ordered: true},
		"history of a userName":        {index: "audit_user_name_at", ordered: true},
		"history since":                {index: "audit_at", ordered: true},
		"next page of a history":       {index: "audit_user_at", ordered: true},
	}
	checkPlans(ctx, t, db, sqlstore.PlannedQueries(dialect()), want)
	var find, views []sqlstore.PlannedQuery
	for _, q := range sqlstore.FindPlannedQueries(dialect()) {
		if _, ok := viewPlans[q.Name]; ok {
			views = append(views, q)
		} else {
			find = append(find, q)
		}
	}
	checkPlans(ctx, t, db, find, findPlans)
	checkViewPlans(ctx, t, db, views)
}

// checkViewPlans checks the plans of the user views against viewPlans:
// the expected index is used, the users table is read whole only where
// expected, every link and group is found by index, and nothing is sorted
// but a user's own groups.
func checkViewPlans(ctx context.Context, t *testing.T, db *sql.DB, queries []sqlstore.PlannedQuery) {
	t.Helper()
	if len(queries) != len(viewPlans) {
		t.Errorf("%d planned views, %d expectations: keep them in step", len(queries), len(viewPlans))
	}
	for _, q := range queries {
		t.Run(q.Name, func(t *testing.T) {
			w := viewPlans[q.Name]
			steps := explain(ctx, t, db, q)
			plan := strings.Join(steps, "\n")
			if !strings.Contains(plan, "INDEX "+w.index) {
				t.Errorf("does not use index %q:\n%s\n%s", w.index, q.SQL, plan)
			}
			inGroups := false
			for _, st := range steps {
				switch {
				case strings.HasPrefix(st, "CORRELATED SCALAR SUBQUERY"):
					inGroups = true
				case st == "SCAN users" && !w.scanUsers,
					strings.HasPrefix(st, "SCAN ") && st != "SCAN users" && st != "SCAN u" && st != "SCAN x" && !strings.Contains(st, "COVERING INDEX"),
					strings.Contains(st, "TEMP B-TREE") && !inGroups:
					t.Errorf("unexpected step %q:\n%s\n%s", st, q.SQL, plan)
				}
			}
		})
	}
}

// checkPlans explains each of queries and checks it against its expected
// plan in want, which must expect exactly these queries.
func checkPlans(ctx context.Context, t *testing.T, db *sql.DB, queries []sqlstore.PlannedQuery, want map[string]struct {
	index   string
	ordered bool
}) {
	t.Helper()
	if len(queries) != len(want) {
		t.Errorf("%d planned queries, %d expectations: keep them in step", len(queries), len(want))
	}
	for _, q := range queries {
		t.Run(q.Name, func(t *testing.T) {
			w, ok := want[q.Name]
			if !ok {
				t.Fatalf("no expected plan for %q", q.Name)
			}
			steps := explain(ctx, t, db, q)
			plan := strings.Join(steps, "\n")
			usesIndex := false
			for _, st := range steps {
				switch {
				case w.index == "" && strings.HasPrefix(st, "SCAN "):
					usesIndex = true
				case w.index != "" && readsThrough(st, w.index):
					usesIndex = true
				}
				if strings.HasPrefix(st, "SCAN ") && st != "SCAN CONSTANT ROW" && !w.ordered {
					t.Errorf("reads a whole table (%s):\n%s\n%s", st, q.SQL, plan)
				}
				if w.ordered && strings.Contains(st, "TEMP B-TREE") {
					t.Errorf("sorts before LIMIT (%s):\n%s\n%s", st, q.SQL, plan)
				}
			}
			if !usesIndex {
				t.Errorf("does not use index %q:\n%s\n%s", w.index, q.SQL, plan)
			}
		})
	}
}

// readsThrough reports whether plan step st reads through index: one by
// its name, or "T PRIMARY KEY", the primary key of table T, which a table
// WITHOUT ROWID is stored in.
func readsThrough(st, index string) bool {
	if table, ok := strings.CutSuffix(index, " PRIMARY KEY"); ok {
		return strings.HasPrefix(st, "SEARCH "+table+" USING PRIMARY KEY")
	}
	return strings.Contains(st, "INDEX "+index+" ") || strings.HasSuffix(st, "INDEX "+index)
}

// explain returns the detail column of each step of q's query plan.
func explain(ctx context.Context, t *testing.T, db *sql.DB, q sqlstore.PlannedQuery) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.SQL, q.Args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q.SQL, err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("explain %s: %v", q.SQL, err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("explain %s: %v", q.SQL, err)
	}
	return steps
}
