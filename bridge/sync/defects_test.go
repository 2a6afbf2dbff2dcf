package sync

import (
	"strings"
	"testing"

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
