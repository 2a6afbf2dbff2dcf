package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/plantest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/sqlstore"
)

// TestConstraintKeepsTransaction: the dialect says that a statement a
// unique constraint refuses is undone alone and its transaction goes on
// (ConstraintKeepsTx), which lets group commit answer a duplicate userName
// without rolling back and re-running the writes batched with it. SQLite,
// through this driver, does so.
func TestConstraintKeepsTransaction(t *testing.T) {
	if !dialect().ConstraintKeepsTx {
		t.Fatal("the SQLite dialect does not keep transactions after a constraint error")
	}
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "c.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO t (k, v) VALUES ('a', 'x')`); err != nil {
		t.Fatal(err)
	}
	// Refused by a unique constraint: neither row of it is written.
	if _, err := tx.Exec(`INSERT INTO t (k, v) VALUES ('b', 'y'), ('c', 'x')`); !isUnique(err) {
		t.Fatalf("duplicate: %v; want a unique violation", err)
	}
	if _, err := tx.Exec(`INSERT INTO t (k, v) VALUES ('d', 'z')`); err != nil {
		t.Fatalf("after the refused statement: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	var keys string
	if err := db.QueryRow(`SELECT group_concat(k, '') FROM (SELECT k FROM t ORDER BY k)`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if keys != "ad" {
		t.Errorf("stored %q; want the statements before and after the refused one (ad)", keys)
	}
}

// TestAddMemberStatement: the statement adding a group member fails for a
// user that does not exist and names the one it adds.
func TestAddMemberStatement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "add.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plantest.CheckAddMember(t, s, db, sqlstore.PlannedQueries(dialect()))
}
