package sync

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// seedTenant returns a tenant of other users others plus matching users
// named as createUsers names them (prefix0000, …) with their emails.
func seedTenant(prefix string, matching, others int) gainsighttest.Tenant {
	var users []map[string]any
	for i := range matching {
		name := fmt.Sprintf("%s%04d", prefix, i)
		users = append(users, map[string]any{"SFDCUserName": name, "Email": name + "@example.com", "Name": "Seeded", "Title": "Old"})
	}
	for i := range others {
		name := fmt.Sprintf("other%04d", i)
		users = append(users, map[string]any{"SFDCUserName": name, "Email": name + "@example.com", "Name": "Other"})
	}
	return gainsighttest.Tenant{Users: users}
}

// TestSnapshotImport: an import of 500 users into a tenant of 300, 50 of
// them the same people, lists the tenant once (3 calls) instead of a
// look-up per batch, adopts the 50 and creates the rest, every call full:
// ceil(500/50) + ceil(300/100) calls, each user exactly once.
func TestSnapshotImport(t *testing.T) {
	x := newE2E(t, seedTenant("user", 50, 250), 0, nil)
	seeded := map[string]string{}
	for _, u := range x.sim.Users() {
		seeded[u["SFDCUserName"].(string)] = u["Gsid"].(string)
	}
	x.createUsers(500, "user", nil)
	x.converge()
	x.checkExactlyOnce(ids("user", 500))
	for i := range 50 {
		name := fmt.Sprintf("user%04d", i)
		if got := x.info("id-" + name).GSID; got != seeded[name] {
			t.Fatalf("%s linked to %s, want the existing %s", name, got, seeded[name])
		}
		if rec := x.simUser(seeded[name]); rec["Name"] != name {
			t.Fatalf("adopted %s was not sent its record: %v", name, rec)
		}
	}
	st := x.sim.Stats()
	if st.Calls[gainsighttest.OpList] != 3 || st.Calls[gainsighttest.OpCreate] != 9 || st.Calls[gainsighttest.OpUpdate] != 1 ||
		st.Calls[gainsighttest.OpStatus] != 0 {
		t.Errorf("calls %v; want 3 list (the snapshot), 9 create, 1 update", st.Calls)
	}
	if limit := 500/50 + 300/100; st.TotalCalls > limit {
		t.Errorf("%d calls, over ceil(N/50) + ceil(M/100) = %d", st.TotalCalls, limit)
	}
	if got := testutil.ToFloat64(x.eng.metrics.snapshots); got != 1 {
		t.Errorf("%v snapshots, want 1", got)
	}
	if got := testutil.ToFloat64(x.eng.metrics.tenantUsers); got != 300 {
		t.Errorf("tenant users gauge %v, want 300", got)
	}
	// The store keeps no key of a Gainsight user in the clear.
	info, err := x.st.SnapshotInfo(context.Background())
	if err != nil || info.Total != 300 || info.Keys != 600 {
		t.Fatalf("snapshot %+v, %v; want 300 users, 600 keys", info, err)
	}
	hashed := []string{store.KeyHash(info.Salt, "Email", "other0001@example.com")}
	if keys, err := x.st.SnapshotKeys(context.Background(), hashed); err != nil || len(keys) != 1 {
		t.Errorf("snapshot keys found by hash: %v, %v; want 1", keys, err)
	}
	// Nothing of a Gainsight user the bridge does not manage is in the
	// database files: not its user name, not its email.
	for _, f := range []string{x.path, x.path + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("other0001")) {
			t.Errorf("%s holds an unmanaged Gainsight user's name in the clear", f)
		}
	}
}

