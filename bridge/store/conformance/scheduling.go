package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// schedulingTests are the contract of store.Scheduling: the dirty set's
// priorities and the tenant snapshot.
func schedulingTests() []struct {
	name string
	run  func(t *testing.T, s store.Store)
} {
	return []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"ClaimDirtyPriorityOrder", testClaimPriorityOrder},
		{"MarkDirtyRaisesOnly", testMarkRaisesOnly},
		{"CompleteDirtyKeepsLaterMarks", testCompletePriority},
		{"ClaimDirtyMin", testClaimDirtyMin},
		{"DirtyByPriority", testDirtyByPriority},
		{"ClaimDirtyPriorityConcurrent", testClaimPriorityConcurrent},
		{"CountUnlinkedDirty", testCountUnlinkedDirty},
		{"WritesMarkWithPriority", testWritesMarkWithPriority},
		{"PrioritizerDecides", testPrioritizer},
		{"Snapshot", testSnapshot},
	}
}

func markAs(t *testing.T, s store.Store, p store.Priority, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.MarkDirtyAs(t.Context(), p, id); err != nil {
			t.Fatalf("MarkDirtyAs(%s): %v", p, err)
		}
	}
}

func claimed(t *testing.T, s store.Store, min store.Priority, limit int) []store.Dirty {
	t.Helper()
	ds, err := s.ClaimDirtyMin(t.Context(), "w", min, limit, time.Hour, time.Now().Add(time.Second))
	if err != nil {
		t.Fatalf("ClaimDirtyMin: %v", err)
	}
	return ds
}

func priorities(ds []store.Dirty) map[string]store.Priority {
	out := map[string]store.Priority{}
	for _, d := range ds {
		out[d.UserID] = d.Priority
	}
	return out
}

func testClaimPriorityOrder(t *testing.T, s store.Store) {
	// Marked one by one in this order.
	markAs(t, s, store.PriorityLow, "low-1")
	markAs(t, s, store.PriorityNormal, "normal-1")
	markAs(t, s, store.PriorityUrgent, "urgent-1")
	markAs(t, s, store.PriorityHigh, "high-1")
	markAs(t, s, store.PriorityLow, "low-2")
	markAs(t, s, store.PriorityUrgent, "urgent-2")
	mark(t, s, "normal-2") // MarkDirty is normal
	tests := []struct {
		limit int
		want  []string
	}{
		{3, []string{"urgent-1", "urgent-2", "high-1"}},
		{2, []string{"normal-1", "normal-2"}},
		{5, []string{"low-1", "low-2"}},
	}
	for i, tc := range tests {
		ds := claimed(t, s, store.PriorityLow, tc.limit)
		if got := dirtyUsers(ds); !slices.Equal(got, tc.want) {
			t.Fatalf("claim %d = %v; want %v", i, got, tc.want)
		}
		for _, d := range ds {
			if want := map[byte]store.Priority{'u': store.PriorityUrgent, 'h': store.PriorityHigh, 'n': store.PriorityNormal, 'l': store.PriorityLow}[d.UserID[0]]; d.Priority != want {
				t.Errorf("%s claimed with priority %s; want %s", d.UserID, d.Priority, want)
			}
		}
	}
	// ClaimDirty is the same order.
	markAs(t, s, store.PriorityLow, "x")
	markAs(t, s, store.PriorityHigh, "y")
	if got := dirtyUsers(claim(t, s, "w", 5, time.Hour, time.Now().Add(time.Second))); !slices.Equal(got, []string{"y", "x"}) {
		t.Fatalf("ClaimDirty = %v; want y (high) before x (low)", got)
	}
}

