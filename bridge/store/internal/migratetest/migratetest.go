package migratetest

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/sqlstore"
)

// ApplyUpTo applies the migrations in dir of files up to version only, as
// an older release of the bridge left the database.
func ApplyUpTo(ctx context.Context, db *sql.DB, files fs.FS, dir string, version int) error {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		return err
	}
	ms, err := sqlstore.LoadMigrations(sub)
	if err != nil {
		return err
	}
	var keep []sqlstore.Migration
	for _, m := range ms {
		if m.Version <= version {
			keep = append(keep, m)
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return sqlstore.Migrate(ctx, conn, keep, time.Now, zap.NewNop())
}

// SeedLinksV2 writes links in the version 2 schema (keyed by user id, a
// non-empty last_error standing for "outcome unknown"): a linked user whose
// last write failed, and a settled one.
func SeedLinksV2(ctx context.Context, db *sql.DB) error {
	const insert = `INSERT INTO sync_info (user_id, user_name, user_name_lower, gsid, record, active, state, last_error, tombstone, updated)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	for _, row := range [][]any{
		{"u-lost", "lost@example.com", store.Fold("lost@example.com"), "GS-LOST", `{"Title":"x"}`, true, "pending", "update: connection reset", false, 1},
		{"u-ok", "ok@example.com", store.Fold("ok@example.com"), "GS-OK", "null", false, "synced", "", true, 2},
	} {
		if _, err := db.ExecContext(ctx, insert, row...); err != nil {
			return fmt.Errorf("migratetest: seed: %w", err)
		}
	}
	return nil
}

// CheckLinks checks what SeedLinksV2 wrote after the current schema's
// migrations: each link keyed by its former user id, a failed last write
// flagged unknown, every link at version 1 and writable by UpdateSync.
func CheckLinks(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	for _, want := range []store.SyncInfo{
		{LinkID: "u-lost", UserID: "u-lost", GSID: "GS-LOST", Active: true, Unknown: true, State: store.StatePending},
		{LinkID: "u-ok", UserID: "u-ok", GSID: "GS-OK", Tombstone: true, State: store.StateSynced},
	} {
		got, err := s.GetSync(ctx, want.UserID)
		if err != nil || got.LinkID != want.LinkID || got.GSID != want.GSID || got.Active != want.Active ||
			got.Unknown != want.Unknown || got.State != want.State || got.Tombstone != want.Tombstone || got.Version != 1 {
			t.Fatalf("migrated link %s = %+v, %v; want %+v at version 1", want.UserID, got, err, want)
		}
		if _, err := s.UpdateSync(ctx, got.LinkID, func(i store.SyncInfo) (store.SyncInfo, error) {
			i.Unknown = false
			return i, nil
		}); err != nil {
			t.Fatalf("UpdateSync of migrated link %s: %v", want.UserID, err)
		}
	}
	// A re-create takes the migrated tombstone over under its old key.
	u, err := s.CreateUser(ctx, store.User{UserName: "OK@example.com"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if got, err := s.GetSync(ctx, u.ID); err != nil || got.LinkID != "u-ok" || got.GSID != "GS-OK" {
		t.Fatalf("re-created user's link = %+v, %v; want link u-ok", got, err)
	}
}

// SeedUsersV8 writes, in the version 8 schema (members' display names read
// from the documents), three users — one with a displayName, one with an
// empty one, one with none — a group holding them, a tombstone and a user
// with a manager.
func SeedUsersV8(ctx context.Context, db *sql.DB) error {
	const user = `INSERT INTO users (id, user_name, user_name_lower, external_id, emails, manager_id, active, source, doc, version, created, modified)
VALUES ($1, $2, $3, '', '[]', $4, TRUE, 'scim', $5, 1, 1, 1)`
	for _, row := range [][]any{
		{"u-ann", "ann@example.com", store.Fold("ann@example.com"), "", `{"displayName":"Ann Lee","userName":"ann@example.com"}`},
		{"u-bob", "bob@example.com", store.Fold("bob@example.com"), "u-ann", `{"displayName":"","userName":"bob@example.com"}`},
		{"u-cid", "cid@example.com", store.Fold("cid@example.com"), "u-ann", `{"displayName":7,"userName":"cid@example.com"}`},
	} {
		if _, err := db.ExecContext(ctx, user, row...); err != nil {
			return fmt.Errorf("migratetest: seed users: %w", err)
		}
	}
	for _, q := range []string{
		`INSERT INTO scim_groups (id, display_name, display_name_lower, external_id, source, doc, version, created, modified)
VALUES ('g-1', 'Sales', 'sales', '', 'scim', '{}', 1, 1, 1)`,
		`INSERT INTO group_members (group_id, user_id) VALUES ('g-1', 'u-ann'), ('g-1', 'u-bob'), ('g-1', 'u-cid')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migratetest: seed users: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO sync_info (link_id, user_id, user_name, user_name_lower, gsid, record, active, unknown, state, last_error, tombstone, version, updated)
VALUES ('l-gone', 'u-gone', 'Gone@example.com', $1, 'GS-GONE', 'null', FALSE, FALSE, 'synced', '', TRUE, 1, 1)`, store.Fold("gone@example.com")); err != nil {
		return fmt.Errorf("migratetest: seed users: %w", err)
	}
	return nil
}

// CheckUsersV8 checks what SeedUsersV8 wrote after the current schema's
// migrations: the group's members by their display names (the userName
// where the document has no string displayName), the users of a manager,
// and a re-create taking the tombstone's link over.
func CheckUsersV8(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	g, err := s.GetGroup(ctx, "g-1")
	if err != nil {
		t.Fatalf("GetGroup: %v", err)
	}
	want := map[string]string{"u-ann": "Ann Lee", "u-bob": "bob@example.com", "u-cid": "cid@example.com"}
	if fmt.Sprint(g.MemberNames) != fmt.Sprint(want) {
		t.Errorf("member names after the migration = %v, want %v", g.MemberNames, want)
	}
	if ids, err := s.UsersByManager(ctx, "u-ann"); err != nil || fmt.Sprint(ids) != "[u-bob u-cid]" {
		t.Errorf("UsersByManager = %v, %v; want [u-bob u-cid]", ids, err)
	}
	u, err := s.CreateUser(ctx, store.User{UserName: "gone@example.com"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if got, err := s.GetSync(ctx, u.ID); err != nil || got.LinkID != "l-gone" || got.GSID != "GS-GONE" {
		t.Errorf("re-created user's link = %+v, %v; want the tombstone's", got, err)
	}
}

// SeedMembersV9 writes, in the version 9 schema (members' names read from
// the users' display_name column), two users, one with a display name and
// one without, and a group holding both.
func SeedMembersV9(ctx context.Context, db *sql.DB) error {
	for _, q := range []string{
		`INSERT INTO users (id, user_name, user_name_lower, external_id, emails, manager_id, active, source, doc, version, created, modified, display_name)
VALUES ('u-ann', 'ann@example.com', 'ann@example.com', '', '[]', '', TRUE, 'scim', '{"userName":"ann@example.com","displayName":"Ann Lee"}', 1, 1, 1, 'Ann Lee'),
('u-bob', 'bob@example.com', 'bob@example.com', '', '[]', '', TRUE, 'scim', '{"userName":"bob@example.com"}', 1, 1, 1, '')`,
		`INSERT INTO scim_groups (id, display_name, display_name_lower, external_id, source, doc, version, created, modified)
VALUES ('g-1', 'Sales', 'sales', '', 'scim', '{}', 1, 1, 1)`,
		`INSERT INTO group_members (group_id, user_id) VALUES ('g-1', 'u-ann'), ('g-1', 'u-bob')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migratetest: seed members: %w", err)
		}
	}
	return nil
}

// CheckMembersV9 checks what SeedMembersV9 wrote after the current
// schema's migrations: the memberships hold their members' names, and
// follow a rename.
func CheckMembersV9(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	names := func() string {
		g, err := s.GetGroup(ctx, "g-1")
		if err != nil {
			t.Fatalf("GetGroup: %v", err)
		}
		return fmt.Sprint(g.MemberNames)
	}
	if got, want := names(), fmt.Sprint(map[string]string{"u-ann": "Ann Lee", "u-bob": "bob@example.com"}); got != want {
		t.Errorf("member names after the migration = %s, want %s", got, want)
	}
	if _, err := s.UpdateUser(ctx, "u-bob", func(u store.User) (store.User, error) {
		u.Doc["displayName"] = "Bob Ray"
		return u, nil
	}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if got, want := names(), fmt.Sprint(map[string]string{"u-ann": "Ann Lee", "u-bob": "Bob Ray"}); got != want {
		t.Errorf("member names after a rename = %s, want %s", got, want)
	}
}
