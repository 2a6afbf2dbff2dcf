package sync

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
)

// e2e is an engine over the SQLite store and the Gainsight client talking
// HTTP to the simulator.
type e2e struct {
	t    *testing.T
	sim  *gainsighttest.Server
	srv  *httptest.Server
	path string
	st   *sqlite.Store
	up   Upstream
	eng  *Engine
	tune func(*Options)
}

func newE2E(t *testing.T, tenant gainsighttest.Tenant, perHour int, tune func(*Options)) *e2e {
	t.Helper()
	return newE2EClient(t, tenant, func(o *gainsight.Options) { o.PerHour = perHour }, tune)
}

// newE2EClient is newE2E with client options set by client.
func newE2EClient(t *testing.T, tenant gainsighttest.Tenant, client func(*gainsight.Options), tune func(*Options)) *e2e {
	t.Helper()
	x := &e2e{t: t, sim: gainsighttest.New(tenant), path: filepath.Join(t.TempDir(), "bridge.db"), tune: tune}
	x.srv = httptest.NewServer(x.sim)
	t.Cleanup(x.srv.Close)
	copts := gainsight.Options{
		BaseURL: x.srv.URL, AccessKey: gainsighttest.DefaultAccessKey,
		Timeout: 5 * time.Second, MaxBackoff: 20 * time.Millisecond,
		Logger: zaptest.NewLogger(t), Registerer: prometheus.NewRegistry(),
	}
	if client != nil {
		client(&copts)
	}
	up, err := gainsight.New(copts)
	if err != nil {
		t.Fatal(err)
	}
	x.up = up
	x.open("a")
	return x
}

// open opens the store file and starts a new engine on it.
func (x *e2e) open(owner string) {
	x.t.Helper()
	st, err := sqlite.Open(context.Background(), x.path, sqlite.Options{Logger: zaptest.NewLogger(x.t)})
	if err != nil {
		x.t.Fatal(err)
	}
	x.t.Cleanup(func() { st.Close() })
	x.st = st
	opts := Options{
		Store: st, Upstream: x.up, Planner: func() Planner { return fakePlanner{} },
		Logger: zaptest.NewLogger(x.t), Registerer: prometheus.NewRegistry(), Owner: owner,
		BatchWindow: time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Lease: time.Minute, PollInterval: 10 * time.Millisecond,
	}
	if x.tune != nil {
		x.tune(&opts)
	}
	eng, err := New(opts)
	if err != nil {
		x.t.Fatal(err)
	}
	x.eng = eng
}

func (x *e2e) createUsers(n int, prefix string, mut func(i int, u *store.User)) {
	x.t.Helper()
	for i := range n {
		name := fmt.Sprintf("%s%04d", prefix, i)
		u := store.User{ID: "id-" + name, UserName: name, Emails: []string{name + "@example.com"}, Active: true, Doc: map[string]any{}}
		if mut != nil {
			mut(i, &u)
		}
		if _, err := x.st.CreateUser(context.Background(), u); err != nil {
			x.t.Fatal(err)
		}
	}
}

func (x *e2e) update(id string, mut func(*store.User)) {
	x.t.Helper()
	if _, err := x.st.UpdateUser(context.Background(), id, func(u store.User) (store.User, error) {
		mut(&u)
		return u, nil
	}); err != nil {
		x.t.Fatal(err)
	}
}

// converge drains until the dirty set is empty or the deadline passes.
func (x *e2e) converge() {
	x.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := x.eng.DrainOnce(context.Background()); err != nil {
			x.t.Fatal(err)
		}
		n, _, err := x.st.DirtyStats(context.Background())
		if err != nil {
			x.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("%d users still dirty", n)
		}
		time.Sleep(5 * time.Millisecond) // let the short per-user backoffs pass
	}
}

func (x *e2e) info(id string) store.SyncInfo {
	x.t.Helper()
	info, err := x.st.GetSync(context.Background(), id)
	if err != nil {
		x.t.Fatalf("sync info of %s: %v", id, err)
	}
	return info
}

func (x *e2e) simUser(gsid string) map[string]any {
	x.t.Helper()
	rec, ok := x.sim.User(gsid)
	if !ok {
		x.t.Fatalf("gainsight user %s not found", gsid)
	}
	return rec
}

