package sync

import (
	"context"
	"errors"
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
			if got, want := h.up.count("list"), len(tc.creates); got != want {
				t.Errorf("%d lookups, want one per batch (%d)", got, want)
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

func TestAdoption(t *testing.T) {
	tests := []struct {
		name       string
		existing   map[string]any
		wantUpdate map[string]any // fields the update must carry (besides Gsid); nil = no update
		wantStatus bool           // a reactivation is sent
	}{
		{
			name:     "same userName and fields",
			existing: map[string]any{"SFDCUserName": "alice", "Email": "alice@example.com", "Name": "alice", "LicenseType": "Full"},
		},
		{
			name:       "matched by userName, fields differ",
			existing:   map[string]any{"SFDCUserName": "ALICE", "Email": "old@example.com", "Name": "Old", "LicenseType": "Full"},
			wantUpdate: map[string]any{"Email": "alice@example.com", "Name": "alice"},
		},
		{
			name:       "matched by email",
			existing:   map[string]any{"SFDCUserName": "a.smith", "Email": "Alice@Example.com", "Name": "alice", "LicenseType": "Viewer"},
			wantUpdate: map[string]any{"SFDCUserName": "alice", "LicenseType": "Full"},
		},
		{
			name:       "inactive user is reactivated with its license",
			existing:   map[string]any{"SFDCUserName": "alice", "Email": "alice@example.com", "Name": "alice", "IsActiveUser": false},
			wantUpdate: map[string]any{"LicenseType": "Full"},
			wantStatus: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			gsid := h.up.seed(tc.existing)
			h.create("a", "alice", nil)
			h.drain()
			if n := h.up.count("create"); n != 0 {
				t.Fatalf("%d creates, want none", n)
			}
			info := h.sync("a")
			if info.GSID != gsid || info.State != store.StateSynced || !info.Active {
				t.Fatalf("sync info %+v, want linked to %s, synced, active", info, gsid)
			}
			var updates []gainsight.Record
			for _, c := range h.up.calls {
				if c.op == "update" {
					updates = append(updates, nil)
				}
			}
			if tc.wantUpdate == nil && len(updates) != 0 {
				t.Fatalf("%d updates, want none", len(updates))
			}
			got := h.up.byName("alice")
			for k, v := range tc.wantUpdate {
				if got[k] != v {
					t.Errorf("gainsight %s = %v, want %v", k, got[k], v)
				}
			}
			if (h.up.count("status") == 1) != tc.wantStatus {
				t.Errorf("status calls %d, want reactivation %v", h.up.count("status"), tc.wantStatus)
			}
			if got["IsActiveUser"] != true {
				t.Errorf("gainsight user inactive")
			}
			if h.outcome(outcomeSynced, reasonAdopted) != 1 {
				t.Errorf("adopted outcome not counted")
			}
			// A second pass after a change sends only the change.
			h.update("a", func(u *store.User) { u.Doc["title"] = "CTO" })
			h.drain()
			if rec := h.up.byName("alice"); rec["Title"] != "CTO" {
				t.Errorf("title not updated: %v", rec)
			}
		})
	}
}

func TestLostCreateResponseIsAdopted(t *testing.T) {
	h := newHarness(t, nil)
	h.up.loseCreates = 1
	for i := range 10 {
		h.create(fmt.Sprintf("u%d", i), fmt.Sprintf("user%d", i), nil)
	}
	h.drain()
	for i := range 10 {
		info := h.sync(fmt.Sprintf("u%d", i))
		if info.State != store.StatePending || info.GSID != "" || !strings.Contains(info.LastError, "connection reset") {
			t.Fatalf("after lost response: %+v", info)
		}
	}
	if h.outcome(outcomeRetry, gainsight.ReasonNetwork) != 10 {
		t.Errorf("retry/network outcomes = %d", h.outcome(outcomeRetry, gainsight.ReasonNetwork))
	}
	if n := h.drain(); n != 0 {
		t.Fatalf("retried %d users before their backoff", n)
	}
	h.clock.Advance(time.Minute)
	h.drain()
	if n := h.up.count("create"); n != 1 {
		t.Errorf("%d create calls, want 1", n)
	}
	if len(h.up.users) != 10 {
		t.Errorf("%d users in gainsight, want 10", len(h.up.users))
	}
	for i := range 10 {
		info := h.sync(fmt.Sprintf("u%d", i))
		if info.State != store.StateSynced || info.GSID == "" {
			t.Fatalf("after retry: %+v", info)
		}
	}
	if h.outcome(outcomeSynced, reasonAdopted) != 10 {
		t.Errorf("adopted outcomes = %d", h.outcome(outcomeSynced, reasonAdopted))
	}
}

func TestDuplicateOnCreateIsAdopted(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.create("b", "bob", nil)
	// bob appears in Gainsight between the lookup and the create.
	h.up.failRecord = func(op string, rec gainsight.Record) error {
		if op == "create" && rec["SFDCUserName"] == "bob" {
			h.up.failRecord = nil
			h.up.nextID++
			gsid := fmt.Sprintf("gs-%04d", h.up.nextID)
			h.up.users[gsid] = gainsight.Record{"Gsid": gsid, "SFDCUserName": "bob", "Email": "bob@example.com", "IsActiveUser": true}
			return &gainsight.Error{Op: "create", Code: gainsight.CodeDuplicate, Message: "user already exists"}
		}
		return nil
	}
	h.drain()
	if len(h.up.users) != 2 {
		t.Fatalf("%d gainsight users, want 2", len(h.up.users))
	}
	b := h.sync("b")
	if b.State != store.StateSynced || b.GSID == "" {
		t.Fatalf("bob: %+v", b)
	}
	if got := h.up.byName("bob"); got["Name"] != "bob" || got["LicenseType"] != "Full" {
		t.Errorf("adopted bob not updated: %v", got)
	}
	if h.up.count("list") != 2 {
		t.Errorf("%d lookups, want 2 (before the create, after the duplicate)", h.up.count("list"))
	}
}

func TestUpdateSendsOnlyChanges(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.create("b", "bob", nil)
	h.drain()
	var sent []gainsight.Record
	h.up.failRecord = func(op string, rec gainsight.Record) error {
		if op == "update" {
			sent = append(sent, cloneRecord(rec))
		}
		return nil
	}
	// Several changes to one user coalesce into one update.
	h.update("a", func(u *store.User) { u.Doc["title"] = "Engineer" })
	h.update("a", func(u *store.User) { u.Doc["title"] = "CTO"; u.Doc["license"] = "Viewer" })
	h.group("g1", "Admin", "a")
	h.store.MarkDirty(context.Background(), "b") // nothing changed for b
	h.drain()
	if len(sent) != 1 {
		t.Fatalf("updates %v, want one", sent)
	}
	want := fmt.Sprint(gainsight.Record{"Gsid": h.sync("a").GSID, "Title": "CTO", "LicenseType": "Viewer", "permissionBundles": []string{"Admin"}})
	if fmt.Sprint(sent[0]) != want {
		t.Errorf("sent %v, want %v", sent[0], want)
	}
	if h.outcome(outcomeSynced, reasonUpdated) != 1 || h.outcome(outcomeSynced, reasonUnchanged) != 1 {
		t.Errorf("updated=%d unchanged=%d", h.outcome(outcomeSynced, reasonUpdated), h.outcome(outcomeSynced, reasonUnchanged))
	}
	// Removing a field clears it in Gainsight.
	sent = nil
	h.update("a", func(u *store.User) { delete(u.Doc, "title") })
	h.drain()
	if len(sent) != 1 || sent[0]["Title"] != nil || len(sent[0]) != 2 {
		t.Errorf("clearing update %v", sent)
	}
	if _, ok := h.up.byName("alice")["Title"]; ok {
		t.Errorf("title not cleared in gainsight")
	}
}

func TestDeactivateReactivate(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.drain()
	h.update("a", func(u *store.User) { u.Active = false })
	h.drain()
	rec := h.up.byName("alice")
	if rec["IsActiveUser"] != false {
		t.Fatalf("not deactivated: %v", rec)
	}
	if info := h.sync("a"); info.Active || info.State != store.StateSynced {
		t.Fatalf("after deactivation %+v", info)
	}
	if h.up.count("update") != 0 {
		t.Errorf("deactivation sent %d updates", h.up.count("update"))
	}
	// A change while inactive is sent without a license.
	h.update("a", func(u *store.User) { u.Doc["title"] = "Gone" })
	h.drain()
	if rec := h.up.byName("alice"); rec["LicenseType"] != nil || rec["Title"] != "Gone" {
		t.Errorf("inactive update: %v", rec)
	}
	h.update("a", func(u *store.User) { u.Active = true })
	h.drain()
	rec = h.up.byName("alice")
	if rec["IsActiveUser"] != true || rec["LicenseType"] != "Full" {
		t.Errorf("after reactivation %v, want active with license Full", rec)
	}
	if h.outcome(outcomeSynced, reasonDeactivated) != 1 || h.outcome(outcomeSynced, reasonReactivated) != 1 {
		t.Errorf("deactivated=%d reactivated=%d", h.outcome(outcomeSynced, reasonDeactivated), h.outcome(outcomeSynced, reasonReactivated))
	}
}

func TestCreateInactiveUser(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", func(u *store.User) { u.Active = false })
	h.drain()
	rec := h.up.byName("alice")
	if rec == nil || rec["IsActiveUser"] != false {
		t.Fatalf("gainsight record %v, want an inactive user", rec)
	}
	if info := h.sync("a"); info.Active || info.State != store.StateSynced || info.GSID == "" {
		t.Errorf("sync info %+v", info)
	}
}

func TestDeleteAndRecreate(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.drain()
	gsid := h.sync("a").GSID
	if err := h.store.DeleteUser(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	info := h.sync("a")
	if !info.Tombstone || info.Active || info.GSID != gsid {
		t.Fatalf("tombstone %+v", info)
	}
	if h.up.byName("alice")["IsActiveUser"] != false {
		t.Fatalf("deleted user still active in gainsight")
	}
	// A second pass over the tombstone sends nothing.
	h.store.MarkDirty(context.Background(), "a")
	calls := len(h.up.calls)
	h.drain()
	if len(h.up.calls) != calls {
		t.Errorf("tombstone pass made calls %v", h.up.calls[calls:])
	}

	h.create("a2", "alice", nil)
	h.drain()
	info = h.sync("a2")
	if info.GSID != gsid || !info.Active || info.State != store.StateSynced {
		t.Fatalf("re-created %+v, want GSID %s active", info, gsid)
	}
	if h.up.count("create") != 1 || len(h.up.users) != 1 {
		t.Errorf("creates %d, users %d", h.up.count("create"), len(h.up.users))
	}
	if rec := h.up.byName("alice"); rec["LicenseType"] != "Full" || rec["IsActiveUser"] != true {
		t.Errorf("reactivated record %v", rec)
	}
}

func TestDeleteUnlinkedUser(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	if err := h.store.DeleteUser(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if len(h.up.calls) != 0 {
		t.Errorf("calls %v for a user never linked", h.up.calls)
	}
	if h.dirty() != 0 || h.outcome(outcomeSynced, reasonOK) != 1 {
		t.Errorf("dirty %d, ok outcomes %d", h.dirty(), h.outcome(outcomeSynced, reasonOK))
	}
}

func TestManagerDeferral(t *testing.T) {
	t.Run("manager created later", func(t *testing.T) {
		h := newHarness(t, nil)
		// The manager exists but cannot be planned yet; the report waits.
		h.create("a", "alice", func(u *store.User) { u.Doc["conflict"] = "x" })
		h.create("b", "bob", func(u *store.User) { u.ManagerID = "a" })
		h.settle("a")
		h.drain()
		info := h.sync("b")
		if info.GSID == "" || info.State != store.StatePending || !strings.Contains(info.LastError, "manager a") {
			t.Fatalf("deferred user %+v", info)
		}
		if h.dirty() != 1 || h.outcome(outcomeDeferred, reasonManagerPending) != 1 {
			t.Fatalf("dirty %d deferred %d", h.dirty(), h.outcome(outcomeDeferred, reasonManagerPending))
		}
		if _, ok := h.up.byName("bob")["Manager"]; ok {
			t.Fatal("manager sent before it was linked")
		}
		h.update("a", func(u *store.User) { delete(u.Doc, "conflict") })
		h.drain()
		mgr := h.sync("a").GSID
		if got := h.up.byName("bob")["Manager"]; got != mgr {
			t.Errorf("bob's manager %v, want %s", got, mgr)
		}
		if info := h.sync("b"); info.State != store.StateSynced || info.LastError != "" {
			t.Errorf("bob %+v", info)
		}
		if h.dirty() != 0 {
			t.Errorf("%d dirty", h.dirty())
		}
	})
	for _, tc := range []struct {
		name  string
		setup func(h *harness)
	}{
		{"manager is not a user", func(h *harness) {}},
		{"manager failed", func(h *harness) {
			h.create("a", "alice", func(u *store.User) { u.Doc["conflict"] = "x" })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			tc.setup(h)
			h.drain()
			h.create("b", "bob", func(u *store.User) { u.ManagerID = "a" })
			h.drain()
			if info := h.sync("b"); info.State != store.StateSynced || info.GSID == "" || h.dirty() != 0 {
				t.Fatalf("report %+v, dirty %d: want synced without waiting", info, h.dirty())
			}
			if _, ok := h.up.byName("bob")["Manager"]; ok {
				t.Error("manager sent")
			}
			// The manager appearing later still reaches the report.
			if _, err := h.store.GetUser(context.Background(), "a"); err == nil {
				h.update("a", func(u *store.User) { delete(u.Doc, "conflict") })
			} else {
				h.create("a", "alice", nil)
			}
			h.drain()
			if got, want := h.up.byName("bob")["Manager"], h.sync("a").GSID; got != want {
				t.Errorf("bob's manager %v, want %s", got, want)
			}
		})
	}
	t.Run("manager in the same batch", func(t *testing.T) {
		h := newHarness(t, nil)
		h.create("b", "bob", func(u *store.User) { u.ManagerID = "a" })
		h.create("a", "alice", nil)
		h.drain()
		if got, want := h.up.byName("bob")["Manager"], h.sync("a").GSID; got != want {
			t.Errorf("bob's manager %v, want %s", got, want)
		}
		if h.dirty() != 0 || h.up.count("create") != 1 || h.up.count("update") != 1 {
			t.Errorf("dirty %d creates %d updates %d", h.dirty(), h.up.count("create"), h.up.count("update"))
		}
		if n := h.outcome(outcomeDeferred, reasonManagerPending); n != 0 {
			t.Errorf("%d deferrals; the manager linked in the same batch", n)
		}
	})
	t.Run("manager removed", func(t *testing.T) {
		h := newHarness(t, nil)
		h.create("a", "alice", nil)
		h.create("b", "bob", func(u *store.User) { u.ManagerID = "a" })
		h.drain()
		h.update("b", func(u *store.User) { u.ManagerID = "" })
		h.drain()
		if _, ok := h.up.byName("bob")["Manager"]; ok {
			t.Errorf("manager not cleared")
		}
	})
}

func TestPermanentErrorDoesNotBlockOthers(t *testing.T) {
	h := newHarness(t, nil)
	h.up.failRecord = func(op string, rec gainsight.Record) error {
		if op == "create" && rec["SFDCUserName"] == "bad" {
			return &gainsight.Error{Op: "create", Code: gainsight.CodeBulkCreate, Message: "Timezone is invalid"}
		}
		return nil
	}
	h.create("x", "bad", nil)
	for i := range 5 {
		h.create(fmt.Sprintf("u%d", i), fmt.Sprintf("user%d", i), nil)
	}
	h.drain()
	info := h.sync("x")
	if info.State != store.StateFailed || !strings.Contains(info.LastError, "Timezone is invalid") {
		t.Fatalf("failed user %+v", info)
	}
	for i := range 5 {
		if s := h.sync(fmt.Sprintf("u%d", i)); s.State != store.StateSynced {
			t.Fatalf("user %d: %+v", i, s)
		}
	}
	if h.dirty() != 0 {
		t.Fatalf("failed user still dirty")
	}
	if h.outcome(outcomeFailed, gainsight.ReasonValidation) != 1 {
		t.Errorf("failed/validation = %d", h.outcome(outcomeFailed, gainsight.ReasonValidation))
	}
	// It is retried only once the user changes.
	h.clock.Advance(time.Hour)
	if n := h.drain(); n != 0 {
		t.Fatalf("failed user retried without a change")
	}
	h.up.failRecord = nil
	h.update("x", func(u *store.User) { u.Doc["title"] = "fixed" })
	h.drain()
	if s := h.sync("x"); s.State != store.StateSynced || s.GSID == "" {
		t.Errorf("after change %+v", s)
	}
}

func TestTransientErrorsBackOff(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		err    error
		reason string
	}{
		{"server error on create", "create", &gainsight.Error{Op: "create", Status: 500, Code: gainsight.CodeUnexpected}, gainsight.ReasonServerError},
		{"rate limited lookup", "list", &gainsight.Error{Op: "list", Status: 429, Code: gainsight.CodeTooManyReqs}, gainsight.ReasonRateLimited},
		{"timeout on update", "update", &gainsight.Error{Op: "update", Err: context.DeadlineExceeded}, gainsight.ReasonTimeout},
		{"network error on status", "status", &gainsight.Error{Op: "status", Err: errors.New("connection refused")}, gainsight.ReasonNetwork},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.create("a", "alice", nil)
			if tc.op == "update" || tc.op == "status" {
				h.drain()
				h.update("a", func(u *store.User) { u.Doc["title"] = "x"; u.Active = tc.op != "status" })
			}
			h.up.failCalls[tc.op] = 3
			h.up.callErr = tc.err
			var delays []time.Duration
			for attempt := 1; attempt <= 3; attempt++ {
				h.drain()
				info := h.sync("a")
				if info.State != store.StatePending || info.LastError == "" {
					t.Fatalf("attempt %d: %+v", attempt, info)
				}
				// Find when it becomes due again.
				start := h.clock.Now()
				for h.drainQuiet() == 0 {
					h.clock.Advance(100 * time.Millisecond)
					if h.clock.Now().Sub(start) > 2*time.Minute {
						t.Fatal("never retried")
					}
				}
				delays = append(delays, h.clock.Now().Sub(start))
			}
			if h.outcome(outcomeRetry, tc.reason) != 3 {
				t.Errorf("retry/%s = %d, want 3", tc.reason, h.outcome(outcomeRetry, tc.reason))
			}
			// MinBackoff 1s doubling with jitter in the upper half: 0.5–1s, 1–2s, 2–4s.
			for i, d := range delays {
				lo, hi := time.Second<<i/2, time.Second<<i+100*time.Millisecond
				if d < lo || d > hi {
					t.Errorf("retry %d after %s, want %s..%s", i+1, d, lo, hi)
				}
			}
			if info := h.sync("a"); info.State != store.StateSynced {
				t.Errorf("final %+v", info)
			}
		})
	}
}

