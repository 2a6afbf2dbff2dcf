package conformance

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// RunAuditTests runs the audit trail's and the console search's contract
// (store.AuditLog, store.UserSearcher) against stores made by newStore,
// each subtest on a fresh store.
func RunAuditTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"AppendAndList", testAuditAppendList},
		{"ByUserName", testAuditByUserName},
		{"NamesUsersGivenByID", testAuditNamesUsersGivenByID},
		{"TimeRangeAndPaging", testAuditPaging},
		{"StoreClock", testAuditClock},
		{"Invalid", testAuditInvalid},
		{"ConcurrentAppends", testAuditConcurrent},
		{"PruneByAge", testAuditPruneAge},
		{"PruneByCount", testAuditPruneCount},
		{"PruneByAgeAndCount", testAuditPruneBoth},
		{"SearchUsers", testSearchUsers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// auditBase is a fixed time the audit tests write entries at.
var auditBase = time.Date(2025, 3, 4, 14, 0, 0, 123456789, time.UTC)

func appendAudit(t *testing.T, s store.Store, entries ...store.AuditEntry) {
	t.Helper()
	if err := s.AppendAudit(t.Context(), entries); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
}

func listAudit(t *testing.T, s store.Store, q store.AuditQuery) []store.AuditEntry {
	t.Helper()
	got, err := s.ListAudit(t.Context(), q)
	if err != nil {
		t.Fatalf("ListAudit(%+v): %v", q, err)
	}
	return got
}

// details returns the Detail of each entry, which the tests use as a name.
func details(es []store.AuditEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Detail
	}
	return out
}

// series appends n entries for user, one a minute from auditBase, named
// prefix0, prefix1, ...
func series(t *testing.T, s store.Store, user, prefix string, n int) {
	t.Helper()
	var es []store.AuditEntry
	for i := range n {
		es = append(es, store.AuditEntry{Time: auditBase.Add(time.Duration(i) * time.Minute), UserID: user,
			UserName: user + "@example.com", Op: store.AuditUpdate, Source: store.AuditSourceSync, Result: store.AuditOK,
			Detail: fmt.Sprintf("%s%d", prefix, i)})
	}
	appendAudit(t, s, es...)
}

func testAuditAppendList(t *testing.T, s store.Store) {
	full := store.AuditEntry{
		Time: auditBase, UserID: "u1", UserName: "Jane@Example.com", Op: store.AuditUpdate,
		Source: store.AuditSourceSync, Actor: "replica-a", Replica: "replica-a", RequestID: "req-1", GSID: "GS-1",
		Result: store.AuditFailed, Error: "update: refused", Detail: "d",
		Changes: []store.AuditChange{
			{Field: "LicenseType", Old: "Viewer", New: "Full"},
			{Field: "permissionBundles", Old: []any{"a"}, New: []any{"a", "b"}},
			{Field: "Beta__gc", Old: false, New: true},
			{Field: "Count__gc", Old: nil, New: float64(3)},
			{Field: "Email", Masked: true},
		},
	}
	other := store.AuditEntry{Time: auditBase.Add(time.Second), UserID: "u2", UserName: "bob@example.com",
		Op: store.AuditOp("hold"), Source: store.AuditSourceSync, Result: store.AuditOK}
	appendAudit(t, s, full, other)

	got := listAudit(t, s, store.AuditQuery{UserID: "u1"})
	if len(got) != 1 {
		t.Fatalf("ListAudit(u1) = %d entries, want 1", len(got))
	}
	if got[0].ID == 0 {
		t.Errorf("entry has no ID")
	}
	want := full
	want.ID = got[0].ID
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("ListAudit(u1)\n got %+v\nwant %+v", got[0], want)
	}
	// An operation the store has no constant for is stored as it is: the
	// set is open.
	all := listAudit(t, s, store.AuditQuery{})
	if len(all) != 2 || all[0].UserID != "u2" || all[0].Op != "hold" || all[0].Changes != nil || all[1].UserID != "u1" {
		t.Fatalf("ListAudit() = %+v; want u2 (hold, no changes) then u1", all)
	}
	if all[0].ID <= all[1].ID {
		t.Errorf("IDs %d, %d do not increase in append order", all[1].ID, all[0].ID)
	}
	if got := listAudit(t, s, store.AuditQuery{UserID: "nobody"}); len(got) != 0 {
		t.Errorf("ListAudit(nobody) = %+v", got)
	}
	if err := s.AppendAudit(t.Context(), nil); err != nil {
		t.Errorf("AppendAudit(nil): %v", err)
	}
}

