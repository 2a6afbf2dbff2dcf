package scim

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// schemaAttr finds the attribute (or, with sub, sub-attribute) name in a
// /Schemas/{id} answer.
func schemaAttr(t *testing.T, schema map[string]any, name, sub string) map[string]any {
	t.Helper()
	find := func(list any, n string) map[string]any {
		l, _ := list.([]any)
		for _, a := range l {
			if m, ok := a.(map[string]any); ok && m["name"] == n {
				return m
			}
		}
		return nil
	}
	a := find(schema["attributes"], name)
	if a != nil && sub != "" {
		a = find(a["subAttributes"], sub)
	}
	if a == nil {
		t.Fatalf("no attribute %s.%s in %v", name, sub, schema["id"])
	}
	return a
}

// TestSchemasAdvertiseValidatedValues: /Schemas lists the configured
// permission bundles as canonicalValues of roles.value and the license
// types as those of LicenseType, notes that timezone is an IANA name, and
// follows a new configuration at once (custom fields included).
func TestSchemasAdvertiseValidatedValues(t *testing.T) {
	var cur atomic.Pointer[SchemaConfig]
	cur.Store(&SchemaConfig{
		LicenseTypes:      []string{"Viewer", "Full", "External"},
		PermissionBundles: []string{"Admin", "Analyst"},
		CustomFields:      []config.CustomField{{Name: "Region__gc", Type: config.FieldDropdown, Values: []string{"East", "West"}}},
	})
	f := newFixture(t, nil, func(o *Options) { o.Schema = cur.Load })
	user := func() map[string]any {
		return f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Schemas/"+URNUser, "").body
	}
	ext := func() map[string]any {
		return f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Schemas/"+URNGainsight, "").body
	}
	if got := schemaAttr(t, user(), "roles", "value")["canonicalValues"]; !jsonEqual(got, []string{"Admin", "Analyst"}) {
		t.Errorf("roles.value canonicalValues %v", got)
	}
	roles := schemaAttr(t, user(), "roles", "")
	for sub, typ := range map[string]string{"display": "string", "type": "string", "primary": "boolean"} {
		if got := schemaAttr(t, user(), "roles", sub)["type"]; got != typ {
			t.Errorf("roles.%s is a %v, want %s", sub, got, typ)
		}
	}
	if roles["multiValued"] != true || roles["type"] != "complex" {
		t.Errorf("roles changed shape: %v", roles)
	}
	if d, _ := schemaAttr(t, user(), "timezone", "")["description"].(string); !strings.Contains(d, "IANA") {
		t.Errorf("timezone description %q", d)
	}
	if got := schemaAttr(t, ext(), "LicenseType", "")["canonicalValues"]; !jsonEqual(got, []string{"Viewer", "Full", "External"}) {
		t.Errorf("LicenseType canonicalValues %v", got)
	}
	// The list of all schemas says the same.
	all := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Schemas", "")
	if !strings.Contains(all.raw, `"Analyst"`) || !strings.Contains(all.raw, `"Region__gc"`) {
		t.Errorf("/Schemas lacks the configured values")
	}

	// A reload: new values, a new custom field, no permission bundles.
	cur.Store(&SchemaConfig{
		LicenseTypes: []string{"Full", "External"},
		CustomFields: []config.CustomField{{Name: "Tier__gc", Type: config.FieldString}},
	})
	if got := schemaAttr(t, user(), "roles", "value")["canonicalValues"]; got != nil {
		t.Errorf("roles.value canonicalValues after reload %v", got)
	}
	if got := schemaAttr(t, ext(), "LicenseType", "")["canonicalValues"]; !jsonEqual(got, []string{"Full", "External"}) {
		t.Errorf("LicenseType canonicalValues after reload %v", got)
	}
	schemaAttr(t, ext(), "Tier__gc", "")
	r := f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Users", `{"userName":"tier@example.com","urn:ietf:params:scim:schemas:extension:gainsight:2.0:User":{"Tier__gc":"Gold","Region__gc":"East"}}`)
	if at(r.body, URNGainsight, "Tier__gc") != "Gold" || at(r.body, URNGainsight, "Region__gc") != nil {
		t.Errorf("custom fields after reload: %s", r.raw)
	}
	id := r.body["id"].(string)
	f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:gainsight:2.0:User:Tier__gc","value":"Silver"}]}`)
}