// TestStaleSnapshot: users created directly in Gainsight after the
// snapshot was taken are not in it; their creates are refused as
// duplicates and resolved in the same pass by one look-up and adoption:
// never a duplicate, never a failed user.
func TestStaleSnapshot(t *testing.T) {
	x := newE2E(t, gainsighttest.Tenant{}, 0, func(o *Options) { o.Snapshot = SnapshotAlways })
	x.createUsers(10, "first", nil)
	x.converge()
	if got := testutil.ToFloat64(x.eng.metrics.snapshots); got != 1 {
		t.Fatalf("%v snapshots, want 1", got)
	}
	// Someone creates five people in Gainsight by hand.
	var direct []gainsight.Record
	for i := range 5 {
		name := fmt.Sprintf("late%04d", i)
		direct = append(direct, gainsight.Record{"SFDCUserName": name, "Email": name + "@example.com", "Name": "By hand"})
	}
	res, err := x.up.Create(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	byHand := map[string]string{}
	for i, r := range res {
		byHand[fmt.Sprintf("id-late%04d", i)] = r.GSID
	}
	before := x.sim.Stats()
	// The IdP then provisions them and five more.
	x.createUsers(10, "late", nil)
	x.converge()
	x.checkExactlyOnce(ids("late", 10))
	for id, gsid := range byHand {
		if info := x.info(id); info.GSID != gsid || info.State != store.StateSynced {
			t.Fatalf("%s: %+v, want adopted %s", id, info, gsid)
		}
	}
	if got := len(x.sim.Users()); got != 20 {
		t.Errorf("%d gainsight users, want 20", got)
	}
	after := x.sim.Stats()
	if lists := after.Calls[gainsighttest.OpList] - before.Calls[gainsighttest.OpList]; lists != 1 {
		t.Errorf("%d list calls; want the one look-up of the refused creates", lists)
	}
	if got := x.outcome(outcomeFailed, gainsight.ReasonDuplicate); got != 0 {
		t.Errorf("%d users failed as duplicates", got)
	}
}

// TestSnapshotNotWorthIt: with few users to adopt in a large tenant the
// listing is abandoned after its first page tells the tenant's size, and
// the next drains do not try again: the users are looked up batch by
// batch.
func TestSnapshotNotWorthIt(t *testing.T) {
	x := newE2E(t, seedTenant("user", 0, 1000), 0, nil)
	x.createUsers(5, "user", nil)
	x.converge()
	x.checkExactlyOnce(ids("user", 5))
	if got := x.sim.Stats().Calls[gainsighttest.OpList]; got != 2 {
		t.Errorf("%d list calls; want the abandoned first page and one look-up", got)
	}
	x.createUsers(1, "more", nil)
	x.converge()
	if got := x.sim.Stats().Calls[gainsighttest.OpList]; got != 3 {
		t.Errorf("%d list calls; want one more look-up", got)
	}
	if got := testutil.ToFloat64(x.eng.metrics.snapshots); got != 0 {
		t.Errorf("%v snapshots, want 0", got)
	}
}

func (x *e2e) outcome(outcome, reason string) int {
	return int(testutil.ToFloat64(x.eng.metrics.outcomes.WithLabelValues(outcome, reason)))
}

// listingUpstream is the fake Gainsight with a tenant listing of pageSize
// users per call ("listpage" calls).
type listingUpstream struct {
	*fakeUpstream
	pageSize int
}

func (l listingUpstream) ListPage(ctx context.Context, _ []string, page int) ([]gainsight.Record, int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.begin(ctx, "listpage", 0); err != nil {
		return nil, -1, err
	}
	var all []gainsight.Record
	for _, u := range l.users {
		all = append(all, cloneRecord(u))
	}
	slices.SortFunc(all, func(a, b gainsight.Record) int { return strings.Compare(a.GSID(), b.GSID()) })
	lo, hi := min(page*l.pageSize, len(all)), min((page+1)*l.pageSize, len(all))
	return all[lo:hi], len(all), nil
}

func (l listingUpstream) ListPageSize() int      { return l.pageSize }
func (l listingUpstream) ListCost(total int) int { return max(1, (total+l.pageSize-1)/l.pageSize) }
func (l listingUpstream) FindCost(int) int       { return 1 }

// TestListingGoesOnAcrossDrains: a listing that runs out of budget goes on
// in a later drain where it stopped; meanwhile no look-up is spent on the
// users it will serve, and urgent users still go out.
func TestListingGoesOnAcrossDrains(t *testing.T) {
	up := newFakeUpstream()
	for i := range 9 {
		up.seed(gainsight.Record{"SFDCUserName": fmt.Sprintf("old%d", i), "Email": fmt.Sprintf("old%d@example.com", i), "Name": "Old"})
	}
	b := &fakeBudget{}
	h := newHarness(t, func(o *Options) {
		o.Upstream, o.Budget, o.BatchSize, o.Snapshot = listingUpstream{up, 2}, b, 2, SnapshotAlways
	})
	h.up = up
	h.create("leaver", "leaver", nil)
	h.drain() // a snapshot of the 9 users, then the leaver is created
	leaverGSID := h.sync("leaver").GSID
	// A day later the snapshot is stale.
	h.clock.Advance(25 * time.Hour)
	for i := range 6 {
		h.create(fmt.Sprintf("new%d", i), fmt.Sprintf("new%d", i), nil)
	}
	h.create("old3", "old3", nil) // an existing Gainsight user
	h.update("leaver", func(u *store.User) { u.Active = false })
	h.resetCalls()
	// The budget runs out after two listing pages.
	pages := 0
	up.before = func(op string) {
		if op == "listpage" {
			if pages++; pages == 2 {
				b.next = h.clock.Now().Add(time.Hour)
				b.nextUrgent = h.clock.Now()
			}
		}
	}
	h.drain()
	if got := h.up.count("listpage"); got != 2 {
		t.Fatalf("%d listing pages before the budget ran out, want 2", got)
	}
	if got := h.up.count("list") + h.up.count("create"); got != 0 {
		t.Fatalf("%d look-ups and creates while the listing is under way; want none", got)
	}
	if rec := up.users[leaverGSID]; rec["IsActiveUser"] != false {
		t.Fatalf("the urgent deactivation did not go out: %v", rec)
	}
	// The next window: the listing goes on from page 2 and the users are
	// planned from it, old3 adopted, without a look-up.
	b.next, b.nextUrgent = time.Time{}, time.Time{}
	h.clock.Advance(time.Hour)
	h.drain()
	if got := h.up.count("listpage"); got != 5 {
		t.Errorf("%d listing pages in all, want 5 (10 users, 2 a page, going on from page 2)", got)
	}
	if got := h.up.count("list"); got != 0 {
		t.Errorf("%d look-ups; want none", got)
	}
	if got := h.sync("old3").GSID; got == "" || up.users[got]["Name"] != "old3" {
		t.Errorf("old3 not adopted: %s %v", got, up.users[got])
	}
	if h.dirty() != 0 || len(up.users) != 10+6 {
		t.Errorf("%d dirty, %d gainsight users; want 0 and 16", h.dirty(), len(up.users))
	}
}
