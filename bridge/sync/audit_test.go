package sync

import (
	"context"
	"fmt"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// auditLog collects what the engine hands Options.Audit.
type auditLog struct {
	mu      stdsync.Mutex
	entries []store.AuditEntry
	batches int
}

func (a *auditLog) record(_ context.Context, es []store.AuditEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, es...)
	a.batches++
}

// take returns the entries collected since the last take.
func (a *auditLog) take() []store.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.entries
	a.entries = nil
	return out
}

func newAuditHarness(t *testing.T) (*harness, *auditLog) {
	log := &auditLog{}
	return newHarness(t, func(o *Options) { o.Audit = log.record }), log
}

func change(es store.AuditEntry, field string) (store.AuditChange, bool) {
	for _, c := range es.Changes {
		if c.Field == field {
			return c, true
		}
	}
	return store.AuditChange{}, false
}

func auditOpsOf(es []store.AuditEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%s %s %s", e.UserID, e.Op, e.Result)
	}
	return out
}

// TestAuditRecordsEveryWrite: each Gainsight write of a pass lands in the
// audit trail once per user, with its outcome, the fields sent with their
// old values, the GSID and the replica; one hand-over per batch.
func TestAuditRecordsEveryWrite(t *testing.T) {
	h, log := newAuditHarness(t)
	h.create("u1", "alice", func(u *store.User) { u.Doc["title"] = "Analyst" })
	h.create("u2", "bob", nil)
	h.drain()
	got := log.take()
	if len(got) != 2 || log.batches != 1 {
		t.Fatalf("after creating two users: %v in %d batches; want two creates in one", auditOpsOf(got), log.batches)
	}
	c := got[0]
	if c.Op != store.AuditCreate || c.Result != store.AuditOK || c.UserID != "u1" || c.UserName != "alice" ||
		c.GSID == "" || c.GSID != h.sync("u1").GSID || c.Source != store.AuditSourceSync || c.Replica != "test" || c.Time.IsZero() {
		t.Errorf("create entry %+v", c)
	}
	if ch, ok := change(c, "Title"); !ok || ch.Old != nil || ch.New != "Analyst" {
		t.Errorf("create's Title change %+v (%v)", ch, ok)
	}

	h.update("u1", func(u *store.User) { u.Doc["title"] = "Lead"; u.Doc["license"] = "Viewer" })
	h.drain()
	got = log.take()
	if len(got) != 1 || got[0].Op != store.AuditUpdate || got[0].Result != store.AuditOK || got[0].GSID != h.sync("u1").GSID {
		t.Fatalf("after an update: %+v", got)
	}
	if ch, _ := change(got[0], "Title"); ch.Old != "Analyst" || ch.New != "Lead" {
		t.Errorf("Title change %+v, want Analyst → Lead", ch)
	}
	if ch, _ := change(got[0], "LicenseType"); ch.Old != "Full" || ch.New != "Viewer" {
		t.Errorf("LicenseType change %+v, want Full → Viewer", ch)
	}
	if _, ok := change(got[0], "Email"); ok {
		t.Errorf("unchanged Email recorded: %+v", got[0].Changes)
	}

	h.update("u2", func(u *store.User) { u.Active = false })
	h.drain()
	got = log.take()
	if len(got) != 1 || got[0].Op != store.AuditDeactivate || got[0].Result != store.AuditOK {
		t.Fatalf("after disabling: %v", auditOpsOf(got))
	}
	if ch, _ := change(got[0], fieldActive); ch.Old != true || ch.New != false {
		t.Errorf("status change %+v, want true → false", ch)
	}
	h.update("u2", func(u *store.User) { u.Active = true })
	h.drain()
	got = log.take()
	if ops := auditOpsOf(got); len(got) != 2 || got[0].Op != store.AuditReactivate || got[1].Op != store.AuditUpdate {
		t.Fatalf("after enabling: %v; want reactivate, then the update that sends the license again", ops)
	}
	// A pass with nothing to send records nothing.
	h.update("u1", func(u *store.User) { u.Doc["unmapped"] = "x" })
	h.drain()
	if got := log.take(); len(got) != 0 {
		t.Errorf("a pass without writes recorded %v", auditOpsOf(got))
	}
}

