package sync

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
)

// The scheduling rules: urgent users (who should lose access) go first,
// between two calls of a pass that is not urgent, and in a part of their
// own when a claim mixes them with others; only they may spend the budget's
// urgent share.

// callLog renders the upstream's calls as "op/size[!]" ("!" = urgent).
func (h *harness) callLog() []string {
	h.up.mu.Lock()
	defer h.up.mu.Unlock()
	var out []string
	for _, c := range h.up.calls {
		s := fmt.Sprintf("%s/%d", c.op, c.size)
		if c.urgent {
			s += "!"
		}
		out = append(out, s)
	}
	return out
}

func (h *harness) resetCalls() {
	h.up.mu.Lock()
	h.up.calls = nil
	h.up.mu.Unlock()
}

// TestUrgentPreemptsAnImport: a user disabled while an import's first
// create call is in flight is deactivated by the very next call, not after
// the import.
func TestUrgentPreemptsAnImport(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.BatchSize = 5 })
	h.create("leaver", "leaver", nil)
	h.drain()
	for i := range 20 {
		h.create(fmt.Sprintf("new%02d", i), fmt.Sprintf("new%02d", i), nil)
	}
	h.resetCalls()
	disabled := false
	h.up.before = func(op string) {
		if op == "create" && !disabled {
			disabled = true
			// The store marks a user that becomes inactive urgent.
			h.update("leaver", func(u *store.User) { u.Active = false })
		}
	}
	h.drain()
	log := h.callLog()
	// The first claim: a look-up, then the creates; the deactivation
	// comes right after the create in flight.
	if len(log) < 3 || log[0] != "list/0" || log[1] != "create/5" || log[2] != "status/1!" {
		t.Fatalf("calls %v; want list, create, then the urgent deactivation", log)
	}
	if rec := h.up.byName("leaver"); rec["IsActiveUser"] != false {
		t.Fatalf("leaver %v, want inactive", rec)
	}
	if got := testutil.ToFloat64(h.eng.metrics.preemptions); got != 1 {
		t.Errorf("preemptions %v, want 1", got)
	}
	if h.dirty() != 0 {
		t.Errorf("%d users left dirty", h.dirty())
	}
}

// reloadedPlanner is fakePlanner after a config reload that gives every
// user a title.
type reloadedPlanner struct{ title string }

func (p reloadedPlanner) Plan(u store.User, groups []store.GroupRef) (translate.Plan, error) {
	plan, err := fakePlanner{}.Plan(u, groups)
	if err == nil {
		plan.Record["Title"] = p.title
	}
	return plan, err
}

// TestPreemptPlansWithTheReloadedPlanner: a config reload swaps the planner
// and then marks the users it affects. An urgent user claimed between two
// calls of a pass that began before the reload carries the reload's mark,
// so it is planned with the new planner, not the pass's: otherwise its
// entry is completed with the reload's change never sent.
func TestPreemptPlansWithTheReloadedPlanner(t *testing.T) {
	var planner atomic.Pointer[Planner]
	set := func(p Planner) { planner.Store(&p) }
	set(fakePlanner{})
	h := newHarness(t, func(o *Options) {
		o.BatchSize = 5
		o.Planner = func() Planner { return *planner.Load() }
	})
	h.create("leaver", "leaver", nil)
	h.drain()
	for i := range 20 {
		h.create(fmt.Sprintf("new%02d", i), fmt.Sprintf("new%02d", i), nil)
	}
	reloaded := false
	h.up.before = func(op string) {
		if op == "create" && !reloaded {
			reloaded = true
			set(reloadedPlanner{title: "Reloaded"})
			h.update("leaver", func(u *store.User) { u.Active = false })
		}
	}
	h.drain()
	if !reloaded {
		t.Fatal("no create call")
	}
	rec := h.up.byName("leaver")
	if rec["IsActiveUser"] != false || rec["Title"] != "Reloaded" {
		t.Fatalf("leaver %v; want inactive with the reloaded title", rec)
	}
	if h.dirty() != 0 {
		t.Errorf("%d users left dirty", h.dirty())
	}
}

// TestUrgentPartOfAClaimGoesFirst: a claim that mixes urgent users with
// others passes the urgent ones first: the deactivation is the first
// call, before the others' look-up.
func TestUrgentPartOfAClaimGoesFirst(t *testing.T) {
	h := newHarness(t, nil)
	h.create("leaver", "leaver", nil)
	h.drain()
	h.create("a", "alice", nil)
	h.create("b", "bob", nil)
	h.update("leaver", func(u *store.User) { u.Active = false })
	h.resetCalls()
	h.drain()
	log := h.callLog()
	if len(log) != 3 || log[0] != "status/1!" || log[1] != "list/0" || log[2] != "create/2" {
		t.Fatalf("calls %v; want the urgent deactivation, then the look-up and create", log)
	}
}

// TestUrgentShareOfTheBudget: while only the budget's urgent share has a
// slot, only urgent users are claimed, and their deactivation goes out;
// the others wait, unclaimed, with no attempt counted.
func TestUrgentShareOfTheBudget(t *testing.T) {
	b := &fakeBudget{}
	h := newHarness(t, func(o *Options) { o.Budget = b })
	h.create("leaver", "leaver", nil)
	h.create("stay", "stay", nil)
	h.drain()
	h.update("leaver", func(u *store.User) { u.Active = false })
	h.update("stay", func(u *store.User) { u.Doc["title"] = "CTO" })
	h.create("new", "newcomer", nil)
	b.next, b.nextUrgent = h.clock.Now().Add(time.Hour), h.clock.Now()
	h.resetCalls()
	if n := h.drain(); n != 1 {
		t.Fatalf("processed %d users; want only the urgent one", n)
	}
	if log := h.callLog(); len(log) != 1 || log[0] != "status/1!" {
		t.Fatalf("calls %v; want one urgent deactivation", log)
	}
	claimed, err := h.store.ClaimDirty(context.Background(), "peek", 10, time.Nanosecond, h.clock.Now())
	if err != nil || len(claimed) != 2 {
		t.Fatalf("left dirty %+v, %v; want stay and new", claimed, err)
	}
	for _, d := range claimed {
		if d.Attempts != 0 {
			t.Errorf("%s: %d attempts counted for work never claimed", d.UserID, d.Attempts)
		}
	}
}

