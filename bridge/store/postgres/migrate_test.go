package postgres

import (
	"context"
	"database/sql"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/migratetest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres/pgtest"
)

// TestMigrateLinks opens a database an earlier release wrote (schema
// version 2) and checks its links after the migrations to the current one.
func TestMigrateLinks(t *testing.T) {
	migratetest.CheckLinks(t, openMigrated(t, 2, migratetest.SeedLinksV2))
}

// TestMigrateUsersV8 opens a database of schema version 8 and checks the
// columns and indexes migration 0009 changed: display names, users by manager,
// tombstones by userName.
func TestMigrateUsersV8(t *testing.T) {
	migratetest.CheckUsersV8(t, openMigrated(t, 8, migratetest.SeedUsersV8))
}

// TestMigrateMembersV9 opens a database of schema version 9 and checks
// what migration 0010 changed: memberships hold their members' names.
func TestMigrateMembersV9(t *testing.T) {
	migratetest.CheckMembersV9(t, openMigrated(t, 9, migratetest.SeedMembersV9))
}

// openMigrated writes a fresh schema at schema version, seeds it as a
// release of that version would have, and opens it, which migrates it to
// the current version. The store is closed when the test ends.
func openMigrated(t *testing.T, version int, seed func(context.Context, *sql.DB) error) *Store {
	t.Helper()
	ctx := t.Context()
	dsn := pgtest.FreshSchema(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	if err := migratetest.ApplyUpTo(ctx, db, migrationFiles, "migrations", version); err != nil {
		t.Fatalf("apply old migrations: %v", err)
	}
	if err := seed(ctx, db); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, dsn, Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
