package translate

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/record"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/resolve"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func ptr(b bool) *bool { return &b }

// testConfig is a tenant with typed custom fields, known roles, a few
// mappings and group profiles.
func testConfig() *config.Config {
	return &config.Config{
		Licenses: config.Licenses{Priority: []string{"Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full"}},
		Defaults: config.Defaults{LicenseType: "Viewer", SystemType: "Internal", PermissionBundles: []string{"Basic"}},
		Roles:    []string{"Basic", "Admin", "Manager"},
		CustomFields: []config.CustomField{
			{Name: "Region__gc", Type: config.FieldDropdown, Values: []string{"east", "west", "north"}},
			{Name: "Regions__gc", Type: config.FieldMultiPicklist, Values: []string{"US", "EU", "APAC"}},
			{Name: "Beta__gc", Type: config.FieldBoolean},
			{Name: "Department__gc", Type: config.FieldString},
			{Name: "EmployeeNo__gc", Type: config.FieldString},
			{Name: "CostCenter__gc", Type: config.FieldNumber},
		},
		Mapping: config.Mapping{Fields: []config.FieldMapping{
			{SCIM: EnterpriseURN + ":department", Gainsight: "Department__gc"},
			{SCIM: EnterpriseURN + ":employeeNumber", Gainsight: "EmployeeNo__gc"},
			{SCIM: EnterpriseURN + ":costCenter", Gainsight: "CostCenter__gc"},
			{SCIM: `phoneNumbers[type eq "work"].value`, Gainsight: "Phone__gc"},
		}},
		Groups: []config.GroupProfile{
			{Name: "viewers", DisplayName: "GS Viewers", LicenseType: "Viewer"},
			{Name: "full", DisplayName: "GS Full", LicenseType: "Full"},
			{Name: "admins", DisplayName: "GS Admins", Roles: []string{"Admin"}},
			{Name: "managers", ExternalID: "ext-managers", Roles: []string{"Manager"}},
			{Name: "us-eu", DisplayName: "US+EU", Fields: map[string]any{"Regions__gc": []any{"US", "EU"}}},
			{Name: "apac", DisplayName: "APAC", Fields: map[string]any{"Regions__gc": []any{"APAC"}}},
			{Name: "east", DisplayName: "East", Fields: map[string]any{"Region__gc": "east"}},
			{Name: "west", DisplayName: "West", Fields: map[string]any{"Region__gc": "west"}},
			{Name: "root", DisplayName: "Root", SuperAdmin: ptr(true)},
			{Name: "beta", DisplayName: "Beta", Fields: map[string]any{"Beta__gc": true}},
		},
	}
}

func ref(displayName string) store.GroupRef {
	return store.GroupRef{ID: "id-" + strings.ToLower(displayName), DisplayName: displayName}
}