// TestAuditOutcomes: a refused write is recorded failed with Gainsight's
// error and request id, a write without an answer unknown, and a call
// never sent (no rate budget) not at all.
func TestAuditOutcomes(t *testing.T) {
	h, log := newAuditHarness(t)
	h.create("u1", "alice", nil)
	h.drain()
	log.take()

	h.up.failRecord = func(op string, rec gainsight.Record) error {
		if op == "update" {
			return &gainsight.Error{Op: "update", Code: gainsight.CodeBulkCreate, Message: "Timezone is invalid for alice@example.com", RequestID: "req-42"}
		}
		return nil
	}
	h.update("u1", func(u *store.User) { u.Doc["timezone"] = "Mars/Olympus" })
	h.drain()
	got := log.take()
	if len(got) != 1 || got[0].Result != store.AuditFailed || got[0].RequestID != "req-42" {
		t.Fatalf("refused update: %+v", got)
	}
	if got[0].Detail != gainsight.ReasonValidation {
		t.Errorf("detail %q, want the reason %q", got[0].Detail, gainsight.ReasonValidation)
	}
	if e := got[0].Error; e == "" || strings.Contains(e, "alice@example.com") {
		t.Errorf("error %q: want Gainsight's message with the email masked", e)
	}
	h.up.failRecord = nil

	h.update("u1", func(u *store.User) { u.Doc["timezone"] = "Europe/Paris" })
	h.up.failCalls["update"] = 1
	h.up.callErr = &gainsight.Error{Op: "update", Status: 502}
	h.drain()
	got = log.take()
	if len(got) != 1 || got[0].Result != store.AuditUnknown || got[0].Op != store.AuditUpdate {
		t.Fatalf("update without an answer: %+v", got)
	}

	// The retry's call is held back for want of budget: nothing was sent.
	h.clock.Advance(time.Hour)
	calls := h.up.count("update")
	h.up.failCalls["update"] = 1
	h.up.callErr = fmt.Errorf("wrapped: %w", gainsight.ErrBudgetWait)
	h.drain()
	if h.up.count("update") != calls+1 {
		t.Fatalf("the retry made no update call")
	}
	if got := log.take(); len(got) != 0 {
		t.Errorf("a call never sent was recorded: %v", auditOpsOf(got))
	}
	h.clock.Advance(time.Hour)
	h.drain()
	if got := log.take(); len(got) != 1 || got[0].Result != store.AuditOK {
		t.Errorf("the update sent at last: %v", auditOpsOf(got))
	}
}

// TestAuditAdopt: linking an existing Gainsight user is recorded as an
// adoption of its GSID before the update sent to it.
func TestAuditAdopt(t *testing.T) {
	h, log := newAuditHarness(t)
	gsid := h.up.seed(gainsight.Record{"SFDCUserName": "carol", "Email": "carol@example.com", "Name": "carol", "LicenseType": "Viewer"})
	h.create("u3", "carol", nil)
	h.drain()
	got := log.take()
	if len(got) < 1 || got[0].Op != store.AuditAdopt || got[0].GSID != gsid || got[0].Result != store.AuditOK {
		t.Fatalf("adoption: %v", auditOpsOf(got))
	}
	if len(got) != 2 || got[1].Op != store.AuditUpdate {
		t.Fatalf("after adopting: %v; want the update of the license", auditOpsOf(got))
	}
	if ch, _ := change(got[1], "LicenseType"); ch.Old != "Viewer" || ch.New != "Full" {
		t.Errorf("adopted user's license change %+v", ch)
	}
}