func testMarkRaisesOnly(t *testing.T, s store.Store) {
	markAs(t, s, store.PriorityUrgent, "a")
	markAs(t, s, store.PriorityLow, "b")
	markAs(t, s, store.PriorityLow, "a")    // does not lower a
	markAs(t, s, store.PriorityUrgent, "b") // raises b, after a
	markAs(t, s, store.PriorityLow, "c")
	markAs(t, s, store.PriorityHigh, "c")
	markAs(t, s, store.PriorityNormal, "c") // does not lower c
	ds := claimed(t, s, store.PriorityLow, 10)
	if got := dirtyUsers(ds); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("claimed %v; want a, b (both urgent, a first), then c", got)
	}
	if p := priorities(ds); p["a"] != store.PriorityUrgent || p["b"] != store.PriorityUrgent || p["c"] != store.PriorityHigh {
		t.Fatalf("priorities %v; want a and b urgent, c high", p)
	}
	// An entry raised later waits behind the entries that had the
	// priority before it, whatever its first mark: oldest first by the
	// time the entry got its priority.
	markAs(t, s, store.PriorityLow, "old")
	markAs(t, s, store.PriorityUrgent, "new")
	markAs(t, s, store.PriorityUrgent, "old")
	if got := dirtyUsers(claimed(t, s, store.PriorityLow, 10)); !slices.Equal(got, []string{"new", "old"}) {
		t.Fatalf("claimed %v; want new (urgent first) before old (raised later)", got)
	}
	// Priorities outside the range are stored as normal.
	markAs(t, s, store.Priority(99), "odd")
	markAs(t, s, store.PriorityLow, "low")
	if p := priorities(claimed(t, s, store.PriorityLow, 10)); p["odd"] != store.PriorityNormal {
		t.Fatalf("priority of a mark of 99 = %s; want normal", p["odd"])
	}
}

func testCompletePriority(t *testing.T, s store.Store) {
	ctx := t.Context()
	markAs(t, s, store.PriorityUrgent, "done", "retried", "same")
	ds := claimed(t, s, store.PriorityLow, 10)
	gen := map[string]int64{}
	for _, d := range ds {
		gen[d.UserID] = d.Generation
	}
	// Profile changes arrive while the urgent work is in flight.
	markAs(t, s, store.PriorityLow, "done", "retried")
	if err := s.CompleteDirty(ctx, "w", "done", gen["done"]); err != nil {
		t.Fatalf("CompleteDirty: %v", err)
	}
	if err := s.RetryDirty(ctx, "w", "retried", gen["retried"], 1, time.Now()); err != nil {
		t.Fatalf("RetryDirty: %v", err)
	}
	if err := s.RetryDirty(ctx, "w", "same", gen["same"], 1, time.Now()); err != nil {
		t.Fatalf("RetryDirty: %v", err)
	}
	// The urgent work of "done" is done: what is left is low. "retried"
	// and "same" still owe theirs.
	p := priorities(claimed(t, s, store.PriorityLow, 10))
	want := map[string]store.Priority{"done": store.PriorityLow, "retried": store.PriorityUrgent, "same": store.PriorityUrgent}
	for id, w := range want {
		if p[id] != w {
			t.Errorf("%s after the pass: %s; want %s", id, p[id], w)
		}
	}
}

func testClaimDirtyMin(t *testing.T, s store.Store) {
	markAs(t, s, store.PriorityHigh, "h")
	markAs(t, s, store.PriorityUrgent, "u1", "u2")
	markAs(t, s, store.PriorityLow, "l")
	if got := dirtyUsers(claimed(t, s, store.PriorityUrgent, 10)); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Fatalf("urgent claim = %v; want u1, u2", got)
	}
	if got := claimed(t, s, store.PriorityUrgent, 10); len(got) != 0 {
		t.Fatalf("second urgent claim = %v; want none", dirtyUsers(got))
	}
	if got := dirtyUsers(claimed(t, s, store.PriorityHigh, 10)); !slices.Equal(got, []string{"h"}) {
		t.Fatalf("high claim = %v; want h", got)
	}
	if got := dirtyUsers(claimed(t, s, store.PriorityLow, 10)); !slices.Equal(got, []string{"l"}) {
		t.Fatalf("any claim = %v; want l", got)
	}
}

func testDirtyByPriority(t *testing.T, s store.Store) {
	ctx := t.Context()
	stats, err := s.DirtyByPriority(ctx)
	if err != nil {
		t.Fatalf("DirtyByPriority: %v", err)
	}
	if len(stats) != 4 {
		t.Fatalf("DirtyByPriority of an empty store = %+v; want the four priorities", stats)
	}
	for i, st := range stats {
		if st.Priority != store.Priorities()[i] || st.Count != 0 || !st.Oldest.IsZero() {
			t.Fatalf("DirtyByPriority of an empty store = %+v; want zero counts, lowest first", stats)
		}
	}
	before := time.Now().Add(-time.Second)
	markAs(t, s, store.PriorityLow, "l1", "l2", "x")
	markAs(t, s, store.PriorityUrgent, "u")
	time.Sleep(10 * time.Millisecond)
	mid := time.Now()
	markAs(t, s, store.PriorityUrgent, "x") // raised now
	stats, err = s.DirtyByPriority(ctx)
	if err != nil {
		t.Fatalf("DirtyByPriority: %v", err)
	}
	got := map[store.Priority]store.PriorityStats{}
	for _, st := range stats {
		got[st.Priority] = st
	}
	if got[store.PriorityLow].Count != 2 || got[store.PriorityUrgent].Count != 2 || got[store.PriorityNormal].Count != 0 || got[store.PriorityHigh].Count != 0 {
		t.Fatalf("counts %+v; want 2 low, 2 urgent", stats)
	}
	if u := got[store.PriorityUrgent].Oldest; u.Before(before) || !u.Before(mid) {
		t.Fatalf("oldest urgent %v; want u's mark, before the raise of x at %v", u, mid)
	}
}

func testClaimPriorityConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const users, workers = 80, 6
	for i := range users {
		if err := s.MarkDirtyAs(ctx, store.Priorities()[i%4], fmt.Sprintf("user-%03d", i)); err != nil {
			t.Fatalf("MarkDirtyAs: %v", err)
		}
	}
	now := time.Now().Add(time.Second)
	// Some workers only take urgent work.
	minOf := func(w int) store.Priority {
		if w%2 == 0 {
			return store.PriorityUrgent
		}
		return store.PriorityLow
	}
	ClaimConcurrently(t, users, workers, func(w int, owner string) ([]store.Dirty, error) {
		return s.ClaimDirtyMin(ctx, owner, minOf(w), 3, time.Hour, now)
	}, func(w int, owner string, ds []store.Dirty) error {
		for i, d := range ds {
			if d.Priority < minOf(w) || i > 0 && d.Priority > ds[i-1].Priority {
				return fmt.Errorf("claim of %s (min %s) out of priority order: %+v", owner, minOf(w), ds)
			}
		}
		return nil
	})
}

func testCountUnlinkedDirty(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "a@example.com", "b@example.com", "c@example.com")
	setLink(t, s, ids[0], func(i *store.SyncInfo) { i.GSID = "gs-a" })
	if err := s.DeleteUser(ctx, ids[2]); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	mark(t, s, "not-a-user")
	// b is live and unlinked; a is linked, c a tombstone.
	if n, err := s.CountUnlinkedDirty(ctx); err != nil || n != 1 {
		t.Fatalf("CountUnlinkedDirty = %d, %v; want 1", n, err)
	}
	drain(t, s)
	if n, err := s.CountUnlinkedDirty(ctx); err != nil || n != 0 {
		t.Fatalf("CountUnlinkedDirty after the drain = %d, %v; want 0", n, err)
	}
}

// claimAll claims and completes everything, and returns the priorities
// the entries had.
func claimAll(t *testing.T, s store.Store) map[string]store.Priority {
	t.Helper()
	ds := claimed(t, s, store.PriorityLow, 1000)
	for _, d := range ds {
		if err := s.CompleteDirty(t.Context(), "w", d.UserID, d.Generation); err != nil {
			t.Fatalf("CompleteDirty: %v", err)
		}
	}
	return priorities(ds)
}

func testWritesMarkWithPriority(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Without a Prioritizer: creates are normal, deletions urgent,
	// deactivation urgent, reactivation high, anything else normal.
	ids := createUsers(t, s, "a@example.com", "b@example.com", "c@example.com", "d@example.com")
	if p := claimAll(t, s); p[ids[0]] != store.PriorityNormal || len(p) != 4 {
		t.Fatalf("after creates: %v; want four normal", p)
	}
	setActive := func(id string, active bool) {
		t.Helper()
		if _, err := s.UpdateUser(ctx, id, func(u store.User) (store.User, error) { u.Active = active; return u, nil }); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
	}
	setActive(ids[0], false)
	if _, err := s.UpdateUser(ctx, ids[1], func(u store.User) (store.User, error) { u.Doc["title"] = "x"; return u, nil }); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if err := s.DeleteUser(ctx, ids[2]); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	p := claimAll(t, s)
	if p[ids[0]] != store.PriorityUrgent || p[ids[1]] != store.PriorityNormal || p[ids[2]] != store.PriorityUrgent {
		t.Fatalf("after deactivate, edit, delete: %v; want urgent, normal, urgent", p)
	}
	setActive(ids[0], true)
	if p := claimAll(t, s); p[ids[0]] != store.PriorityHigh {
		t.Fatalf("after reactivation: %v; want high", p)
	}
	// A re-create of a deleted userName takes its Gainsight user over: when
	// it arrives disabled, that user must lose access at once.
	setLink(t, s, ids[2], func(i *store.SyncInfo) { i.GSID, i.Active = "gs-c", true })
	u := newUser("c@example.com")
	u.Active = false
	again := createUser(t, s, u)
	if p := claimAll(t, s); p[again.ID] != store.PriorityUrgent {
		t.Fatalf("disabled re-create over an active tombstone: %v; want urgent", p)
	}
	// Group writes without a Prioritizer are normal.
	g := createGroup(t, s, "G", ids[3])
	if p := claimAll(t, s); p[ids[3]] != store.PriorityNormal {
		t.Fatalf("after a group create: %v; want normal", p)
	}
	if err := s.DeleteGroup(ctx, g.ID, nil); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	if p := claimAll(t, s); p[ids[3]] != store.PriorityNormal {
		t.Fatalf("after a group delete: %v; want normal", p)
	}
}

