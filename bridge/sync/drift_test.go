package sync

import (
	"context"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// TestE2ERepairDrift changes users in the simulator behind the bridge's
// back and checks that RepairDrift finds exactly the drifted users with
// one read per 100 linked users (a listing of the tenant, which costs no
// more here; one call of 1,000 users in the users-v1 dialect, which would
// otherwise read each user), that the listing refreshes the tenant
// snapshot, and that the drain undoes the changes while leaving fields and
// users the bridge does not manage alone.
func TestE2ERepairDrift(t *testing.T) {
	tests := []struct {
		name    string
		api     string
		lookups func(gainsighttest.Stats) int
	}{
		{"services", gainsight.APIServices, func(s gainsighttest.Stats) int { return s.Calls[gainsighttest.OpList] }},
		{"users-v1", gainsight.APIUsersV1, func(s gainsighttest.Stats) int {
			return s.Calls[gainsighttest.OpV1Get] + s.Calls[gainsighttest.OpV1List]
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			x := newE2EClient(t, gainsighttest.Tenant{}, func(o *gainsight.Options) {
				o.API, o.DefaultRole = tc.api, "User"
			}, nil)
			const n = 150
			x.createUsers(n, "user", func(i int, u *store.User) {
				u.Doc["givenName"], u.Doc["familyName"] = "Ann", "Lee"
				if i == 0 {
					u.Doc["title"] = "CTO"
				}
			})
			x.converge()
			gsid := func(i int) string { return x.info(ids("user", n)[i]).GSID }
			// An admin edits Gainsight by hand: a managed field, a license,
			// a deactivation, and a field the bridge does not set.
			if _, err := x.up.Update(ctx, []gainsight.Record{
				{"Gsid": gsid(0), "Title": "Intern"},
				{"Gsid": gsid(1), "LicenseType": "Viewer"},
				{"Gsid": gsid(3), "Locale": "fr_FR"},
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := x.up.SetStatus(ctx, []string{gsid(2)}, false); err != nil {
				t.Fatal(err)
			}
			before := x.sim.Stats()
			marked, err := x.eng.RepairDrift(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if marked != 3 {
				t.Errorf("marked %d users dirty, want 3", marked)
			}
			after := x.sim.Stats()
			want := (n + DriftPageSize - 1) / DriftPageSize
			if tc.api == gainsight.APIUsersV1 {
				want = 1
			}
			if got := tc.lookups(after) - tc.lookups(before); got != want {
				t.Errorf("%d lookups, want %d", got, want)
			}
			if info, err := x.st.SnapshotInfo(ctx); err != nil || info.Total != n || info.Keys != 2*n {
				t.Errorf("snapshot after drift repair %+v, %v; want %d users", info, err, n)
			}
			x.converge()
			checks := []struct {
				i     int
				field string
				want  any
			}{
				{0, "Title", "CTO"}, {1, "LicenseType", "Full"}, {2, "IsActiveUser", true},
				{2, "LicenseType", "Full"}, {3, "Locale", "fr_FR"},
			}
			for _, c := range checks {
				if got := x.simUser(gsid(c.i))[c.field]; got != c.want {
					t.Errorf("user %d: %s = %v, want %v", c.i, c.field, got, c.want)
				}
			}
			x.checkExactlyOnce(ids("user", n))
			if marked, err := x.eng.RepairDrift(ctx); err != nil || marked != 0 {
				t.Errorf("second run marked %d (%v), want 0", marked, err)
			}
		})
	}
}

func TestRepairDriftRelinksAVanishedUser(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.create("b", "bob", nil)
	h.drain()
	old := h.sync("a").GSID
	delete(h.up.users, old)
	marked, err := h.eng.RepairDrift(context.Background())
	if err != nil || marked != 1 {
		t.Fatalf("marked %d (%v), want 1", marked, err)
	}
	if info := h.sync("a"); info.GSID != "" {
		t.Fatalf("link kept: %+v", info)
	}
	h.drain()
	info := h.sync("a")
	if info.State != store.StateSynced || info.GSID == "" || info.GSID == old || h.up.users[info.GSID]["SFDCUserName"] != "alice" {
		t.Errorf("after the drain: %+v", info)
	}
	if len(h.up.users) != 2 {
		t.Errorf("%d gainsight users, want 2", len(h.up.users))
	}
}