func testAuditByUserName(t *testing.T, s store.Store) {
	appendAudit(t, s,
		store.AuditEntry{Time: auditBase, UserID: "u1", UserName: "Ärger@Example.com", Op: store.AuditCreate, Detail: "a"},
		store.AuditEntry{Time: auditBase.Add(time.Minute), UserID: "u2", UserName: "ärger@example.com", Op: store.AuditUserDeleted, Detail: "b"},
		store.AuditEntry{Time: auditBase.Add(2 * time.Minute), UserID: "u3", UserName: "other@example.com", Op: store.AuditCreate, Detail: "c"},
	)
	got := details(listAudit(t, s, store.AuditQuery{UserName: "ÄRGER@EXAMPLE.COM"}))
	if !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Errorf("ListAudit by userName = %v, want [b a] (case-insensitive, newest first)", got)
	}
	// UserID wins over UserName.
	got = details(listAudit(t, s, store.AuditQuery{UserID: "u3", UserName: "ärger@example.com"}))
	if !reflect.DeepEqual(got, []string{"c"}) {
		t.Errorf("ListAudit by id and userName = %v, want [c]", got)
	}
}

// testAuditNamesUsersGivenByID: an entry naming its user by id alone (a
// group's membership change) is recorded under the user's userName, and
// found by it; one whose id is no user's keeps no userName.
func testAuditNamesUsersGivenByID(t *testing.T, s store.Store) {
	u, err := s.CreateUser(t.Context(), store.User{UserName: "Member@Example.com", Active: true,
		Doc: map[string]any{"userName": "Member@Example.com", "active": true}})
	if err != nil {
		t.Fatal(err)
	}
	appendAudit(t, s, store.MembershipAudit("Sales", nil, []string{u.ID, "no-such-user"})...)
	got := listAudit(t, s, store.AuditQuery{UserName: "member@example.com"})
	if len(got) != 1 || got[0].UserID != u.ID || got[0].UserName != "Member@Example.com" || got[0].Detail != "added to group Sales" {
		t.Errorf("by userName: %+v; want the membership entry, under the user's userName", got)
	}
	got = listAudit(t, s, store.AuditQuery{UserID: "no-such-user"})
	if len(got) != 1 || got[0].UserName != "" {
		t.Errorf("an unknown user's entry: %+v; want it without a userName", got)
	}
}

func testAuditPaging(t *testing.T, s store.Store) {
	series(t, s, "u1", "e", 10)
	series(t, s, "u2", "x", 3)
	got := details(listAudit(t, s, store.AuditQuery{UserID: "u1", Since: auditBase.Add(3 * time.Minute), Until: auditBase.Add(6 * time.Minute)}))
	if !reflect.DeepEqual(got, []string{"e5", "e4", "e3"}) {
		t.Errorf("since 3m until 6m = %v, want [e5 e4 e3]", got)
	}
	// Pages of 4, each continuing after the last entry of the previous.
	var pages [][]string
	q := store.AuditQuery{UserID: "u1", Limit: 4}
	for range 5 {
		es := listAudit(t, s, q)
		if len(es) == 0 {
			break
		}
		pages = append(pages, details(es))
		last := es[len(es)-1]
		q.BeforeTime, q.BeforeID = last.Time, last.ID
	}
	want := [][]string{{"e9", "e8", "e7", "e6"}, {"e5", "e4", "e3", "e2"}, {"e1", "e0"}}
	if !reflect.DeepEqual(pages, want) {
		t.Errorf("pages = %v, want %v", pages, want)
	}
	// Entries at the same instant page by ID.
	same := auditBase.Add(time.Hour)
	appendAudit(t, s,
		store.AuditEntry{Time: same, UserID: "u3", Op: store.AuditUpdate, Detail: "s0"},
		store.AuditEntry{Time: same, UserID: "u3", Op: store.AuditUpdate, Detail: "s1"},
		store.AuditEntry{Time: same, UserID: "u3", Op: store.AuditUpdate, Detail: "s2"},
	)
	first := listAudit(t, s, store.AuditQuery{UserID: "u3", Limit: 2})
	rest := listAudit(t, s, store.AuditQuery{UserID: "u3", Limit: 2, BeforeTime: first[1].Time, BeforeID: first[1].ID})
	if got := append(details(first), details(rest)...); !reflect.DeepEqual(got, []string{"s2", "s1", "s0"}) {
		t.Errorf("pages at one instant = %v, want [s2 s1 s0]", got)
	}
	if got := listAudit(t, s, store.AuditQuery{}); len(got) != 16 {
		t.Errorf("ListAudit() = %d entries, want 16", len(got))
	}
}

