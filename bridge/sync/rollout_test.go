package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	stdsync "sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
)

// switchable is a Rollout a test changes between passes, as a reload does.
type switchable struct {
	mu stdsync.Mutex
	ro Rollout
}

func (s *switchable) get() Rollout {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ro
}

func (s *switchable) set(ro Rollout) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ro = ro
}

func rolloutHarness(t *testing.T, ro Rollout, tweak func(*Options)) (*harness, *switchable) {
	sw := &switchable{ro: ro}
	h := newHarness(t, func(o *Options) {
		o.Rollout = sw.get
		if tweak != nil {
			tweak(o)
		}
	})
	return h, sw
}

// explainingPlanner is fakePlanner with sources: the license comes from
// the user's groups (or "default"), everything else from the user.
type explainingPlanner struct{ fakePlanner }

func (p explainingPlanner) Explain(u store.User, groups []store.GroupRef) (translate.Explanation, error) {
	plan, err := p.Plan(u, groups)
	if err != nil {
		return translate.Explanation{}, err
	}
	ex := translate.Explanation{UserID: u.ID, UserName: u.UserName, Active: plan.Active}
	for name, v := range plan.Record {
		src := []string{"user"}
		if name == "LicenseType" {
			src = []string{"default"}
			if _, own := u.Doc["license"]; own {
				src = []string{"Gainsight Full"}
			}
		}
		ex.Attributes = append(ex.Attributes, translate.ExplainedAttribute{Name: name, Value: v, Sources: src})
	}
	return ex, nil
}

func writes(f *fakeUpstream) int { return f.count("create") + f.count("update") + f.count("status") }

func storedPlans(t *testing.T, s store.Store) map[string]Planned {
	t.Helper()
	ps, _, err := s.ListPlans(context.Background(), store.PlanQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Planned{}
	for _, p := range ps {
		d, err := DecodePlanned(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p.UserID] = d
	}
	return out
}

// TestShadowPlansAndWritesNothing plans adoptions, creates, an update and
// a deactivation in shadow mode with no write to Gainsight, then, once
// live, makes exactly those writes, once.
func TestShadowPlansAndWritesNothing(t *testing.T) {
	h, sw := rolloutHarness(t, Rollout{}, func(o *Options) {
		o.Planner = func() Planner { return explainingPlanner{} }
	})
	// Two users synced live before shadow mode: one will change, one
	// will be deactivated.
	h.create("linked", "linked", nil)
	h.create("leaver", "leaver", nil)
	h.drain()
	sw.set(Rollout{Shadow: true})
	h.up.seed(gainsight.Record{"SFDCUserName": "ada", "Email": "ada@example.com", "Name": "Ada", "LicenseType": "Viewer"})
	h.create("ada", "ada", func(u *store.User) { u.Doc["license"] = "Full" })
	h.create("new-1", "new-1", nil)
	h.create("new-2", "new-2", nil)
	h.update("linked", func(u *store.User) { u.Doc["title"] = "Engineer" })
	h.update("leaver", func(u *store.User) { u.Active = false })
	before := writes(h.up)
	h.drain()
	if got := writes(h.up) - before; got != 0 {
		t.Fatalf("shadow mode sent %d writes", got)
	}
	if h.up.count("list") == 0 {
		t.Error("shadow mode made no adoption look-up")
	}
	if h.dirty() != 0 {
		t.Errorf("%d users still dirty after the shadow pass", h.dirty())
	}
	plans := storedPlans(t, h.store)
	kinds := map[string][]Kind{}
	for id, p := range plans {
		kinds[id] = p.Kinds
	}
	want := map[string][]Kind{
		"ada": {KindAdopt, KindUpdate}, "new-1": {KindCreate}, "new-2": {KindCreate},
		"linked": {KindUpdate}, "leaver": {KindDeactivate},
	}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("planned kinds = %v, want %v", kinds, want)
	}
	ada := plans["ada"]
	if ada.Match != "SFDCUserName" || ada.GSID == "" {
		t.Errorf("ada's adoption = %+v", ada)
	}
	var lic *PlannedField
	for i, f := range ada.Fields {
		if f.Field == "LicenseType" {
			lic = &ada.Fields[i]
		}
	}
	if lic == nil || lic.Old != "Viewer" || lic.New != "Full" || !slices.Equal(lic.Sources, []string{"Gainsight Full"}) {
		t.Errorf("ada's license change = %+v, want Viewer → Full from Gainsight Full", lic)
	}
	if f := plans["linked"].Fields; len(f) != 1 || f[0].Field != "Title" || f[0].Old != nil || f[0].New != "Engineer" {
		t.Errorf("linked's fields = %+v", f)
	}
	// Nothing about the users changed: their links are as they were.
	if st := h.sync("ada").State; st != store.StatePending {
		t.Errorf("ada is %s in shadow mode, want pending", st)
	}
	if l := h.sync("leaver"); !l.Active || l.State != store.StatePending {
		t.Errorf("leaver's link = %+v", l)
	}
	if n := h.outcome(outcomePlanned, reasonShadow); n != 5 {
		t.Errorf("planned outcomes = %d, want 5", n)
	}
	h.eng.refreshGauges(context.Background())
	if n := testutil.ToFloat64(h.eng.metrics.planned.WithLabelValues("create")); n != 2 {
		t.Errorf("planned_users{kind=create} = %v", n)
	}
	if n := testutil.ToFloat64(h.eng.metrics.mode.WithLabelValues(modeShadow)); n != 1 {
		t.Errorf("mode{shadow} = %v", n)
	}

	// Live: exactly what was planned, once.
	sw.set(Rollout{})
	calls := len(h.up.calls)
	h.drain()
	var got []string
	for _, c := range h.up.calls[calls:] {
		got = append(got, fmt.Sprintf("%s:%d", c.op, c.size))
	}
	if want := []string{"status:1", "list:0", "create:2", "update:2"}; !slices.Equal(got, want) {
		t.Errorf("live calls = %v, want %v", got, want)
	}
	if len(storedPlans(t, h.store)) != 0 {
		t.Error("plans left after going live")
	}
	if u := h.up.byName("ada"); u["LicenseType"] != "Full" {
		t.Errorf("ada in gainsight: %v", u)
	}
	if u := h.up.byName("leaver"); u["IsActiveUser"] != false {
		t.Errorf("leaver in gainsight: %v", u)
	}
	if n := len(h.up.users); n != 5 {
		t.Errorf("gainsight holds %d users, want 5", n)
	}
	calls = len(h.up.calls)
	h.drain()
	if len(h.up.calls) != calls {
		t.Errorf("a second live pass made %d calls", len(h.up.calls)-calls)
	}
	h.eng.refreshGauges(context.Background())
	if n := testutil.ToFloat64(h.eng.metrics.planned.WithLabelValues("create")); n != 0 {
		t.Errorf("planned_users{kind=create} after going live = %v", n)
	}
}

