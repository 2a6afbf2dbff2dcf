package conformance

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// RunRolloutTests runs the contract of store.Rollout (shadow mode's plans,
// the mass-deactivation guard) and of the held sync state against stores
// made by newStore, each subtest on a fresh store.
func RunRolloutTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"PlansRecordListCount", testPlansRecordList},
		{"PlansInvalid", testPlansInvalid},
		{"ReleasePlans", testReleasePlans},
		{"ReleasePlansConcurrent", testReleasePlansConcurrent},
		{"ReserveWithinLimit", testReserveLimit},
		{"ReserveShareOfActive", testReserveShare},
		{"ReserveConcurrent", testReserveConcurrent},
		{"HeldStaysHeldUntilApproved", testHeldStaysHeld},
		{"DecideHolds", testDecideHolds},
		{"DecideHoldsConcurrent", testDecideConcurrent},
		{"HeldSyncState", testHeldSyncState},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// rolloutBase is a fixed time the guard tests reserve at.
var rolloutBase = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

func plan(id, name string, p store.Priority, kinds ...string) store.PlannedUser {
	return store.PlannedUser{UserID: id, UserName: name, Kinds: kinds, Priority: p,
		Planned: rolloutBase, Change: []byte(fmt.Sprintf(`{"userId":%q}`, id))}
}

func recordPlans(t *testing.T, s store.Store, save []store.PlannedUser, drop ...string) {
	t.Helper()
	if err := s.RecordPlans(t.Context(), save, drop); err != nil {
		t.Fatalf("RecordPlans: %v", err)
	}
}

func listPlans(t *testing.T, s store.Store, q store.PlanQuery) ([]string, int) {
	t.Helper()
	ps, total, err := s.ListPlans(t.Context(), q)
	if err != nil {
		t.Fatalf("ListPlans(%+v): %v", q, err)
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.UserID)
	}
	return ids, total
}

func testPlansRecordList(t *testing.T, s store.Store) {
	recordPlans(t, s, []store.PlannedUser{
		plan("u-c", "carol@example.com", store.PriorityNormal, "create"),
		plan("u-a", "Alice@example.com", store.PriorityHigh, "adopt", "update", "reactivate"),
		plan("u-b", "bob@example.com", store.PriorityUrgent, "deactivate"),
	})
	if ids, total := listPlans(t, s, store.PlanQuery{}); !slices.Equal(ids, []string{"u-a", "u-b", "u-c"}) || total != 3 {
		t.Errorf("ListPlans = %v (%d), want by userName, case-insensitively", ids, total)
	}
	if ids, total := listPlans(t, s, store.PlanQuery{Kind: "update"}); !slices.Equal(ids, []string{"u-a"}) || total != 1 {
		t.Errorf("ListPlans(update) = %v (%d)", ids, total)
	}
	if ids, total := listPlans(t, s, store.PlanQuery{Offset: 1, Limit: 1}); !slices.Equal(ids, []string{"u-b"}) || total != 3 {
		t.Errorf("ListPlans page 2 of 1 = %v (%d)", ids, total)
	}
	if ids, total := listPlans(t, s, store.PlanQuery{Kind: "failed"}); len(ids) != 0 || total != 0 {
		t.Errorf("ListPlans(failed) = %v (%d)", ids, total)
	}
	got, err := s.PlanOf(t.Context(), "u-a")
	if err != nil {
		t.Fatalf("PlanOf: %v", err)
	}
	slices.Sort(got.Kinds)
	if got.UserName != "Alice@example.com" || got.Priority != store.PriorityHigh || !got.Planned.Equal(rolloutBase) ||
		string(got.Change) != `{"userId":"u-a"}` || !slices.Equal(got.Kinds, []string{"adopt", "reactivate", "update"}) {
		t.Errorf("PlanOf = %+v", got)
	}
	total, by, err := s.CountPlans(t.Context())
	if err != nil || total != 3 || by["create"] != 1 || by["update"] != 1 || by["deactivate"] != 1 || by["adopt"] != 1 || by["failed"] != 0 {
		t.Errorf("CountPlans = %d, %v, %v", total, by, err)
	}
	// A new plan replaces the user's previous one, kinds included; drop
	// removes a plan.
	recordPlans(t, s, []store.PlannedUser{plan("u-a", "alice@example.com", store.PriorityLow, "update")}, "u-c")
	total, by, err = s.CountPlans(t.Context())
	if err != nil || total != 2 || by["update"] != 1 || by["adopt"] != 0 || by["create"] != 0 {
		t.Errorf("CountPlans after a replace = %d, %v, %v", total, by, err)
	}
	if _, err := s.PlanOf(t.Context(), "u-c"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PlanOf a dropped plan: %v, want ErrNotFound", err)
	}
	recordPlans(t, s, nil, "u-never")
}