// base is the record every minimal user gets besides its own fields.
func base(extra record.Record) record.Record {
	r := record.Record{
		"LicenseType":       "Viewer",
		"SystemType":        "Internal",
		"permissionBundles": []string{"Basic"},
	}
	for k, v := range extra {
		if v == nil {
			delete(r, k)
			continue
		}
		r[k] = v
	}
	// A user without any name is named after its userName.
	if _, named := extra["Name"]; !named {
		if un, ok := r["SFDCUserName"]; ok {
			r["Name"] = un
		}
	}
	return r
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(*config.Config)
		user    store.User
		groups  []store.GroupRef
		want    Plan
		wantErr func(error) bool
	}{
		{
			name: "userName only: SFDCUserName, Email fallback, defaults",
			user: store.User{UserName: "ann@example.com", Doc: map[string]any{"userName": "ann@example.com"}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "ann@example.com", "Email": "ann@example.com"})},
		},
		{
			name: "userName from the stored user when the document lacks it",
			user: store.User{UserName: "ann@example.com", Doc: map[string]any{}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "ann@example.com", "Email": "ann@example.com"})},
		},
		{
			name: "every default mapping row (Okta shape)",
			user: store.User{UserName: "bob", Doc: map[string]any{
				"schemas":     []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
				"userName":    "bob",
				"name":        map[string]any{"givenName": "Bob", "familyName": "Builder", "formatted": "Mr Bob Builder"},
				"displayName": "Bob B.",
				"emails": []any{
					map[string]any{"value": "bob@home.example", "type": "home"},
					map[string]any{"value": "bob@work.example", "type": "work", "primary": true},
				},
				"title":    "Engineer",
				"timezone": "Europe/Berlin",
				"locale":   "de-DE",
				"active":   true,
				"roles":    []any{map[string]any{"value": "Manager"}, map[string]any{"value": "Admin"}},
				EnterpriseURN: map[string]any{
					"department":     "R&D",
					"employeeNumber": "0042",
					"costCenter":     "1234.5",
					"manager":        map[string]any{"value": "mgr-1", "displayName": "Boss"},
				},
				GainsightURN: map[string]any{"LicenseType": "Full", "Region__gc": "north", "Beta__gc": "true"},
				"phoneNumbers": []any{
					map[string]any{"value": "+1 555", "type": "mobile"},
					map[string]any{"value": "+1 666", "type": "work"},
				},
			}},
			want: Plan{Active: true, ManagerID: "mgr-1", Record: record.Record{
				"SFDCUserName":      "bob",
				"Email":             "bob@work.example",
				"FirstName":         "Bob",
				"LastName":          "Builder",
				"Name":              "Bob B.",
				"Title":             "Engineer",
				"Timezone":          "Europe/Berlin",
				"Locale":            "de_DE",
				"LicenseType":       "Full",
				"SystemType":        "Internal",
				"permissionBundles": []string{"Admin", "Manager"},
				"Department__gc":    "R&D",
				"EmployeeNo__gc":    "0042",
				"CostCenter__gc":    1234.5,
				"Region__gc":        "north",
				"Beta__gc":          true,
				"Phone__gc":         "+1 666",
			}},
		},
		{
			name: "Name falls back to name.formatted",
			user: store.User{UserName: "c", Doc: map[string]any{"userName": "c", "name": map[string]any{"formatted": "Cee Dee"}}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "c", "Email": "c", "Name": "Cee Dee"})},
		},
		{
			name: "Name falls back to given family",
			user: store.User{UserName: "c", Doc: map[string]any{"userName": "c", "name": map[string]any{"givenName": "Cee", "familyName": "Dee"}}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "c", "Email": "c", "FirstName": "Cee", "LastName": "Dee", "Name": "Cee Dee"})},
		},
		{
			name: "Name from a given name alone",
			user: store.User{UserName: "c", Doc: map[string]any{"userName": "c", "name": map[string]any{"givenName": "Cher"}}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "c", "Email": "c", "FirstName": "Cher", "Name": "Cher"})},
		},
		{
			name: "primary email wins even when not typed work",
			user: store.User{UserName: "d", Doc: map[string]any{"userName": "d", "emails": []any{
				map[string]any{"value": "d@work", "type": "work"},
				map[string]any{"value": "d@primary", "type": "other", "primary": "True"},
			}}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "d", "Email": "d@primary"})},
		},
		{
			name: "work email without primary, type capitalised",
			user: store.User{UserName: "d", Doc: map[string]any{"userName": "d", "emails": []any{
				map[string]any{"value": "d@home", "type": "home"},
				map[string]any{"value": "d@work", "type": "Work"},
			}}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "d", "Email": "d@work"})},
		},
		{
			name: "an untyped email is used",
			user: store.User{UserName: "d", Doc: map[string]any{"userName": "d", "emails": []any{map[string]any{"value": "d@x"}}}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "d", "Email": "d@x"})},
		},
		{
			name: "only a home email: Email falls back to userName",
			user: store.User{UserName: "d@corp", Doc: map[string]any{"userName": "d@corp", "emails": []any{map[string]any{"value": "d@home", "type": "home"}}}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "d@corp", "Email": "d@corp"})},
		},
		{
			name: "capitalised attribute names (Entra) and string booleans",
			user: store.User{UserName: "e", Doc: map[string]any{
				"UserName":                     "e@x",
				"Name":                         map[string]any{"GivenName": "Eve", "FamilyName": "Smith"},
				"Emails":                       []any{map[string]any{"Value": "eve@x", "Type": "work", "Primary": "true"}},
				"Active":                       "False",
				"Title":                        "CTO",
				"Locale":                       "en-GB",
				"Roles":                        []any{map[string]any{"Value": "Admin"}},
				strings.ToLower(EnterpriseURN): map[string]any{"Department": "Ops", "Manager": "mgr-entra"},
			}},
			want: Plan{Active: false, ManagerID: "mgr-entra", Record: record.Record{
				"SFDCUserName": "e@x", "Email": "eve@x", "FirstName": "Eve", "LastName": "Smith", "Name": "Eve Smith",
				"Title": "CTO", "Locale": "en_GB", "LicenseType": "Viewer", "SystemType": "Internal",
				"permissionBundles": []string{"Admin"}, "Department__gc": "Ops",
			}},
		},
		{
			name: "Entra bare-string manager",
			user: store.User{UserName: "f", Doc: map[string]any{"userName": "f", EnterpriseURN: map[string]any{"manager": "m-2"}}},
			want: Plan{Active: true, ManagerID: "m-2", Record: base(record.Record{"SFDCUserName": "f", "Email": "f"})},
		},
		{
			name: "active string TRUE",
			user: store.User{UserName: "f", Doc: map[string]any{"userName": "f", "active": "TRUE"}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "f", "Email": "f"})},
		},
		{
			name: "active false",
			user: store.User{UserName: "f", Doc: map[string]any{"userName": "f", "active": false}},
			want: Plan{Active: false, Record: base(record.Record{"SFDCUserName": "f", "Email": "f"})},
		},
		{
			name: "active null means active",
			user: store.User{UserName: "f", Doc: map[string]any{"userName": "f", "active": nil}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "f", "Email": "f"})},
		},
		{
			name: "active not a boolean",
			user: store.User{UserName: "f", Doc: map[string]any{"userName": "f", "active": "yes"}},
			wantErr: func(err error) bool {
				var fe *FieldError
				return errors.As(err, &fe) && fe.Attribute == "active"
			},
		},
		{
			name: "roles as bare strings, empty values and empty strings skipped",
			user: store.User{UserName: "g", Doc: map[string]any{"userName": "g", "title": "", "roles": []any{"Manager", "", map[string]any{"value": ""}}}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "g", "Email": "g", "permissionBundles": []string{"Manager"}})},
		},
		{
			name: "flattened dotted keys as some PATCH bodies leave them",
			user: store.User{UserName: "h", Doc: map[string]any{"userName": "h", "name.givenName": "Hal"}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "h", "Email": "h", "FirstName": "Hal", "Name": "Hal"})},
		},
		{
			name: "extension custom field names are matched case-insensitively; IsSuperAdmin and unknown fields are not mapped",
			user: store.User{UserName: "i", Doc: map[string]any{"userName": "i", GainsightURN: map[string]any{
				"region__GC": "east", "IsSuperAdmin": true, "Unknown__gc": "x", "licensetype": "Viewer_Analytics",
			}}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "i", "Email": "i", "Region__gc": "east", "LicenseType": "Viewer_Analytics"})},
		},
		{
			name:   "seed: groups Viewer + Full give Full",
			user:   store.User{UserName: "j", Doc: map[string]any{"userName": "j"}},
			groups: []store.GroupRef{ref("GS Viewers"), ref("GS Full")},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "j", "Email": "j", "LicenseType": "Full"}),
				Sources: map[string][]string{"LicenseType": {"GS Full"}}},
		},
		{
			name:   "seed: Admin + Manager roles, matched by displayName (any case) and externalId",
			user:   store.User{UserName: "j", Doc: map[string]any{"userName": "j"}},
			groups: []store.GroupRef{{ID: "g1", DisplayName: "Managers (renamed)", ExternalID: "ext-managers"}, ref("gs admins")},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "j", "Email": "j", "permissionBundles": []string{"Admin", "Manager"}}),
				Sources: map[string][]string{"permissionBundles": {"gs admins", "Managers (renamed)"}}},
		},
		{
			name:   "seed: Regions US,EU + APAC give all three, sorted",
			user:   store.User{UserName: "j", Doc: map[string]any{"userName": "j"}},
			groups: []store.GroupRef{ref("US+EU"), ref("APAC"), ref("Unprofiled")},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "j", "Email": "j", "Regions__gc": []string{"APAC", "EU", "US"}}),
				Sources: map[string][]string{"Regions__gc": {"APAC", "US+EU"}}},
		},
		{
			name:   "seed: East vs West conflict",
			user:   store.User{UserName: "j", Doc: map[string]any{"userName": "j"}},
			groups: []store.GroupRef{ref("West"), ref("East")},
			wantErr: func(err error) bool {
				var c *resolve.Conflict
				return errors.As(err, &c) && c.Field == "Region__gc" &&
					reflect.DeepEqual(c.Groups, []string{"East", "West"}) && reflect.DeepEqual(c.Values, []string{"east", "west"}) &&
					strings.Contains(err.Error(), `user "j"`)
			},
		},
		{
			name:   "the user's own dropdown value wins over groups",
			user:   store.User{UserName: "j", Doc: map[string]any{"userName": "j", GainsightURN: map[string]any{"Region__gc": "north"}}},
			groups: []store.GroupRef{ref("West"), ref("East")},
			want:   Plan{Active: true, Record: base(record.Record{"SFDCUserName": "j", "Email": "j", "Region__gc": "north"})},
		},
		{
			name:   "the user's own roles unite with group roles",
			user:   store.User{UserName: "j", Doc: map[string]any{"userName": "j", "roles": []any{map[string]any{"value": "Basic"}}}},
			groups: []store.GroupRef{ref("GS Admins")},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "j", "Email": "j", "permissionBundles": []string{"Admin", "Basic"}}),
				Sources: map[string][]string{"permissionBundles": {"GS Admins"}}},
		},
		{
			name:   "seed: super admin forces Full and is reported",
			user:   store.User{UserName: "k", Doc: map[string]any{"userName": "k", GainsightURN: map[string]any{"LicenseType": "Viewer"}}},
			groups: []store.GroupRef{ref("Root"), ref("Beta")},
			want: Plan{Active: true, SuperAdmin: true, Record: base(record.Record{"SFDCUserName": "k", "Email": "k", "LicenseType": "Full", "Beta__gc": true}),
				Sources: map[string][]string{"SuperAdmin": {"Root"}, "LicenseType": {"Root"}, "Beta__gc": {"Beta"}}},
		},
		{
			name:   "deprovision deactivate: no profiled group deactivates",
			cfg:    func(c *config.Config) { c.Deprovision.OnNoProfiledGroups = "deactivate" },
			user:   store.User{UserName: "l", Doc: map[string]any{"userName": "l", "active": true}},
			groups: []store.GroupRef{ref("Unprofiled")},
			want:   Plan{Active: false, Record: base(record.Record{"SFDCUserName": "l", "Email": "l"})},
		},
		{
			name:   "deprovision deactivate: a profiled group keeps the user active",
			cfg:    func(c *config.Config) { c.Deprovision.OnNoProfiledGroups = "deactivate" },
			user:   store.User{UserName: "l", Doc: map[string]any{"userName": "l"}},
			groups: []store.GroupRef{ref("Unprofiled"), ref("Beta")},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "l", "Email": "l", "Beta__gc": true}),
				Sources: map[string][]string{"Beta__gc": {"Beta"}}},
		},
		{
			name: "deprovision deactivate without any profiles configured keeps users active",
			cfg: func(c *config.Config) {
				c.Deprovision.OnNoProfiledGroups = "deactivate"
				c.Groups = nil
			},
			user: store.User{UserName: "l", Doc: map[string]any{"userName": "l"}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "l", "Email": "l"})},
		},
		{
			name: "deprovision keep: no profiled group stays active",
			cfg:  func(c *config.Config) { c.Deprovision.OnNoProfiledGroups = "keep" },
			user: store.User{UserName: "l", Doc: map[string]any{"userName": "l"}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "l", "Email": "l"})},
		},
		{
			name: "userNameField Email: userName is the Email, work emails are ignored",
			cfg:  func(c *config.Config) { c.Mapping.UserNameField = "Email" },
			user: store.User{UserName: "m@x", Doc: map[string]any{"userName": "m@x", "emails": []any{map[string]any{"value": "other@x", "type": "work"}}}},
			want: Plan{Active: true, Record: base(record.Record{"Email": "m@x", "Name": "m@x"})},
		},
		{
			name: "userNameField SfdcUserId",
			cfg:  func(c *config.Config) { c.Mapping.UserNameField = "SfdcUserId" },
			user: store.User{UserName: "005xx", Doc: map[string]any{"userName": "005xx", "emails": []any{map[string]any{"value": "n@x", "primary": true}}}},
			want: Plan{Active: true, Record: base(record.Record{"SfdcUserId": "005xx", "Email": "n@x", "Name": "005xx"})},
		},
		{
			name: "a configured mapping replaces the default row for its target",
			cfg: func(c *config.Config) {
				c.Mapping.Fields = []config.FieldMapping{{SCIM: "nickName", Gainsight: "Name"}, {SCIM: "title", Gainsight: "Title__gc"}}
			},
			user: store.User{UserName: "o", Doc: map[string]any{"userName": "o", "displayName": "Ignored", "nickName": "Ozzy", "title": "Boss"}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "o", "Email": "o", "Name": "Ozzy", "Title": "Boss", "Title__gc": "Boss"})},
		},
		{
			name: "an overridden target with no value stays absent (no fallback to the default source)",
			cfg: func(c *config.Config) {
				c.Mapping.Fields = []config.FieldMapping{{SCIM: "nickName", Gainsight: "Name"}}
			},
			user: store.User{UserName: "o", Doc: map[string]any{"userName": "o", "displayName": "Ignored", "name": map[string]any{"givenName": "O"}}},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "o", "Email": "o", "FirstName": "O", "Name": nil})},
		},
		{
			name: "mappings into LicenseType, permissionBundles and SystemType",
			cfg: func(c *config.Config) {
				c.Mapping.Fields = []config.FieldMapping{
					{SCIM: "userType", Gainsight: "LicenseType"},
					{SCIM: "entitlements", Gainsight: "permissionBundles"},
					{SCIM: EnterpriseURN + ":division", Gainsight: "SystemType"},
				}
			},
			user: store.User{UserName: "p", Doc: map[string]any{
				"userName": "p", "userType": "Viewer_Analytics",
				"entitlements": []any{map[string]any{"value": "Manager"}, map[string]any{"value": "Basic"}},
				"roles":        []any{map[string]any{"value": "Admin"}},
				EnterpriseURN:  map[string]any{"division": "External"},
			}},
			want: Plan{Active: true, Record: record.Record{
				"SFDCUserName": "p", "Email": "p", "Name": "p", "LicenseType": "Viewer_Analytics", "SystemType": "External",
				"permissionBundles": []string{"Basic", "Manager"},
			}},
		},
		{
			name: "no defaults configured: built-in defaults, no permission bundles",
			cfg: func(c *config.Config) {
				c.Defaults = config.Defaults{}
				c.Licenses.Priority = nil
			},
			user: store.User{UserName: "q", Doc: map[string]any{"userName": "q"}},
			want: Plan{Active: true, Record: record.Record{"SFDCUserName": "q", "Email": "q", "Name": "q", "LicenseType": "Viewer", "SystemType": "Internal"}},
		},
		{
			name: "nil document",
			user: store.User{UserName: "r"},
			want: Plan{Active: true, Record: base(record.Record{"SFDCUserName": "r", "Email": "r"})},
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
			got, err := m.Plan(tt.user, tt.groups)
			if tt.wantErr != nil {
				if !tt.wantErr(err) {
					t.Fatalf("err = %v, not the expected error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if tt.want.Sources == nil {
				tt.want.Sources = map[string][]string{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				gj, _ := json.MarshalIndent(got, "", " ")
				wj, _ := json.MarshalIndent(tt.want, "", " ")
				t.Fatalf("Plan =\n%s\nwant\n%s", gj, wj)
			}
			for k, v := range got.Record {
				if v == nil {
					t.Errorf("Record[%q] is nil", k)
				}
			}
		})
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	m, err := NewMapper(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{UserName: "z", Doc: map[string]any{
		"userName": "z",
		"roles":    []any{map[string]any{"value": "Manager"}, map[string]any{"value": "Basic"}},
	}}
	groupsA := []store.GroupRef{ref("US+EU"), ref("APAC"), ref("GS Admins")}
	groupsB := []store.GroupRef{ref("GS Admins"), ref("APAC"), ref("US+EU")}
	a, err := m.Plan(u, groupsA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Plan(u, groupsB)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("group order changed the plan:\n%v\n%v", a, b)
	}
	if len(Diff(a.Record, b.Record)) != 0 {
		t.Fatal("Diff of equal plans is not empty")
	}
}

func TestNewMapper(t *testing.T) {
	tests := []struct {
		name    string
		cfg     *config.Config
		wantErr string // substring; "" = success
	}{
		{"nil config", nil, "nil config"},
		{"zero config", &config.Config{}, ""},
		{"test config", testConfig(), ""},
		{"empty scim side", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{Gainsight: "Title"}}}}, "mapping.fields[0]: scim and gainsight are both required"},
		{"empty gainsight side", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: "title"}}}}, "mapping.fields[0]: scim and gainsight are both required"},
		{"manager is not mappable", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: "x", Gainsight: "Manager"}}}}, "Manager is resolved"},
		{"gsid is not mappable", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: "x", Gainsight: "GSID"}}}}, "Gsid is assigned"},
		{"IsSuperAdmin is not mappable", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: "x", Gainsight: "IsSuperAdmin"}}}}, "IsSuperAdmin cannot be set"},
		{"IsActiveUser is not mappable", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: "x", Gainsight: "IsActiveUser"}}}}, "IsActiveUser follows"},
		{"filter with a space in its value", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: `addresses[type eq "home office"].locality`, Gainsight: "Title"}}}}, ""},
		{"filter with another operator", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: `emails[type co "w"].value`, Gainsight: "Title"}}}}, ""},
		{"unterminated filter", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: "emails[type eq \"w\".value", Gainsight: "Email"}}}}, `mapping.fields[0]: path "emails[type eq \"w\".value" is not a SCIM attribute path`},
		{"URN without attribute", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: EnterpriseURN + ":", Gainsight: "X__gc"}}}}, "is not a SCIM attribute path"},
		{"empty segment", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: "name..givenName", Gainsight: "X__gc"}}}}, "is not a SCIM attribute path"},
		{"three levels", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: "a.b.c", Gainsight: "X__gc"}}}}, "is not a SCIM attribute path"},
		{"every error is reported", &config.Config{Mapping: config.Mapping{Fields: []config.FieldMapping{{SCIM: "x", Gainsight: "Manager"}, {SCIM: "y"}}}}, "mapping.fields[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMapper(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || m == nil {
					t.Fatalf("NewMapper: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckGroups(t *testing.T) {
	m, err := NewMapper(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		groups    []store.GroupRef
		wantField string
	}{
		{"no groups", nil, ""},
		{"unprofiled groups only", []store.GroupRef{ref("A"), ref("B")}, ""},
		{"compatible profiles", []store.GroupRef{ref("East"), ref("GS Full"), ref("APAC"), ref("US+EU")}, ""},
		{"East and West conflict", []store.GroupRef{ref("GS Full"), ref("east"), ref("WEST")}, "Region__gc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.CheckGroups(tt.groups)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			var c *resolve.Conflict
			if !errors.As(err, &c) || c.Field != tt.wantField {
				t.Fatalf("err = %v, want conflict on %s", err, tt.wantField)
			}
			if want := `Region__gc: groups "east" and "WEST" set different values "east", "west"`; err.Error() != want {
				t.Fatalf("message %q, want %q", err.Error(), want)
			}
		})
	}
}