// drainQuiet drains and reports how many entries were processed.
func (h *harness) drainQuiet() int { return h.drain() }

func TestPlannerConflictFails(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", func(u *store.User) { u.Doc["conflict"] = `Region: "East" (group A) vs "West" (group B)` })
	h.drain()
	info := h.sync("a")
	if info.State != store.StateFailed || !strings.Contains(info.LastError, "East") {
		t.Fatalf("%+v", info)
	}
	if len(h.up.calls) != 0 || h.dirty() != 0 {
		t.Errorf("calls %v dirty %d", h.up.calls, h.dirty())
	}
	if h.outcome(outcomeFailed, gainsight.ReasonValidation) != 1 {
		t.Error("conflict not counted")
	}
}

func TestSuperAdminNotPushed(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", func(u *store.User) { u.Doc["superAdmin"] = true })
	h.drain()
	h.update("a", func(u *store.User) { u.Doc["title"] = "Boss" })
	h.drain()
	rec := h.up.byName("alice")
	if _, ok := rec["IsSuperAdmin"]; ok || rec["Title"] != "Boss" {
		t.Errorf("record %v", rec)
	}
	if got := testutil.ToFloat64(h.eng.metrics.superAdminSkip); got != 1 {
		t.Errorf("superadmin counter %v, want 1 (once per user)", got)
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
# HELP scim_bridge_sync_users Users by sync state (pending, synced, failed).
# TYPE scim_bridge_sync_users gauge
scim_bridge_sync_users{state="failed"} 1
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

func TestAdoptionJoinOrder(t *testing.T) {
	tests := []struct {
		name      string
		batchSize int
		seed      []gainsight.Record
		emails    map[string]string // SCIM user name → work email
		// want maps each SCIM user name to the SFDCUserName of the
		// Gainsight record it must be linked to, or "" for a duplicate
		// failure.
		want  map[string]string
		users int // Gainsight users at the end
	}{
		{
			name:      "a user-name match beats another candidate's email match",
			batchSize: 50,
			seed:      []gainsight.Record{{"SFDCUserName": "bob", "Email": "alice@example.com", "Name": "Bob"}},
			emails:    map[string]string{"alice": "alice@example.com", "bob": "bob@example.com"},
			want:      map[string]string{"alice": "", "bob": "bob"},
			users:     1,
		},
		{
			name:      "an email match whose user name is another bridge user's",
			batchSize: 1,
			seed:      []gainsight.Record{{"SFDCUserName": "bob", "Email": "alice@example.com", "Name": "Bob"}},
			emails:    map[string]string{"alice": "alice@example.com", "bob": "bob@example.com"},
			want:      map[string]string{"alice": "", "bob": "bob"},
			users:     1,
		},
		{
			name:      "two users whose emails collide in one batch",
			batchSize: 50,
			emails:    map[string]string{"alice": "shared@example.com", "bob": "shared@example.com"},
			want:      map[string]string{"alice": "alice", "bob": ""},
			users:     1,
		},
		{
			name:      "an email match with a foreign user name is adopted",
			batchSize: 50,
			seed:      []gainsight.Record{{"SFDCUserName": "a.smith@sfdc", "Email": "alice@example.com", "Name": "A"}},
			emails:    map[string]string{"alice": "alice@example.com"},
			want:      map[string]string{"alice": "alice"},
			users:     1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.BatchSize = tc.batchSize })
			for _, rec := range tc.seed {
				h.up.seed(rec)
			}
			for _, name := range []string{"alice", "bob"} {
				if email, ok := tc.emails[name]; ok {
					h.create(name, name, func(u *store.User) { u.Emails = []string{email} })
				}
			}
			h.drain()
			h.drain()
			for name, want := range tc.want {
				info := h.sync(name)
				if want == "" {
					if info.State != store.StateFailed || info.GSID != "" || !strings.Contains(info.LastError, "linked to") &&
						!strings.Contains(info.LastError, "which is user") {
						t.Errorf("%s: %+v, want failed as a duplicate and unlinked", name, info)
					}
					continue
				}
				rec := h.up.users[info.GSID]
				if info.State != store.StateSynced || rec == nil || rec["SFDCUserName"] != want {
					t.Errorf("%s: %+v linked to %v, want the record of %s", name, info, rec, want)
				}
			}
			if len(h.up.users) != tc.users {
				t.Errorf("%d gainsight users, want %d", len(h.up.users), tc.users)
			}
			for _, rec := range h.up.users {
				for _, seed := range tc.seed {
					if rec["Email"] == seed["Email"] && seed["SFDCUserName"] == "bob" && rec["SFDCUserName"] != "bob" {
						t.Errorf("bob's Gainsight record was renamed: %v", rec)
					}
				}
			}
		})
	}
}

