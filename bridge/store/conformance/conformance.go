package conformance

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// RunTests runs the whole Store contract against stores made by newStore.
// Every subtest gets a fresh, empty store; newStore is responsible for
// closing it (t.Cleanup).
func RunTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"UserCRUD", testUserCRUD},
		{"UserExplicitID", testUserExplicitID},
		{"UserNameUnique", testUserNameUnique},
		{"UpdateUserFnError", testUpdateUserFnError},
		{"UpdateUserConcurrent", testUpdateUserConcurrent},
		{"ListUsers", testListUsers},
		{"ListUsersPaging", testListUsersPaging},
		{"UsersByManager", testUsersByManager},
		{"EmptyValuesMatchNothing", testEmptyValues},
		{"GSIDLinksOneUser", testGSIDUnique},
		{"NULCharacters", func(t *testing.T, s store.Store) { testUnindexable(t, s, "a\x00b") }},
		{"OverlongValues", func(t *testing.T, s store.Store) {
			testUnindexable(t, s, strings.Repeat("x", store.MaxIndexedBytes+1))
		}},
		{"UnicodeCaseFolding", testUnicodeFolding},
		{"DeleteUserTombstone", testDeleteUserTombstone},
		{"CreateUserRace", testCreateUserRace},
		{"LargeDocAndTimes", testLargeDocAndTimes},
		{"DeleteUserMemberships", testDeleteUserMemberships},
		{"GroupCRUD", testGroupCRUD},
		{"GroupUnknownMember", testGroupUnknownMember},
		{"GroupCheckAffected", testGroupCheckAffected},
		{"GroupCheckAborts", testGroupCheckAborts},
		{"UpdateGroupConcurrent", testUpdateGroupConcurrent},
		{"ListGroups", testListGroups},
		{"MemberNames", testMemberNames},
		{"GroupsOfUser", testGroupsOfUser},
		{"WritesMarkDirtyAndPending", testWritesMarkDirty},
		{"MarkDirty", testMarkDirty},
		{"ClaimDirtyOrderAndLimit", testClaimOrder},
		{"ClaimDirtyLease", testClaimLease},
		{"CompleteDirty", testCompleteDirty},
		{"RetryDirty", testRetryDirty},
		{"ClaimDirtyConcurrent", testClaimConcurrent},
		{"SyncInfo", testSyncInfo},
		{"CountSyncStates", testCountSyncStates},
		{"Ping", testPing},
		{"LinkTakenOverByRecreate", testLinkTakeover},
		{"UpdateSyncConcurrent", testUpdateSyncConcurrent},
		{"UpdateSyncCompareAndSwap", testUpdateSyncCAS},
		{"ListLinks", testListLinks},
		{"PurgeTombstones", testPurgeTombstones},
		{"ListUserIDs", testListUserIDs},
		{"LeaseOwnerConditional", testLeaseOwner},
		{"ExtendLease", testExtendLease},
		{"ClaimJob", testClaimJob},
		{"TwoGroupsConflictConcurrent", testTwoGroupsConflict},
		{"ConcurrentWritesFailAlone", testConcurrentWritesFailAlone},
		{"WriteFunctionPanics", testWriteFunctionPanics},
	}
	tests = append(tests, schedulingTests()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// ---------------------------------------------------------------- helpers

func newUser(name string) store.User {
	return store.User{
		UserName:   name,
		ExternalID: "ext-" + name,
		Emails:     []string{name},
		Active:     true,
		Doc: map[string]any{
			"userName": name,
			"name":     map[string]any{"givenName": "Given", "familyName": "Family"},
			"roles":    []any{"a", "b"},
			"count":    float64(3),
			"active":   true,
		},
	}
}

func createUser(t *testing.T, s store.Store, u store.User) store.User {
	t.Helper()
	got, err := s.CreateUser(t.Context(), u)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", u.UserName, err)
	}
	return got
}

func createUsers(t *testing.T, s store.Store, names ...string) []string {
	t.Helper()
	ids := make([]string, len(names))
	for i, n := range names {
		ids[i] = createUser(t, s, newUser(n)).ID
	}
	return ids
}

func createGroup(t *testing.T, s store.Store, name string, members ...string) store.Group {
	t.Helper()
	g, err := s.CreateGroup(t.Context(), store.Group{DisplayName: name, ExternalID: "ext-" + name, Members: members,
		Doc: map[string]any{"displayName": name}}, nil)
	if err != nil {
		t.Fatalf("CreateGroup(%q): %v", name, err)
	}
	return g
}

func sorted(ids []string) []string {
	out := append([]string{}, ids...)
	sort.Strings(out)
	return out
}

func sameSet(a, b []string) bool {
	return slices.Equal(sorted(a), sorted(b))
}

func userIDs(us []store.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func refIDs(rs []store.GroupRef) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// far is a claim time after every due entry and every lease.
func far() time.Time { return time.Now().Add(1000 * time.Hour) }

// drain claims and completes every dirty entry.
func drain(t *testing.T, s store.Store) {
	t.Helper()
	ds, err := s.ClaimDirty(t.Context(), "drain", 100000, time.Minute, far())
	if err != nil {
		t.Fatalf("ClaimDirty: %v", err)
	}
	for _, d := range ds {
		if err := s.CompleteDirty(t.Context(), "drain", d.UserID, d.Generation); err != nil {
			t.Fatalf("CompleteDirty: %v", err)
		}
	}
	if n, _, err := s.DirtyStats(t.Context()); err != nil || n != 0 {
		t.Fatalf("after drain DirtyStats = %d, %v; want 0", n, err)
	}
}

// dirtyIDs claims every dirty entry and returns their ids. The lease is so
// short that a later drain or dirtyIDs takes them again.
func dirtyIDs(t *testing.T, s store.Store) []string {
	t.Helper()
	ds, err := s.ClaimDirty(t.Context(), "inspect", 100000, time.Nanosecond, far())
	if err != nil {
		t.Fatalf("ClaimDirty: %v", err)
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.UserID
	}
	return sorted(out)
}

func syncState(t *testing.T, s store.Store, id string) store.SyncInfo {
	t.Helper()
	info, err := s.GetSync(t.Context(), id)
	if err != nil {
		t.Fatalf("GetSync(%s): %v", id, err)
	}
	return info
}

func setSynced(t *testing.T, s store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		setLink(t, s, id, func(i *store.SyncInfo) { i.State, i.GSID = store.StateSynced, "gs-"+id })
	}
}

// setLink changes the link of user id through UpdateSync.
func setLink(t *testing.T, s store.Store, id string, fn func(*store.SyncInfo)) store.SyncInfo {
	t.Helper()
	got, err := s.UpdateSync(t.Context(), syncState(t, s, id).LinkID, func(i store.SyncInfo) (store.SyncInfo, error) {
		fn(&i)
		return i, nil
	})
	if err != nil {
		t.Fatalf("UpdateSync(%s): %v", id, err)
	}
	return got
}

// ---------------------------------------------------------------- users

func testUserCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := newUser("Alice@Example.com")
	in.ManagerID = "mgr-1"
	in.Emails = []string{"Alice@Example.com", "alice.work@example.com"}
	u, err := s.CreateUser(ctx, in)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == "" || u.Version != 1 || u.Created.IsZero() || !u.Modified.Equal(u.Created) || u.Source != store.SourceSCIM {
		t.Fatalf("CreateUser = %+v; want minted id, Version 1, Created = Modified, source scim", u)
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	checkUser(t, got, u)
	if !reflect.DeepEqual(got.Doc, in.Doc) {
		t.Errorf("Doc = %#v; want %#v", got.Doc, in.Doc)
	}

	upd, err := s.UpdateUser(ctx, u.ID, func(cur store.User) (store.User, error) {
		checkUser(t, cur, u)
		cur.ID = "something-else" // ignored: the id never changes
		cur.Active = false
		cur.ExternalID = "ext-new"
		cur.Emails = []string{"new@example.com"}
		cur.Doc["title"] = "Boss"
		return cur, nil
	})
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if upd.ID != u.ID || upd.Version != 2 || !upd.Created.Equal(u.Created) || upd.Modified.Before(u.Modified) || upd.Active {
		t.Fatalf("UpdateUser = %+v; want same id, Version 2, same Created, inactive", upd)
	}
	got, err = s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	checkUser(t, got, upd)
	if got.Doc["title"] != "Boss" {
		t.Errorf("Doc title = %v; want Boss", got.Doc["title"])
	}
	// Version increments on every write.
	for want := int64(3); want <= 5; want++ {
		v, err := s.UpdateUser(ctx, u.ID, func(cur store.User) (store.User, error) {
			if cur.Version != want-1 {
				return cur, fmt.Errorf("fn saw version %d; want %d", cur.Version, want-1)
			}
			return cur, nil
		})
		if err != nil || v.Version != want {
			t.Fatalf("UpdateUser = version %d, %v; want %d", v.Version, err, want)
		}
	}

	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for name, err := range map[string]error{
		"GetUser":    second(s.GetUser(ctx, u.ID)),
		"DeleteUser": s.DeleteUser(ctx, u.ID),
		"UpdateUser": second(s.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) { return u, nil })),
		"GetUnknown": second(s.GetUser(ctx, "no-such-id")),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after delete: %v; want ErrNotFound", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func checkUser(t *testing.T, got, want store.User) {
	t.Helper()
	if got.ID != want.ID || got.UserName != want.UserName || got.ExternalID != want.ExternalID ||
		!slices.Equal(got.Emails, want.Emails) || got.ManagerID != want.ManagerID || got.Active != want.Active ||
		got.Source != want.Source || got.Version != want.Version || !got.Created.Equal(want.Created) ||
		!got.Modified.Equal(want.Modified) {
		t.Fatalf("user = %+v\nwant %+v", got, want)
	}
}

