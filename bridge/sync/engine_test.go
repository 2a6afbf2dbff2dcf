package sync

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/memory"
)

// harness is an engine over the memory store and the fake upstream with a
// manual clock.
type harness struct {
	t     *testing.T
	clock *clock
	// storeNow is the store's clock, the manual clock unless a test
	// switches it.
	storeNow func() time.Time
	store    *memory.Store
	up       *fakeUpstream
	reg      *prometheus.Registry
	eng      *Engine
}

func newHarness(t *testing.T, tweak func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, clock: newClock(), up: newFakeUpstream(), reg: prometheus.NewRegistry()}
	h.storeNow = h.clock.Now
	h.store = memory.New(memory.Options{Now: func() time.Time { return h.storeNow() }})
	opts := Options{
		Store: h.store, Upstream: h.up, Planner: func() Planner { return fakePlanner{} },
		Logger: zaptest.NewLogger(t), Registerer: h.reg, Now: h.clock.Now, Owner: "test",
		BatchSize: 50, BatchWindow: time.Millisecond, MinBackoff: time.Second, MaxBackoff: time.Minute,
		Lease: time.Minute, PollInterval: 10 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&opts)
	}
	eng, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	return h
}

func (h *harness) create(id, name string, mut func(*store.User)) {
	h.t.Helper()
	u := store.User{ID: id, UserName: name, Emails: []string{name + "@example.com"}, Active: true, Doc: map[string]any{}}
	if mut != nil {
		mut(&u)
	}
	if _, err := h.store.CreateUser(context.Background(), u); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) update(id string, mut func(*store.User)) {
	h.t.Helper()
	_, err := h.store.UpdateUser(context.Background(), id, func(u store.User) (store.User, error) {
		mut(&u)
		return u, nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) drain() int {
	h.t.Helper()
	n, err := h.eng.DrainOnce(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) sync(id string) store.SyncInfo {
	h.t.Helper()
	info, err := h.store.GetSync(context.Background(), id)
	if err != nil {
		h.t.Fatalf("sync info of %s: %v", id, err)
	}
	return info
}

func (h *harness) dirty() int {
	n, _, _ := h.store.DirtyStats(context.Background())
	return n
}

// settle takes id out of the dirty set without syncing it, as if another
// worker had finished it: the other dirty entries stay as they are.
func (h *harness) settle(id string) {
	h.t.Helper()
	ctx := context.Background()
	claimed, err := h.store.ClaimDirty(ctx, "settle", 1000, time.Minute, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	for _, d := range claimed {
		if d.UserID == id {
			err = h.store.CompleteDirty(ctx, "settle", d.UserID, d.Generation)
		} else {
			err = h.store.RetryDirty(ctx, "settle", d.UserID, d.Generation, d.Attempts, h.clock.Now())
		}
		if err != nil {
			h.t.Fatal(err)
		}
	}
}

// group creates a group with members.
func (h *harness) group(id, name string, members ...string) {
	h.t.Helper()
	if _, err := h.store.CreateGroup(context.Background(), store.Group{ID: id, DisplayName: name, Members: members}, nil); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) outcome(outcome, reason string) int {
	return int(testutil.ToFloat64(h.eng.metrics.outcomes.WithLabelValues(outcome, reason)))
}

func TestCreateBatches(t *testing.T) {
	tests := []struct {
		name      string
		users     int
		batchSize int
		creates   []int
	}{
		{"one", 1, 50, []int{1}},
		{"exactly one batch", 50, 50, []int{50}},
		{"several batches", 120, 50, []int{50, 50, 20}},
		{"small batch size", 7, 3, []int{3, 3, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.BatchSize = tc.batchSize })
			for i := range tc.users {
				h.create(fmt.Sprintf("u%03d", i), fmt.Sprintf("user%03d", i), nil)
			}
			if n := h.drain(); n != tc.users {
				t.Fatalf("processed %d, want %d", n, tc.users)
			}
			var creates []int
			for _, c := range h.up.calls {
				if c.op == "create" {
					creates = append(creates, c.size)
				}
			}
			if fmt.Sprint(creates) != fmt.Sprint(tc.creates) {
				t.Errorf("create batches %v, want %v", creates, tc.creates)
			}
			// One look-up per claim, which takes two calls' worth of users.
			if got, want := h.up.count("list"), (tc.users+2*tc.batchSize-1)/(2*tc.batchSize); got != want {
				t.Errorf("%d lookups, want one per claim (%d)", got, want)
			}
			if got := h.up.count("update") + h.up.count("status"); got != 0 {
				t.Errorf("%d update/status calls, want 0", got)
			}
			gsids := map[string]bool{}
			for i := range tc.users {
				info := h.sync(fmt.Sprintf("u%03d", i))
				if info.State != store.StateSynced || info.GSID == "" || !info.Active || info.LastError != "" {
					t.Fatalf("user %d: %+v", i, info)
				}
				if gsids[info.GSID] {
					t.Fatalf("GSID %s linked twice", info.GSID)
				}
				gsids[info.GSID] = true
			}
			if h.dirty() != 0 {
				t.Errorf("%d users still dirty", h.dirty())
			}
			if got := h.outcome(outcomeSynced, reasonCreated); got != tc.users {
				t.Errorf("created outcomes %d, want %d", got, tc.users)
			}
			if got := testutil.ToFloat64(h.eng.metrics.users.WithLabelValues(store.StateSynced)); int(got) != tc.users {
				t.Errorf("synced users gauge %v, want %d", got, tc.users)
			}
		})
	}
}

func TestGauges(t *testing.T) {
	h := newHarness(t, nil)
	h.up.failRecord = func(op string, rec gainsight.Record) error {
		if rec["SFDCUserName"] == "bad" {
			return &gainsight.Error{Op: op, Code: gainsight.CodeBulkCreate, Message: "invalid"}
		}
		return nil
	}
	h.create("a", "alice", nil)
	h.create("b", "bad", nil)
	// c waits for manager m, a user that is pending elsewhere.
	h.create("m", "mallory", nil)
	h.settle("m")
	h.create("c", "carol", func(u *store.User) { u.ManagerID = "m" })
	h.clock.Advance(90 * time.Second)
	h.drain()
	h.clock.Advance(10 * time.Second)
	h.create("d", "dave", nil)
	// Another replica holds both dirty entries: the pass only refreshes the
	// gauges.
	if claimed, err := h.store.ClaimDirty(context.Background(), "other", 10, time.Minute, h.clock.Now()); err != nil || len(claimed) != 2 {
		t.Fatal(claimed, err)
	}
	if n := h.drain(); n != 0 {
		t.Fatalf("processed %d leased entries", n)
	}
	want := `
# HELP scim_bridge_sync_dirty_users Users waiting to be synced to Gainsight.
# TYPE scim_bridge_sync_dirty_users gauge
scim_bridge_sync_dirty_users 2
# HELP scim_bridge_sync_oldest_dirty_seconds Age of the oldest entry of the dirty set; 0 when it is empty.
# TYPE scim_bridge_sync_oldest_dirty_seconds gauge
scim_bridge_sync_oldest_dirty_seconds 100
# HELP scim_bridge_sync_users Users by sync state (pending, synced, failed, held).
# TYPE scim_bridge_sync_users gauge
scim_bridge_sync_users{state="failed"} 1
scim_bridge_sync_users{state="held"} 0
scim_bridge_sync_users{state="pending"} 3
scim_bridge_sync_users{state="synced"} 1
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want),
		"scim_bridge_sync_dirty_users", "scim_bridge_sync_oldest_dirty_seconds", "scim_bridge_sync_users"); err != nil {
		t.Error(err)
	}
}

func TestRunDrainsOnKick(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Now = time.Now; o.PollInterval = time.Hour })
	h.storeNow = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	h.create("a", "alice", nil)
	h.eng.Kick()
	h.eng.Kick() // merged, never blocks
	deadline := time.Now().Add(10 * time.Second)
	for h.sync("a").State != store.StateSynced {
		if time.Now().After(deadline) {
			t.Fatal("not synced after a kick")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	ok := func() Options {
		return Options{Store: memory.New(memory.Options{}), Upstream: newFakeUpstream(), Planner: func() Planner { return fakePlanner{} },
			Logger: zaptest.NewLogger(t), Registerer: prometheus.NewRegistry()}
	}
	tests := []struct {
		name string
		mut  func(*Options)
		want string
	}{
		{"valid", func(*Options) {}, ""},
		{"no store", func(o *Options) { o.Store = nil }, "Store is nil"},
		{"no upstream", func(o *Options) { o.Upstream = nil }, "Upstream is nil"},
		{"no planner", func(o *Options) { o.Planner = nil }, "Planner is nil"},
		{"no logger", func(o *Options) { o.Logger = nil }, "Logger is nil"},
		{"no registerer", func(o *Options) { o.Registerer = nil }, "Registerer is nil"},
		{"batch too large", func(o *Options) { o.BatchSize = 51 }, "BatchSize 51"},
		{"negative lease", func(o *Options) { o.Lease = -time.Second }, "Lease -1s is negative"},
		{"max below min", func(o *Options) { o.MinBackoff, o.MaxBackoff = time.Minute, time.Second }, "MaxBackoff 1s is below"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok()
			tc.mut(&o)
			e, err := New(o)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if e.opts.BatchSize != 50 || e.opts.UserNameField != "SFDCUserName" || e.opts.Owner == "" ||
					e.opts.MinBackoff != DefaultMinBackoff || e.opts.MaxBackoff != DefaultMaxBackoff {
					t.Errorf("defaults not applied: %+v", e.opts)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