func testPlansInvalid(t *testing.T, s store.Store) {
	for _, p := range []store.PlannedUser{plan("", "x", store.PriorityLow), plan("u\x00", "x", store.PriorityLow)} {
		if err := s.RecordPlans(t.Context(), []store.PlannedUser{p}, nil); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("RecordPlans(%q) = %v, want ErrInvalid", p.UserID, err)
		}
	}
	if total, _, err := s.CountPlans(t.Context()); err != nil || total != 0 {
		t.Errorf("CountPlans after refused writes = %d, %v", total, err)
	}
}

func testReleasePlans(t *testing.T, s store.Store) {
	recordPlans(t, s, []store.PlannedUser{
		plan("u-1", "a@example.com", store.PriorityLow, "update"),
		plan("u-2", "b@example.com", store.PriorityUrgent, "deactivate"),
		plan("u-3", "c@example.com", store.PriorityNormal, "create"),
	})
	n, err := s.ReleasePlans(t.Context(), 2)
	if err != nil || n != 2 {
		t.Fatalf("ReleasePlans(2) = %d, %v", n, err)
	}
	if ids, total := listPlans(t, s, store.PlanQuery{}); !slices.Equal(ids, []string{"u-3"}) || total != 1 {
		t.Errorf("plans left = %v, want the one not released", ids)
	}
	if n, err := s.ReleasePlans(t.Context(), 10); err != nil || n != 1 {
		t.Fatalf("ReleasePlans(10) = %d, %v", n, err)
	}
	if n, err := s.ReleasePlans(t.Context(), 10); err != nil || n != 0 {
		t.Errorf("ReleasePlans with none left = %d, %v", n, err)
	}
	// Each user is dirty again with the priority it was planned with.
	got := priorities(claimed(t, s, store.PriorityLow, 10))
	want := map[string]store.Priority{"u-1": store.PriorityLow, "u-2": store.PriorityUrgent, "u-3": store.PriorityNormal}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("dirty after release = %v, want %v", got, want)
	}
}

func testReleasePlansConcurrent(t *testing.T, s store.Store) {
	const n = 120
	var ps []store.PlannedUser
	for i := range n {
		ps = append(ps, plan(fmt.Sprintf("u-%03d", i), fmt.Sprintf("user%03d@example.com", i), store.PriorityNormal, "create"))
	}
	recordPlans(t, s, ps)
	var wg sync.WaitGroup
	var mu sync.Mutex
	released := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, err := s.ReleasePlans(t.Context(), 7)
				if err != nil {
					t.Errorf("ReleasePlans: %v", err)
					return
				}
				mu.Lock()
				released += k
				mu.Unlock()
				if k == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if released != n {
		t.Errorf("released %d plans, want each of %d once", released, n)
	}
	ds := claimed(t, s, store.PriorityLow, 2*n)
	if len(ds) != n {
		t.Fatalf("%d users dirty, want %d", len(ds), n)
	}
	for _, d := range ds {
		if d.Generation != 1 {
			t.Errorf("user %s marked %d times, want once", d.UserID, d.Generation)
		}
	}
}

