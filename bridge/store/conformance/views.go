package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// RunViewFinderTests runs the store.ViewFinder contract against stores made
// by newStore, which must implement it: every view is what FindUsers,
// SyncOfUsers and GroupsOfUsers say of the same user, for every filter and
// page, totals included.
func RunViewFinderTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"ViewsMatchFindUsers", testViewsMatch},
		{"ViewsOfDeepPages", testViewsDeepPages},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if _, ok := s.(store.ViewFinder); !ok {
				t.Fatalf("%T does not implement store.ViewFinder", s)
			}
			tc.run(t, s)
		})
	}
}

// wantViews checks that the views of f are FindUsers(f) with each user's
// link and groups.
func wantViews(t *testing.T, s store.Store, f store.UserFilter) {
	t.Helper()
	ctx := t.Context()
	views, vtotal, err := s.(store.ViewFinder).FindUserViews(ctx, f)
	if err != nil {
		t.Fatalf("FindUserViews(%+v): %v", f, err)
	}
	users, total, err := s.FindUsers(ctx, f)
	if err != nil {
		t.Fatalf("FindUsers(%+v): %v", f, err)
	}
	if vtotal != total || len(views) != len(users) {
		t.Fatalf("FindUserViews(%+v) = %d views (total %d), FindUsers %d users (total %d)", f, len(views), vtotal, len(users), total)
	}
	ids := userIDs(users)
	syncs, err := s.SyncOfUsers(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := s.GroupsOfUsers(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range users {
		v := views[i]
		var doc map[string]any
		if err := json.Unmarshal(v.Doc, &doc); err != nil {
			t.Fatalf("view of %s: document %q: %v", u.ID, v.Doc, err)
		}
		wantDoc, _ := json.Marshal(u.Doc)
		var want map[string]any
		_ = json.Unmarshal(wantDoc, &want)
		if v.ID != u.ID || v.UserName != u.UserName || v.Active != u.Active || v.Source != u.Source || v.Version != u.Version ||
			!v.Created.Equal(u.Created) || !v.Modified.Equal(u.Modified) || !reflect.DeepEqual(doc, want) {
			t.Errorf("view %d of %+v = %+v (doc %s), want user %+v", i, f, v, v.Doc, u)
		}
		info, linked := syncs[u.ID]
		info.Record = nil
		if v.HasSync != linked || !reflect.DeepEqual(v.Sync, info) {
			t.Errorf("view of %s: link %+v (%v), want %+v (%v)", u.ID, v.Sync, v.HasSync, info, linked)
		}
		if !reflect.DeepEqual(v.Groups, groups[u.ID]) {
			t.Errorf("view of %s: groups %+v, want %+v", u.ID, v.Groups, groups[u.ID])
		}
	}
}

func testViewsMatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "ann@example.com", "bob@example.com", "cid@example.com", "dee@example.com")
	g1 := createGroup(t, s, "Sales", ids[0], ids[1])
	g2 := createGroup(t, s, "Admins", ids[0])
	if _, err := s.UpdateGroup(ctx, g2.ID, func(g store.Group) (store.Group, error) {
		g.ExternalID = "ext-admins"
		return g, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	setSyncState(t, s, ids[1], store.StateSynced, "GS-BOB")
	setLink(t, s, ids[2], func(i *store.SyncInfo) { i.State, i.LastError = store.StateFailed, "refused" })
	if _, err := s.UpdateUser(ctx, ids[3], func(u store.User) (store.User, error) {
		u.Active = false
		u.Doc["active"] = false
		u.Doc["title"] = `<b>"Head" & co</b>`
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	gone := createUsers(t, s, "gone@example.com")[0]
	if err := s.DeleteUser(ctx, gone); err != nil {
		t.Fatal(err)
	}
	active := true
	for _, f := range []store.UserFilter{
		{},
		{Query: store.Query{Limit: 2}},
		{Query: store.Query{Offset: 1, Limit: 2}},
		{Query: store.Query{Offset: 3, Limit: 2}},
		{Query: store.Query{Offset: 4, Limit: 2}},
		{Query: store.Query{Offset: 9, Limit: 2}},
		{Query: store.Query{Field: "userName", Value: "BOB@example.com", Limit: 100}},
		{Query: store.Query{Field: "userName", Value: "gone@example.com", Limit: 100}},
		{Query: store.Query{Field: "emails", Value: "ann@example.com", Limit: 1}},
		{Query: store.Query{Field: "id", Value: ids[2]}},
		{Query: store.Query{Field: "externalId", Value: "nobody"}},
		{Active: &active},
		{Group: g1.ID},
		{GroupName: "admins"},
		{SyncState: store.StateFailed},
		{GSID: "GS-BOB"},
	} {
		wantViews(t, s, f)
	}
}

func testViewsDeepPages(t *testing.T, s store.Store) {
	const n = 230
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("user-%03d@example.com", i)
	}
	ids := createUsers(t, s, names...)
	createGroup(t, s, "Odd", ids[151], ids[153])
	active := true
	for _, f := range []store.UserFilter{
		{Query: store.Query{Offset: 150, Limit: 10}},
		{Query: store.Query{Offset: 220, Limit: 100}},
		{Query: store.Query{Offset: 229, Limit: 1}},
		{Query: store.Query{Offset: 230, Limit: 1}},
		{Query: store.Query{Offset: 100, Limit: 100}},
		{Query: store.Query{Offset: 120, Limit: 100}, Active: &active},
	} {
		wantViews(t, s, f)
	}
}

// RunLinkedCreatorTests runs the store.LinkedCreator contract against
// stores made by newStore, which must implement it: the link a create
// returns is the one GetSync then finds, for a new userName, for one whose
// tombstone the create takes over, and for a re-used id.
func RunLinkedCreatorTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	lc, ok := s.(store.LinkedCreator)
	if !ok {
		t.Fatalf("%T does not implement store.LinkedCreator", s)
	}
	ctx := t.Context()
	check := func(what string, u store.User, link store.SyncInfo, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		want, err := s.GetSync(ctx, u.ID)
		if err != nil {
			t.Fatalf("%s: GetSync: %v", what, err)
		}
		if fmt.Sprintf("%+v", link) != fmt.Sprintf("%+v", want) {
			t.Errorf("%s: link %+v, GetSync %+v", what, link, want)
		}
	}
	u, link, err := lc.CreateUserLinked(ctx, newUser("new@example.com"))
	check("a new user", u, link, err)
	if link.State != store.StatePending || link.GSID != "" || link.Tombstone {
		t.Errorf("a new user's link: %+v", link)
	}

	old := createUser(t, s, newUser("back@example.com"))
	setLink(t, s, old.ID, func(i *store.SyncInfo) { i.GSID, i.State, i.LastError = "GS-BACK", store.StateSynced, "was refused" })
	if err := s.DeleteUser(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	u, link, err = lc.CreateUserLinked(ctx, newUser("BACK@example.com"))
	check("a re-created userName", u, link, err)
	if link.GSID != "GS-BACK" || link.UserID != u.ID {
		t.Errorf("the re-created user's link: %+v; want the tombstone's", link)
	}

	gone := createUser(t, s, newUser("gone@example.com"))
	if err := s.DeleteUser(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	again := newUser("other@example.com")
	again.ID = gone.ID
	u, link, err = lc.CreateUserLinked(ctx, again)
	check("a re-used id", u, link, err)

	if _, _, err := lc.CreateUserLinked(ctx, newUser("new@example.com")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a taken userName: %v; want ErrConflict", err)
	}
}
