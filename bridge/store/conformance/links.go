package conformance

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// testLinkTakeover: a re-create of a deleted userName takes the tombstone's
// link over under its link id, so a late write addressed to that link id
// lands on the new user's link, and nothing is left under the old user.
func testLinkTakeover(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := createUser(t, s, newUser("ida@example.com"))
	linked := setLink(t, s, old.ID, func(i *store.SyncInfo) {
		i.GSID, i.Active, i.State = "GS-IDA", true, store.StateSynced
	})
	if err := s.DeleteUser(ctx, old.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	again := createUser(t, s, newUser("IDA@example.com"))
	// A pass that worked on the deleted user records its deactivation on
	// the link it read.
	got, err := s.UpdateSync(ctx, linked.LinkID, func(i store.SyncInfo) (store.SyncInfo, error) {
		if i.UserID != again.ID || i.Tombstone || i.GSID != "GS-IDA" {
			return i, fmt.Errorf("fn saw %+v; want the re-created user's live link", i)
		}
		i.Active = false
		return i, nil
	})
	if err != nil {
		t.Fatalf("UpdateSync of the taken-over link: %v", err)
	}
	if got.UserID != again.ID || got.Active || !reflect.DeepEqual(syncState(t, s, again.ID), got) {
		t.Fatalf("after the late write = %+v; want the new user's link, inactive", got)
	}
	if _, err := s.GetSync(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSync(old id) = %v; want ErrNotFound", err)
	}
}

// testUpdateSyncConcurrent: concurrent UpdateSyncs of one link never lose
// each other: fn is run again on the newer state when it must be.
func testUpdateSyncConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("counter@example.com"))
	start := syncState(t, s, u.ID)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateSync(ctx, start.LinkID, func(i store.SyncInfo) (store.SyncInfo, error) {
				c, _ := i.Record["n"].(float64)
				i.Record = map[string]any{"n": c + 1}
				return i, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("UpdateSync: %v", err)
		}
	}
	got := syncState(t, s, u.ID)
	if got.Record["n"] != float64(n) || got.Version != start.Version+n {
		t.Fatalf("after %d concurrent updates: record %v, version %d; want n=%d, version %d", n, got.Record, got.Version, n, start.Version+n)
	}
}

// testUpdateSyncCAS: writers that each only accept the version they read
// race; in every round exactly one of them wins.
func testUpdateSyncCAS(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("cas@example.com"))
	errStale := errors.New("stale")
	const writers = 6
	for round := range 10 {
		read := syncState(t, s, u.ID)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins []string
		)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("writer-%d", w)
				_, err := s.UpdateSync(ctx, read.LinkID, func(i store.SyncInfo) (store.SyncInfo, error) {
					if i.Version != read.Version {
						return i, errStale
					}
					i.LastError = name
					return i, nil
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins = append(wins, name)
				case !errors.Is(err, errStale):
					t.Errorf("round %d: %s: %v", round, name, err)
				}
			}()
		}
		wg.Wait()
		got := syncState(t, s, u.ID)
		if len(wins) != 1 || got.LastError != wins[0] || got.Version != read.Version+1 {
			t.Fatalf("round %d: winners %v, link %+v; want exactly one winner at version %d", round, wins, got, read.Version+1)
		}
	}
}

// testListLinks: a walk in pages visits every linked link (live and
// tombstone) once, in link id order, and no unlinked one.
func testListLinks(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createUsers(t, s, "l1", "l2", "l3", "l4", "l5", "unlinked")
	want := map[string]string{}
	for i, id := range ids[:5] {
		gsid := fmt.Sprintf("GS-L%d", i)
		want[setLink(t, s, id, func(info *store.SyncInfo) { info.GSID = gsid }).LinkID] = gsid
	}
	if err := s.DeleteUser(ctx, ids[4]); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	var got []string
	after := ""
	for {
		page, err := s.ListLinks(ctx, after, 2)
		if err != nil {
			t.Fatalf("ListLinks: %v", err)
		}
		if len(page) > 2 {
			t.Fatalf("ListLinks returned %d links; limit 2", len(page))
		}
		for _, l := range page {
			if want[l.LinkID] != l.GSID {
				t.Errorf("link %+v; want GSID %q", l, want[l.LinkID])
			}
			got = append(got, l.LinkID)
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].LinkID
	}
	if !sort.StringsAreSorted(got) || len(got) != len(want) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("walk = %v; want each of the %d linked links once, in order", got, len(want))
	}
	if page, err := s.ListLinks(ctx, "", 0); err != nil || len(page) != 0 {
		t.Errorf("ListLinks(limit 0) = %v, %v; want none", page, err)
	}
}

