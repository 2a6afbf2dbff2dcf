package sync

import (
	"context"
	"fmt"
	"net/http/httptest"
	stdsync "sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/memory"
)

// TestLostLeaseIsReportedNotApplied: a worker whose lease expired while
// its calls were in flight, and was taken over, does not finish or free
// the new owner's claim. What it did is recorded as of unknown outcome and
// the user made due again, so the new owner's next pass re-reads
// Gainsight.
func TestLostLeaseIsReportedNotApplied(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.create("a", "alice", nil)
	h.drain()
	h.update("a", func(u *store.User) { u.Doc["title"] = "CTO" })
	var other []store.Dirty
	h.up.before = func(op string) {
		if op != "update" || other != nil {
			return
		}
		// The update takes longer than the lease, and another worker
		// claims the user meanwhile.
		h.clock.Advance(2 * time.Minute)
		var err error
		if other, err = h.store.ClaimDirty(ctx, "other", 10, time.Minute, h.clock.Now()); err != nil || len(other) != 1 {
			t.Errorf("other worker's claim = %v, %v", other, err)
		}
	}
	h.drain()
	if other == nil {
		t.Fatal("no update was sent")
	}
	if got := testutil.ToFloat64(h.eng.metrics.leasesLost); got != 1 {
		t.Errorf("leases lost = %v, want 1", got)
	}
	// The other worker still holds the user: a third claims nothing.
	if third, err := h.store.ClaimDirty(ctx, "third", 10, time.Minute, h.clock.Now()); err != nil || len(third) != 0 {
		t.Fatalf("third worker claimed %v (%v) while the other holds the lease", third, err)
	}
	info := h.sync("a")
	if !info.Unknown || info.Record["Title"] != "CTO" {
		t.Errorf("link %+v, want the update recorded and its state unknown", info)
	}
	// The other worker's completion of the generation it claimed only
	// drops its lease: the user was marked dirty again after the lost
	// lease, so the next pass re-reads what Gainsight holds.
	if err := h.store.CompleteDirty(ctx, "other", "a", other[0].Generation); err != nil {
		t.Fatalf("the other worker's CompleteDirty: %v", err)
	}
	lists := h.up.count("list")
	h.clock.Advance(time.Minute)
	h.drain()
	if h.up.count("list") != lists+1 || h.dirty() != 0 {
		t.Errorf("after the takeover: %d lookups (want one re-read), %d dirty", h.up.count("list")-lists, h.dirty())
	}
	if info := h.sync("a"); info.Unknown || info.State != store.StateSynced {
		t.Errorf("link after the re-read %+v", info)
	}
}