// TestShadowReplansAChangedUser: a user changed while in shadow mode is
// planned again and its plan replaced; one that no longer needs anything
// loses its plan.
func TestShadowReplansAChangedUser(t *testing.T) {
	h, _ := rolloutHarness(t, Rollout{}, nil)
	h.create("u", "u", nil)
	h.drain()
	h.create("v", "v", nil)
	h.update("u", func(u *store.User) { u.Doc["title"] = "A" })
	h.eng.opts.Rollout = func() Rollout { return Rollout{Shadow: true} }
	h.drain()
	if p := storedPlans(t, h.store)["u"]; len(p.Fields) != 1 || p.Fields[0].New != "A" {
		t.Fatalf("u's plan = %+v", p)
	}
	h.update("u", func(u *store.User) { u.Doc["title"] = "B" })
	h.update("v", func(u *store.User) { u.Doc["title"] = "C" })
	h.drain()
	plans := storedPlans(t, h.store)
	if p := plans["u"]; len(p.Fields) != 1 || p.Fields[0].New != "B" {
		t.Errorf("u's plan after a change = %+v", p)
	}
	if p := plans["v"]; !slices.Equal(p.Kinds, []Kind{KindCreate}) {
		t.Errorf("v's plan = %+v", p)
	}
	h.update("u", func(u *store.User) { delete(u.Doc, "title") })
	h.drain()
	if _, ok := storedPlans(t, h.store)["u"]; ok {
		t.Error("u, back as Gainsight holds it, still has a plan")
	}
	if writes(h.up) != 1 { // the create of u, before shadow mode
		t.Errorf("%d writes", writes(h.up))
	}
}

// TestShadowRetriesWhatItCannotPlan: a user whose look-up fails is not
// planned and stays dirty for a retry.
func TestShadowRetriesWhatItCannotPlan(t *testing.T) {
	h, _ := rolloutHarness(t, Rollout{Shadow: true}, nil)
	h.up.failCalls["list"], h.up.callErr = 1, &gainsight.Error{Op: "list", Status: 503}
	h.create("u", "u", nil)
	h.drain()
	if len(storedPlans(t, h.store)) != 0 || h.dirty() != 1 {
		t.Fatalf("plans %v, %d dirty; want no plan and the user dirty", storedPlans(t, h.store), h.dirty())
	}
	h.clock.Advance(time.Hour)
	h.drain()
	if p := storedPlans(t, h.store)["u"]; !slices.Equal(p.Kinds, []Kind{KindCreate}) || h.dirty() != 0 {
		t.Errorf("after the retry: plan %+v, %d dirty", p, h.dirty())
	}
}

