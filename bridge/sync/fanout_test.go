package sync

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func mapperFor(t *testing.T, profiles ...config.GroupProfile) Planner {
	t.Helper()
	cfg := config.Default()
	cfg.Groups = profiles
	m, err := translate.NewMapper(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A profile change reaches every member in batched updates, and a member
// who leaves the group loses what only the group granted.
func TestE2EProfileFanOut(t *testing.T) {
	const n = 2000
	var planner atomic.Pointer[Planner]
	set := func(p Planner) { planner.Store(&p) }
	set(mapperFor(t, config.GroupProfile{Name: "sales", DisplayName: "Sales", LicenseType: "Viewer"}))
	x := newE2E(t, gainsighttest.Tenant{}, 0, func(o *Options) {
		o.Planner = func() Planner { return *planner.Load() }
	})
	x.createUsers(n, "rep", func(i int, u *store.User) {
		u.Doc = map[string]any{"userName": u.UserName, "active": true,
			"emails": []any{map[string]any{"value": u.Emails[0], "primary": true}},
			"name":   map[string]any{"givenName": "Rep", "familyName": fmt.Sprint(i)}}
	})
	members := ids("rep", n)
	g, err := x.st.CreateGroup(context.Background(), store.Group{ID: "g-sales", DisplayName: "Sales", Members: members}, nil)
	if err != nil {
		t.Fatal(err)
	}
	x.converge()
	before := x.sim.Stats()
	for _, id := range members[:3] {
		if rec := x.simUser(x.info(id).GSID); rec["LicenseType"] != "Viewer" {
			t.Fatalf("%s: %v", id, rec)
		}
	}

	// Config reload: the profile now grants Full and a role.
	set(mapperFor(t, config.GroupProfile{Name: "sales", DisplayName: "Sales", LicenseType: "Full", Roles: []string{"Admin"}}))
	if err := x.st.MarkDirty(context.Background(), members...); err != nil {
		t.Fatal(err)
	}
	x.converge()
	after := x.sim.Stats()
	updates := after.Calls[gainsighttest.OpUpdate] - before.Calls[gainsighttest.OpUpdate]
	if limit := int(1.1 * float64((n+49)/50)); updates > limit {
		t.Errorf("%d update calls for %d members, want ≤ %d", updates, n, limit)
	}
	if other := writeCalls(after) - writeCalls(before) - updates; other != 0 {
		t.Errorf("%d other write calls", other)
	}
	for _, id := range members {
		info := x.info(id)
		rec := x.simUser(info.GSID)
		if rec["LicenseType"] != "Full" || fmt.Sprint(rec["permissionBundles"]) != "[Admin]" || info.State != store.StateSynced {
			t.Fatalf("%s after profile change: %v %+v", id, rec, info)
		}
	}

	// Leaving the group takes the role away and falls back to the default
	// license.
	if _, err := x.st.UpdateGroup(context.Background(), g.ID, func(g store.Group) (store.Group, error) {
		g.Members = g.Members[1:]
		return g, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	x.converge()
	rec := x.simUser(x.info(members[0]).GSID)
	if bundles, _ := rec["permissionBundles"].([]any); len(bundles) != 0 || rec["LicenseType"] != config.Default().Defaults.LicenseType {
		t.Errorf("after leaving the group: %v", rec)
	}
}