func TestUpstreamOutagePausesDrain(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"server errors", &gainsight.Error{Op: "list", Status: 503}},
		{"network errors", &gainsight.Error{Op: "list", Err: errors.New("connection refused")}},
		{"auth failures", &gainsight.Error{Op: "list", Status: 401, Code: gainsight.CodeUnauthorized}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.BatchSize = 10; o.MaxBackoff = 10 * time.Minute })
			for i := range 100 {
				h.create(fmt.Sprintf("u%03d", i), fmt.Sprintf("user%03d", i), nil)
			}
			h.up.failCalls["list"] = 1 << 30
			h.up.callErr = tc.err
			// An hour of a failing Gainsight, drained as often as Run would.
			for range 3600 {
				h.drain()
				h.clock.Advance(time.Second)
			}
			// Pauses of 0.5–1s, 1–2s, ... capped at 5–10 min: a few dozen
			// calls an hour, not one per batch of the backlog every pass.
			if n := len(h.up.calls); n > 30 {
				t.Errorf("%d calls in an hour of outage, want ≤ 30", n)
			}
			h.up.failCalls["list"] = 0
			h.clock.Advance(10 * time.Minute)
			for range 20 {
				h.drain()
				h.clock.Advance(time.Minute)
			}
			if h.dirty() != 0 || len(h.up.users) != 100 {
				t.Fatalf("after recovery: %d dirty, %d gainsight users", h.dirty(), len(h.up.users))
			}
		})
	}
}

func TestCreateOfUnknownOutcomeIsRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.create("b", "bob", nil)
	// Gainsight creates bob but its answer does not mention him.
	h.up.failRecord = func(op string, rec gainsight.Record) error {
		if op == "create" && rec["SFDCUserName"] == "bob" {
			h.up.nextID++
			gsid := fmt.Sprintf("gs-%04d", h.up.nextID)
			u := cloneRecord(rec)
			u["Gsid"], u["IsActiveUser"] = gsid, true
			h.up.users[gsid] = u
			return &gainsight.Error{Op: "create", Message: "Gainsight returned no result for this record"}
		}
		return nil
	}
	h.drain()
	if b := h.sync("b"); b.State != store.StatePending || b.GSID != "" {
		t.Fatalf("bob after an unknown outcome: %+v, want pending", b)
	}
	h.up.failRecord = nil
	h.clock.Advance(time.Minute)
	h.drain()
	b := h.sync("b")
	if b.State != store.StateSynced || b.GSID == "" || h.up.users[b.GSID]["SFDCUserName"] != "bob" {
		t.Fatalf("bob after the retry: %+v", b)
	}
	if len(h.up.users) != 2 || h.up.count("create") != 1 {
		t.Errorf("%d gainsight users after %d creates, want 2 after 1", len(h.up.users), h.up.count("create"))
	}
}

