package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/plantest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/sqlstore"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres/pgtest"
)

// TestQueryPlans asks PostgreSQL (EXPLAIN) how it answers each of the
// store's lookups over a seeded, analysed schema: through the expected
// index, never by a sequential scan or a full index scan, and for a page of
// a list without sorting everything first. Sequential scans are disabled
// for the session so that small tables, which PostgreSQL would rightly
// read whole, still show whether an index exists for the lookup.
func TestQueryPlans(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.FreshSchema(t)
	s, err := Open(ctx, dsn, Options{Logger: zaptest.NewLogger(t), MaxConns: 2})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the SET below holds for the one session
	if err := plantest.Seed(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatalf("set: %v", err)
	}

	want := map[string]struct {
		index   string
		ordered bool // a scan in index order, stopped by LIMIT, is the plan
	}{
		"count users by id":            {index: "users_id_key"},
		"users by id":                  {index: "users_id_key"},
		"count users by userName":      {index: "users_user_name_lower_key"},
		"users by userName":            {index: "users_user_name_lower_key"},
		"count users by externalId":    {index: "users_external_id"},
		"users by externalId":          {index: "users_external_id"},
		"count users by emails":        {index: "user_emails_email"},
		"users by emails":              {index: "user_emails_email"},
		"count groups by id":           {index: "scim_groups_id_key"},
		"groups by id":                 {index: "scim_groups_id_key"},
		"count groups by displayName":  {index: "scim_groups_display_name_lower_key"},
		"groups by displayName":        {index: "scim_groups_display_name_lower_key"},
		"count groups by externalId":   {index: "scim_groups_external_id"},
		"groups by externalId":         {index: "scim_groups_external_id"},
		"list users":                   {index: "users_pkey", ordered: true},
		"list groups":                  {index: "scim_groups_pkey", ordered: true},
		"user by id for update":        {index: "users_id_key"},
		"group by id for update":       {index: "scim_groups_id_key"},
		"users by manager":             {index: "users_manager_id"},
		"members of groups":            {index: "group_members_pkey"},
		"members of groups with names": {index: "group_members_pkey"},
		"add a member":                 {index: "users_id_key"},
		"rename a member":              {index: "group_members_user"},
		"groups of users":              {index: "group_members_user"},
		"groups of a deleted user":     {index: "group_members_user"},
		"tombstone by userName":        {index: "sync_info_tombstone_name"},
		"attach a fresh link":          {index: "sync_info_tombstone_name"},
		"sync info by user":            {index: "sync_info_user_id"},
		"sync info by link":            {index: "sync_info_pkey"},
		"links after":                  {index: "sync_info_pkey", ordered: true},
		"purge tombstones":             {index: "sync_info_tombstone_updated"},
		"user ids after":               {index: "users_id_key", ordered: true},
		"lock users":                   {index: "users_id_key"},
		"sync info by GSID":            {index: "sync_info_gsid"},
		"claim dirty":                  {index: "dirty_claim", ordered: true},
		"claim urgent dirty":           {index: "dirty_claim", ordered: true},
		"snapshot keys":                {index: "snapshot_keys_pkey"},
		// A user's few entries are fetched through the index and sorted;
		// its newest page is the same index's order once there are many.
		"history of a user":      {index: "audit_user_at"},
		"history of a userName":  {index: "audit_user_name_at"},
		"history since":          {index: "audit_at", ordered: true},
		"next page of a history": {index: "audit_user_at"},
	}
	checkPlans(ctx, t, db, sqlstore.PlannedQueries(dialect()), want)
	// As autovacuum keeps them: the visibility map lets counts read an
	// index alone.
	if _, err := db.ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
		t.Fatalf("vacuum: %v", err)
	}
	checkPlans(ctx, t, db, sqlstore.FindPlannedQueries(dialect()), findPlans)
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
			root, text := explain(ctx, t, db, q)
			usesIndex := false
			var walk func(n planNode)
			walk = func(n planNode) {
				if n.IndexName == w.index {
					usesIndex = true
				}
				switch {
				case n.NodeType == "Seq Scan":
					t.Errorf("reads table %s whole:\n%s\n%s", n.RelationName, q.SQL, text)
				case (n.NodeType == "Index Scan" || n.NodeType == "Index Only Scan") && n.IndexCond == "" && !w.ordered:
					t.Errorf("reads index %s whole:\n%s\n%s", n.IndexName, q.SQL, text)
				case n.NodeType == "Sort" && w.ordered:
					t.Errorf("sorts before LIMIT:\n%s\n%s", q.SQL, text)
				}
				for _, c := range n.Plans {
					walk(c)
				}
			}
			walk(root)
			if !usesIndex {
				t.Errorf("does not use index %q:\n%s\n%s", w.index, q.SQL, text)
			}
		})
	}
}

// planNode is the part of an EXPLAIN (FORMAT JSON) node the test reads.
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	IndexCond    string     `json:"Index Cond"`
	Plans        []planNode `json:"Plans"`
}

// explain returns q's plan tree and its text form.
func explain(ctx context.Context, t *testing.T, db *sql.DB, q sqlstore.PlannedQuery) (planNode, string) {
	t.Helper()
	var text strings.Builder
	rows, err := db.QueryContext(ctx, "EXPLAIN "+q.SQL, q.Args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q.SQL, err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatalf("explain: %v", err)
		}
		text.WriteString(line + "\n")
	}
	rows.Close()
	var raw string
	if err := db.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+q.SQL, q.Args...).Scan(&raw); err != nil {
		t.Fatalf("explain %s: %v", q.SQL, err)
	}
	var out []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil || len(out) != 1 {
		t.Fatalf("decode plan %s: %v", raw, err)
	}
	return out[0].Plan, text.String()
}
