package postgres

import (
	"database/sql"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/plantest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/sqlstore"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres/pgtest"
)

// TestTxFailed tells a transaction PostgreSQL has aborted, whose COMMIT
// would roll it back without an error, from one that may commit.
func TestTxFailed(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("pgx", pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	check := func(when string, want bool) {
		t.Helper()
		got, err := txFailed(conn)
		if err != nil || got != want {
			t.Fatalf("%s: txFailed = %v, %v; want %v", when, got, err, want)
		}
	}
	check("outside a transaction", false)
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	check("in a transaction", false)
	if _, err := conn.ExecContext(ctx, `SELECT 1/0`); err == nil {
		t.Fatal("division by zero succeeded")
	}
	check("after an error", true)
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	check("after ROLLBACK", false)
}

// TestAddMemberStatement: the statement adding a group member fails for a
// user that does not exist and names the one it adds.
func TestAddMemberStatement(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	s, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plantest.CheckAddMember(t, s, db, sqlstore.PlannedQueries(dialect()))
}