func testUserExplicitID(t *testing.T, s store.Store) {
	u := newUser("bob")
	u.ID = "6d1f0c5e-explicit"
	u.Source = store.SourceGoogle
	got := createUser(t, s, u)
	if got.ID != u.ID || got.Source != store.SourceGoogle {
		t.Fatalf("CreateUser = id %q source %q; want %q %q", got.ID, got.Source, u.ID, store.SourceGoogle)
	}
	other := newUser("carol")
	other.ID = u.ID
	if _, err := s.CreateUser(t.Context(), other); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUser with a taken id: %v; want ErrConflict", err)
	}
}

func testUserNameUnique(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := createUser(t, s, newUser("Alice@Example.com"))
	b := createUser(t, s, newUser("bob@example.com"))
	for _, name := range []string{"Alice@Example.com", "alice@example.com", "ALICE@EXAMPLE.COM"} {
		if _, err := s.CreateUser(ctx, newUser(name)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateUser(%q): %v; want ErrConflict", name, err)
		}
	}
	_, err := s.UpdateUser(ctx, b.ID, func(u store.User) (store.User, error) {
		u.UserName = "aLiCe@example.COM"
		return u, nil
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("UpdateUser to a taken userName: %v; want ErrConflict", err)
	}
	if got, _ := s.GetUser(ctx, b.ID); got.Version != 1 || got.UserName != "bob@example.com" {
		t.Fatalf("after conflict user = %+v; want unchanged", got)
	}
	// Changing the case of one's own userName is no conflict.
	got, err := s.UpdateUser(ctx, a.ID, func(u store.User) (store.User, error) {
		u.UserName = "alice@example.com"
		return u, nil
	})
	if err != nil || got.UserName != "alice@example.com" {
		t.Fatalf("UpdateUser own case change = %q, %v", got.UserName, err)
	}
	if _, n, err := s.ListUsers(ctx, store.Query{}); err != nil || n != 2 {
		t.Fatalf("ListUsers total = %d, %v; want 2", n, err)
	}
}

func testUpdateUserFnError(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("dave"))
	drain(t, s)
	setSynced(t, s, u.ID)
	errStop := errors.New("precondition failed")
	_, err := s.UpdateUser(ctx, u.ID, func(cur store.User) (store.User, error) {
		cur.UserName = "changed"
		return cur, errStop
	})
	if err != errStop { //nolint:errorlint // must be returned unchanged
		t.Fatalf("UpdateUser error = %v; want the fn's error unchanged", err)
	}
	got, _ := s.GetUser(ctx, u.ID)
	if got.Version != 1 || got.UserName != "dave" {
		t.Fatalf("user after aborted update = %+v; want unchanged", got)
	}
	if ids := dirtyIDs(t, s); len(ids) != 0 {
		t.Fatalf("dirty after aborted update = %v; want none", ids)
	}
	if st := syncState(t, s, u.ID).State; st != store.StateSynced {
		t.Fatalf("sync state after aborted update = %q; want synced", st)
	}
}

func testUpdateUserConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("counter"))
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateUser(ctx, u.ID, func(cur store.User) (store.User, error) {
				c, _ := cur.Doc["counter"].(float64)
				cur.Doc["counter"] = c + 1
				return cur, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if got.Doc["counter"] != float64(n) || got.Version != n+1 {
		t.Fatalf("counter = %v, version = %d; want %d, %d", got.Doc["counter"], got.Version, n, n+1)
	}
}

func testListUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	mk := func(name, ext string, emails ...string) string {
		u := newUser(name)
		u.ExternalID, u.Emails = ext, emails
		return createUser(t, s, u).ID
	}
	a := mk("Ann@Example.com", "EXT-1", "Ann@Example.com", "ann.private@mail.test")
	b := mk("ben@example.com", "ext-1", "Shared@Example.com")
	c := mk("cid@example.com", "EXT-3", "shared@example.com", "CID@example.com")
	tests := []struct {
		q    store.Query
		want []string
	}{
		{store.Query{}, []string{a, b, c}},
		{store.Query{Field: "id", Value: b}, []string{b}},
		{store.Query{Field: "id", Value: "nope"}, nil},
		{store.Query{Field: "userName", Value: "ann@example.com"}, []string{a}},
		{store.Query{Field: "userName", Value: "ANN@EXAMPLE.COM"}, []string{a}},
		{store.Query{Field: "userName", Value: "ann"}, nil},
		{store.Query{Field: "externalId", Value: "EXT-1"}, []string{a}},
		{store.Query{Field: "externalId", Value: "ext-1"}, []string{b}},
		{store.Query{Field: "externalId", Value: "Ext-3"}, nil},
		{store.Query{Field: "emails", Value: "ANN.PRIVATE@mail.test"}, []string{a}},
		{store.Query{Field: "emails", Value: "shared@EXAMPLE.com"}, []string{b, c}},
		{store.Query{Field: "emails", Value: "cid@example.com"}, []string{c}},
		{store.Query{Field: "emails", Value: "x@example.com"}, nil},
		{store.Query{Field: "emails", Value: "shared@example.com", Offset: 1}, []string{c}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s=%s", tc.q.Field, tc.q.Value), func(t *testing.T) {
			got, total, err := s.ListUsers(ctx, tc.q)
			if err != nil {
				t.Fatalf("ListUsers: %v", err)
			}
			wantTotal := len(tc.want) + tc.q.Offset
			if !slices.Equal(userIDs(got), tc.want) || total != wantTotal {
				t.Fatalf("ListUsers(%+v) = %v (total %d); want %v (total %d)", tc.q, userIDs(got), total, tc.want, wantTotal)
			}
		})
	}
	// Lookups follow updates and deletes.
	if _, err := s.UpdateUser(ctx, a, func(u store.User) (store.User, error) {
		u.UserName, u.ExternalID, u.Emails = "anne@example.com", "EXT-9", []string{"anne@example.com"}
		return u, nil
	}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if err := s.DeleteUser(ctx, c); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	after := []struct {
		q    store.Query
		want []string
	}{
		{store.Query{Field: "userName", Value: "ann@example.com"}, nil},
		{store.Query{Field: "userName", Value: "Anne@example.com"}, []string{a}},
		{store.Query{Field: "externalId", Value: "EXT-1"}, nil},
		{store.Query{Field: "externalId", Value: "EXT-9"}, []string{a}},
		{store.Query{Field: "emails", Value: "ann.private@mail.test"}, nil},
		{store.Query{Field: "emails", Value: "shared@example.com"}, []string{b}},
		{store.Query{}, []string{a, b}},
	}
	for _, tc := range after {
		got, total, err := s.ListUsers(ctx, tc.q)
		if err != nil || !slices.Equal(userIDs(got), tc.want) || total != len(tc.want) {
			t.Errorf("after changes ListUsers(%+v) = %v (total %d), %v; want %v", tc.q, userIDs(got), total, err, tc.want)
		}
	}
	if _, _, err := s.ListUsers(ctx, store.Query{Field: "title", Value: "x"}); err == nil {
		t.Errorf("ListUsers on an unindexed field: no error")
	}
}

func testListUsersPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Names not in creation order, so an order by name or id would show.
	names := []string{"m", "c", "x", "a", "q", "b", "z"}
	ids := createUsers(t, s, names...)
	tests := []struct {
		offset, limit int
		want          []string
	}{
		{0, 0, ids},
		{0, 3, ids[:3]},
		{3, 3, ids[3:6]},
		{6, 3, ids[6:]},
		{7, 3, nil},
		{100, 0, nil},
		{2, 0, ids[2:]},
	}
	for _, tc := range tests {
		got, total, err := s.ListUsers(ctx, store.Query{Offset: tc.offset, Limit: tc.limit})
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		if !slices.Equal(userIDs(got), tc.want) || total != len(ids) {
			t.Errorf("ListUsers(offset %d, limit %d) = %v (total %d); want %v (total %d)",
				tc.offset, tc.limit, userIDs(got), total, tc.want, len(ids))
		}
	}
	// Updates do not reorder.
	if _, err := s.UpdateUser(ctx, ids[0], func(u store.User) (store.User, error) { return u, nil }); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, _, err := s.ListUsers(ctx, store.Query{})
	if err != nil || !slices.Equal(userIDs(got), ids) {
		t.Fatalf("after update order = %v, %v; want %v", userIDs(got), err, ids)
	}
}