// TestLeasesExtendedWhileCallsInFlight: two engines share one store and
// one Gainsight whose calls take longer than the lease. The busy engine
// extends its leases, so the other never takes its users: no user is ever
// pushed by both at once.
func TestLeasesExtendedWhileCallsInFlight(t *testing.T) {
	sim := gainsighttest.New(gainsighttest.Tenant{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.SetFaults(gainsighttest.Faults{Latency: 600 * time.Millisecond})
	st := memory.New(memory.Options{})
	const lease = 300 * time.Millisecond
	engines := make([]*Engine, 2)
	for i := range engines {
		client, err := gainsight.New(gainsight.Options{BaseURL: srv.URL, AccessKey: gainsighttest.DefaultAccessKey,
			Timeout: 10 * time.Second, Logger: zaptest.NewLogger(t), Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		engines[i], err = New(Options{Store: st, Upstream: client, Planner: func() Planner { return fakePlanner{} },
			Logger: zaptest.NewLogger(t), Registerer: prometheus.NewRegistry(), Owner: fmt.Sprintf("replica-%d", i),
			BatchSize: 5, Lease: lease, BatchTimeout: 30 * time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		name := fmt.Sprintf("user%02d", i)
		if _, err := st.CreateUser(context.Background(), store.User{ID: "id-" + name, UserName: name,
			Emails: []string{name + "@example.com"}, Active: true, Doc: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
	}
	var wg stdsync.WaitGroup
	deadline := time.Now().Add(60 * time.Second)
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if _, err := e.DrainOnce(context.Background()); err != nil {
					t.Error(err)
					return
				}
				if n, _, _ := st.DirtyStats(context.Background()); n == 0 {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	stats := sim.Stats()
	if stats.MaxInFlightPerUser != 1 || stats.ConcurrentWrites != 0 {
		t.Errorf("a user was pushed by two engines at once: max %d in flight, %d concurrent writes",
			stats.MaxInFlightPerUser, stats.ConcurrentWrites)
	}
	if n := len(sim.Users()); n != 10 || stats.Calls[gainsighttest.OpCreate] > 2 {
		t.Errorf("%d gainsight users after %d creates, want 10 after at most 2", n, stats.Calls[gainsighttest.OpCreate])
	}
	for _, e := range engines {
		if got := testutil.ToFloat64(e.metrics.leasesLost); got != 0 {
			t.Errorf("%s lost %v leases", e.opts.Owner, got)
		}
	}
}

// fakeBudget is a rate budget whose next slot a test sets: next for every
// call, nextUrgent (when set) for urgent ones.
type fakeBudget struct {
	mu         stdsync.Mutex
	next       time.Time
	nextUrgent time.Time
}

func (b *fakeBudget) NextSlot(_ context.Context, now time.Time, urgent bool) (time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next := b.next
	if urgent && !b.nextUrgent.IsZero() {
		next = b.nextUrgent
	}
	if next.After(now) {
		return next, nil
	}
	return now, nil
}

// TestSpentBudgetClaimsNothing: while the budget has no slot within the
// lease, the engine holds no lease, counts no attempt and records no
// error; once a slot comes, it drains.
func TestSpentBudgetClaimsNothing(t *testing.T) {
	b := &fakeBudget{}
	h := newHarness(t, func(o *Options) { o.Budget = b })
	h.create("a", "alice", nil)
	b.next = h.clock.Now().Add(time.Hour)
	if n := h.drain(); n != 0 || len(h.up.calls) != 0 {
		t.Fatalf("processed %d users, %d calls while the budget is spent", n, len(h.up.calls))
	}
	claimed, err := h.store.ClaimDirty(context.Background(), "peek", 10, time.Nanosecond, h.clock.Now())
	if err != nil || len(claimed) != 1 || claimed[0].Attempts != 0 {
		t.Fatalf("dirty entry %+v, %v; want it unleased, no attempt counted", claimed, err)
	}
	if info := h.sync("a"); info.LastError != "" || info.State != store.StatePending {
		t.Errorf("link %+v, want pending without an error", info)
	}
	if got := testutil.ToFloat64(h.eng.metrics.budgetWaits); got != 1 {
		t.Errorf("budget waits %v, want 1", got)
	}
	h.clock.Advance(time.Hour)
	h.drain()
	if info := h.sync("a"); info.State != store.StateSynced {
		t.Errorf("after the budget freed: %+v", info)
	}
}

// TestCallNotSentForBudget: a call the client held back for want of budget
// until the batch gave up is no failure: no attempt, no error, no unknown
// outcome; the user is due again at the next slot.
func TestCallNotSentForBudget(t *testing.T) {
	b := &fakeBudget{}
	h := newHarness(t, func(o *Options) { o.Budget = b })
	h.create("a", "alice", nil)
	h.drain()
	h.update("a", func(u *store.User) { u.Doc["title"] = "CTO" })
	h.up.failCalls["update"] = 1
	h.up.callErr = fmt.Errorf("gainsight: update: %w: %w", gainsight.ErrBudgetWait, context.DeadlineExceeded)
	h.up.before = func(op string) {
		if op == "update" {
			b.next = h.clock.Now().Add(10 * time.Minute)
		}
	}
	h.drain()
	info := h.sync("a")
	if info.LastError != "" || info.Unknown || info.State != store.StatePending {
		t.Fatalf("link %+v, want pending, no error, nothing unknown", info)
	}
	if got := h.outcome(outcomeRetry, reasonBudget); got != 1 {
		t.Errorf("retry/budget outcomes %d, want 1", got)
	}
	h.up.before = nil
	h.clock.Advance(10 * time.Minute)
	claimed, err := h.store.ClaimDirty(context.Background(), "peek", 10, time.Nanosecond, h.clock.Now())
	if err != nil || len(claimed) != 1 || claimed[0].Attempts != 0 {
		t.Fatalf("dirty entry %+v, %v; want due at the next slot with no attempt counted", claimed, err)
	}
	h.clock.Advance(time.Second)
	h.drain()
	if rec := h.up.byName("alice"); rec["Title"] != "CTO" || h.sync("a").State != store.StateSynced {
		t.Errorf("after the next slot: %v %+v", rec, h.sync("a"))
	}
}