// TestRecreateDuringPassConverges deletes a user and creates it again under
// the same userName while a pass is working on the old user. The link
// moves to the new user; whatever the pass did or did not do to the
// Gainsight user, the new user ends with the status it asks for.
func TestRecreateDuringPassConverges(t *testing.T) {
	for _, tc := range []struct {
		name string
		// deleteFirst deletes the old user before the pass, so the pass
		// deactivates it; otherwise the pass updates its title.
		deleteFirst bool
		during      string // the call during which the user is re-created
		newActive   bool
	}{
		{name: "update in flight, re-created inactive", during: "update", newActive: false},
		{name: "update in flight, re-created active", during: "update", newActive: true},
		{name: "deactivation in flight, re-created active", deleteFirst: true, during: "status", newActive: true},
		{name: "deactivation in flight, re-created inactive", deleteFirst: true, during: "status", newActive: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			ctx := context.Background()
			h.create("a", "alice", nil)
			h.drain()
			gsid := h.sync("a").GSID
			if tc.deleteFirst {
				if err := h.store.DeleteUser(ctx, "a"); err != nil {
					t.Fatal(err)
				}
			} else {
				h.update("a", func(u *store.User) { u.Doc["title"] = "Engineer" })
			}
			fired := false
			h.up.before = func(op string) {
				if op != tc.during || fired {
					return
				}
				fired = true
				if !tc.deleteFirst {
					if err := h.store.DeleteUser(ctx, "a"); err != nil {
						t.Error(err)
					}
				}
				h.create("a2", "alice", func(u *store.User) { u.Active = tc.newActive })
			}
			for i := 0; i < 5 && h.dirty() > 0; i++ {
				h.clock.Advance(time.Hour)
				h.drain()
			}
			if !fired {
				t.Fatalf("no %s call was made", tc.during)
			}
			info := h.sync("a2")
			if info.GSID != gsid || info.State != store.StateSynced || h.dirty() != 0 {
				t.Fatalf("re-created user %+v, dirty %d; want GSID %s synced", info, h.dirty(), gsid)
			}
			if got := h.up.byName("alice")["IsActiveUser"]; got != tc.newActive || info.Active != tc.newActive {
				t.Errorf("gainsight active %v, confirmed %v; want %v", got, info.Active, tc.newActive)
			}
		})
	}
}