func testUsersByManager(t *testing.T, s store.Store) {
	ctx := t.Context()
	boss := createUser(t, s, newUser("boss"))
	var reports []string
	for _, n := range []string{"r1", "r2", "r3"} {
		u := newUser(n)
		u.ManagerID = boss.ID
		reports = append(reports, createUser(t, s, u).ID)
	}
	createUser(t, s, newUser("loner"))
	got, err := s.UsersByManager(ctx, boss.ID)
	if err != nil || !sameSet(got, reports) {
		t.Fatalf("UsersByManager = %v, %v; want %v", got, err, reports)
	}
	if _, err := s.UpdateUser(ctx, reports[0], func(u store.User) (store.User, error) {
		u.ManagerID = ""
		return u, nil
	}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err = s.UsersByManager(ctx, boss.ID)
	if err != nil || !sameSet(got, reports[1:]) {
		t.Fatalf("after update UsersByManager = %v, %v; want %v", got, err, reports[1:])
	}
	if got, err := s.UsersByManager(ctx, "nobody"); err != nil || len(got) != 0 {
		t.Fatalf("UsersByManager(nobody) = %v, %v; want none", got, err)
	}
}

// testEmptyValues: a user or group without an externalId or manager has no
// such value; a lookup of "" must not list every one of them (a SCIM filter
// externalId eq "" matches nothing, and a user with an empty id manages
// nobody).
func testEmptyValues(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, n := range []string{"e1", "e2"} {
		u := newUser(n)
		u.ExternalID = ""
		createUser(t, s, u)
	}
	g, err := s.CreateGroup(ctx, store.Group{DisplayName: "no-ext"}, nil)
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	for _, field := range []string{"id", "userName", "externalId", "emails"} {
		got, total, err := s.ListUsers(ctx, store.Query{Field: field, Value: ""})
		if err != nil || len(got) != 0 || total != 0 {
			t.Errorf("ListUsers(%s eq \"\") = %v (total %d), %v; want none", field, userIDs(got), total, err)
		}
	}
	for _, field := range []string{"id", "displayName", "externalId"} {
		got, total, err := s.ListGroups(ctx, store.Query{Field: field, Value: ""}, false)
		if err != nil || len(got) != 0 || total != 0 {
			t.Errorf("ListGroups(%s eq \"\") = %d groups (total %d), %v; want none", field, len(got), total, err)
		}
	}
	if got, err := s.UsersByManager(ctx, ""); err != nil || len(got) != 0 {
		t.Errorf("UsersByManager(\"\") = %v, %v; want none", got, err)
	}
	if got, _, err := s.ListGroups(ctx, store.Query{Field: "id", Value: g.ID}, false); err != nil || len(got) != 1 {
		t.Errorf("ListGroups(id) = %d groups, %v; want the group", len(got), err)
	}
}

// testNUL: PostgreSQL text cannot hold a NUL character. A lookup of a value
// holding one matches nothing and a write of one is ErrInvalid, on every
// backend alike, never a database error (which a caller shows as a 500).
// testUnindexable checks that a value no index can hold is refused with
// ErrInvalid, changing nothing, and that looking it up finds nothing.
func testUnindexable(t *testing.T, s store.Store, bad string) {
	ctx := t.Context()
	u := createUser(t, s, newUser("nul@example.com"))
	g := createGroup(t, s, "nul-group", u.ID)
	drain(t, s)

	writes := []struct {
		name string
		run  func() error
	}{
		{"create userName", func() error { return second(s.CreateUser(ctx, newUser(bad))) }},
		{"create externalId", func() error {
			v := newUser("nul2@example.com")
			v.ExternalID = bad
			return second(s.CreateUser(ctx, v))
		}},
		{"create email", func() error {
			v := newUser("nul3@example.com")
			v.Emails = []string{"ok@example.com", bad}
			return second(s.CreateUser(ctx, v))
		}},
		{"update userName", func() error {
			return second(s.UpdateUser(ctx, u.ID, func(v store.User) (store.User, error) {
				v.UserName = bad
				return v, nil
			}))
		}},
		{"update manager", func() error {
			return second(s.UpdateUser(ctx, u.ID, func(v store.User) (store.User, error) {
				v.ManagerID = bad
				return v, nil
			}))
		}},
		{"create displayName", func() error { return second(s.CreateGroup(ctx, store.Group{DisplayName: bad}, nil)) }},
		{"update externalId", func() error {
			return second(s.UpdateGroup(ctx, g.ID, func(v store.Group) (store.Group, error) {
				v.ExternalID = bad
				return v, nil
			}, nil))
		}},
		{"update sync", func() error {
			return second(s.UpdateSync(ctx, syncState(t, s, u.ID).LinkID, func(i store.SyncInfo) (store.SyncInfo, error) {
				i.GSID = bad
				return i, nil
			}))
		}},
	}
	for _, w := range writes {
		if err := w.run(); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v; want ErrInvalid", w.name, err)
		}
	}

	notFound := []struct {
		name string
		run  func() error
	}{
		{"get user", func() error { return second(s.GetUser(ctx, bad)) }},
		{"update user", func() error {
			return second(s.UpdateUser(ctx, bad, func(v store.User) (store.User, error) { return v, nil }))
		}},
		{"delete user", func() error { return s.DeleteUser(ctx, bad) }},
		{"get group", func() error { return second(s.GetGroup(ctx, bad)) }},
		{"delete group", func() error { return s.DeleteGroup(ctx, bad, nil) }},
		{"get sync", func() error { return second(s.GetSync(ctx, bad)) }},
		{"sync by GSID", func() error { return second(s.SyncByGSID(ctx, bad)) }},
		// A member id holding NUL is simply not a user.
		{"create group member", func() error {
			return second(s.CreateGroup(ctx, store.Group{DisplayName: "nul-members", Members: []string{u.ID, bad}}, nil))
		}},
		{"add group member", func() error {
			return second(s.UpdateGroup(ctx, g.ID, func(v store.Group) (store.Group, error) {
				v.Members = append(v.Members, bad)
				return v, nil
			}, nil))
		}},
	}
	for _, n := range notFound {
		if err := n.run(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: err = %v; want ErrNotFound", n.name, err)
		}
	}

	for _, field := range []string{"id", "userName", "externalId", "emails"} {
		got, total, err := s.ListUsers(ctx, store.Query{Field: field, Value: bad})
		if err != nil || len(got) != 0 || total != 0 {
			t.Errorf("ListUsers(%s) = %v (total %d), %v; want none", field, userIDs(got), total, err)
		}
	}
	for _, field := range []string{"id", "displayName", "externalId"} {
		got, total, err := s.ListGroups(ctx, store.Query{Field: field, Value: bad}, true)
		if err != nil || len(got) != 0 || total != 0 {
			t.Errorf("ListGroups(%s) = %d groups (total %d), %v; want none", field, len(got), total, err)
		}
	}
	if got, err := s.UsersByManager(ctx, bad); err != nil || len(got) != 0 {
		t.Errorf("UsersByManager = %v, %v; want none", got, err)
	}
	if got, err := s.GroupsOfUser(ctx, bad); err != nil || len(got) != 0 {
		t.Errorf("GroupsOfUser = %v, %v; want none", got, err)
	}

	// Nothing changed: the refused writes left no trace.
	if got, err := s.GetUser(ctx, u.ID); err != nil || got.Version != 1 {
		t.Errorf("user after refused writes = %+v, %v; want version 1", got, err)
	}
	if got, err := s.GetGroup(ctx, g.ID); err != nil || got.Version != 1 || !slices.Equal(got.Members, []string{u.ID}) {
		t.Errorf("group after refused writes = %+v, %v; want version 1 with its member", got, err)
	}
	if all, total, err := s.ListUsers(ctx, store.Query{}); err != nil || total != 1 {
		t.Errorf("users after refused writes = %v (total %d), %v; want only the first", userIDs(all), total, err)
	}
	if n, _, err := s.DirtyStats(ctx); err != nil || n != 0 {
		t.Errorf("dirty after refused writes = %d, %v; want 0", n, err)
	}
}

