package bridge_test

import (
	"net/http"
	"slices"
	"testing"
)

// TestSchemasFollowTheConfig: /Schemas advertises the configured
// permission bundles and license types as canonicalValues, and a config
// reload updates them at once.
func TestSchemasFollowTheConfig(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	canonical := func(schema, attr, sub string) []string {
		t.Helper()
		var out map[string]any
		if s := h.do(http.MethodGet, "/Schemas/"+schema, nil, &out); s != http.StatusOK {
			t.Fatalf("GET /Schemas/%s: %d", schema, s)
		}
		find := func(list any, name string) map[string]any {
			l, _ := list.([]any)
			for _, a := range l {
				if m, _ := a.(map[string]any); m["name"] == name {
					return m
				}
			}
			t.Fatalf("%s has no attribute %s", schema, name)
			return nil
		}
		a := find(out["attributes"], attr)
		if sub != "" {
			a = find(a["subAttributes"], sub)
		}
		var vals []string
		l, _ := a["canonicalValues"].([]any)
		for _, v := range l {
			vals = append(vals, v.(string))
		}
		return vals
	}
	const user = "urn:ietf:params:scim:schemas:core:2.0:User"
	const gainsight = "urn:ietf:params:scim:schemas:extension:gainsight:2.0:User"
	if got := canonical(user, "roles", "value"); !slices.Equal(got, h.cfg.Roles) {
		t.Errorf("roles.value canonicalValues %q, want %q", got, h.cfg.Roles)
	}
	if got, want := canonical(gainsight, "LicenseType", ""), append(slices.Clone(h.cfg.Licenses.Priority), "External"); !slices.Equal(got, want) {
		t.Errorf("LicenseType canonicalValues %q, want %q", got, want)
	}

	next := *h.cfg
	next.Roles = []string{"Admin", "User"}
	next.Licenses.Priority = []string{"Viewer", "Full"}
	if _, err := h.bridge.Apply(t.Context(), &next); err != nil {
		t.Fatal(err)
	}
	if got := canonical(user, "roles", "value"); !slices.Equal(got, []string{"Admin", "User"}) {
		t.Errorf("after reload roles.value canonicalValues %q", got)
	}
	if got := canonical(gainsight, "LicenseType", ""); !slices.Equal(got, []string{"Viewer", "Full", "External"}) {
		t.Errorf("after reload LicenseType canonicalValues %q", got)
	}
}
