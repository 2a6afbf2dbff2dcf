package sync

import (
	"context"
	stdsync "sync"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// crashingUpstream closes the store right after the n-th create call
// returned, as if the process died before recording what Gainsight did.
type crashingUpstream struct {
	Upstream
	mu      stdsync.Mutex
	creates int
	after   int
	crash   func()
}

func (c *crashingUpstream) Create(ctx context.Context, records []gainsight.Record) ([]gainsight.Result, error) {
	res, err := c.Upstream.Create(ctx, records)
	c.mu.Lock()
	c.creates++
	crash := c.creates == c.after
	c.mu.Unlock()
	if crash {
		c.crash()
	}
	return res, err
}

func TestE2ERestart(t *testing.T) {
	const n = 300
	x := newE2E(t, gainsighttest.Tenant{}, 0, func(o *Options) { o.Lease = 300 * time.Millisecond })
	x.createUsers(n, "user", nil)
	first := x.st
	// The crash stops everything at once, as a process's death does: the
	// store, and the engine's context, so no call of the pass goes out
	// after the third (the second half of a claim is sent in the same
	// pass when the look-up needs no call).
	ctx, cancel := context.WithCancel(context.Background())
	crashing := &crashingUpstream{Upstream: x.up, after: 3, crash: func() { cancel(); first.Close() }}
	x.eng.opts.Upstream = crashing
	done := make(chan error, 1)
	go func() { done <- x.eng.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		crashing.mu.Lock()
		c := crashing.creates
		crashing.mu.Unlock()
		if c >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("engine never reached the third create")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := len(x.sim.Users()); got != 150 {
		t.Fatalf("%d gainsight users before restart, want 150", got)
	}

	// A new process on the same file: the entries of the crashed batch come
	// back when their lease expires and are adopted, not created twice.
	x.open("b")
	x.converge()
	x.checkExactlyOnce(ids("user", n))
	if got := len(x.sim.Users()); got != n {
		t.Errorf("%d gainsight users, want %d", got, n)
	}
}

// TestE2EUsersV1 runs the engine through the users-v1 dialect: creates
// whose responses are lost, an update, a rename, deactivation,
// reactivation and deletion, each ending in the simulator exactly once.
func TestE2EUsersV1(t *testing.T) {
	x := newE2EClient(t, gainsighttest.Tenant{}, func(o *gainsight.Options) {
		o.API, o.DefaultRole = gainsight.APIUsersV1, "User"
	}, nil)
	const n = 6
	x.createUsers(n, "user", func(i int, u *store.User) { u.Doc["givenName"], u.Doc["familyName"] = "Ann", "Lee" })
	x.sim.SetFaults(gainsighttest.Faults{LoseNext: 2})
	x.converge()
	x.checkExactlyOnce(ids("user", n))
	stats := x.sim.Stats()
	if got := stats.Calls[gainsighttest.OpV1Create]; got != n || len(x.sim.Users()) != n {
		t.Fatalf("%d creates, %d gainsight users, want %d of each", got, len(x.sim.Users()), n)
	}
	if got := stats.Calls[gainsighttest.OpCreate] + stats.Calls[gainsighttest.OpUpdate] + stats.Calls[gainsighttest.OpList]; got != 0 {
		t.Errorf("%d services-dialect calls", got)
	}

	steps := []struct {
		name  string
		id    string
		mut   func(*store.User)
		check func(rec map[string]any) bool
	}{
		{"update", "id-user0000", func(u *store.User) { u.Doc["title"] = "CTO" },
			func(r map[string]any) bool { return r["Title"] == "CTO" && r["IsActiveUser"] == true }},
		{"rename", "id-user0001", func(u *store.User) { u.UserName = "renamed0001" },
			func(r map[string]any) bool { return r["SFDCUserName"] == "renamed0001" }},
		{"deactivate", "id-user0002", func(u *store.User) { u.Active = false },
			func(r map[string]any) bool { return r["IsActiveUser"] == false && r["LicenseType"] == nil }},
		{"reactivate", "id-user0002", func(u *store.User) { u.Active = true; u.Doc["license"] = "Viewer" },
			func(r map[string]any) bool { return r["IsActiveUser"] == true && r["LicenseType"] == "Viewer" }},
	}
	for _, st := range steps {
		gsid := x.info(st.id).GSID
		x.update(st.id, st.mut)
		x.converge()
		info := x.info(st.id)
		if rec := x.simUser(gsid); info.GSID != gsid || info.State != store.StateSynced || !st.check(rec) {
			t.Errorf("%s: %+v, gainsight %v", st.name, info, rec)
		}
	}
	gsid := x.info("id-user0003").GSID
	if err := x.st.DeleteUser(context.Background(), "id-user0003"); err != nil {
		t.Fatal(err)
	}
	x.converge()
	if rec := x.simUser(gsid); rec["IsActiveUser"] != false {
		t.Errorf("deleted user still active: %v", rec)
	}
	if got := len(x.sim.Users()); got != n {
		t.Errorf("%d gainsight users at the end, want %d", got, n)
	}
}