// testUnicodeFolding: userName and displayName compare case-insensitively
// by store.Fold (Unicode simple case folding) on every backend (the SQL
// never folds case, so the database's locale plays no part), and the SCIM
// layer folds filters the same way. A name stored in one case is found, and
// taken, in any other.
func testUnicodeFolding(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		stored string
		same   []string // found by, and conflicting with
		other  []string // not the same name
	}{
		{"STRAẞE@example.com", []string{"straße@example.com", "Straße@EXAMPLE.com"}, []string{"strasse@example.com"}},
		{"İpek@example.com", []string{"ipek@example.com", "IPEK@example.com"}, []string{"ıpek@example.com"}},
		{"ÇAĞLA@example.com", []string{"çağla@example.com"}, []string{"cagla@example.com"}},
		{"ЖУКОВ@example.com", []string{"жуков@example.com"}, nil},
		{"ǄEMAL@example.com", []string{"ǆemal@example.com", "ǅemal@example.com"}, nil},
		{"\u212Aelvin@example.com", []string{"kelvin@example.com", "KELVIN@example.com"}, nil},
		{"ΣΊΣΥΦΟΣ@example.com", []string{"σίσυφος@example.com", "Σίσυφος@example.com"}, []string{"σισυφος@example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.stored, func(t *testing.T) {
			u := createUser(t, s, newUser(tc.stored))
			g := createGroup(t, s, tc.stored)
			for _, v := range tc.same {
				if got, _, err := s.ListUsers(ctx, store.Query{Field: "userName", Value: v}); err != nil || !slices.Equal(userIDs(got), []string{u.ID}) {
					t.Errorf("ListUsers(userName %q) = %v, %v; want %s", v, userIDs(got), err, u.ID)
				}
				if got, _, err := s.ListGroups(ctx, store.Query{Field: "displayName", Value: v}, false); err != nil || len(got) != 1 || got[0].ID != g.ID {
					t.Errorf("ListGroups(displayName %q) = %d groups, %v; want %s", v, len(got), err, g.ID)
				}
				if _, err := s.CreateUser(ctx, newUser(v)); !errors.Is(err, store.ErrConflict) {
					t.Errorf("CreateUser(%q) err = %v; want ErrConflict", v, err)
				}
				if _, err := s.CreateGroup(ctx, store.Group{DisplayName: v}, nil); !errors.Is(err, store.ErrConflict) {
					t.Errorf("CreateGroup(%q) err = %v; want ErrConflict", v, err)
				}
			}
			for _, v := range tc.other {
				if got, _, err := s.ListUsers(ctx, store.Query{Field: "userName", Value: v}); err != nil || len(got) != 0 {
					t.Errorf("ListUsers(userName %q) = %v, %v; want none", v, userIDs(got), err)
				}
			}
		})
	}
}

func testDeleteUserTombstone(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("Eve@Example.com"))
	keep := createUser(t, s, newUser("frank@example.com"))
	rec := map[string]any{"Email": "eve@example.com", "FirstName": "Eve"}
	linked := setLink(t, s, u.ID, func(i *store.SyncInfo) {
		i.GSID, i.Record, i.Active, i.State = "GS-EVE", rec, true, store.StateSynced
	})
	drain(t, s)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	info := syncState(t, s, u.ID)
	if !info.Tombstone || info.GSID != "GS-EVE" || !reflect.DeepEqual(info.Record, rec) || info.State != store.StatePending ||
		info.LinkID != linked.LinkID || info.Version <= linked.Version {
		t.Fatalf("SyncInfo after delete = %+v; want a pending tombstone keeping the link, GSID and record, a later version", info)
	}
	if ids := dirtyIDs(t, s); !slices.Equal(ids, []string{u.ID}) {
		t.Fatalf("dirty after delete = %v; want [%s]", ids, u.ID)
	}
	if got, err := s.SyncByGSID(ctx, "GS-EVE"); err != nil || got.UserID != u.ID || !got.Tombstone {
		t.Fatalf("SyncByGSID = %+v, %v; want the tombstone", got, err)
	}
	counts, err := s.CountSyncStates(ctx)
	if err != nil || counts[store.StatePending] != 1 || counts[store.StateSynced] != 0 {
		t.Fatalf("CountSyncStates = %v, %v; want only frank pending (tombstones excluded)", counts, err)
	}
	drain(t, s)

	// Re-creating the same userName (any case) re-attaches the tombstone.
	again := createUser(t, s, newUser("eve@example.COM"))
	if again.ID == u.ID {
		t.Fatalf("re-created user has the deleted id")
	}
	tomb := info
	info = syncState(t, s, again.ID)
	if info.Tombstone || info.GSID != "GS-EVE" || info.State != store.StatePending || info.UserName != "eve@example.COM" ||
		info.LinkID != linked.LinkID || info.Version <= tomb.Version {
		t.Fatalf("SyncInfo of re-created user = %+v; want live, pending, GSID GS-EVE, the same link at a later version", info)
	}
	if _, err := s.GetSync(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSync(old id) = %v; want ErrNotFound (tombstone moved)", err)
	}
	if got, err := s.SyncByGSID(ctx, "GS-EVE"); err != nil || got.UserID != again.ID {
		t.Fatalf("SyncByGSID = %+v, %v; want the re-created user", got, err)
	}
	if ids := dirtyIDs(t, s); !slices.Equal(ids, []string{again.ID}) {
		t.Fatalf("dirty after re-create = %v; want [%s]", ids, again.ID)
	}
	// A different userName does not pick up someone else's tombstone.
	if err := s.DeleteUser(ctx, keep.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	other := createUser(t, s, newUser("george@example.com"))
	if info := syncState(t, s, other.ID); info.GSID != "" || info.Tombstone {
		t.Fatalf("SyncInfo of an unrelated new user = %+v; want fresh", info)
	}
}

// testCreateUserRace: IdP retries and replicas create the same userName at
// once. Exactly one create wins, every other one is ErrConflict (a 409,
// never a 500), and the winner alone inherits the deleted user's
// tombstone, so the user keeps one Gainsight counterpart. Groups likewise.
func testCreateUserRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := createUser(t, s, newUser("race@example.com"))
	setLink(t, s, old.ID, func(i *store.SyncInfo) { i.GSID, i.State = "GS-RACE", store.StateSynced })
	if err := s.DeleteUser(ctx, old.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     []store.User
		wonG    []store.Group
		badErrs []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			name := "race@example.com"
			if i%2 == 1 {
				name = "RACE@example.com"
			}
			u, err := s.CreateUser(ctx, newUser(name))
			g, gerr := s.CreateGroup(ctx, store.Group{DisplayName: name}, nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, u)
			case !errors.Is(err, store.ErrConflict):
				badErrs = append(badErrs, err)
			}
			switch {
			case gerr == nil:
				wonG = append(wonG, g)
			case !errors.Is(gerr, store.ErrConflict):
				badErrs = append(badErrs, gerr)
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range badErrs {
		t.Errorf("racing create: %v; want success or ErrConflict", err)
	}
	if len(won) != 1 || len(wonG) != 1 {
		t.Fatalf("%d user and %d group creates won; want exactly one each", len(won), len(wonG))
	}
	if got, total, err := s.ListUsers(ctx, store.Query{Field: "userName", Value: "race@example.com"}); err != nil || total != 1 || got[0].ID != won[0].ID {
		t.Fatalf("ListUsers = %v (total %d), %v; want the winner", userIDs(got), total, err)
	}
	if info := syncState(t, s, won[0].ID); info.GSID != "GS-RACE" || info.Tombstone {
		t.Fatalf("winner's SyncInfo = %+v; want the re-attached tombstone", info)
	}
	if got, err := s.SyncByGSID(ctx, "GS-RACE"); err != nil || got.UserID != won[0].ID {
		t.Fatalf("SyncByGSID = %+v, %v; want the winner", got, err)
	}
}

// testLargeDocAndTimes: a 1 MiB document with any Unicode round-trips
// unchanged, and times come back in UTC to the nanosecond.
func testLargeDocAndTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	big := strings.Repeat("ä€😀\u2028<>&\"\\", 1<<20/32)
	u := newUser("big@example.com")
	u.Doc["big"] = big
	u.Doc["nested"] = map[string]any{"list": []any{"x", float64(1.5), nil, true}}
	created := createUser(t, s, u)
	got, err := s.GetUser(ctx, created.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if !reflect.DeepEqual(got.Doc, u.Doc) {
		t.Fatalf("large doc did not round-trip (%d bytes of big back)", len(fmt.Sprint(got.Doc["big"])))
	}
	if got.Created.Location() != time.UTC || !got.Created.Equal(created.Created) {
		t.Fatalf("Created = %v; want %v in UTC", got.Created, created.Created)
	}
	at := time.Date(2031, 7, 1, 12, 30, 45, 123456789, time.FixedZone("UTC+5", 5*3600))
	setLink(t, s, created.ID, func(i *store.SyncInfo) { i.State, i.Updated = store.StateSynced, at })
	info := syncState(t, s, created.ID)
	if info.Updated != at.UTC() {
		t.Fatalf("Updated = %v; want %v (UTC, nanoseconds kept)", info.Updated, at.UTC())
	}
}

func testDeleteUserMemberships(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "u1", "u2")
	g1 := createGroup(t, s, "G1", ids...)
	g2 := createGroup(t, s, "G2", ids[0])
	if err := s.DeleteUser(ctx, ids[0]); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for _, tc := range []struct {
		id   string
		want []string
		ver  int64
	}{{g1.ID, ids[1:], 2}, {g2.ID, nil, 2}} {
		g, err := s.GetGroup(ctx, tc.id)
		if err != nil || !sameSet(g.Members, tc.want) || g.Version != tc.ver {
			t.Errorf("GetGroup(%s) = members %v version %d, %v; want %v version %d", tc.id, g.Members, g.Version, err, tc.want, tc.ver)
		}
	}
	if refs, err := s.GroupsOfUser(ctx, ids[0]); err != nil || len(refs) != 0 {
		t.Errorf("GroupsOfUser(deleted) = %v, %v; want none", refs, err)
	}
}

// ---------------------------------------------------------------- groups

func testGroupCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "a", "b", "c")
	in := store.Group{DisplayName: "Sales Team", ExternalID: "grp-1", Members: []string{ids[0], ids[1], ids[0]},
		Doc: map[string]any{"displayName": "Sales Team", "x": []any{"y"}}}
	g, err := s.CreateGroup(ctx, in, nil)
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if g.ID == "" || g.Version != 1 || g.Created.IsZero() || g.Source != store.SourceSCIM || !sameSet(g.Members, ids[:2]) {
		t.Fatalf("CreateGroup = %+v; want minted id, Version 1, members deduplicated", g)
	}
	got, err := s.GetGroup(ctx, g.ID)
	if err != nil {
		t.Fatalf("GetGroup: %v", err)
	}
	if got.DisplayName != "Sales Team" || got.ExternalID != "grp-1" || !sameSet(got.Members, ids[:2]) ||
		!reflect.DeepEqual(got.Doc, in.Doc) || got.Version != 1 || !got.Created.Equal(g.Created) {
		t.Fatalf("GetGroup = %+v; want %+v", got, g)
	}
	for _, name := range []string{"Sales Team", "sales team", "SALES TEAM"} {
		if _, err := s.CreateGroup(ctx, store.Group{DisplayName: name}, nil); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateGroup(%q): %v; want ErrConflict", name, err)
		}
	}
	other := createGroup(t, s, "Support")
	if _, err := s.UpdateGroup(ctx, other.ID, func(g store.Group) (store.Group, error) {
		g.DisplayName = "SALES team"
		return g, nil
	}, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("UpdateGroup to a taken displayName: %v; want ErrConflict", err)
	}

	upd, err := s.UpdateGroup(ctx, g.ID, func(cur store.Group) (store.Group, error) {
		if cur.Version != 1 || !sameSet(cur.Members, ids[:2]) {
			return cur, fmt.Errorf("fn saw %+v", cur)
		}
		cur.ID = "ignored"
		cur.DisplayName = "Sales"
		cur.Members = []string{ids[1], ids[2]}
		return cur, nil
	}, nil)
	if err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	if upd.ID != g.ID || upd.Version != 2 || upd.DisplayName != "Sales" || !sameSet(upd.Members, ids[1:]) {
		t.Fatalf("UpdateGroup = %+v", upd)
	}
	got, _ = s.GetGroup(ctx, g.ID)
	if got.Version != 2 || got.DisplayName != "Sales" || !sameSet(got.Members, ids[1:]) {
		t.Fatalf("GetGroup after update = %+v", got)
	}
	errStop := errors.New("stop")
	if _, err := s.UpdateGroup(ctx, g.ID, func(g store.Group) (store.Group, error) { return g, errStop }, nil); err != errStop { //nolint:errorlint
		t.Fatalf("UpdateGroup fn error = %v; want it unchanged", err)
	}
	if err := s.DeleteGroup(ctx, g.ID, nil); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	for name, err := range map[string]error{
		"GetGroup":    second(s.GetGroup(ctx, g.ID)),
		"DeleteGroup": s.DeleteGroup(ctx, g.ID, nil),
		"UpdateGroup": second(s.UpdateGroup(ctx, g.ID, func(g store.Group) (store.Group, error) { return g, nil }, nil)),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after delete: %v; want ErrNotFound", name, err)
		}
	}
	// The name is free again.
	createGroup(t, s, "sales")
}

func testGroupUnknownMember(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "a")
	_, err := s.CreateGroup(ctx, store.Group{DisplayName: "G", Members: []string{ids[0], "ghost-1", "ghost-2"}}, nil)
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "ghost-1") || !strings.Contains(err.Error(), "ghost-2") {
		t.Fatalf("CreateGroup with unknown members: %v; want ErrNotFound naming them", err)
	}
	if _, n, _ := s.ListGroups(ctx, store.Query{}, false); n != 0 {
		t.Fatalf("a group was created despite the error")
	}
	g := createGroup(t, s, "G", ids[0])
	_, err = s.UpdateGroup(ctx, g.ID, func(g store.Group) (store.Group, error) {
		g.Members = append(g.Members, "ghost-3")
		return g, nil
	}, nil)
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "ghost-3") {
		t.Fatalf("UpdateGroup adding an unknown member: %v; want ErrNotFound naming it", err)
	}
	if got, _ := s.GetGroup(ctx, g.ID); got.Version != 1 || !sameSet(got.Members, ids) {
		t.Fatalf("group after failed update = %+v; want unchanged", got)
	}
}

type checkCall struct {
	after    store.Group
	affected map[string][]store.GroupRef
}

func recorder(calls *[]checkCall) store.GroupCheck {
	return func(after store.Group, affected map[string][]store.GroupRef) error {
		*calls = append(*calls, checkCall{after, affected})
		return nil
	}
}

func affectedIDs(m map[string][]store.GroupRef) map[string][]string {
	out := make(map[string][]string, len(m))
	for u, refs := range m {
		out[u] = sorted(refIDs(refs))
	}
	return out
}

func testGroupCheckAffected(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "u1", "u2", "u3")
	u1, u2, u3 := ids[0], ids[1], ids[2]
	var calls []checkCall
	a, err := s.CreateGroup(ctx, store.Group{DisplayName: "A", ExternalID: "ext-a", Members: []string{u1}}, recorder(&calls))
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	b, err := s.CreateGroup(ctx, store.Group{DisplayName: "B", Members: []string{u1, u2}}, recorder(&calls))
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if _, err := s.UpdateGroup(ctx, b.ID, func(g store.Group) (store.Group, error) {
		g.Members = []string{u1, u3} // u2 leaves, u3 joins, u1 stays
		return g, nil
	}, recorder(&calls)); err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	if _, err := s.UpdateGroup(ctx, a.ID, func(g store.Group) (store.Group, error) {
		g.DisplayName = "A renamed" // a rename may change every member's resolution
		return g, nil
	}, recorder(&calls)); err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	if err := s.DeleteGroup(ctx, a.ID, recorder(&calls)); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	want := []struct {
		afterName string
		affected  map[string][]string
	}{
		{"A", map[string][]string{u1: {a.ID}}},
		{"B", map[string][]string{u1: sorted([]string{a.ID, b.ID}), u2: {b.ID}}},
		{"B", map[string][]string{u2: {}, u3: {b.ID}}},
		{"A renamed", map[string][]string{u1: sorted([]string{a.ID, b.ID})}},
		{"", map[string][]string{u1: {b.ID}}},
	}
	if len(calls) != len(want) {
		t.Fatalf("check called %d times; want %d", len(calls), len(want))
	}
	for i, w := range want {
		c := calls[i]
		if c.after.DisplayName != w.afterName || !reflect.DeepEqual(affectedIDs(c.affected), w.affected) {
			t.Errorf("check call %d: after %q affected %v; want %q %v", i, c.after.DisplayName, affectedIDs(c.affected), w.afterName, w.affected)
		}
	}
	// The refs carry the group's names as they will be.
	for _, r := range calls[1].affected[u1] {
		if r.ID == a.ID && (r.DisplayName != "A" || r.ExternalID != "ext-a") {
			t.Errorf("ref of A = %+v; want its displayName and externalId", r)
		}
	}
	for _, r := range calls[3].affected[u1] {
		if r.ID == a.ID && r.DisplayName != "A renamed" {
			t.Errorf("ref of renamed A = %+v; want the new name", r)
		}
	}
	if calls[0].after.ID != a.ID || !sameSet(calls[2].after.Members, []string{u1, u3}) {
		t.Errorf("check after = %+v / %+v; want the group as it will be", calls[0].after, calls[2].after)
	}
}

func testGroupCheckAborts(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "u1", "u2", "u3")
	g := createGroup(t, s, "G", ids[0], ids[1])
	drain(t, s)
	setSynced(t, s, ids...)
	errConflict := errors.New("resolution conflict")
	deny := func(store.Group, map[string][]store.GroupRef) error { return errConflict }
	steps := []struct {
		name string
		do   func() error
	}{
		{"CreateGroup", func() error {
			_, err := s.CreateGroup(ctx, store.Group{DisplayName: "H", Members: []string{ids[2]}}, deny)
			return err
		}},
		{"UpdateGroup", func() error {
			_, err := s.UpdateGroup(ctx, g.ID, func(g store.Group) (store.Group, error) {
				g.DisplayName = "G2"
				g.Members = []string{ids[1], ids[2]}
				return g, nil
			}, deny)
			return err
		}},
		{"DeleteGroup", func() error { return s.DeleteGroup(ctx, g.ID, deny) }},
	}
	for _, st := range steps {
		if err := st.do(); err != errConflict { //nolint:errorlint // returned unchanged
			t.Fatalf("%s with a failing check: %v; want the check's error unchanged", st.name, err)
		}
	}
	got, err := s.GetGroup(ctx, g.ID)
	if err != nil || got.Version != 1 || got.DisplayName != "G" || !sameSet(got.Members, ids[:2]) {
		t.Fatalf("group after aborted changes = %+v, %v; want unchanged", got, err)
	}
	if _, n, _ := s.ListGroups(ctx, store.Query{}, false); n != 1 {
		t.Fatalf("groups = %d; want 1 (the aborted create applied)", n)
	}
	if d := dirtyIDs(t, s); len(d) != 0 {
		t.Fatalf("dirty after aborted changes = %v; want none", d)
	}
	for _, id := range ids {
		if st := syncState(t, s, id).State; st != store.StateSynced {
			t.Fatalf("sync state of %s = %q; want synced", id, st)
		}
	}
}

func testUpdateGroupConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 50
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("member-%02d", i)
	}
	ids := createUsers(t, s, names...)
	g := createGroup(t, s, "Everyone")
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateGroup(ctx, g.ID, func(cur store.Group) (store.Group, error) {
				cur.Members = append(cur.Members, id)
				return cur, nil
			}, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("UpdateGroup: %v", err)
		}
	}
	got, err := s.GetGroup(ctx, g.ID)
	if err != nil || !sameSet(got.Members, ids) || got.Version != n+1 {
		t.Fatalf("after %d concurrent adds: %d members, version %d, %v; want %d, %d", n, len(got.Members), got.Version, err, n, n+1)
	}
}

func testListGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "a", "b")
	g1 := createGroup(t, s, "Zeta", ids...)
	g2 := createGroup(t, s, "Alpha", ids[0])
	g3 := createGroup(t, s, "Mid")
	tests := []struct {
		q    store.Query
		want []string
		tot  int
	}{
		{store.Query{}, []string{g1.ID, g2.ID, g3.ID}, 3},
		{store.Query{Limit: 2}, []string{g1.ID, g2.ID}, 3},
		{store.Query{Offset: 1, Limit: 1}, []string{g2.ID}, 3},
		{store.Query{Offset: 5}, nil, 3},
		{store.Query{Field: "displayName", Value: "alpha"}, []string{g2.ID}, 1},
		{store.Query{Field: "displayName", Value: "ALPHA"}, []string{g2.ID}, 1},
		{store.Query{Field: "externalId", Value: "ext-Mid"}, []string{g3.ID}, 1},
		{store.Query{Field: "externalId", Value: "ext-mid"}, nil, 0},
		{store.Query{Field: "id", Value: g1.ID}, []string{g1.ID}, 1},
	}
	for _, tc := range tests {
		for _, withMembers := range []bool{false, true} {
			got, total, err := s.ListGroups(ctx, tc.q, withMembers)
			if err != nil {
				t.Fatalf("ListGroups: %v", err)
			}
			gotIDs := make([]string, len(got))
			for i, g := range got {
				gotIDs[i] = g.ID
				var want []string
				if withMembers {
					switch g.ID {
					case g1.ID:
						want = ids
					case g2.ID:
						want = ids[:1]
					}
				}
				if !sameSet(g.Members, want) {
					t.Errorf("ListGroups(%+v, %v): members of %s = %v; want %v", tc.q, withMembers, g.DisplayName, g.Members, want)
				}
			}
			if !slices.Equal(gotIDs, tc.want) || total != tc.tot {
				t.Errorf("ListGroups(%+v) = %v (total %d); want %v (total %d)", tc.q, gotIDs, total, tc.want, tc.tot)
			}
		}
	}
	if _, _, err := s.ListGroups(ctx, store.Query{Field: "members", Value: ids[0]}, false); err == nil {
		t.Errorf("ListGroups on an unindexed field: no error")
	}
}

// testMemberNames: reads of a group's members carry each member's display
// name (displayName, else userName) and follow changes to the users.
func testMemberNames(t *testing.T, s store.Store) {
	ann := newUser("ann@example.com")
	ann.Doc["displayName"] = "Ann Lee"
	annID := createUser(t, s, ann).ID
	bobID := createUser(t, s, newUser("bob@example.com")).ID
	empty := newUser("cid@example.com")
	empty.Doc["displayName"] = ""
	cidID := createUser(t, s, empty).ID
	g := createGroup(t, s, "Named", annID, bobID, cidID)
	other := createGroup(t, s, "Other", bobID)
	want := map[string]string{annID: "Ann Lee", bobID: "bob@example.com", cidID: "cid@example.com"}

	got, err := s.GetGroup(t.Context(), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.MemberNames, want) {
		t.Errorf("GetGroup MemberNames = %v, want %v", got.MemberNames, want)
	}
	list, _, err := s.ListGroups(t.Context(), store.Query{}, true)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListGroups: %v %v", list, err)
	}
	if !reflect.DeepEqual(list[0].MemberNames, want) || !reflect.DeepEqual(list[1].MemberNames, map[string]string{bobID: "bob@example.com"}) {
		t.Errorf("ListGroups MemberNames = %v, %v", list[0].MemberNames, list[1].MemberNames)
	}
	if list, _, _ := s.ListGroups(t.Context(), store.Query{}, false); list[0].MemberNames != nil {
		t.Errorf("MemberNames without members: %v", list[0].MemberNames)
	}
	if _, err := s.UpdateUser(t.Context(), bobID, func(u store.User) (store.User, error) {
		u.Doc["displayName"] = "Bob B."
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetGroup(t.Context(), other.ID); got.MemberNames[bobID] != "Bob B." {
		t.Errorf("after a rename: %v", got.MemberNames)
	}
	// A new userName shows where there is no displayName; a displayName
	// removed leaves the userName; a member added later has its name.
	rename := func(id string, fn func(u *store.User)) {
		t.Helper()
		if _, err := s.UpdateUser(t.Context(), id, func(u store.User) (store.User, error) {
			fn(&u)
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	rename(cidID, func(u *store.User) { u.UserName, u.Doc["userName"] = "cid.new@example.com", "cid.new@example.com" })
	rename(annID, func(u *store.User) { delete(u.Doc, "displayName") })
	dee := newUser("dee@example.com")
	dee.Doc["displayName"] = "Dee"
	deeID := createUser(t, s, dee).ID
	if _, err := s.UpdateGroup(t.Context(), g.ID, func(g store.Group) (store.Group, error) {
		g.Members = append(g.Members, deeID)
		return g, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{annID: "ann@example.com", bobID: "Bob B.", cidID: "cid.new@example.com", deeID: "Dee"}
	if got, _ := s.GetGroup(t.Context(), g.ID); !reflect.DeepEqual(got.MemberNames, want) {
		t.Errorf("after renames and an added member: %v, want %v", got.MemberNames, want)
	}
}

func testGroupsOfUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "a", "b")
	g1 := createGroup(t, s, "One", ids...)
	g2 := createGroup(t, s, "Two", ids[0])
	for _, tc := range []struct {
		user string
		want []string
	}{{ids[0], []string{g1.ID, g2.ID}}, {ids[1], []string{g1.ID}}, {"nobody", nil}} {
		refs, err := s.GroupsOfUser(ctx, tc.user)
		if err != nil || !sameSet(refIDs(refs), tc.want) {
			t.Errorf("GroupsOfUser(%s) = %v, %v; want %v", tc.user, refIDs(refs), err, tc.want)
		}
		for _, r := range refs {
			if r.ID == g2.ID && (r.DisplayName != "Two" || r.ExternalID != "ext-Two") {
				t.Errorf("ref = %+v; want displayName and externalId", r)
			}
		}
	}
}

// ---------------------------------------------------------------- dirty set

func testWritesMarkDirty(t *testing.T, s store.Store) {
	ctx := t.Context()
	type env struct{ users, groups map[string]string }
	tests := []struct {
		name string
		do   func(e env) error
		want func(e env) []string
	}{
		{"CreateUser", func(e env) error {
			u, err := s.CreateUser(ctx, newUser("new"))
			e.users["new"] = u.ID
			return err
		}, func(e env) []string { return []string{e.users["new"]} }},
		{"UpdateUser", func(e env) error {
			_, err := s.UpdateUser(ctx, e.users["a"], func(u store.User) (store.User, error) { u.Active = false; return u, nil })
			return err
		}, func(e env) []string { return []string{e.users["a"]} }},
		{"DeleteUser", func(e env) error { return s.DeleteUser(ctx, e.users["b"]) },
			func(e env) []string { return []string{e.users["b"]} }},
		{"CreateGroup", func(e env) error {
			_, err := s.CreateGroup(ctx, store.Group{DisplayName: "New", Members: []string{e.users["a"], e.users["c"]}}, nil)
			return err
		}, func(e env) []string { return []string{e.users["a"], e.users["c"]} }},
		{"UpdateGroupMembers", func(e env) error {
			_, err := s.UpdateGroup(ctx, e.groups["G"], func(g store.Group) (store.Group, error) {
				g.Members = []string{e.users["a"], e.users["d"]} // b leaves, d joins, a stays
				return g, nil
			}, nil)
			return err
		}, func(e env) []string { return []string{e.users["b"], e.users["d"]} }},
		{"UpdateGroupRename", func(e env) error {
			_, err := s.UpdateGroup(ctx, e.groups["G"], func(g store.Group) (store.Group, error) {
				g.DisplayName = "G renamed"
				return g, nil
			}, nil)
			return err
		}, func(e env) []string { return []string{e.users["a"], e.users["b"]} }},
		{"UpdateGroupDocOnly", func(e env) error {
			_, err := s.UpdateGroup(ctx, e.groups["G"], func(g store.Group) (store.Group, error) {
				g.Doc = map[string]any{"note": "x"}
				return g, nil
			}, nil)
			return err
		}, func(e env) []string { return nil }},
		{"DeleteGroup", func(e env) error { return s.DeleteGroup(ctx, e.groups["G"], nil) },
			func(e env) []string { return []string{e.users["a"], e.users["b"]} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			drain(t, s)
			// Start from a clean slate: remove everything left by earlier cases.
			users, _, _ := s.ListUsers(ctx, store.Query{})
			for _, u := range users {
				if err := s.DeleteUser(ctx, u.ID); err != nil {
					t.Fatalf("DeleteUser: %v", err)
				}
			}
			groups, _, _ := s.ListGroups(ctx, store.Query{}, false)
			for _, g := range groups {
				if err := s.DeleteGroup(ctx, g.ID, nil); err != nil {
					t.Fatalf("DeleteGroup: %v", err)
				}
			}
			e := env{users: map[string]string{}, groups: map[string]string{}}
			for _, n := range []string{"a", "b", "c", "d"} {
				e.users[n] = createUser(t, s, newUser(tc.name+"-"+n)).ID
			}
			e.groups["G"] = createGroup(t, s, tc.name+"-G", e.users["a"], e.users["b"]).ID
			drain(t, s)
			setSynced(t, s, e.users["a"], e.users["b"], e.users["c"], e.users["d"])
			if err := tc.do(e); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			want := sorted(tc.want(e))
			if got := dirtyIDs(t, s); !slices.Equal(got, want) {
				t.Fatalf("dirty = %v; want %v", got, want)
			}
			for _, id := range e.users {
				info := syncState(t, s, id)
				wantState := store.StateSynced
				if slices.Contains(want, id) {
					wantState = store.StatePending
				}
				if info.State != wantState {
					t.Errorf("sync state of %s = %q; want %q", id, info.State, wantState)
				}
			}
		})
	}
}

func testMarkDirty(t *testing.T, s store.Store) {
	ctx := t.Context()
	if n, oldest, err := s.DirtyStats(ctx); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("DirtyStats of an empty store = %d, %v, %v; want 0, zero", n, oldest, err)
	}
	before := time.Now()
	if err := s.MarkDirty(ctx, "x", "y", "x"); err != nil {
		t.Fatalf("MarkDirty: %v", err)
	}
	n, oldest, err := s.DirtyStats(ctx)
	if err != nil || n != 2 || oldest.Before(before.Add(-time.Second)) || oldest.After(time.Now().Add(time.Second)) {
		t.Fatalf("DirtyStats = %d, %v, %v; want 2, about now", n, oldest, err)
	}
	if err := s.MarkDirty(ctx, "x"); err != nil {
		t.Fatalf("MarkDirty: %v", err)
	}
	if err := s.MarkDirty(ctx); err != nil {
		t.Fatalf("MarkDirty(): %v", err)
	}
	n2, oldest2, err := s.DirtyStats(ctx)
	if err != nil || n2 != 2 || !oldest2.Equal(oldest) {
		t.Fatalf("DirtyStats after re-mark = %d, %v, %v; want 2, %v (since kept)", n2, oldest2, err, oldest)
	}
	ds, err := s.ClaimDirty(ctx, "w", 10, time.Minute, far())
	if err != nil {
		t.Fatalf("ClaimDirty: %v", err)
	}
	gens := map[string]int64{}
	for _, d := range ds {
		gens[d.UserID] = d.Generation
	}
	if len(ds) != 2 || gens["y"] < 1 || gens["x"] != gens["y"]+1 {
		t.Fatalf("claimed %+v; want x one generation ahead of y", ds)
	}
}

func mark(t *testing.T, s store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.MarkDirty(t.Context(), id); err != nil {
			t.Fatalf("MarkDirty: %v", err)
		}
	}
}

func claim(t *testing.T, s store.Store, owner string, limit int, lease time.Duration, now time.Time) []store.Dirty {
	t.Helper()
	ds, err := s.ClaimDirty(t.Context(), owner, limit, lease, now)
	if err != nil {
		t.Fatalf("ClaimDirty: %v", err)
	}
	return ds
}

func dirtyUsers(ds []store.Dirty) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.UserID
	}
	return out
}