func deactivations(prefix string, n int) []store.Deactivation {
	out := make([]store.Deactivation, n)
	for i := range out {
		id := fmt.Sprintf("%s-%02d", prefix, i)
		out[i] = store.Deactivation{UserID: id, UserName: id + "@example.com", GSID: "GS-" + id}
	}
	return out
}

func reserve(t *testing.T, s store.Store, p store.GuardPolicy, now time.Time, ds []store.Deactivation) store.GuardResult {
	t.Helper()
	res, err := s.ReserveDeactivations(t.Context(), p, now, ds)
	if err != nil {
		t.Fatalf("ReserveDeactivations: %v", err)
	}
	return res
}

func heldIDs(hs []store.Hold) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.UserID)
	}
	return out
}

func testReserveLimit(t *testing.T, s store.Store) {
	p := store.GuardPolicy{Window: time.Hour, MaxUsers: 3}
	ds := deactivations("u", 5)
	res := reserve(t, s, p, rolloutBase, ds)
	if !slices.Equal(res.Granted, []string{"u-00", "u-01", "u-02"}) || !slices.Equal(heldIDs(res.Held), []string{"u-03", "u-04"}) ||
		res.Limit != 3 || res.Counted != 3 {
		t.Fatalf("reserve 5 of 3 = %+v", res)
	}
	if h := res.Held[0]; h.UserName != "u-03@example.com" || h.GSID != "GS-u-03" || !h.Held.Equal(rolloutBase) || h.Decided() {
		t.Errorf("hold = %+v", h)
	}
	// A retry of a counted deactivation is granted and not counted again;
	// a held one stays held, whatever the window's room.
	res = reserve(t, s, p, rolloutBase.Add(time.Minute), []store.Deactivation{ds[1], ds[3]})
	if !slices.Equal(res.Granted, []string{"u-01"}) || !slices.Equal(heldIDs(res.Held), []string{"u-03"}) || res.Counted != 3 {
		t.Errorf("retry = %+v", res)
	}
	if !res.Held[0].Held.Equal(rolloutBase) {
		t.Errorf("a hold held again is %v, want its first time %v", res.Held[0].Held, rolloutBase)
	}
	more := deactivations("v", 2)
	if res := reserve(t, s, p, rolloutBase.Add(59*time.Minute), more[:1]); len(res.Granted) != 0 {
		t.Errorf("within the window: %+v, want held", res)
	}
	// Once the window has passed the counts, new deactivations go
	// through again.
	res = reserve(t, s, p, rolloutBase.Add(time.Hour+time.Minute), more[1:])
	if !slices.Equal(res.Granted, []string{"v-01"}) || res.Counted != 1 {
		t.Errorf("after the window = %+v", res)
	}
	st, err := s.GuardStats(t.Context(), time.Hour, rolloutBase.Add(time.Hour+time.Minute))
	if err != nil || st.Held != 3 || st.Awaiting != 3 || st.Counted != 1 {
		t.Errorf("GuardStats = %+v, %v", st, err)
	}
	// No limit at all: everything is granted.
	if res := reserve(t, s, store.GuardPolicy{Window: time.Hour}, rolloutBase.Add(2*time.Hour), deactivations("w", 20)); len(res.Granted) != 20 || res.Limit != -1 {
		t.Errorf("without limits = %+v", res)
	}
}

func testReserveShare(t *testing.T, s store.Store) {
	var names []string
	for i := range 25 {
		names = append(names, fmt.Sprintf("user%02d@example.com", i))
	}
	ids := createUsers(t, s, names...)
	for i, id := range ids {
		setLink(t, s, id, func(l *store.SyncInfo) { l.GSID, l.Active, l.State = "GS-"+id, i < 21, store.StateSynced })
	}
	// 21 active in Gainsight: 10% is 2.1, rounded up to 3, below 50.
	p := store.GuardPolicy{Window: time.Hour, MaxUsers: 50, MaxPercent: 10}
	res := reserve(t, s, p, rolloutBase, deactivations("u", 5))
	if res.Active != 21 || res.Limit != 3 || len(res.Granted) != 3 || len(res.Held) != 2 {
		t.Errorf("reserve = %+v, want 3 of 21 active granted", res)
	}
	st, err := s.GuardStats(t.Context(), time.Hour, rolloutBase)
	if err != nil || st.Active != 21 || st.Counted != 3 || st.Held != 2 {
		t.Errorf("GuardStats = %+v, %v", st, err)
	}
}

