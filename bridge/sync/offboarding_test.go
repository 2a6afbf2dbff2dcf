package sync

import (
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// TestDeactivationSurvivesFieldRejection: a PUT that sets active=false
// together with a value Gainsight refuses deactivates the user anyway; the
// refused field is reported as the user's failure.
func TestDeactivationSurvivesFieldRejection(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.drain()
	h.up.failRecord = func(op string, rec gainsight.Record) error {
		if op == "update" && rec["Title"] == "Refused" {
			return &gainsight.Error{Op: op, Code: gainsight.CodeBulkUpdate, Message: "Title is not allowed"}
		}
		return nil
	}
	h.update("a", func(u *store.User) { u.Active = false; u.Doc["title"] = "Refused" })
	h.drain()
	if rec := h.up.byName("alice"); rec["IsActiveUser"] != false {
		t.Errorf("gainsight user still active after active=false: %v (status calls %d)", rec, h.up.count("status"))
	}
	info := h.sync("a")
	if info.State != store.StateFailed || !strings.Contains(info.LastError, "Title is not allowed") || info.Active {
		t.Errorf("link %+v, want failed with the field error and confirmed inactive", info)
	}
}

// TestDeactivationSurvivesPlanningFailure: a user whose groups conflict
// and whom the IdP disabled is deactivated all the same.
func TestDeactivationSurvivesPlanningFailure(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.drain()
	h.update("a", func(u *store.User) {
		u.Active = false
		u.Doc["conflict"] = `Region: "East" (group A) vs "West" (group B)`
	})
	h.drain()
	if rec := h.up.byName("alice"); rec["IsActiveUser"] != false {
		t.Errorf("gainsight user still active after active=false: %v (status calls %d)", rec, h.up.count("status"))
	}
	info := h.sync("a")
	if info.State != store.StateFailed || !strings.Contains(info.LastError, "East") || info.Active {
		t.Errorf("link %+v, want failed with the conflict and confirmed inactive", info)
	}
}

// TestDeactivationRetriedWhenItFailsForAFailedUser: a user failed for good
// (a group conflict) whose deactivation could not be sent now is retried
// for the deactivation, not left active until it changes.
func TestDeactivationRetriedWhenItFailsForAFailedUser(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.drain()
	h.update("a", func(u *store.User) {
		u.Active = false
		u.Doc["conflict"] = `Region: "East" (group A) vs "West" (group B)`
	})
	h.up.failCalls["status"] = 1
	h.up.callErr = &gainsight.Error{Op: "status", Status: 503}
	h.drain()
	if info := h.sync("a"); info.State != store.StatePending || !strings.Contains(info.LastError, "East") || h.dirty() != 1 {
		t.Fatalf("after a failed deactivation: %+v, %d dirty; want pending with the conflict shown, still dirty", info, h.dirty())
	}
	h.clock.Advance(time.Hour)
	h.drain()
	if rec := h.up.byName("alice"); rec["IsActiveUser"] != false {
		t.Errorf("not deactivated on the retry: %v", rec)
	}
	if info := h.sync("a"); info.State != store.StateFailed || info.Active || h.dirty() != 0 {
		t.Errorf("after the retry: %+v, %d dirty; want failed, confirmed inactive, done", info, h.dirty())
	}
}