func testClaimOrder(t *testing.T, s store.Store) {
	// Marked in this order, one by one: oldest first is c, a, d, b.
	mark(t, s, "c", "a", "d", "b")
	mark(t, s, "c") // re-marking keeps c's place
	now := time.Now().Add(time.Second)
	tests := []struct {
		limit int
		want  []string
	}{
		{0, nil},
		{2, []string{"c", "a"}},
		{1, []string{"d"}},
		{5, []string{"b"}},
		{5, nil},
	}
	for i, tc := range tests {
		if got := dirtyUsers(claim(t, s, "w", tc.limit, time.Minute, now)); !slices.Equal(got, tc.want) {
			t.Fatalf("claim %d (limit %d) = %v; want %v", i, tc.limit, got, tc.want)
		}
	}
	// Entries marked in the future relative to the claim time are not due.
	mark(t, s, "e")
	if got := claim(t, s, "w", 5, time.Minute, time.Now().Add(-time.Hour)); len(got) != 0 {
		t.Fatalf("claim before the mark = %v; want none", dirtyUsers(got))
	}
}

func testClaimLease(t *testing.T, s store.Store) {
	mark(t, s, "u")
	t0 := time.Now().Add(time.Second)
	first := claim(t, s, "w1", 10, time.Minute, t0)
	if len(first) != 1 || first[0].UserID != "u" || first[0].Attempts != 0 {
		t.Fatalf("first claim = %+v", first)
	}
	if got := claim(t, s, "w2", 10, time.Minute, t0.Add(30*time.Second)); len(got) != 0 {
		t.Fatalf("claim during the lease = %v; want none", dirtyUsers(got))
	}
	// The lease expired: another worker takes over.
	again := claim(t, s, "w2", 10, time.Minute, t0.Add(2*time.Minute))
	if len(again) != 1 || again[0].UserID != "u" || again[0].Generation != first[0].Generation || !again[0].Since.Equal(first[0].Since) {
		t.Fatalf("claim after expiry = %+v; want %+v", again, first)
	}
	// Marking a leased entry dirty again does not break the lease.
	mark(t, s, "u")
	if got := claim(t, s, "w3", 10, time.Minute, time.Now().Add(time.Second)); len(got) != 0 {
		t.Fatalf("claim of a re-marked leased entry = %v; want none while leased", dirtyUsers(got))
	}
}

func testCompleteDirty(t *testing.T, s store.Store) {
	ctx := t.Context()
	mark(t, s, "done", "changed")
	now := time.Now().Add(time.Second)
	ds := claim(t, s, "w", 10, time.Hour, now)
	if len(ds) != 2 {
		t.Fatalf("claimed %v; want 2", dirtyUsers(ds))
	}
	gen := map[string]int64{}
	for _, d := range ds {
		gen[d.UserID] = d.Generation
	}
	mark(t, s, "changed") // changed while being worked on
	for _, id := range []string{"done", "changed"} {
		if err := s.CompleteDirty(ctx, "w", id, gen[id]); err != nil {
			t.Fatalf("CompleteDirty: %v", err)
		}
	}
	// "changed" stays, unleased, due at once, with the new generation.
	got := claim(t, s, "w2", 10, time.Hour, time.Now().Add(time.Second))
	if len(got) != 1 || got[0].UserID != "changed" || got[0].Generation != gen["changed"]+1 {
		t.Fatalf("after complete = %+v; want only changed at generation %d", got, gen["changed"]+1)
	}
	if err := s.CompleteDirty(ctx, "w2", "changed", got[0].Generation); err != nil {
		t.Fatalf("CompleteDirty: %v", err)
	}
	if n, oldest, err := s.DirtyStats(ctx); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("DirtyStats = %d, %v, %v; want empty", n, oldest, err)
	}
	// An absent entry is held by no one: completing it is a lost lease
	// (another worker finished it), and changes nothing.
	if err := s.CompleteDirty(ctx, "w", "never", 1); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("CompleteDirty(absent): %v; want ErrLeaseLost", err)
	}
}

