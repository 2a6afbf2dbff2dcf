package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/migratetest"
)

// TestMigrateLinks opens a database an earlier release wrote (schema
// version 2) and checks its links after the migrations to the current one.
func TestMigrateLinks(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := migratetest.ApplyUpTo(ctx, db, migrationFiles, "migrations", 2); err != nil {
		t.Fatalf("apply old migrations: %v", err)
	}
	if err := migratetest.SeedLinksV2(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	migratetest.CheckLinks(t, s)
}

// TestMigrateUsersV8 opens a database of schema version 8 and checks the
// columns and indexes migration 0009 changed: display names, users by manager,
// tombstones by userName.
func TestMigrateUsersV8(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := migratetest.ApplyUpTo(ctx, db, migrationFiles, "migrations", 8); err != nil {
		t.Fatalf("apply old migrations: %v", err)
	}
	if err := migratetest.SeedUsersV8(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	migratetest.CheckUsersV8(t, s)
}