func testReserveConcurrent(t *testing.T, s store.Store) {
	p := store.GuardPolicy{Window: time.Hour, MaxUsers: 25}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var granted, held []string
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds := deactivations(fmt.Sprintf("w%d", w), 10)
			for i := 0; i < len(ds); i += 2 {
				res, err := s.ReserveDeactivations(t.Context(), p, rolloutBase, ds[i:i+2])
				if err != nil {
					t.Errorf("ReserveDeactivations: %v", err)
					return
				}
				mu.Lock()
				granted = append(granted, res.Granted...)
				held = append(held, heldIDs(res.Held)...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(granted) != 25 || len(held) != 55 {
		t.Errorf("%d granted, %d held of 80 at once; want exactly the limit of 25 granted across workers", len(granted), len(held))
	}
	st, err := s.GuardStats(t.Context(), time.Hour, rolloutBase)
	if err != nil || st.Counted != 25 || st.Held != 55 {
		t.Errorf("GuardStats = %+v, %v; want the one shared count", st, err)
	}
}

func decide(t *testing.T, s store.Store, d store.HoldDecision) []string {
	t.Helper()
	hs, err := s.DecideHolds(t.Context(), d)
	if err != nil {
		t.Fatalf("DecideHolds(%+v): %v", d, err)
	}
	return heldIDs(hs)
}

func testHeldStaysHeld(t *testing.T, s store.Store) {
	p := store.GuardPolicy{Window: time.Hour, MaxUsers: 1}
	ds := deactivations("u", 3)
	reserve(t, s, p, rolloutBase, ds)
	decide(t, s, store.HoldDecision{UserIDs: []string{"u-01"}, Approve: true, By: "ops", At: rolloutBase})
	res := reserve(t, s, p, rolloutBase.Add(2*time.Hour), ds[1:])
	if !slices.Equal(res.Granted, []string{"u-01"}) || !slices.Equal(heldIDs(res.Held), []string{"u-02"}) || res.Counted != 0 {
		t.Errorf("after approving u-01 = %+v; want it granted uncounted, u-02 still held in an empty window", res)
	}
	if err := s.ReleaseHolds(t.Context(), "u-01", "u-02"); err != nil {
		t.Fatal(err)
	}
	if hs, err := s.HoldsOf(t.Context(), []string{"u-00", "u-01", "u-02"}); err != nil || len(hs) != 0 {
		t.Errorf("HoldsOf after release = %v, %v", hs, err)
	}
}

func testDecideHolds(t *testing.T, s store.Store) {
	ids := createUsers(t, s, "a@example.com", "b@example.com", "c@example.com")
	drain(t, s)
	var ds []store.Deactivation
	for _, id := range ids {
		ds = append(ds, store.Deactivation{UserID: id, UserName: id, GSID: "GS-" + id})
	}
	p := store.GuardPolicy{Window: time.Hour, MaxUsers: 1}
	reserve(t, s, p, rolloutBase, ds[:1])
	reserve(t, s, p, rolloutBase.Add(time.Second), ds[1:2])
	reserve(t, s, p, rolloutBase.Add(2*time.Second), ds[2:])
	all, err := s.Holds(t.Context())
	if err != nil || !slices.Equal(heldIDs(all), ids[1:]) {
		t.Fatalf("Holds = %v, %v; want the two held, oldest first", heldIDs(all), err)
	}
	if _, err := s.DecideHolds(t.Context(), store.HoldDecision{All: true, Approve: true}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a decision without a name: %v, want ErrInvalid", err)
	}
	at := rolloutBase.Add(time.Minute)
	if got := decide(t, s, store.HoldDecision{UserIDs: []string{ids[1], "nobody"}, Approve: true, By: "alice", At: at}); !slices.Equal(got, ids[1:2]) {
		t.Errorf("approve = %v", got)
	}
	if got := decide(t, s, store.HoldDecision{UserIDs: []string{ids[1]}, Approve: true, By: "bob", At: at}); len(got) != 0 {
		t.Errorf("approving twice = %v, want nothing the second time", got)
	}
	// An approval marks the user urgent, so the engine sends it first.
	if got := priorities(claimed(t, s, store.PriorityLow, 10)); got[ids[1]] != store.PriorityUrgent || len(got) != 1 {
		t.Errorf("dirty after the approval = %v", got)
	}
	drain(t, s)
	hs, _ := s.HoldsOf(t.Context(), ids)
	if h := hs[ids[1]]; h.ApprovedBy != "alice" || !h.Approved.Equal(at) || !h.Decided() {
		t.Errorf("approved hold = %+v", h)
	}
	st, err := s.GuardStats(t.Context(), time.Hour, at)
	if err != nil || st.Held != 2 || st.Awaiting != 1 {
		t.Errorf("GuardStats = %+v, %v", st, err)
	}
	// Rejecting every hold withdraws the approval and marks both users
	// high, to be planned again.
	if got := decide(t, s, store.HoldDecision{All: true, By: "carol", At: at.Add(time.Minute)}); !slices.Equal(got, ids[1:]) {
		t.Errorf("reject all = %v", got)
	}
	hs, _ = s.HoldsOf(t.Context(), ids)
	if h := hs[ids[1]]; h.ApprovedBy != "" || !h.Approved.IsZero() || h.RejectedBy != "carol" || !h.Decided() {
		t.Errorf("rejected hold = %+v", h)
	}
	got := priorities(claimed(t, s, store.PriorityLow, 10))
	if got[ids[2]] != store.PriorityHigh || len(got) != 2 {
		t.Errorf("dirty after the rejection = %v", got)
	}
	if st, _ := s.GuardStats(t.Context(), time.Hour, at); st.Awaiting != 0 || st.Held != 2 {
		t.Errorf("GuardStats after decisions = %+v", st)
	}
}

func testDecideConcurrent(t *testing.T, s store.Store) {
	p := store.GuardPolicy{Window: time.Hour, MaxUsers: 1}
	reserve(t, s, p, rolloutBase, deactivations("u", 41))
	var wg sync.WaitGroup
	got := make([][]string, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hs, err := s.DecideHolds(t.Context(), store.HoldDecision{All: true, Approve: true, By: fmt.Sprintf("op-%d", i), At: rolloutBase})
			if err != nil {
				t.Errorf("DecideHolds: %v", err)
			}
			got[i] = heldIDs(hs)
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, ids := range got {
		for _, id := range ids {
			seen[id]++
		}
	}
	if len(seen) != 40 {
		t.Errorf("%d holds approved, want the 40", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s approved %d times at once, want once", id, n)
		}
	}
}

func testHeldSyncState(t *testing.T, s store.Store) {
	ids := createUsers(t, s, "a@example.com", "b@example.com")
	setSyncState(t, s, ids[1], store.StateHeld, "gs-b")
	counts, err := s.CountSyncStates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range store.SyncStates() {
		if _, ok := counts[st]; !ok {
			t.Errorf("CountSyncStates has no %s: %v", st, counts)
		}
	}
	if counts[store.StateHeld] != 1 || counts[store.StatePending] != 1 {
		t.Errorf("CountSyncStates = %v", counts)
	}
	wantUsers(t, s, store.UserFilter{SyncState: store.StateHeld}, ids[1])
	found, total, err := s.SearchUsers(t.Context(), store.UserSearch{States: []string{store.StateHeld}})
	if err != nil || total != 1 || found[0].ID != ids[1] || found[0].State != store.StateHeld {
		t.Errorf("SearchUsers(held) = %v, %d, %v", found, total, err)
	}
}
