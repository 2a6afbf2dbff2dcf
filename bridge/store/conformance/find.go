package conformance

import (
	"strings"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// RunFinderTests runs the store.Finder contract against stores made by
// newStore, as RunTests does for the rest of the Store contract.
func RunFinderTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"FindUsersByActive", testFindUsersByActive},
		{"FindUsersByGroup", testFindUsersByGroup},
		{"FindUsersBySyncState", testFindUsersBySyncState},
		{"FindUsersCombinedAndPaged", testFindUsersCombined},
		{"FindUsersUnstorableValues", testFindUsersUnstorable},
		{"FindGroupsByMember", testFindGroupsByMember},
		{"GroupsAndSyncOfUsers", testGroupsAndSyncOfUsers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

func findUsers(t *testing.T, s store.Store, f store.UserFilter) ([]string, int) {
	t.Helper()
	us, total, err := s.FindUsers(t.Context(), f)
	if err != nil {
		t.Fatalf("FindUsers(%+v): %v", f, err)
	}
	return userIDs(us), total
}

// wantUsers checks that f selects exactly want, in creation order.
func wantUsers(t *testing.T, s store.Store, f store.UserFilter, want ...string) {
	t.Helper()
	got, total := findUsers(t, s, f)
	if strings.Join(got, ",") != strings.Join(want, ",") || total != len(want) {
		t.Errorf("FindUsers(%+v) = %v (total %d), want %v", f, got, total, want)
	}
}

// setSyncState records state (and gsid) as the sync engine would.
func setSyncState(t *testing.T, s store.Store, id, state, gsid string) {
	t.Helper()
	setLink(t, s, id, func(i *store.SyncInfo) { i.State, i.GSID = state, gsid })
}

func testFindUsersByActive(t *testing.T, s store.Store) {
	ids := createUsers(t, s, "a@example.com", "b@example.com", "c@example.com")
	if _, err := s.UpdateUser(t.Context(), ids[1], func(u store.User) (store.User, error) {
		u.Active = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	wantUsers(t, s, store.UserFilter{Active: &yes}, ids[0], ids[2])
	wantUsers(t, s, store.UserFilter{Active: &no}, ids[1])
	wantUsers(t, s, store.UserFilter{}, ids...)
	if err := s.DeleteUser(t.Context(), ids[0]); err != nil {
		t.Fatal(err)
	}
	wantUsers(t, s, store.UserFilter{Active: &yes}, ids[2])
}

func testFindUsersByGroup(t *testing.T, s store.Store) {
	ids := createUsers(t, s, "a@example.com", "b@example.com", "c@example.com")
	sales := createGroup(t, s, "Ventes Σ", ids[0], ids[2])
	other := createGroup(t, s, "Other", ids[1])
	wantUsers(t, s, store.UserFilter{Group: sales.ID}, ids[0], ids[2])
	wantUsers(t, s, store.UserFilter{Group: other.ID}, ids[1])
	// Ids compare exactly; displayNames as displayNames do.
	wantUsers(t, s, store.UserFilter{Group: strings.ToUpper(sales.ID) + "x"})
	wantUsers(t, s, store.UserFilter{GroupName: "VENTES σ"}, ids[0], ids[2])
	wantUsers(t, s, store.UserFilter{GroupName: "ventes ς"}, ids[0], ids[2])
	wantUsers(t, s, store.UserFilter{GroupName: "Nobody"})
	if _, err := s.UpdateGroup(t.Context(), sales.ID, func(g store.Group) (store.Group, error) {
		g.Members = []string{ids[2]}
		return g, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	wantUsers(t, s, store.UserFilter{Group: sales.ID}, ids[2])
	if err := s.DeleteUser(t.Context(), ids[2]); err != nil {
		t.Fatal(err)
	}
	wantUsers(t, s, store.UserFilter{GroupName: "Ventes Σ"})
}

func testFindUsersBySyncState(t *testing.T, s store.Store) {
	ids := createUsers(t, s, "a@example.com", "b@example.com", "c@example.com", "d@example.com")
	setSyncState(t, s, ids[1], store.StateSynced, "gs-b")
	setSyncState(t, s, ids[2], store.StateFailed, "")
	wantUsers(t, s, store.UserFilter{SyncState: store.StatePending}, ids[0], ids[3])
	wantUsers(t, s, store.UserFilter{SyncState: store.StateSynced}, ids[1])
	wantUsers(t, s, store.UserFilter{SyncState: store.StateFailed}, ids[2])
	wantUsers(t, s, store.UserFilter{SyncState: "Synced"})
	wantUsers(t, s, store.UserFilter{SyncState: "unknown"})
	wantUsers(t, s, store.UserFilter{GSID: "gs-b"}, ids[1])
	wantUsers(t, s, store.UserFilter{GSID: "GS-B"})
	// A deleted user's tombstone keeps its link, but it is no user.
	if err := s.DeleteUser(t.Context(), ids[1]); err != nil {
		t.Fatal(err)
	}
	wantUsers(t, s, store.UserFilter{GSID: "gs-b"})
	wantUsers(t, s, store.UserFilter{SyncState: store.StateSynced})
	wantUsers(t, s, store.UserFilter{SyncState: store.StatePending}, ids[0], ids[3])
}

func testFindUsersCombined(t *testing.T, s store.Store) {
	var names []string
	for _, c := range "abcdefgh" {
		names = append(names, string(c)+"@example.com")
	}
	ids := createUsers(t, s, names...)
	g := createGroup(t, s, "G", ids[1], ids[2], ids[3], ids[5], ids[7])
	if _, err := s.UpdateUser(t.Context(), ids[2], func(u store.User) (store.User, error) {
		u.Active = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	yes := true
	f := store.UserFilter{Group: g.ID, Active: &yes}
	wantUsers(t, s, f, ids[1], ids[3], ids[5], ids[7])
	f.Offset, f.Limit = 1, 2
	got, total := findUsers(t, s, f)
	if strings.Join(got, ",") != ids[3]+","+ids[5] || total != 4 {
		t.Errorf("page 2 of 2 = %v (total %d), want %v (total 4)", got, total, []string{ids[3], ids[5]})
	}
	f = store.UserFilter{Query: store.Query{Field: "userName", Value: "D@EXAMPLE.COM"}, Group: g.ID, Active: &yes}
	wantUsers(t, s, f, ids[3])
	f.Value = "e@example.com"
	wantUsers(t, s, f)
	f = store.UserFilter{Query: store.Query{Field: "emails", Value: "h@example.com"}, SyncState: store.StatePending}
	wantUsers(t, s, f, ids[7])
	if _, _, err := s.FindUsers(t.Context(), store.UserFilter{Query: store.Query{Field: "title", Value: "x"}}); err == nil {
		t.Error("FindUsers on an unindexed field: no error")
	}
}

func testFindUsersUnstorable(t *testing.T, s store.Store) {
	createUsers(t, s, "a@example.com")
	long := strings.Repeat("x", store.MaxIndexedBytes+1)
	for _, f := range []store.UserFilter{
		{Group: "a\x00b"}, {Group: long}, {GroupName: long}, {GSID: "\x00"}, {GSID: long},
		{Query: store.Query{Field: "userName", Value: long}},
	} {
		wantUsers(t, s, f)
	}
}

func testFindGroupsByMember(t *testing.T, s store.Store) {
	ids := createUsers(t, s, "a@example.com", "b@example.com")
	g1 := createGroup(t, s, "One", ids[0])
	g2 := createGroup(t, s, "Two", ids[0], ids[1])
	createGroup(t, s, "Three")
	find := func(f store.GroupFilter, withMembers bool) ([]store.Group, int) {
		t.Helper()
		gs, total, err := s.FindGroups(t.Context(), f, withMembers)
		if err != nil {
			t.Fatalf("FindGroups(%+v): %v", f, err)
		}
		return gs, total
	}
	gs, total := find(store.GroupFilter{Member: ids[0]}, false)
	if len(gs) != 2 || total != 2 || gs[0].ID != g1.ID || gs[1].ID != g2.ID || gs[0].Members != nil {
		t.Errorf("groups of a = %+v (total %d), want One, Two without members", gs, total)
	}
	gs, _ = find(store.GroupFilter{Member: ids[1]}, true)
	if len(gs) != 1 || gs[0].ID != g2.ID || !sameSet(gs[0].Members, ids) || gs[0].MemberNames[ids[1]] != "b@example.com" {
		t.Errorf("groups of b with members = %+v, want Two with both members and their names", gs)
	}
	gs, total = find(store.GroupFilter{Query: store.Query{Field: "displayName", Value: "one", Limit: 1}, Member: ids[0]}, false)
	if len(gs) != 1 || total != 1 || gs[0].ID != g1.ID {
		t.Errorf("One with member a = %+v (total %d)", gs, total)
	}
	if gs, total = find(store.GroupFilter{Member: strings.ToUpper(ids[1]) + "x"}, false); len(gs) != 0 || total != 0 {
		t.Errorf("groups of an unknown user = %+v", gs)
	}
	if gs, total = find(store.GroupFilter{Member: "\x00"}, false); len(gs) != 0 || total != 0 {
		t.Errorf("groups of an unstorable id = %+v", gs)
	}
}

func testGroupsAndSyncOfUsers(t *testing.T, s store.Store) {
	ids := createUsers(t, s, "a@example.com", "b@example.com", "c@example.com")
	g1 := createGroup(t, s, "One", ids[0], ids[1])
	g2 := createGroup(t, s, "Two", ids[0])
	setSyncState(t, s, ids[1], store.StateSynced, "gs-b")
	ask := append(append([]string{}, ids...), "nobody", "\x00")
	groups, err := s.GroupsOfUsers(t.Context(), ask)
	if err != nil {
		t.Fatalf("GroupsOfUsers: %v", err)
	}
	if !sameSet(refIDs(groups[ids[0]]), []string{g1.ID, g2.ID}) || !sameSet(refIDs(groups[ids[1]]), []string{g1.ID}) ||
		len(groups) != 2 {
		t.Errorf("GroupsOfUsers = %+v", groups)
	}
	if r := groups[ids[1]]; len(r) != 1 || r[0].DisplayName != "One" || r[0].ExternalID != "ext-One" {
		t.Errorf("group of b = %+v, want One with its externalId", r)
	}
	infos, err := s.SyncOfUsers(t.Context(), ask)
	if err != nil {
		t.Fatalf("SyncOfUsers: %v", err)
	}
	if len(infos) != 3 || infos[ids[1]].State != store.StateSynced || infos[ids[1]].GSID != "gs-b" ||
		infos[ids[0]].State != store.StatePending || infos[ids[2]].UserID != ids[2] {
		t.Errorf("SyncOfUsers = %+v", infos)
	}
	if m, err := s.SyncOfUsers(t.Context(), nil); err != nil || len(m) != 0 {
		t.Errorf("SyncOfUsers(nil) = %v, %v", m, err)
	}
}
