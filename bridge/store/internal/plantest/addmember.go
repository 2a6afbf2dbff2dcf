package plantest

import (
	"database/sql"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/sqlstore"
)

// CheckAddMember runs the store's statement that adds a group member
// ("add a member" of queries) on db, the database of s: a user that does
// not exist (deleted after the write checked its members) fails it, as the
// foreign key says, rather than adding nothing; an existing user is added
// with its name; one added without a name is named from its user.
func CheckAddMember(t *testing.T, s store.Store, db *sql.DB, queries []sqlstore.PlannedQuery) {
	t.Helper()
	ctx := t.Context()
	var add string
	for _, q := range queries {
		if q.Name == "add a member" {
			add = q.SQL
		}
	}
	if add == "" {
		t.Fatal(`no "add a member" statement`)
	}
	u, err := s.CreateUser(ctx, store.User{UserName: "member@example.com", Active: true,
		Doc: map[string]any{"userName": "member@example.com", "displayName": "Mem Ber"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, store.Group{DisplayName: "Added", Doc: map[string]any{"displayName": "Added"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, add, g.ID, "no-such-user"); err == nil {
		t.Error("adding a user that does not exist succeeded")
	}
	if _, err := db.ExecContext(ctx, add, g.ID, u.ID); err != nil {
		t.Fatalf("add a member: %v", err)
	}
	// A replica of the release before memberships held names, still
	// running during a rolling update, adds members without one: they are
	// named from their users.
	old, err := s.CreateUser(ctx, store.User{UserName: "old@example.com", Active: true,
		Doc: map[string]any{"userName": "old@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, g.ID, old.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetGroup(ctx, g.ID)
	if err != nil || len(got.Members) != 2 || got.MemberNames[u.ID] != "Mem Ber" || got.MemberNames[old.ID] != "old@example.com" {
		t.Errorf("group after the adds: %+v, %v", got, err)
	}
}
