package bridge_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres/pgtest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// TestReplicasOnPostgres runs three bridges on one PostgreSQL database and
// one misbehaving Gainsight (5xx, drops, lost responses): an import of
// 2,000 users and group changes spread over them, one replica killed
// mid-way. Every user ends up in Gainsight exactly once with the right
// attributes, and the replicas together never exceed the shared per-hour
// budget.
func TestReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	n := 2000
	if testing.Short() {
		n = 300
	}
	tenant := newTenant()
	tenant.PerHour = 14
	tenant.PerDay = 100000
	const window = time.Second
	tenant.HourWindow = window
	tenant.DayWindow = 24 * window
	sim := gainsighttest.New(tenant, gainsighttest.WithLogger(zaptest.NewLogger(t).Named("sim")))
	srv := newLocalServer(t, sim)

	replicas := make([]*harness, 3)
	for i := range replicas {
		replicas[i] = startHarness(t, harnessOpts{
			tenant: tenant, sim: sim, simURL: srv, window: window,
			owner: fmt.Sprintf("replica-%d", i),
			configure: func(c *config.Config) {
				withProfiles(c)
				// Below the tenant's limit: calls sent at the end of a
				// window may be counted by Gainsight in the next.
				c.Gainsight.Budget.PerHour = tenant.PerHour - 4
				c.Sync.Lease = 2 * time.Second
			},
			openStore: func(ctx context.Context) (store.Store, error) {
				return postgres.Open(ctx, dsn, postgres.Options{Logger: zaptest.NewLogger(t), MaxConns: 6})
			},
		})
	}

	// Gainsight misbehaves throughout the import: 5xx, dropped
	// connections, and writes applied whose answer never arrives.
	sim.SetFaults(gainsighttest.Faults{ErrorRate: 0.1, DropRate: 0.05, LoseResponseRate: 0.1, Seed: 3})

	// The import, spread over the replicas as a load balancer would.
	// A load balancer stops sending to a dead replica: requests hold the
	// read lock, the kill takes the write lock.
	ids := make([]string, n)
	var (
		wg     sync.WaitGroup
		mu     sync.RWMutex
		killed bool
	)
	next := make(chan int)
	for w := 0; w < 9; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range next {
				mu.RLock()
				r := replicas[w%3]
				if killed {
					r = replicas[w%2]
				}
				ids[i] = r.createUser(userDoc(fmt.Sprintf("rep-%04d@example.com", i), nil))
				mu.RUnlock()
			}
		}(w)
	}
	for i := 0; i < n; i++ {
		next <- i
		// Kill one replica once Gainsight has started receiving users.
		if !killed && i > n/2 && len(sim.Users()) > 0 {
			mu.Lock()
			replicas[2].kill()
			killed = true
			mu.Unlock()
		}
	}
	close(next)
	wg.Wait()
	if !killed {
		replicas[2].kill()
	}
	alive := replicas[:2]

	// Group changes through both surviving replicas.
	half := ids[:n/2]
	g1 := alive[0].createGroup("Gainsight Full", "", half[:n/4]...)
	alive[1].createGroup("Region US", "", half...)
	alive[1].patchGroup(g1, http.StatusOK, map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": ids[n-1]}}})

	alive[0].waitSynced(5 * time.Minute)
	sim.SetFaults(gainsighttest.Faults{})
	// One clean pass so every confirmed record is Gainsight's.
	alive[0].waitSynced(time.Minute)
	alive[0].checkConverged()
	if got := len(sim.Users()); got != n {
		t.Errorf("gainsight holds %d users, want %d", got, n)
	}
	st := sim.Stats()
	if st.Rejected429 != 0 {
		t.Errorf("the replicas overran Gainsight's limit: %d calls answered 429", st.Rejected429)
	}
	if st.MaxCallsPerHourWindow > tenant.PerHour {
		t.Errorf("replicas together made %d calls in one window; the limit is %d", st.MaxCallsPerHourWindow, tenant.PerHour)
	}
	if st.MaxInFlightPerUser > 1 {
		t.Errorf("a user was pushed by two replicas at once (%d writes in flight for one user, %d overlapping)",
			st.MaxInFlightPerUser, st.ConcurrentWrites)
	}
	full := 0
	for _, u := range sim.Users() {
		if u["LicenseType"] == "Full" {
			full++
		}
	}
	if full != n/4+1 {
		t.Errorf("%d users with a Full license, want %d", full, n/4+1)
	}
	t.Logf("%d users over 3 replicas (one killed): calls %v, max %d per window (limit %d), %d answered 429",
		n, st.Calls, st.MaxCallsPerHourWindow, tenant.PerHour, st.Rejected429)
}

// TestReplicasNeverPushOneUserAtOnce runs three bridges on one PostgreSQL
// database against a Gainsight whose every call takes longer than the
// replicas' lease, so a batch outlives the lease it was claimed with. The
// replicas extend the leases of what they are pushing, and finish only
// what they still hold: the simulator never sees two writes of one user
// in flight at once, and every user ends in Gainsight exactly once.
func TestReplicasNeverPushOneUserAtOnce(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	tenant := newTenant()
	sim := gainsighttest.New(tenant, gainsighttest.WithLogger(zaptest.NewLogger(t).Named("sim")))
	srv := newLocalServer(t, sim)
	const lease = time.Second
	sim.SetFaults(gainsighttest.Faults{Latency: 3 * lease / 2, ErrorRate: 0.05, Seed: 5})
	replicas := make([]*harness, 3)
	for i := range replicas {
		replicas[i] = startHarness(t, harnessOpts{
			tenant: tenant, sim: sim, simURL: srv,
			owner: fmt.Sprintf("replica-%d", i),
			configure: func(c *config.Config) {
				withProfiles(c)
				c.Sync.Lease = lease
			},
			openStore: func(ctx context.Context) (store.Store, error) {
				return postgres.Open(ctx, dsn, postgres.Options{Logger: zaptest.NewLogger(t), MaxConns: 6})
			},
		})
	}
	n := 60
	if testing.Short() {
		n = 20
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = replicas[i%3].createUser(userDoc(fmt.Sprintf("once-%03d@example.com", i), nil))
	}
	// Changes to users while their first push may be in flight.
	for i, id := range ids[:n/2] {
		title := []string{"Engineer", "Manager"}[i%2]
		body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": title}}}
		if s := replicas[(i+1)%3].do(http.MethodPatch, "/Users/"+id, body, nil); s != http.StatusOK {
			t.Fatalf("patch: %d", s)
		}
	}
	replicas[0].waitSynced(3 * time.Minute)
	sim.SetFaults(gainsighttest.Faults{})
	replicas[0].waitSynced(time.Minute)
	replicas[0].checkConverged()
	st := sim.Stats()
	if st.MaxInFlightPerUser != 1 || st.ConcurrentWrites != 0 {
		t.Errorf("a user was pushed by two replicas at once: %d writes in flight for one user, %d overlapping",
			st.MaxInFlightPerUser, st.ConcurrentWrites)
	}
	if got := len(sim.Users()); got != n {
		t.Errorf("gainsight holds %d users, want %d", got, n)
	}
	t.Logf("%d users over 3 replicas, calls of %s against a lease of %s: calls %v, at most %d write in flight per user",
		n, 3*lease/2, lease, st.Calls, st.MaxInFlightPerUser)
}

func newLocalServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln := listenLocal(t)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}