// linkedUsers creates n users named prefix-i and syncs them live.
func linkedUsers(h *harness, prefix string, n int) []string {
	h.t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%02d", prefix, i)
		h.create(id, id, nil)
		ids = append(ids, id)
	}
	h.drain()
	return ids
}

func heldUsers(t *testing.T, h *harness, ids []string) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		if h.sync(id).State == store.StateHeld {
			out = append(out, id)
		}
	}
	return out
}

func activeInGainsight(h *harness, ids []string) int {
	n := 0
	for _, id := range ids {
		if u := h.up.byName(id); u["IsActiveUser"] == true {
			n++
		}
	}
	return n
}

// TestGuardHoldsBeyondTheLimit: of six deactivations against a limit of
// three, three go out and three are held, while an update for another
// user still goes out; approving the held ones deactivates them.
func TestGuardHoldsBeyondTheLimit(t *testing.T) {
	policy := &store.GuardPolicy{Window: time.Hour, MaxUsers: 3}
	h, _ := rolloutHarness(t, Rollout{Guard: policy}, nil)
	ids := linkedUsers(h, "u", 10)
	for _, id := range ids[:6] {
		h.update(id, func(u *store.User) { u.Active = false })
	}
	h.update(ids[9], func(u *store.User) { u.Doc["title"] = "Still synced" })
	h.drain()
	held := heldUsers(t, h, ids)
	if len(held) != 3 || activeInGainsight(h, ids[:6]) != 3 {
		t.Fatalf("held %v, %d of 6 still active; want 3 and 3", held, activeInGainsight(h, ids[:6]))
	}
	if u := h.up.byName(ids[9]); u["Title"] != "Still synced" {
		t.Errorf("the other user's update did not go out: %v", u)
	}
	info := h.sync(held[0])
	if info.LastError == "" || !info.Active {
		t.Errorf("held user's link = %+v", info)
	}
	if h.dirty() != 0 {
		t.Errorf("%d users dirty; held users wait for a decision, not a retry", h.dirty())
	}
	if n := testutil.ToFloat64(h.eng.metrics.guardHolds); n != 3 {
		t.Errorf("guard_holds_total = %v", n)
	}
	h.eng.refreshGauges(context.Background())
	if n := testutil.ToFloat64(h.eng.metrics.guardAwaiting); n != 3 {
		t.Errorf("guard_awaiting_users = %v", n)
	}
	if n := testutil.ToFloat64(h.eng.metrics.users.WithLabelValues(store.StateHeld)); n != 3 {
		t.Errorf("sync_users{held} = %v", n)
	}
	if n := testutil.ToFloat64(h.eng.metrics.guardLimit); n != 3 {
		t.Errorf("guard_limit = %v", n)
	}
	// Later passes (a reconcile) do not let them out.
	if err := h.store.MarkDirty(context.Background(), held...); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Hour)
	before := h.up.count("status")
	h.drain()
	if h.up.count("status") != before || len(heldUsers(t, h, ids)) != 3 {
		t.Fatalf("a re-planned held user was sent: %d status calls", h.up.count("status")-before)
	}
	if _, err := h.store.DecideHolds(context.Background(), store.HoldDecision{All: true, Approve: true, By: "ops"}); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if activeInGainsight(h, ids[:6]) != 0 || len(heldUsers(t, h, ids)) != 0 {
		t.Fatalf("after approval: %d still active, held %v", activeInGainsight(h, ids[:6]), heldUsers(t, h, ids))
	}
	if hs, _ := h.store.Holds(context.Background()); len(hs) != 0 {
		t.Errorf("holds left after the approved deactivations: %v", hs)
	}
	if st := h.sync(held[0]).State; st != store.StateSynced {
		t.Errorf("approved user is %s", st)
	}
}