func testAuditClock(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Second)
	appendAudit(t, s, store.AuditEntry{UserID: "u1", Op: store.AuditRetry})
	got := listAudit(t, s, store.AuditQuery{UserID: "u1"})
	if len(got) != 1 || got[0].Time.Before(before) || got[0].Time.After(time.Now().Add(time.Second)) {
		t.Fatalf("an entry without a time got %+v; want the store's clock", got)
	}
	if !got[0].Time.Equal(got[0].Time.UTC()) || got[0].Time.Location() != time.UTC {
		t.Errorf("time %v is not UTC", got[0].Time)
	}
}

func testAuditInvalid(t *testing.T, s store.Store) {
	for _, e := range []store.AuditEntry{
		{UserID: "a\x00b", Op: store.AuditUpdate},
		{UserID: "u", UserName: "a\x00b", Op: store.AuditUpdate},
	} {
		err := s.AppendAudit(t.Context(), []store.AuditEntry{{UserID: "fine", Op: store.AuditUpdate}, e})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AppendAudit(%q, %q) = %v, want ErrInvalid", e.UserID, e.UserName, err)
		}
	}
	// Nothing of a refused append is stored.
	if got := listAudit(t, s, store.AuditQuery{}); len(got) != 0 {
		t.Errorf("after refused appends ListAudit() = %+v", got)
	}
	if got := listAudit(t, s, store.AuditQuery{UserID: "a\x00b"}); len(got) != 0 {
		t.Errorf("ListAudit(NUL) = %+v", got)
	}
}

func testAuditConcurrent(t *testing.T, s store.Store) {
	const writers, each = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := s.AppendAudit(t.Context(), []store.AuditEntry{{UserID: fmt.Sprintf("u%d", w), Op: store.AuditUpdate, Detail: fmt.Sprint(i)}})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent AppendAudit: %v", err)
	}
	all := listAudit(t, s, store.AuditQuery{Limit: 1000})
	ids := map[int64]bool{}
	for _, e := range all {
		ids[e.ID] = true
	}
	if len(all) != writers*each || len(ids) != writers*each {
		t.Errorf("%d entries with %d distinct IDs, want %d", len(all), len(ids), writers*each)
	}
}

func prune(t *testing.T, s store.Store, before time.Time, keep, limit int) int {
	t.Helper()
	n, err := s.PruneAudit(t.Context(), before, keep, limit)
	if err != nil {
		t.Fatalf("PruneAudit: %v", err)
	}
	return n
}

func testAuditPruneAge(t *testing.T, s store.Store) {
	series(t, s, "u1", "e", 10)
	if n := prune(t, s, time.Time{}, 0, 100); n != 0 {
		t.Errorf("PruneAudit without limits removed %d", n)
	}
	// In batches of 2: 2, 2, 1, then nothing.
	var batches []int
	for range 5 {
		batches = append(batches, prune(t, s, auditBase.Add(5*time.Minute), 0, 2))
	}
	if !reflect.DeepEqual(batches, []int{2, 2, 1, 0, 0}) {
		t.Errorf("batches removed %v, want [2 2 1 0 0]", batches)
	}
	got := details(listAudit(t, s, store.AuditQuery{}))
	if !reflect.DeepEqual(got, []string{"e9", "e8", "e7", "e6", "e5"}) {
		t.Errorf("after pruning by age: %v", got)
	}
}