// TestDeleteDuringCreateKeepsLink deletes a user while the pass that
// creates it in Gainsight is in flight, and creates it again under the
// same userName (which takes over its link before it has a GSID). The
// Gainsight user the pass made must not be left active without a link:
// it is deactivated when no one wants it, or adopted by the new user.
func TestDeleteDuringCreateKeepsLink(t *testing.T) {
	for _, tc := range []struct {
		name          string
		deleteNewUser bool
	}{
		{name: "new user deleted too", deleteNewUser: true},
		{name: "new user live"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			ctx := context.Background()
			h.create("a", "alice", nil)
			fired := false
			h.up.before = func(op string) {
				if op != "create" || fired {
					return
				}
				fired = true
				if err := h.store.DeleteUser(ctx, "a"); err != nil {
					t.Error(err)
				}
				h.create("a2", "alice", nil)
				if tc.deleteNewUser {
					if err := h.store.DeleteUser(ctx, "a2"); err != nil {
						t.Error(err)
					}
				}
			}
			for i := 0; i < 5 && h.dirty() > 0; i++ {
				h.clock.Advance(time.Hour)
				h.drain()
			}
			if !fired || h.dirty() != 0 {
				t.Fatalf("fired %v, dirty %d", fired, h.dirty())
			}
			rec := h.up.byName("alice")
			if rec == nil || len(h.up.users) != 1 {
				t.Fatalf("gainsight users %v", h.up.users)
			}
			owner, err := h.store.SyncByGSID(ctx, rec.GSID())
			if err != nil {
				t.Fatalf("the Gainsight user %s has no link: %v", rec.GSID(), err)
			}
			if want := !tc.deleteNewUser; rec["IsActiveUser"] != want {
				t.Errorf("gainsight active %v, want %v", rec["IsActiveUser"], want)
			}
			if !tc.deleteNewUser && (owner.UserID != "a2" || !owner.Active || owner.State != store.StateSynced) {
				t.Errorf("link %+v, want a2 active synced", owner)
			}
		})
	}
}
