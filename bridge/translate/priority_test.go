package translate

import (
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func docUser(active bool, extra map[string]any) store.User {
	doc := map[string]any{"userName": "ann@example.com", "active": active}
	for k, v := range extra {
		doc[k] = v
	}
	return store.User{ID: "u1", UserName: "ann@example.com", Active: active, Doc: doc}
}

// TestUserPriority: a user update is urgent when the user loses access,
// high when its access changes, low for profile fields.
func TestUserPriority(t *testing.T) {
	m, err := NewMapper(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	ext := func(license string) map[string]any {
		return map[string]any{GainsightURN: map[string]any{"LicenseType": license}}
	}
	tests := []struct {
		name     string
		old, new store.User
		groups   []store.GroupRef
		want     store.Priority
	}{
		{"disabled", docUser(true, nil), docUser(false, nil), nil, store.PriorityUrgent},
		{"disabled with conflicting groups", docUser(true, nil), docUser(false, nil), []store.GroupRef{ref("East"), ref("West")}, store.PriorityUrgent},
		{"reactivated", docUser(false, nil), docUser(true, nil), nil, store.PriorityHigh},
		{"license", docUser(true, nil), docUser(true, ext("Full")), nil, store.PriorityHigh},
		{"roles", docUser(true, nil), docUser(true, map[string]any{"roles": []any{map[string]any{"value": "Admin"}}}), nil, store.PriorityHigh},
		{"license the groups override anyway", docUser(true, nil), docUser(true, ext("Viewer")), []store.GroupRef{ref("GS Full")}, store.PriorityLow},
		{"title", docUser(true, nil), docUser(true, map[string]any{"title": "CTO"}), nil, store.PriorityLow},
		{"manager", docUser(true, nil), docUser(true, map[string]any{EnterpriseURN: map[string]any{"manager": map[string]any{"value": "m1"}}}), nil, store.PriorityLow},
		{"license of an inactive user", docUser(false, nil), docUser(false, ext("Full")), nil, store.PriorityLow},
		{"nothing", docUser(true, nil), docUser(true, nil), nil, store.PriorityLow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.UserPriority(tt.old, tt.new, tt.groups); got != tt.want {
				t.Errorf("UserPriority = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestGroupPriority: a membership change is urgent for a member left in no
// access-granting profiled group when that deactivates it, high when its
// license, roles or super admin change, low when only custom fields do.
func TestGroupPriority(t *testing.T) {
	keep, err := NewMapper(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Deprovision.OnNoProfiledGroups = config.DeprovisionDeactivate
	deactivate, err := NewMapper(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := func(names ...string) []store.GroupRef {
		var out []store.GroupRef
		for _, n := range names {
			out = append(out, ref(n))
		}
		return out
	}
	tests := []struct {
		name          string
		m             *Mapper
		before, after []store.GroupRef
		want          store.Priority
	}{
		{"left the last profiled group, deactivated", deactivate, g("GS Full"), g("Unprofiled"), store.PriorityUrgent},
		{"left the last profiled group, kept", keep, g("GS Full"), nil, store.PriorityHigh},
		{"first profiled group, reactivated", deactivate, nil, g("East"), store.PriorityHigh},
		{"license up", keep, g("GS Viewers"), g("GS Viewers", "GS Full"), store.PriorityHigh},
		{"roles", keep, nil, g("GS Admins"), store.PriorityHigh},
		{"super admin", keep, nil, g("Root"), store.PriorityHigh},
		{"custom field only", keep, g("GS Full"), g("GS Full", "East"), store.PriorityLow},
		{"unprofiled group", keep, g("GS Full"), g("GS Full", "Unprofiled"), store.PriorityLow},
		{"a conflict", keep, g("East"), g("East", "West"), store.PriorityNormal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.GroupPriority(tt.before, tt.after); got != tt.want {
				t.Errorf("GroupPriority = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestReloadPriority: a reload is judged by what the new profiles do to
// each user.
func TestReloadPriority(t *testing.T) {
	old, err := NewMapper(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	licensed := testConfig()
	licensed.Groups[0].LicenseType = "Full" // GS Viewers now gives Full
	next, err := NewMapper(licensed)
	if err != nil {
		t.Fatal(err)
	}
	deprov := testConfig()
	deprov.Deprovision.OnNoProfiledGroups = config.DeprovisionDeactivate
	strict, err := NewMapper(deprov)
	if err != nil {
		t.Fatal(err)
	}
	u := docUser(true, nil)
	if got := old.ReloadPriority(next, u, []store.GroupRef{ref("GS Viewers")}); got != store.PriorityHigh {
		t.Errorf("a profile's license changes: %s, want high", got)
	}
	if got := old.ReloadPriority(next, u, []store.GroupRef{ref("East")}); got != store.PriorityLow {
		t.Errorf("an unrelated member: %s, want low", got)
	}
	if got := old.ReloadPriority(strict, u, nil); got != store.PriorityUrgent {
		t.Errorf("deprovisioning users in no profiled group: %s, want urgent", got)
	}
}
