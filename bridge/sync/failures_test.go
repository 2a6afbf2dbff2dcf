package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

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

// TestRateLimitDoesNotPauseDrain: a 429 is the budget's to pause for (it
// waits briefly, then probes, and NextSlot reports the pause); the drain
// does not stop for the engine's own backoff on top, so a user marked
// after a stray 429 is synced at once.
func TestRateLimitDoesNotPauseDrain(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MinBackoff = time.Minute })
	h.create("a", "alice", nil)
	h.up.failCalls["list"] = 1
	h.up.callErr = &gainsight.Error{Op: "list", Status: 429, Code: gainsight.CodeTooManyReqs}
	h.drain()
	if info := h.sync("a"); info.State != store.StatePending {
		t.Fatalf("after the 429: %+v", info)
	}
	h.create("b", "bob", nil)
	h.drain()
	if info := h.sync("b"); info.State != store.StateSynced {
		t.Fatalf("a user marked after a 429 is not synced: %+v", info)
	}
}