// TestClaimsTakeHigherPrioritiesFirst: with one user per call, the
// license change (high) goes before the timezone change (normal), which
// goes before the title change (low), whatever the order they were marked
// in.
func TestClaimsTakeHigherPrioritiesFirst(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.BatchSize = 1 })
	for _, id := range []string{"low", "normal", "high"} {
		h.create(id, id, nil)
	}
	h.drain()
	gsidOf := map[string]string{}
	for _, id := range []string{"low", "normal", "high"} {
		gsidOf[h.sync(id).GSID] = id
	}
	ctx := context.Background()
	h.update("low", func(u *store.User) { u.Doc["title"] = "CTO" })
	h.update("normal", func(u *store.User) { u.Doc["timezone"] = "Europe/Paris" })
	h.update("high", func(u *store.User) { u.Doc["license"] = "Viewer" })
	// The memory store without a Prioritizer marks these updates normal:
	// name the priorities a Prioritizer gives them.
	h.settle("low")
	for id, p := range map[string]store.Priority{"low": store.PriorityLow, "high": store.PriorityHigh} {
		if err := h.store.MarkDirtyAs(ctx, p, id); err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	h.up.failRecord = func(op string, rec gainsight.Record) error {
		order = append(order, gsidOf[rec.GSID()])
		return nil
	}
	h.drain()
	if fmt.Sprint(order) != "[high normal low]" {
		t.Fatalf("update order %v; want high, normal, low", order)
	}
}

// TestPendingByPriorityGauges: the gauges show the pending users by
// priority and how long the oldest urgent one has waited.
func TestPendingByPriorityGauges(t *testing.T) {
	b := &fakeBudget{}
	h := newHarness(t, func(o *Options) { o.Budget = b })
	h.create("leaver", "leaver", nil)
	h.drain()
	h.update("leaver", func(u *store.User) { u.Active = false })
	h.create("new", "newcomer", nil)
	b.next = h.clock.Now().Add(time.Hour) // nothing is sent
	h.clock.Advance(90 * time.Second)
	h.drain()
	if got := testutil.ToFloat64(h.eng.metrics.pending.WithLabelValues("urgent")); got != 1 {
		t.Errorf("pending urgent %v, want 1", got)
	}
	if got := testutil.ToFloat64(h.eng.metrics.pending.WithLabelValues("normal")); got != 1 {
		t.Errorf("pending normal %v, want 1", got)
	}
	if got := testutil.ToFloat64(h.eng.metrics.oldestUrgent); got != 90 {
		t.Errorf("oldest urgent %v s, want 90", got)
	}
	b.next = time.Time{}
	h.drain()
	if got := testutil.ToFloat64(h.eng.metrics.oldestUrgent); got != 0 {
		t.Errorf("oldest urgent after the drain %v, want 0", got)
	}
}

// TestCreatedInactiveIsNotUrgent: a user the IdP provisions already
// disabled is created and then deactivated in the same pass; that
// deactivation removes no access anyone had before, so it does not spend
// the budget's urgent share (an import of disabled users would spend it
// all). A linked user who is disabled is urgent.
func TestCreatedInactiveIsNotUrgent(t *testing.T) {
	h := newHarness(t, nil)
	h.create("leaver", "leaver", nil)
	h.drain()
	h.create("ghost", "ghost", func(u *store.User) { u.Active = false })
	h.resetCalls()
	h.drain()
	if log := h.callLog(); len(log) != 3 || log[0] != "list/0" || log[1] != "create/1" || log[2] != "status/1" {
		t.Fatalf("calls %v; want look-up, create, then a deactivation that is not urgent", log)
	}
	h.update("leaver", func(u *store.User) { u.Active = false })
	h.resetCalls()
	h.drain()
	if log := h.callLog(); len(log) != 1 || log[0] != "status/1!" {
		t.Fatalf("calls %v; want one urgent deactivation", log)
	}
}

// TestImportDuringAPassWaitsForTheWindow: users the identity source marks
// dirty while a pass runs are not chased by it: a claim that finds fewer
// users than it could take ends the pass, and the next pass (which Run
// starts after the kick's batch window) sends them in full calls. Users
// the pass marks itself (the reports of a newly linked manager) are passed
// at once (TestManagerDeferral); TestProvision500 runs the whole flow.
func TestImportDuringAPassWaitsForTheWindow(t *testing.T) {
	h := newHarness(t, nil)
	h.create("u-0", "first", nil)
	arrived := false
	h.up.before = func(op string) {
		if op == "create" && !arrived {
			arrived = true
			for i := 1; i <= 60; i++ {
				h.create(fmt.Sprintf("u-%d", i), fmt.Sprintf("user%d", i), nil)
			}
		}
	}
	h.drain()
	if got := h.up.count("create"); got != 1 || h.dirty() != 60 {
		t.Fatalf("after the pass: %d create calls, %d users dirty; want 1 call, the 60 that arrived during it waiting", got, h.dirty())
	}
	h.drain()
	if got := h.up.count("create"); got != 3 || h.dirty() != 0 {
		t.Errorf("after the next pass: %d create calls, %d users dirty; want 3 calls (1, 50, 10), none dirty", got, h.dirty())
	}
}