// fakePrioritizer records what it is asked and answers from the group
// names: a user left in no group is urgent, one that gains "Admins" high,
// any other change low; user updates are low unless the title is
// "urgent".
type fakePrioritizer struct {
	mu     sync.Mutex
	before map[string][]string // sorted display names, per call, keyed by the after set
	users  [][]string          // groups passed to UserPriority
}

func names(refs []store.GroupRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.DisplayName)
	}
	slices.Sort(out)
	return out
}

func (f *fakePrioritizer) UserPriority(old, new store.User, groups []store.GroupRef) store.Priority {
	f.mu.Lock()
	f.users = append(f.users, names(groups))
	f.mu.Unlock()
	if new.Doc["title"] == "urgent" {
		return store.PriorityUrgent
	}
	return store.PriorityLow
}

func (f *fakePrioritizer) GroupPriority(before, after []store.GroupRef) store.Priority {
	b, a := names(before), names(after)
	switch {
	case len(a) == 0:
		return store.PriorityUrgent
	case slices.Contains(a, "Admins") && !slices.Contains(b, "Admins"):
		return store.PriorityHigh
	}
	return store.PriorityLow
}

func testPrioritizer(t *testing.T, s store.Store) {
	ctx := t.Context()
	f := &fakePrioritizer{}
	s.SetPrioritizer(f)
	ids := createUsers(t, s, "a@example.com", "b@example.com", "c@example.com")
	if p := claimAll(t, s); p[ids[0]] != store.PriorityNormal {
		t.Fatalf("a create with a Prioritizer: %v; want normal (creates are the store's)", p)
	}
	staff := createGroup(t, s, "Staff", ids[0], ids[1])
	// The Prioritizer sees the user's groups and decides.
	if _, err := s.UpdateUser(ctx, ids[0], func(u store.User) (store.User, error) { u.Doc["title"] = "urgent"; return u, nil }); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if _, err := s.UpdateUser(ctx, ids[1], func(u store.User) (store.User, error) { u.Active = false; return u, nil }); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if p := claimAll(t, s); p[ids[0]] != store.PriorityUrgent || p[ids[1]] != store.PriorityLow {
		t.Fatalf("updates: %v; want the Prioritizer's urgent and low", p)
	}
	if len(f.users) == 0 || !slices.Equal(f.users[0], []string{"Staff"}) {
		t.Fatalf("UserPriority got groups %v; want [Staff]", f.users)
	}
	// Group writes: the Prioritizer gets each user's groups before and
	// after. a gains Admins (high); b leaves Staff, its only group
	// (urgent); c joins Staff (low).
	createGroup(t, s, "Admins", ids[0])
	if p := claimAll(t, s); p[ids[0]] != store.PriorityHigh {
		t.Fatalf("joining Admins: %v; want high", p)
	}
	if _, err := s.UpdateGroup(ctx, staff.ID, func(g store.Group) (store.Group, error) {
		g.Members = []string{ids[0], ids[2]}
		return g, nil
	}, nil); err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	if p := claimAll(t, s); p[ids[1]] != store.PriorityUrgent || p[ids[2]] != store.PriorityLow || len(p) != 2 {
		t.Fatalf("membership change: %v; want b urgent, c low, a untouched", p)
	}
	// A rename affects every member; deleting the group leaves c in none.
	if _, err := s.UpdateGroup(ctx, staff.ID, func(g store.Group) (store.Group, error) { g.DisplayName = "Team"; return g, nil }, nil); err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	if p := claimAll(t, s); p[ids[0]] != store.PriorityLow || p[ids[2]] != store.PriorityLow {
		t.Fatalf("rename: %v; want both members low", p)
	}
	if err := s.DeleteGroup(ctx, staff.ID, nil); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	if p := claimAll(t, s); p[ids[2]] != store.PriorityUrgent || p[ids[0]] != store.PriorityLow {
		t.Fatalf("delete: %v; want c urgent (in no group), a low (still in Admins)", p)
	}
	// nil restores the defaults.
	s.SetPrioritizer(nil)
	if _, err := s.UpdateUser(ctx, ids[0], func(u store.User) (store.User, error) { u.Doc["title"] = "urgent"; return u, nil }); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if p := claimAll(t, s); p[ids[0]] != store.PriorityNormal {
		t.Fatalf("after SetPrioritizer(nil): %v; want normal", p)
	}
}