// testPurgeTombstones: only settled tombstones (never linked, or confirmed
// inactive, nothing unknown, not dirty) older than the cut-off go; a
// re-create of a purged userName starts afresh.
func testPurgeTombstones(t *testing.T, s store.Store) {
	ctx := t.Context()
	names := []string{"inactive", "never-linked", "active", "unknown", "recent", "dirty", "live"}
	ids := map[string]string{}
	for _, n := range names {
		ids[n] = createUser(t, s, newUser(n+"@example.com")).ID
	}
	old := time.Now().Add(-48 * time.Hour)
	set := func(n string, fn func(*store.SyncInfo)) { setLink(t, s, ids[n], fn) }
	for _, n := range names {
		if n != "live" {
			set(n, func(i *store.SyncInfo) { i.GSID = "GS-" + n }) // linked before its deletion
			if err := s.DeleteUser(ctx, ids[n]); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
		}
	}
	drain(t, s)
	set("inactive", func(i *store.SyncInfo) { i.Active, i.State, i.Updated = false, store.StateSynced, old })
	set("never-linked", func(i *store.SyncInfo) { i.GSID, i.State, i.Updated = "", store.StateSynced, old })
	set("active", func(i *store.SyncInfo) { i.Active, i.State, i.Updated = true, store.StateFailed, old })
	set("unknown", func(i *store.SyncInfo) { i.Unknown, i.Updated = true, old })
	set("recent", func(i *store.SyncInfo) { i.State = store.StateSynced })
	set("dirty", func(i *store.SyncInfo) { i.State, i.Updated = store.StateSynced, old })
	set("live", func(i *store.SyncInfo) { i.State, i.Updated = store.StateSynced, old })
	mark(t, s, ids["dirty"])
	n, err := s.PurgeTombstones(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PurgeTombstones = %d, %v; want 2", n, err)
	}
	for _, name := range names {
		_, err := s.GetSync(ctx, ids[name])
		if gone := name == "inactive" || name == "never-linked"; gone != errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: GetSync err = %v; purged %v", name, err, gone)
		}
	}
	if _, err := s.SyncByGSID(ctx, "GS-inactive"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SyncByGSID of a purged link: %v; want ErrNotFound", err)
	}
	again := createUser(t, s, newUser("inactive@example.com"))
	if info := syncState(t, s, again.ID); info.GSID != "" || info.Tombstone {
		t.Errorf("re-created after purge: %+v; want a fresh link", info)
	}
}

func testListUserIDs(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := createUsers(t, s, "m", "c", "x", "a", "q")
	sort.Strings(want)
	var got []string
	after := ""
	for {
		page, err := s.ListUserIDs(ctx, after, 2)
		if err != nil {
			t.Fatalf("ListUserIDs: %v", err)
		}
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("walk = %v; want %v", got, want)
	}
}

// testLeaseOwner: only the lease owner completes or retries an entry. A
// worker whose lease expired and was taken over cannot finish, nor free,
// the new owner's claim.
func testLeaseOwner(t *testing.T, s store.Store) {
	ctx := t.Context()
	mark(t, s, "u")
	t0 := time.Now().Add(time.Second)
	a := claim(t, s, "A", 10, time.Minute, t0)
	if len(a) != 1 {
		t.Fatalf("A claimed %v", dirtyUsers(a))
	}
	b := claim(t, s, "B", 10, time.Minute, t0.Add(2*time.Minute))
	if len(b) != 1 {
		t.Fatalf("B claimed %v after A's lease expired", dirtyUsers(b))
	}
	if err := s.RetryDirty(ctx, "A", "u", a[0].Generation, 1, t0); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("A's late RetryDirty: %v; want ErrLeaseLost", err)
	}
	if err := s.CompleteDirty(ctx, "A", "u", a[0].Generation); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("A's late CompleteDirty: %v; want ErrLeaseLost", err)
	}
	if c := claim(t, s, "C", 10, time.Minute, t0.Add(2*time.Minute+time.Second)); len(c) != 0 {
		t.Fatalf("C claimed %v while B holds the lease", dirtyUsers(c))
	}
	if err := s.CompleteDirty(ctx, "B", "u", b[0].Generation); err != nil {
		t.Fatalf("B's CompleteDirty: %v", err)
	}
	if n, _, _ := s.DirtyStats(ctx); n != 0 {
		t.Fatalf("%d dirty after B completed", n)
	}
	// An expired lease that no one took over is still the owner's to finish.
	mark(t, s, "v")
	d := claim(t, s, "A", 10, time.Minute, t0)
	if err := s.RetryDirty(ctx, "A", "v", d[0].Generation, 2, t0.Add(time.Hour)); err != nil {
		t.Fatalf("RetryDirty after expiry: %v", err)
	}
}