func testRetryDirty(t *testing.T, s store.Store) {
	ctx := t.Context()
	mark(t, s, "r", "s")
	t0 := time.Now().Add(time.Second)
	ds := claim(t, s, "w", 10, time.Hour, t0)
	gen := map[string]int64{}
	for _, d := range ds {
		gen[d.UserID] = d.Generation
	}
	notBefore := t0.Add(10 * time.Minute)
	for _, id := range []string{"r", "s"} {
		if err := s.RetryDirty(ctx, "w", id, gen[id], 3, notBefore); err != nil {
			t.Fatalf("RetryDirty: %v", err)
		}
	}
	// s changes after its retry was recorded: due at once again.
	mark(t, s, "s")
	if got := dirtyUsers(claim(t, s, "w", 10, time.Hour, t0.Add(time.Minute))); !slices.Equal(got, []string{"s"}) {
		t.Fatalf("claim before notBefore = %v; want only the re-marked s", got)
	}
	got := claim(t, s, "w", 10, time.Hour, notBefore)
	if len(got) != 1 || got[0].UserID != "r" || got[0].Attempts != 3 || got[0].Generation != gen["r"] {
		t.Fatalf("claim at notBefore = %+v; want r with 3 attempts", got)
	}
	// A retry with a stale generation makes the entry due now, attempts reset.
	mark(t, s, "r")
	if err := s.RetryDirty(ctx, "w", "r", got[0].Generation, 4, t0.Add(time.Hour)); err != nil {
		t.Fatalf("RetryDirty: %v", err)
	}
	again := claim(t, s, "w", 10, time.Hour, time.Now().Add(time.Second))
	if len(again) != 1 || again[0].UserID != "r" || again[0].Attempts != 0 || again[0].Generation != got[0].Generation+1 {
		t.Fatalf("after stale retry = %+v; want r due now, attempts 0", again)
	}
}

func testClaimConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const users, workers = 60, 6
	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%03d", i)
	}
	if err := s.MarkDirty(ctx, ids...); err != nil {
		t.Fatalf("MarkDirty: %v", err)
	}
	now := time.Now().Add(time.Second)
	ClaimConcurrently(t, users, workers, func(_ int, owner string) ([]store.Dirty, error) {
		return s.ClaimDirty(ctx, owner, 4, time.Hour, now)
	}, nil)
}

// ClaimConcurrently runs workers that each claim with claim until a claim
// comes back empty (claim may use a store of its own per worker, as
// replicas on one database do), and fails the test when an error is returned, when
// check (if not nil) refuses a claim, when a user is claimed twice, or when
// the workers did not claim users distinct users between them.
func ClaimConcurrently(t *testing.T, users, workers int, claim func(w int, owner string) ([]store.Dirty, error),
	check func(w int, owner string, ds []store.Dirty) error) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen = map[string]string{}
		wg   sync.WaitGroup
		errs = make(chan error, workers)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("worker-%d", w)
			for {
				ds, err := claim(w, owner)
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				if check != nil {
					if err := check(w, owner, ds); err != nil {
						errs <- err
						return
					}
				}
				mu.Lock()
				for _, d := range ds {
					if prev, dup := seen[d.UserID]; dup {
						mu.Unlock()
						errs <- fmt.Errorf("%s claimed by %s and %s", d.UserID, prev, owner)
						return
					}
					seen[d.UserID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != users {
		t.Fatalf("claimed %d distinct users; want %d", len(seen), users)
	}
}

// ---------------------------------------------------------------- sync info

func testSyncInfo(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("Henry@Example.com"))
	info := syncState(t, s, u.ID)
	if info.UserID != u.ID || info.UserName != u.UserName || info.State != store.StatePending || info.GSID != "" ||
		info.Tombstone || info.Unknown || info.LinkID == "" || info.Version < 1 {
		t.Fatalf("SyncInfo of a new user = %+v; want pending, unlinked, with a link id and a version", info)
	}
	updated := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	tests := []store.SyncInfo{
		{GSID: "GS-1", Record: map[string]any{"Email": "h@x", "permissionBundles": []any{"A"}},
			Active: true, State: store.StateSynced, Updated: updated},
		{GSID: "GS-1", Record: map[string]any{"Email": "h@y"}, Unknown: true,
			Active: false, State: store.StateFailed, LastError: "GU_2402: bad field", Updated: updated.Add(time.Hour)},
	}
	for i, want := range tests {
		before := syncState(t, s, u.ID)
		stored, err := s.UpdateSync(ctx, before.LinkID, func(old store.SyncInfo) (store.SyncInfo, error) {
			if old.Version != before.Version {
				return old, fmt.Errorf("fn saw version %d; want %d", old.Version, before.Version)
			}
			next := want
			// The user's fields are the user writes' to change.
			next.UserID, next.UserName, next.Tombstone, next.LinkID = "other", "other", true, "other"
			return next, nil
		})
		if err != nil {
			t.Fatalf("UpdateSync %d: %v", i, err)
		}
		got := syncState(t, s, u.ID)
		if got.LinkID != before.LinkID || got.UserID != u.ID || got.UserName != u.UserName || got.Tombstone ||
			got.GSID != want.GSID || !reflect.DeepEqual(got.Record, want.Record) || got.Active != want.Active ||
			got.Unknown != want.Unknown || got.State != want.State || got.LastError != want.LastError ||
			!got.Updated.Equal(want.Updated) || got.Version != before.Version+1 {
			t.Fatalf("UpdateSync %d: GetSync = %+v\nwant %+v at version %d", i, got, want, before.Version+1)
		}
		if !reflect.DeepEqual(stored, got) {
			t.Errorf("UpdateSync %d returned %+v; GetSync %+v", i, stored, got)
		}
		byGSID, err := s.SyncByGSID(ctx, want.GSID)
		if err != nil || byGSID.UserID != u.ID {
			t.Fatalf("SyncByGSID(%s) = %+v, %v; want %s", want.GSID, byGSID, err, u.ID)
		}
	}
	errStop := errors.New("stop")
	before := syncState(t, s, u.ID)
	if _, err := s.UpdateSync(ctx, before.LinkID, func(i store.SyncInfo) (store.SyncInfo, error) {
		i.GSID = "GS-9"
		return i, errStop
	}); err != errStop { //nolint:errorlint // returned unchanged
		t.Fatalf("UpdateSync fn error = %v; want it unchanged", err)
	}
	if got := syncState(t, s, u.ID); !reflect.DeepEqual(got, before) {
		t.Fatalf("after an aborted UpdateSync = %+v; want %+v", got, before)
	}
	for name, err := range map[string]error{
		"GetSync":    second(s.GetSync(ctx, "unknown")),
		"SyncByGSID": second(s.SyncByGSID(ctx, "GS-unknown")),
		"emptyGSID":  second(s.SyncByGSID(ctx, "")),
		"UpdateSync": second(s.UpdateSync(ctx, "no-such-link", func(i store.SyncInfo) (store.SyncInfo, error) { return i, nil })),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v; want ErrNotFound", name, err)
		}
	}
	// A user write keeps the link but makes the state pending.
	if _, err := s.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
		u.UserName = "henry@example.org"
		return u, nil
	}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got := syncState(t, s, u.ID)
	if got.State != store.StatePending || got.GSID != "GS-1" || got.UserName != "henry@example.org" ||
		!reflect.DeepEqual(got.Record, tests[1].Record) || got.Version <= before.Version {
		t.Fatalf("SyncInfo after update = %+v; want pending with link, record, the new userName and a later version", got)
	}
}

func testCountSyncStates(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "a", "b", "c", "d", "e", "f")
	states := []string{store.StateSynced, store.StateSynced, store.StateFailed, store.StatePending, store.StateSynced, store.StateSynced}
	for i, id := range ids {
		setLink(t, s, id, func(info *store.SyncInfo) { info.State = states[i] })
	}
	if err := s.DeleteUser(ctx, ids[5]); err != nil { // a tombstone does not count
		t.Fatalf("DeleteUser: %v", err)
	}
	got, err := s.CountSyncStates(ctx)
	want := map[string]int{store.StateSynced: 3, store.StateFailed: 1, store.StatePending: 1, store.StateHeld: 0}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("CountSyncStates = %v, %v; want %v", got, err, want)
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// testGSIDUnique: one Gainsight user is linked to one user at most; a
// second link is ErrConflict and changes nothing, and unlinking frees it.
func testGSIDUnique(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := createUser(t, s, newUser("a@example.com"))
	b := createUser(t, s, newUser("b@example.com"))
	link := func(id, gsid string) error {
		_, err := s.UpdateSync(ctx, syncState(t, s, id).LinkID, func(i store.SyncInfo) (store.SyncInfo, error) {
			i.GSID, i.State = gsid, store.StateSynced
			return i, nil
		})
		return err
	}
	if err := link(a.ID, "GS-1"); err != nil {
		t.Fatalf("link a: %v", err)
	}
	if err := link(b.ID, "GS-1"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second link of GS-1: err = %v; want ErrConflict", err)
	}
	if info := syncState(t, s, b.ID); info.GSID != "" || info.State != store.StatePending {
		t.Errorf("refused link was stored: %+v", info)
	}
	if info, err := s.SyncByGSID(ctx, "GS-1"); err != nil || info.UserID != a.ID {
		t.Errorf("SyncByGSID = %+v, %v; want %s", info, err, a.ID)
	}
	// Unlinked users (no GSID) do not collide with each other.
	if err := link(b.ID, ""); err != nil {
		t.Errorf("UpdateSync without GSID: %v", err)
	}
	if err := link(a.ID, ""); err != nil {
		t.Fatalf("unlink a: %v", err)
	}
	if _, err := s.SyncByGSID(ctx, "GS-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SyncByGSID after unlink: %v; want ErrNotFound", err)
	}
	if err := link(b.ID, "GS-1"); err != nil {
		t.Errorf("link GS-1 to b after a let it go: %v", err)
	}
}