func testSnapshot(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.SnapshotInfo(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SnapshotInfo before any snapshot: %v; want ErrNotFound", err)
	}
	if got, err := s.SnapshotKeys(ctx, []string{"x"}); err != nil || len(got) != 0 {
		t.Fatalf("SnapshotKeys before any snapshot = %v, %v; want none", got, err)
	}
	taken := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	h := func(field, v string) string { return store.KeyHash("salt-1", field, v) }
	var keys []store.SnapshotKey
	for i := range 700 { // more than one insert statement
		keys = append(keys,
			store.SnapshotKey{Hash: h("SFDCUserName", fmt.Sprintf("user-%d", i)), GSID: fmt.Sprintf("gs-%d", i), Active: i%2 == 0},
			store.SnapshotKey{Hash: h("Email", fmt.Sprintf("user-%d@example.com", i)), GSID: fmt.Sprintf("gs-%d", i), Active: i%2 == 0})
	}
	keys = append(keys, keys[0]) // a key listed twice is stored once
	if err := s.ReplaceSnapshot(ctx, store.Snapshot{Taken: taken, Total: 700, Salt: "salt-1", Keys: keys}); err != nil {
		t.Fatalf("ReplaceSnapshot: %v", err)
	}
	info, err := s.SnapshotInfo(ctx)
	if err != nil || !info.Taken.Equal(taken) || info.Total != 700 || info.Salt != "salt-1" || info.Keys != 1400 {
		t.Fatalf("SnapshotInfo = %+v, %v; want taken %v, 700 users, 1400 keys", info, err, taken)
	}
	// Keys are found by hash: the user-name and Email hashes of one user
	// differ, and the value compares case-insensitively.
	got, err := s.SnapshotKeys(ctx, []string{h("SFDCUserName", "USER-3"), h("Email", "user-4@EXAMPLE.com"), h("Email", "user-3"), "nothing"})
	if err != nil {
		t.Fatalf("SnapshotKeys: %v", err)
	}
	slices.SortFunc(got, func(a, b store.SnapshotKey) int { return strings.Compare(a.GSID, b.GSID) })
	want := []store.SnapshotKey{
		{Hash: h("SFDCUserName", "user-3"), GSID: "gs-3", Active: false},
		{Hash: h("Email", "user-4@example.com"), GSID: "gs-4", Active: true},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("SnapshotKeys = %+v; want %+v", got, want)
	}
	// A new snapshot replaces the old one whole.
	if err := s.ReplaceSnapshot(ctx, store.Snapshot{Taken: taken.Add(time.Hour), Total: 1, Salt: "salt-2",
		Keys: []store.SnapshotKey{{Hash: store.KeyHash("salt-2", "Email", "new@example.com"), GSID: "gs-new", Active: true}}}); err != nil {
		t.Fatalf("ReplaceSnapshot: %v", err)
	}
	if got, err := s.SnapshotKeys(ctx, []string{h("SFDCUserName", "user-3")}); err != nil || len(got) != 0 {
		t.Fatalf("old keys after a replace = %v, %v; want none", got, err)
	}
	if got, err := s.SnapshotKeys(ctx, []string{store.KeyHash("salt-2", "Email", "NEW@example.com")}); err != nil || len(got) != 1 || got[0].GSID != "gs-new" {
		t.Fatalf("new keys = %v, %v; want gs-new", got, err)
	}
	if info, err := s.SnapshotInfo(ctx); err != nil || info.Salt != "salt-2" || info.Keys != 1 || info.Total != 1 {
		t.Fatalf("SnapshotInfo after a replace = %+v, %v", info, err)
	}
	// Nothing of a key is personal data: only its hash is stored.
	if store.KeyHash("s", "Email", "a@example.com") == store.KeyHash("t", "Email", "a@example.com") ||
		store.KeyHash("s", "Email", "a@example.com") == store.KeyHash("s", "SFDCUserName", "a@example.com") {
		t.Fatal("KeyHash ignores its salt or field")
	}
}
