package sync

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

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