func testAuditPruneCount(t *testing.T, s store.Store) {
	series(t, s, "u1", "e", 6)
	series(t, s, "u2", "x", 4) // the same minutes: e0 and x0 are oldest together
	if n := prune(t, s, time.Time{}, 20, 100); n != 0 {
		t.Errorf("keeping more than there are removed %d", n)
	}
	total := 0
	for range 10 {
		n := prune(t, s, time.Time{}, 5, 2)
		if n > 2 {
			t.Fatalf("a batch of 2 removed %d", n)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total != 5 {
		t.Errorf("removed %d, want 5", total)
	}
	got := details(listAudit(t, s, store.AuditQuery{}))
	// The newest five: e5, e4 (minutes 5, 4), then minute 3: x3 (appended
	// later, so newer) and e3, then minute 2's newest, x2.
	if !reflect.DeepEqual(got, []string{"e5", "e4", "x3", "e3", "x2"}) {
		t.Errorf("after keeping 5: %v", got)
	}
}

func testAuditPruneBoth(t *testing.T, s store.Store) {
	series(t, s, "u1", "e", 10)
	// By age e0..e5 go; by count (keep 6) e0..e3: together e0..e5.
	if n := prune(t, s, auditBase.Add(6*time.Minute), 6, 100); n != 6 {
		t.Errorf("removed %d, want 6", n)
	}
	// By count now: keep 2 of e6..e9.
	if n := prune(t, s, auditBase, 2, 100); n != 2 {
		t.Errorf("removed %d, want 2", n)
	}
	if got := details(listAudit(t, s, store.AuditQuery{})); !reflect.DeepEqual(got, []string{"e9", "e8"}) {
		t.Errorf("left %v, want [e9 e8]", got)
	}
}

func testSearchUsers(t *testing.T, s store.Store) {
	ids := createUsers(t, s, "alice@example.com", "alan@example.com", "bob@example.com", "Carol@Example.com", "dave@example.com")
	u := newUser("erin@corp.example")
	u.Emails = []string{"erin.alt@corp.example"}
	erin := createUser(t, s, u)
	setLink(t, s, ids[0], func(i *store.SyncInfo) { i.State, i.GSID = store.StateSynced, "GS-ALICE" })
	setLink(t, s, ids[1], func(i *store.SyncInfo) { i.State, i.LastError = store.StateFailed, "refused" })
	setLink(t, s, ids[2], func(i *store.SyncInfo) { i.State = store.StateSynced })
	setLink(t, s, ids[3], func(i *store.SyncInfo) { i.State = "held" })
	search := func(q store.UserSearch) ([]string, int) {
		t.Helper()
		got, total, err := s.SearchUsers(t.Context(), q)
		if err != nil {
			t.Fatalf("SearchUsers(%+v): %v", q, err)
		}
		var names []string
		for _, g := range got {
			names = append(names, g.UserName)
		}
		return names, total
	}
	for _, tc := range []struct {
		q     store.UserSearch
		want  []string
		total int
	}{
		{store.UserSearch{}, []string{"alan@example.com", "alice@example.com", "bob@example.com", "Carol@Example.com", "dave@example.com", "erin@corp.example"}, 6},
		{store.UserSearch{Text: "AL"}, []string{"alan@example.com", "alice@example.com"}, 2},
		{store.UserSearch{Text: "  carol"}, []string{"Carol@Example.com"}, 1},
		{store.UserSearch{Text: "ERIN.ALT@corp.example"}, []string{"erin@corp.example"}, 1},
		{store.UserSearch{Text: "GS-ALICE"}, []string{"alice@example.com"}, 1},
		{store.UserSearch{Text: erin.ID}, []string{"erin@corp.example"}, 1},
		{store.UserSearch{Text: "example.com"}, nil, 0},
		{store.UserSearch{Text: "a\x00"}, nil, 0},
		{store.UserSearch{States: []string{store.StateFailed}}, []string{"alan@example.com"}, 1},
		{store.UserSearch{States: []string{"held", store.StateSynced}}, []string{"alice@example.com", "bob@example.com", "Carol@Example.com"}, 3},
		{store.UserSearch{States: []string{store.StatePending}}, []string{"dave@example.com", "erin@corp.example"}, 2},
		{store.UserSearch{Text: "a", States: []string{store.StateSynced}}, []string{"alice@example.com"}, 1},
		{store.UserSearch{Offset: 2, Limit: 2}, []string{"bob@example.com", "Carol@Example.com"}, 6},
		{store.UserSearch{Offset: 10}, nil, 6},
	} {
		got, total := search(tc.q)
		if !reflect.DeepEqual(got, tc.want) || total != tc.total {
			t.Errorf("SearchUsers(%+v) = %v (%d), want %v (%d)", tc.q, got, total, tc.want, tc.total)
		}
	}
	got, _, err := s.SearchUsers(t.Context(), store.UserSearch{Text: "alan"})
	if err != nil || len(got) != 1 {
		t.Fatalf("SearchUsers(alan) = %+v, %v", got, err)
	}
	if a := got[0]; a.ID != ids[1] || a.State != store.StateFailed || a.LastError != "refused" || !a.Active || a.Updated.IsZero() {
		t.Errorf("alan = %+v", a)
	}
	// A deleted user is not listed.
	if err := s.DeleteUser(t.Context(), ids[4]); err != nil {
		t.Fatal(err)
	}
	if got, total := search(store.UserSearch{Text: "dave"}); len(got) != 0 || total != 0 {
		t.Errorf("deleted user listed: %v", got)
	}
}