// testExtendLease: an extended lease is not taken over when the original
// one would have expired; extending a lost lease reports it.
func testExtendLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	mark(t, s, "u", "w")
	t0 := time.Now().Add(time.Second)
	got := claim(t, s, "A", 1, time.Minute, t0) // u only
	if len(got) != 1 || got[0].UserID != "u" {
		t.Fatalf("A claimed %v; want [u]", dirtyUsers(got))
	}
	lost, err := s.ExtendLease(ctx, "A", []string{"u", "w", "nothing"}, t0.Add(10*time.Minute))
	if err != nil || !slices.Equal(sorted(lost), []string{"nothing", "w"}) {
		t.Fatalf("ExtendLease = %v, %v; want [nothing w] lost", lost, err)
	}
	if c := claim(t, s, "B", 10, time.Minute, t0.Add(2*time.Minute)); !slices.Equal(dirtyUsers(c), []string{"w"}) {
		t.Fatalf("B claimed %v at 2m; want only w (u is extended)", dirtyUsers(c))
	}
	if c := claim(t, s, "B", 10, time.Minute, t0.Add(11*time.Minute)); !slices.Equal(dirtyUsers(c), []string{"u", "w"}) {
		t.Fatalf("B claimed %v at 11m; want u and w", dirtyUsers(c))
	}
	if lost, err := s.ExtendLease(ctx, "A", []string{"u"}, t0.Add(20*time.Minute)); err != nil || !slices.Equal(lost, []string{"u"}) {
		t.Fatalf("A's ExtendLease after B took u = %v, %v; want [u] lost", lost, err)
	}
	if c := claim(t, s, "C", 10, time.Minute, t0.Add(11*time.Minute+time.Second)); len(c) != 0 {
		t.Fatalf("C claimed %v; B holds both", dirtyUsers(c))
	}
}

// testClaimJob: a periodic job runs once per interval across every caller.
func testClaimJob(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		name string
		at   time.Duration
		want bool
	}{
		{"reconcile", 0, true},
		{"reconcile", 30 * time.Minute, false},
		{"purge", 30 * time.Minute, true},
		{"reconcile", time.Hour, true},
		{"reconcile", time.Hour + time.Minute, false},
	}
	for i, st := range steps {
		ok, err := s.ClaimJob(ctx, st.name, time.Hour, t0.Add(st.at))
		if err != nil || ok != st.want {
			t.Fatalf("step %d: ClaimJob(%s, +%s) = %v, %v; want %v", i, st.name, st.at, ok, err, st.want)
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		runs int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ClaimJob(ctx, "reconcile", time.Hour, t0.Add(3*time.Hour))
			if err != nil {
				t.Errorf("ClaimJob: %v", err)
			}
			if ok {
				mu.Lock()
				runs++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if runs != 1 {
		t.Fatalf("%d concurrent claims of one interval ran; want 1", runs)
	}
}

var errBoth = errors.New("conflict: in both East and West")

// testTwoGroupsConflict: two concurrent writes each add one user to a
// different group, and the check refuses a user in both. Whatever the
// interleaving, exactly one of them succeeds.
func testTwoGroupsConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	east := createGroup(t, s, "East")
	west := createGroup(t, s, "West")
	check := func(after store.Group, affected map[string][]store.GroupRef) error {
		// Widen the window between the check's read and the commit.
		time.Sleep(10 * time.Millisecond)
		for _, refs := range affected {
			in := map[string]bool{}
			for _, r := range refs {
				in[r.DisplayName] = true
			}
			if in["East"] && in["West"] {
				return errBoth
			}
		}
		return nil
	}
	for round := range 5 {
		u := createUser(t, s, newUser(fmt.Sprintf("two-%d@example.com", round)))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, g := range []string{east.ID, west.ID} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = s.UpdateGroup(ctx, g, func(g store.Group) (store.Group, error) {
					g.Members = append(g.Members, u.ID)
					return g, nil
				}, check)
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, errBoth):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		groups, err := s.GroupsOfUser(ctx, u.ID)
		if err != nil || ok != 1 || len(groups) != 1 {
			t.Fatalf("round %d: %d group writes succeeded, user in %v (%v); want exactly one", round, ok, refIDs(groups), err)
		}
	}
}
