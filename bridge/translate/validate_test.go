package translate

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func TestValidateUser(t *testing.T) {
	const gsExt = GainsightURN + ":"
	tests := []struct {
		name string
		cfg  func(*config.Config)
		doc  map[string]any
		want []FieldError // in order; nil = valid
	}{
		{
			name: "minimal user is valid (userName presence is not checked here)",
			doc:  map[string]any{},
		},
		{
			name: "everything valid",
			doc: map[string]any{
				"userName": "a@example.com", "timezone": "America/New_York", "active": "False",
				"roles": []any{map[string]any{"value": "Admin"}, "Basic"},
				GainsightURN: map[string]any{
					"LicenseType": "External", "Region__gc": "east", "Regions__gc": []any{"US", "APAC"},
					"Beta__gc": "TRUE", "Department__gc": "Ops", "CostCenter__gc": 12.5, "EmployeeNo__gc": nil,
				},
				EnterpriseURN: map[string]any{"department": "R&D", "costCenter": "77"},
			},
		},
		{
			name: "license type not configured",
			doc:  map[string]any{GainsightURN: map[string]any{"LicenseType": "Ful"}},
			want: []FieldError{{gsExt + "LicenseType", `"Ful" is not a configured license type (one of "Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full", "External")`}},
		},
		{
			name: "license type of the wrong type",
			doc:  map[string]any{GainsightURN: map[string]any{"licenseType": true}},
			want: []FieldError{{gsExt + "licenseType", "must be a string"}},
		},
		{
			name: "unknown permission bundle",
			doc:  map[string]any{"roles": []any{map[string]any{"value": "Admin"}, map[string]any{"value": "Root"}}},
			want: []FieldError{{"roles", `unknown permission bundle "Root"`}},
		},
		{
			name: "several unknown permission bundles",
			doc:  map[string]any{"Roles": []any{"X", "Y"}},
			want: []FieldError{{"roles", `unknown permission bundles "X", "Y"`}},
		},
		{
			name: "permission bundles are not checked when roles are not configured",
			cfg:  func(c *config.Config) { c.Roles = nil },
			doc:  map[string]any{"roles": []any{map[string]any{"value": "Anything"}}},
		},
		{
			name: "invalid timezone",
			doc:  map[string]any{"timezone": "Mars/Olympus"},
			want: []FieldError{{"timezone", `"Mars/Olympus" is not an IANA time zone name`}},
		},
		{
			name: "Local is not a timezone",
			doc:  map[string]any{"Timezone": "Local"},
			want: []FieldError{{"timezone", `"Local" is not a time zone name; use an IANA name such as "Europe/Berlin"`}},
		},
		{
			name: "timezone of the wrong type",
			doc:  map[string]any{"timezone": 5},
			want: []FieldError{{"timezone", "must be a string naming an IANA time zone"}},
		},
		{
			name: "timezone through a configured mapping",
			cfg: func(c *config.Config) {
				c.Mapping.Fields = append(c.Mapping.Fields, config.FieldMapping{SCIM: EnterpriseURN + ":tz", Gainsight: "Timezone"})
			},
			doc:  map[string]any{"timezone": "UTC", EnterpriseURN: map[string]any{"tz": "Nowhere/Town"}},
			want: []FieldError{{EnterpriseURN + ":tz", `"Nowhere/Town" is not an IANA time zone name`}},
		},
		{
			name: "boolean field with a non-boolean",
			doc:  map[string]any{GainsightURN: map[string]any{"Beta__gc": "yes"}},
			want: []FieldError{{gsExt + "Beta__gc", `Beta__gc is a boolean field; "yes" is not a boolean`}},
		},
		{
			name: "dropdown value not allowed",
			doc:  map[string]any{GainsightURN: map[string]any{"Region__gc": "south"}},
			want: []FieldError{{gsExt + "Region__gc", `"south" is not an allowed value of Region__gc (one of "east", "west", "north")`}},
		},
		{
			name: "dropdown with a list",
			doc:  map[string]any{GainsightURN: map[string]any{"Region__gc": []any{"east"}}},
			want: []FieldError{{gsExt + "Region__gc", "Region__gc is a dropdown; a list is not a string"}},
		},
		{
			name: "multi-picklist value not allowed",
			doc:  map[string]any{GainsightURN: map[string]any{"Regions__gc": []any{"US", "MARS"}}},
			want: []FieldError{{gsExt + "Regions__gc", `"MARS" is not an allowed value of Regions__gc (one of "US", "EU", "APAC")`}},
		},
		{
			name: "multi-picklist with an object",
			doc:  map[string]any{GainsightURN: map[string]any{"Regions__gc": map[string]any{"a": 1}}},
			want: []FieldError{{gsExt + "Regions__gc", "Regions__gc is a multi-picklist; an object is not a list of strings"}},
		},
		{
			name: "string field with a boolean",
			doc:  map[string]any{GainsightURN: map[string]any{"Department__gc": true}},
			want: []FieldError{{gsExt + "Department__gc", "Department__gc is a string field; true is not a string"}},
		},
		{
			name: "number field with text",
			doc:  map[string]any{GainsightURN: map[string]any{"CostCenter__gc": "twelve"}},
			want: []FieldError{{gsExt + "CostCenter__gc", `CostCenter__gc is a number field; "twelve" is not a number`}},
		},
		{
			name: "number field with a boolean",
			doc:  map[string]any{GainsightURN: map[string]any{"CostCenter__gc": false}},
			want: []FieldError{{gsExt + "CostCenter__gc", "CostCenter__gc is a number field; false is not a number"}},
		},
		{
			name: "unknown custom field in the extension",
			doc:  map[string]any{GainsightURN: map[string]any{"Nope__gc": "x"}},
			want: []FieldError{{gsExt + "Nope__gc", "unknown custom field (not in customFields)"}},
		},
		{
			name: "IsSuperAdmin is not settable",
			doc:  map[string]any{GainsightURN: map[string]any{"IsSuperAdmin": false}},
			want: []FieldError{{gsExt + "IsSuperAdmin", "cannot be set: Gainsight's User Management API does not allow it; grant super admin with a group profile"}},
		},
		{
			name: "extension that is not an object",
			doc:  map[string]any{GainsightURN: "Full"},
			want: []FieldError{{GainsightURN, "must be an object"}},
		},
		{
			name: "mapped custom field checked against its type",
			cfg: func(c *config.Config) {
				c.Mapping.Fields = append(c.Mapping.Fields, config.FieldMapping{SCIM: EnterpriseURN + ":division", Gainsight: "Region__gc"})
			},
			doc:  map[string]any{EnterpriseURN: map[string]any{"division": "Central"}},
			want: []FieldError{{EnterpriseURN + ":division", `"Central" is not an allowed value of Region__gc (one of "east", "west", "north") (mapped to Region__gc)`}},
		},
		{
			name: "mapped license type and permission bundles",
			cfg: func(c *config.Config) {
				c.Mapping.Fields = []config.FieldMapping{
					{SCIM: "userType", Gainsight: "LicenseType"},
					{SCIM: "entitlements", Gainsight: "permissionBundles"},
				}
			},
			doc: map[string]any{"userType": "Gold", "entitlements": []any{map[string]any{"value": "Nope"}}, "roles": []any{"Unchecked"}},
			want: []FieldError{
				{"entitlements", `unknown permission bundle "Nope"`},
				{"userType", `"Gold" is not a configured license type (one of "Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full", "External")`},
			},
		},
		{
			name: "active that is not a boolean",
			doc:  map[string]any{"active": "maybe"},
			want: []FieldError{{"active", `"maybe" is not a boolean`}},
		},
		{
			name: "userName that is not an address is fine beside a work email",
			doc: map[string]any{"userName": "jdoe", "emails": []any{
				map[string]any{"value": "j@home.example", "type": "home"}, map[string]any{"value": "jdoe@example.com", "type": "work"}}},
		},
		{
			name: "userName sent as Email when the user has no work email",
			doc:  map[string]any{"userName": "jdoe", "emails": []any{map[string]any{"value": "j@home.example", "type": "home"}}},
			want: []FieldError{{"userName", `"jdoe" is not an email address; the user has no work email, so Gainsight gets the userName as Email`}},
		},
		{
			name: "userName sent as Email by mapping.userNameField",
			cfg:  func(c *config.Config) { c.Mapping.UserNameField = "Email" },
			doc:  map[string]any{"userName": "jdoe", "emails": []any{map[string]any{"value": "jdoe@example.com", "primary": true}}},
			want: []FieldError{{"userName", `"jdoe" is not an email address; mapping.userNameField sends it to Gainsight as Email`}},
		},
		{
			name: "primary email that is not an address",
			doc:  map[string]any{"userName": "jdoe@example.com", "emails": []any{map[string]any{"value": "Jane <jdoe@example.com>", "primary": true}}},
			want: []FieldError{{"emails.value", `"Jane <jdoe@example.com>" is not an email address; it is the email Gainsight gets`}},
		},
		{
			name: "attribute mapped to Email",
			cfg: func(c *config.Config) {
				c.Mapping.Fields = append(c.Mapping.Fields, config.FieldMapping{SCIM: EnterpriseURN + ":mail", Gainsight: "Email"})
			},
			doc:  map[string]any{"userName": "jdoe", EnterpriseURN: map[string]any{"mail": "jdoe at example.com"}},
			want: []FieldError{{EnterpriseURN + ":mail", `"jdoe at example.com" is not an email address; it is mapped to Gainsight's Email`}},
		},
		{
			name: "several errors are all reported, ordered by attribute",
			doc: map[string]any{
				"timezone": "Bad/Zone",
				"roles":    []any{"Ghost"},
				GainsightURN: map[string]any{
					"LicenseType": "Gold", "IsSuperAdmin": true,
				},
			},
			want: []FieldError{
				{"roles", `unknown permission bundle "Ghost"`},
				{"timezone", `"Bad/Zone" is not an IANA time zone name`},
				{gsExt + "IsSuperAdmin", "cannot be set: Gainsight's User Management API does not allow it; grant super admin with a group profile"},
				{gsExt + "LicenseType", `"Gold" is not a configured license type (one of "Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full", "External")`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			m, err := NewMapper(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = m.ValidateUser(tt.doc)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			got := FieldErrors(err)
			var gotV []FieldError
			for _, fe := range got {
				gotV = append(gotV, *fe)
			}
			if !reflect.DeepEqual(gotV, tt.want) {
				t.Fatalf("errors =\n%q\nwant\n%q", gotV, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || *fe != tt.want[0] {
				t.Fatalf("errors.As gives %v, want the first error %v", fe, tt.want[0])
			}
			if len(tt.want) == 1 && err != error(got[0]) {
				t.Fatalf("a single problem must be returned as a bare *FieldError, got %T", err)
			}
		})
	}
}

func TestFieldErrors(t *testing.T) {
	a := &FieldError{Attribute: "a", Message: "x"}
	b := &FieldError{Attribute: "b", Message: "y"}
	tests := []struct {
		name string
		err  error
		want []*FieldError
	}{
		{"nil", nil, nil},
		{"other error", errors.New("boom"), nil},
		{"single", a, []*FieldError{a}},
		{"wrapped", fmt.Errorf("ctx: %w", a), []*FieldError{a}},
		{"joined", errors.Join(a, b), []*FieldError{a, b}},
		{"wrapped join", fmt.Errorf("ctx: %w", errors.Join(a, errors.New("other"), b)), []*FieldError{a, b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FieldErrors(tt.err); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("FieldErrors = %v, want %v", got, tt.want)
			}
		})
	}
	if a.Error() != "a: x" {
		t.Fatalf("Error() = %q", a.Error())
	}
}

// TestEmailSourceIsPlannedEmail: the value ValidateUser checks as the
// Email is the one Plan sends, for every way the mapping picks it.
func TestEmailSourceIsPlannedEmail(t *testing.T) {
	home := map[string]any{"value": "j@home.example", "type": "home"}
	work := map[string]any{"value": "j@work.example", "type": "work"}
	cases := []struct {
		name string
		cfg  func(*config.Config)
		doc  map[string]any
	}{
		{"work email", nil, map[string]any{"emails": []any{home, work}}},
		{"no work email", nil, map[string]any{"emails": []any{home}}},
		{"untyped email", nil, map[string]any{"emails": []any{map[string]any{"value": "j@untyped.example"}}}},
		{"no emails", nil, map[string]any{}},
		{"userNameField Email", func(c *config.Config) { c.Mapping.UserNameField = "Email" }, map[string]any{"emails": []any{work}}},
		{"mapped", func(c *config.Config) {
			c.Mapping.Fields = append(c.Mapping.Fields, config.FieldMapping{SCIM: EnterpriseURN + ":mail", Gainsight: "Email"})
		}, map[string]any{"emails": []any{work}, EnterpriseURN: map[string]any{"mail": "j@mapped.example"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			if c.cfg != nil {
				c.cfg(cfg)
			}
			m, err := NewMapper(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.doc["userName"] = "jdoe@example.com"
			plan, err := m.Plan(store.User{ID: "u", UserName: "jdoe@example.com", Active: true, Doc: c.doc}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.emailSource(normaliseDoc(c.doc)).value, plan.Record[FieldEmail]; got != want {
				t.Errorf("checked %q, planned Email %v", got, want)
			}
		})
	}
}

// TestAdvertisedValues: what the mapper says it accepts is what
// ValidateUser accepts, so /Schemas can advertise it.
func TestAdvertisedValues(t *testing.T) {
	cases := []struct {
		name     string
		cfg      func(*config.Config)
		licenses []string
		bundles  []string
	}{
		{"configured", nil, []string{"Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full", "External"}, []string{"Basic", "Admin", "Manager"}},
		{"default priority, no roles", func(c *config.Config) { c.Licenses.Priority = nil; c.Roles = nil },
			[]string{"Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full", "External"}, nil},
		{"External in the priority list", func(c *config.Config) { c.Licenses.Priority = []string{"External", "Full"} },
			[]string{"External", "Full"}, []string{"Basic", "Admin", "Manager"}},
		{"roles mapped from another attribute", func(c *config.Config) {
			c.Mapping.Fields = []config.FieldMapping{{SCIM: "entitlements", Gainsight: "permissionBundles"}}
		}, []string{"Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full", "External"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			if c.cfg != nil {
				c.cfg(cfg)
			}
			m, err := NewMapper(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.LicenseTypes(); !reflect.DeepEqual(got, c.licenses) {
				t.Errorf("LicenseTypes = %q, want %q", got, c.licenses)
			}
			if got := m.PermissionBundles(); !reflect.DeepEqual(got, c.bundles) {
				t.Errorf("PermissionBundles = %q, want %q", got, c.bundles)
			}
			for _, l := range m.LicenseTypes() {
				if err := m.ValidateUser(map[string]any{GainsightURN: map[string]any{"LicenseType": l}}); err != nil {
					t.Errorf("advertised license %q refused: %v", l, err)
				}
			}
			for _, b := range m.PermissionBundles() {
				if err := m.ValidateUser(map[string]any{"roles": []any{map[string]any{"value": b}}}); err != nil {
					t.Errorf("advertised bundle %q refused: %v", b, err)
				}
			}
		})
	}
}