// checkExactlyOnce checks that every user is synced and linked to its own
// Gainsight user, and that the simulator holds no duplicates.
func (x *e2e) checkExactlyOnce(ids []string) {
	x.t.Helper()
	byEmail := map[string]int{}
	for _, u := range x.sim.Users() {
		byEmail[strings.ToLower(u["Email"].(string))]++
	}
	for email, n := range byEmail {
		if n > 1 {
			x.t.Errorf("%d gainsight users with email %s", n, email)
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		info := x.info(id)
		if info.State != store.StateSynced || info.GSID == "" || seen[info.GSID] {
			x.t.Fatalf("user %s: %+v", id, info)
		}
		seen[info.GSID] = true
		rec := x.simUser(info.GSID)
		if rec["SFDCUserName"] != info.UserName || rec["IsActiveUser"] != true || rec["LicenseType"] != "Full" {
			x.t.Fatalf("gainsight record of %s: %v", id, rec)
		}
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("id-%s%04d", prefix, i)
	}
	return out
}

func writeCalls(s gainsighttest.Stats) int {
	return s.Calls[gainsighttest.OpCreate] + s.Calls[gainsighttest.OpUpdate] + s.Calls[gainsighttest.OpStatus]
}

func TestE2EFiveHundredUsers(t *testing.T) {
	const n = 500
	// 10 creates and 10 lookups fit a budget of 25 calls an hour.
	x := newE2E(t, gainsighttest.Tenant{PerHour: 25}, 25, nil)
	x.createUsers(n, "user", nil)
	x.converge()
	x.checkExactlyOnce(ids("user", n))
	stats := x.sim.Stats()
	if got, limit := writeCalls(stats), int(1.1*float64((n+49)/50)); got > limit {
		t.Errorf("%d write calls, want ≤ %d", got, limit)
	}
	if got := stats.Calls[gainsighttest.OpList]; got > (n+49)/50 {
		t.Errorf("%d lookups, want ≤ one per batch", got)
	}
	if len(x.sim.Users()) != n || stats.Rejected429 != 0 {
		t.Errorf("%d users, %d rejected calls", len(x.sim.Users()), stats.Rejected429)
	}
}

// TestBatchRecordsShareCommits: the users of a batch are recorded (their
// links, their dirty entries) concurrently, so their writes share the
// store's commits instead of taking a commit, and a disk flush, each.
func TestBatchRecordsShareCommits(t *testing.T) {
	const n = 100
	x := newE2E(t, gainsighttest.Tenant{}, 0, nil)
	x.createUsers(n, "user", nil)
	commits0, writes0 := x.st.GroupCommitStats()
	x.converge()
	commits1, writes1 := x.st.GroupCommitStats()
	commits, writes := commits1-commits0, writes1-writes0
	x.checkExactlyOnce(ids("user", n))
	// Two writes a user at least (its link, its dirty entry); one by one,
	// each would be a commit of its own.
	if writes < 2*n || 2*commits > writes {
		t.Errorf("%d writes in %d commits; want ≥ %d writes, ≥ 2 a commit", writes, commits, 2*n)
	}
}

func TestE2EFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults gainsighttest.Faults
	}{
		{"lost create responses", gainsighttest.Faults{LoseNext: 2}},
		{"server errors", gainsighttest.Faults{FailNext: 4}},
		{"random losses and errors", gainsighttest.Faults{LoseResponseRate: 0.3, ErrorRate: 0.2, DropRate: 0.1, Seed: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 120
			x := newE2E(t, gainsighttest.Tenant{}, 0, nil)
			x.createUsers(n, "user", nil)
			x.sim.SetFaults(tc.faults)
			// Let the faults fire, then heal the simulator.
			for range 3 {
				if _, err := x.eng.DrainOnce(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			x.sim.SetFaults(gainsighttest.Faults{})
			x.converge()
			x.checkExactlyOnce(ids("user", n))
			if len(x.sim.Users()) != n {
				t.Errorf("%d gainsight users, want %d", len(x.sim.Users()), n)
			}
		})
	}
}

func TestE2ELifecycle(t *testing.T) {
	x := newE2E(t, gainsighttest.Tenant{}, 0, nil)
	x.createUsers(3, "user", nil)
	x.converge()
	a := x.info("id-user0000")

	// Deactivate: Gainsight drops the license.
	x.update("id-user0000", func(u *store.User) { u.Active = false })
	x.converge()
	if rec := x.simUser(a.GSID); rec["IsActiveUser"] != false || rec["LicenseType"] != nil {
		t.Fatalf("deactivated record %v", rec)
	}
	// Reactivate: the license is sent again.
	x.update("id-user0000", func(u *store.User) { u.Active = true; u.Doc["license"] = "Viewer" })
	x.converge()
	if rec := x.simUser(a.GSID); rec["IsActiveUser"] != true || rec["LicenseType"] != "Viewer" {
		t.Fatalf("reactivated record %v", rec)
	}

	// Delete, then re-create the same userName: same Gainsight user.
	if err := x.st.DeleteUser(context.Background(), "id-user0001"); err != nil {
		t.Fatal(err)
	}
	x.converge()
	b := x.info("id-user0001")
	if !b.Tombstone || b.Active {
		t.Fatalf("tombstone %+v", b)
	}
	if rec := x.simUser(b.GSID); rec["IsActiveUser"] != false {
		t.Fatalf("deleted user still active: %v", rec)
	}
	if _, err := x.st.CreateUser(context.Background(), store.User{ID: "new-b", UserName: "user0001",
		Emails: []string{"user0001@example.com"}, Active: true, Doc: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	x.converge()
	if info := x.info("new-b"); info.GSID != b.GSID || !info.Active || info.State != store.StateSynced {
		t.Fatalf("re-created user %+v, want GSID %s", info, b.GSID)
	}
	if rec := x.simUser(b.GSID); rec["IsActiveUser"] != true || rec["LicenseType"] != "Full" {
		t.Fatalf("re-created record %v", rec)
	}
	if got := x.sim.Stats().Calls[gainsighttest.OpCreate]; got != 1 || len(x.sim.Users()) != 3 {
		t.Errorf("%d creates, %d users", got, len(x.sim.Users()))
	}
}

func TestE2EManagerAndFailures(t *testing.T) {
	// Five users per call and two calls' worth per claim: the reports
	// fill the first claim, their manager comes in the second.
	// The backoff is long enough that only the manager's link makes the
	// reports due again.
	x := newE2E(t, gainsighttest.Tenant{}, 0, func(o *Options) {
		o.BatchSize, o.MinBackoff, o.MaxBackoff = 5, 10*time.Second, 10*time.Second
	})
	x.createUsers(10, "report", func(i int, u *store.User) { u.ManagerID = "id-boss0000" })
	x.createUsers(1, "boss", nil)
	x.createUsers(1, "bad", func(i int, u *store.User) { u.Doc["timezone"] = "Mars/Olympus" })
	x.converge()
	if got := testutil.ToFloat64(x.eng.metrics.outcomes.WithLabelValues(outcomeDeferred, reasonManagerPending)); got != 10 {
		t.Errorf("%v deferred outcomes, want 10", got)
	}
	boss := x.info("id-boss0000").GSID
	for _, id := range ids("report", 10) {
		info := x.info(id)
		if rec := x.simUser(info.GSID); rec["Manager"] != boss || info.State != store.StateSynced {
			t.Fatalf("report %s: %+v %v", id, info, rec)
		}
	}
	if got := x.sim.Stats().Calls[gainsighttest.OpCreate]; got != 3 {
		t.Errorf("%d create calls, want 3", got)
	}

	// A permanent error fails that user only.
	bad := x.info("id-bad0000")
	if bad.State != store.StateFailed || !strings.Contains(bad.LastError, "Timezone") {
		t.Fatalf("bad user %+v", bad)
	}
	// It is retried once it changes.
	x.update("id-bad0000", func(u *store.User) { u.Doc["timezone"] = "Europe/Paris" })
	x.converge()
	if info := x.info("id-bad0000"); info.State != store.StateSynced || x.simUser(info.GSID)["Timezone"] != "Europe/Paris" {
		t.Fatalf("fixed user %+v", info)
	}

	// A manager that is not provisioned to the bridge is not waited for;
	// once it is, its reports get it.
	x.createUsers(1, "late", func(i int, u *store.User) { u.ManagerID = "id-chief0000" })
	x.converge()
	if info := x.info("id-late0000"); info.State != store.StateSynced || x.simUser(info.GSID)["Manager"] != nil {
		t.Fatalf("report of an unknown manager %+v", info)
	}
	x.createUsers(1, "chief", nil)
	x.converge()
	if got, want := x.simUser(x.info("id-late0000").GSID)["Manager"], x.info("id-chief0000").GSID; got != want {
		t.Errorf("late manager %v, want %s", got, want)
	}
}