// A document built in Go rather than decoded from JSON maps the same.
func TestPlanGoShapedDocument(t *testing.T) {
	m, err := NewMapper(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	type named string
	goDoc := map[string]any{
		"userName": "s",
		"name":     map[string]string{"givenName": "Sam"},
		"emails":   []map[string]any{{"value": "s@work", "type": "work"}},
		"roles":    []map[string]string{{"value": "Admin"}},
		"active":   &[]bool{false}[0],
		"title":    named("Lead"),
		EnterpriseURN: map[string]any{
			"costCenter": json.Number("17"),
			"manager":    map[string]any{"value": "m"},
		},
		GainsightURN: map[string]any{"Regions__gc": []string{"EU", "US"}, "Beta__gc": true},
	}
	jsonDoc := map[string]any{}
	raw, err := json.Marshal(goDoc)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &jsonDoc); err != nil {
		t.Fatal(err)
	}
	fromGo, err := m.Plan(store.User{UserName: "s", Doc: goDoc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := m.Plan(store.User{UserName: "s", Doc: jsonDoc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromGo, fromJSON) {
		t.Fatalf("Go-shaped document maps differently:\n%v\n%v", fromGo, fromJSON)
	}
	want := Plan{Active: false, ManagerID: "m", Sources: map[string][]string{}, Record: record.Record{
		"SFDCUserName": "s", "Email": "s@work", "FirstName": "Sam", "Name": "Sam", "Title": "Lead",
		"LicenseType": "Viewer", "SystemType": "Internal", "permissionBundles": []string{"Admin"},
		"CostCenter__gc": 17.0, "Regions__gc": []string{"EU", "US"}, "Beta__gc": true,
	}}
	if !reflect.DeepEqual(fromGo, want) {
		t.Fatalf("Plan = %#v\nwant %#v", fromGo, want)
	}
	if err := m.ValidateUser(map[string]any{"roles": []map[string]string{{"value": "Ghost"}}}); err == nil {
		t.Fatal("ValidateUser missed a role in a Go-shaped document")
	}
}
