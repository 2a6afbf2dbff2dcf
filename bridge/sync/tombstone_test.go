package sync

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// TestTombstoneRetention: a deleted user's link is kept while its
// deactivation may be needed, and removed once it is confirmed and older
// than the retention; a re-create of the userName then adopts the same
// Gainsight user.
func TestTombstoneRetention(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.TombstoneRetention = 30 * 24 * time.Hour })
	ctx := context.Background()
	h.create("a", "alice", nil)
	h.create("b", "bob", nil)
	h.drain()
	gsid := h.sync("a").GSID
	for _, id := range []string{"a", "b"} {
		if err := h.store.DeleteUser(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// Bob's deactivation keeps failing: his tombstone must stay.
	h.up.failRecord = func(op string, rec gainsight.Record) error {
		if op == "status" && rec["SFDCUserName"] == "bob" {
			return &gainsight.Error{Op: op, Status: 400, Message: "refused"}
		}
		return nil
	}
	h.drain()
	if n, err := h.eng.PurgeTombstones(ctx); err != nil || n != 0 {
		t.Fatalf("purge before the retention = %d, %v; want 0", n, err)
	}
	h.clock.Advance(31 * 24 * time.Hour)
	if n, err := h.eng.PurgeTombstones(ctx); err != nil || n != 1 {
		t.Fatalf("purge after the retention = %d, %v; want 1 (alice)", n, err)
	}
	if _, err := h.store.GetSync(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("alice's tombstone: %v, want it gone", err)
	}
	if info := h.sync("b"); !info.Tombstone || !info.Active {
		t.Errorf("bob's tombstone %+v, want kept: his deactivation is not confirmed", info)
	}
	h.up.failRecord = nil
	h.create("a2", "alice", nil)
	h.drain()
	if info := h.sync("a2"); info.GSID != gsid || !info.Active || info.State != store.StateSynced {
		t.Errorf("re-created alice %+v, want the same Gainsight user %s adopted and active", info, gsid)
	}
	if h.up.count("create") != 1 {
		t.Errorf("%d creates, want 1 (alice adopted, not created again)", h.up.count("create"))
	}
}

// TestRetentionOffKeepsTombstones: without a retention nothing is purged.
func TestRetentionOffKeepsTombstones(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.drain()
	if err := h.store.DeleteUser(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	h.clock.Advance(10 * 365 * 24 * time.Hour)
	if n, err := h.eng.PurgeTombstones(context.Background()); err != nil || n != 0 {
		t.Fatalf("purge without retention = %d, %v", n, err)
	}
	if info := h.sync("a"); !info.Tombstone {
		t.Errorf("tombstone %+v", info)
	}
}

// TestDriftReDeactivatesDepartedUser: a deleted user re-enabled by hand in
// Gainsight is found by drift repair and deactivated again.
func TestDriftReDeactivatesDepartedUser(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.create("a", "alice", nil)
	h.create("b", "bob", nil)
	h.drain()
	if err := h.store.DeleteUser(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	gsid := h.sync("a").GSID
	if h.up.users[gsid]["IsActiveUser"] != false {
		t.Fatal("not deactivated")
	}
	h.up.users[gsid]["IsActiveUser"] = true // an admin re-enables the departed user
	marked, err := h.eng.RepairDrift(ctx)
	if err != nil || marked != 1 {
		t.Fatalf("RepairDrift = %d, %v; want 1", marked, err)
	}
	h.drain()
	if h.up.users[gsid]["IsActiveUser"] != false {
		t.Errorf("departed user still active after the drift repair: %v", h.up.users[gsid])
	}
	if info := h.sync("a"); info.Active || info.State != store.StateSynced {
		t.Errorf("tombstone %+v", info)
	}
	if marked, err := h.eng.RepairDrift(ctx); err != nil || marked != 0 {
		t.Errorf("second RepairDrift = %d, %v; want 0", marked, err)
	}
}