// TestGuardReleasesUsersTheIdPKeeps: held users the identity source
// re-enables are released with nothing sent; a rejection keeps the rest
// held without sending anything.
func TestGuardReleasesUsersTheIdPKeeps(t *testing.T) {
	policy := &store.GuardPolicy{Window: time.Hour, MaxUsers: 1}
	h, _ := rolloutHarness(t, Rollout{Guard: policy}, nil)
	ids := linkedUsers(h, "u", 5)
	for _, id := range ids[:4] {
		h.update(id, func(u *store.User) { u.Active = false })
	}
	h.drain()
	held := heldUsers(t, h, ids)
	if len(held) != 3 {
		t.Fatalf("held %v", held)
	}
	status := h.up.count("status")
	h.update(held[0], func(u *store.User) { u.Active = true })
	h.update(held[1], func(u *store.User) { u.Active = true })
	if _, err := h.store.DecideHolds(context.Background(), store.HoldDecision{UserIDs: held[2:], By: "ops"}); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if h.up.count("status") != status {
		t.Errorf("%d status calls for users the IdP re-enabled or an operator rejected", h.up.count("status")-status)
	}
	for _, id := range held[:2] {
		if st := h.sync(id).State; st != store.StateSynced {
			t.Errorf("%s re-enabled by the IdP is %s", id, st)
		}
	}
	if got := heldUsers(t, h, ids); !slices.Equal(got, held[2:]) {
		t.Errorf("held after the rejection: %v, want %v (the IdP still deactivates it)", got, held[2:])
	}
	hs, _ := h.store.Holds(context.Background())
	if len(hs) != 1 || hs[0].RejectedBy != "ops" {
		t.Errorf("holds = %+v", hs)
	}
	h.eng.refreshGauges(context.Background())
	if n := testutil.ToFloat64(h.eng.metrics.guardAwaiting); n != 0 {
		t.Errorf("guard_awaiting_users after the decisions = %v", n)
	}
	if activeInGainsight(h, held) != 3 {
		t.Errorf("held users were deactivated")
	}
}

// failingGuard is a store whose guard cannot be asked.
type failingGuard struct{ store.Store }

func (failingGuard) ReserveDeactivations(context.Context, store.GuardPolicy, time.Time, []store.Deactivation) (store.GuardResult, error) {
	return store.GuardResult{}, errors.New("database unavailable")
}

// TestGuardUnavailableSendsNothing: when the guard cannot be asked, the
// deactivations wait for a retry instead of going out unchecked.
func TestGuardUnavailableSendsNothing(t *testing.T) {
	h, sw := rolloutHarness(t, Rollout{}, nil)
	ids := linkedUsers(h, "u", 2)
	h.eng.opts.Store = failingGuard{h.store}
	sw.set(Rollout{Guard: &store.GuardPolicy{Window: time.Hour, MaxUsers: 10}})
	h.update(ids[0], func(u *store.User) { u.Active = false })
	status := h.up.count("status")
	h.drain()
	if h.up.count("status") != status || h.dirty() != 1 {
		t.Errorf("%d status calls, %d dirty; want none sent and the user retried", h.up.count("status")-status, h.dirty())
	}
	h.eng.opts.Store = h.store
	h.clock.Advance(time.Hour)
	h.drain()
	if activeInGainsight(h, ids[:1]) != 0 {
		t.Error("not deactivated once the guard answers")
	}
}

// TestGuardCreatedInactiveIsNotCounted: a user created inactive takes no
// one's access away and is not counted.
func TestGuardCreatedInactiveIsNotCounted(t *testing.T) {
	policy := &store.GuardPolicy{Window: time.Hour, MaxUsers: 1}
	h, _ := rolloutHarness(t, Rollout{Guard: policy}, nil)
	for i := range 3 {
		h.create(fmt.Sprintf("i-%d", i), fmt.Sprintf("i-%d", i), func(u *store.User) { u.Active = false })
	}
	h.drain()
	st, err := h.store.GuardStats(context.Background(), time.Hour, h.clock.Now())
	if err != nil || st.Counted != 0 || st.Held != 0 {
		t.Errorf("GuardStats = %+v, %v", st, err)
	}
}

// TestShadowShowsHeldUsers: in shadow mode a held user's plan says so, and
// a deactivation the guard has not seen is planned as one.
func TestShadowShowsHeldUsers(t *testing.T) {
	policy := &store.GuardPolicy{Window: time.Hour, MaxUsers: 1}
	h, sw := rolloutHarness(t, Rollout{Guard: policy}, nil)
	ids := linkedUsers(h, "u", 3)
	h.update(ids[0], func(u *store.User) { u.Active = false })
	h.update(ids[1], func(u *store.User) { u.Active = false })
	h.drain()
	held := heldUsers(t, h, ids)
	sw.set(Rollout{Shadow: true, Guard: policy})
	h.update(ids[2], func(u *store.User) { u.Active = false })
	if err := h.store.MarkDirty(context.Background(), held...); err != nil {
		t.Fatal(err)
	}
	h.drain()
	plans := storedPlans(t, h.store)
	if p := plans[held[0]]; !slices.Equal(p.Kinds, []Kind{KindHold}) || p.Reason == "" {
		t.Errorf("held user's plan = %+v", p)
	}
	if p := plans[ids[2]]; !slices.Equal(p.Kinds, []Kind{KindDeactivate}) {
		t.Errorf("new deactivation's plan = %+v", p)
	}
	if st, _ := h.store.GuardStats(context.Background(), time.Hour, h.clock.Now()); st.Held != 1 {
		t.Errorf("shadow mode held users: %+v", st)
	}
}
