package resolve

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

var priority = []string{"Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full"}

var fieldTypes = map[string]string{
	"Region__gc":   config.FieldDropdown,
	"Regions__gc":  config.FieldMultiPicklist,
	"Beta__gc":     config.FieldBoolean,
	"Team__gc":     config.FieldString,
	"CostCtr__gc":  config.FieldNumber,
	"Untyped__gc":  "",
	"Products__gc": config.FieldMultiPicklist,
}

func ptr(b bool) *bool { return &b }

func grp(name string, p config.GroupProfile) Group {
	p.Name = name
	p.DisplayName = name
	return Group{Name: name, Profile: p}
}

func TestResolve(t *testing.T) {
	defaults := config.Defaults{LicenseType: "Viewer", SystemType: "Internal", PermissionBundles: []string{"Basic"}}
	tests := []struct {
		name string
		in   Input
		// want is compared field by field; nil maps mean "empty".
		wantSuper     bool
		wantLicense   string
		wantRoles     []string
		wantFields    map[string]any
		wantSources   map[string][]string
		wantOwn       []string
		wantDefaulted []string
		wantProfiled  bool
		wantConflict  *Conflict
	}{
		{
			name:          "no groups: defaults",
			in:            Input{Defaults: defaults, Priority: priority, FieldTypes: fieldTypes},
			wantLicense:   "Viewer",
			wantRoles:     []string{"Basic"},
			wantDefaulted: []string{KeyLicenseType, KeyRoles},
			wantSources:   map[string][]string{},
		},
		{
			name:        "no groups, no defaults: nothing",
			in:          Input{Priority: priority},
			wantSources: map[string][]string{},
		},
		{
			name: "seed: Viewer + Full gives Full",
			in: Input{Defaults: defaults, Priority: priority, Groups: []Group{
				grp("Viewers", config.GroupProfile{LicenseType: "Viewer"}),
				grp("Admins", config.GroupProfile{LicenseType: "Full"}),
			}},
			wantLicense:   "Full",
			wantRoles:     []string{"Basic"},
			wantSources:   map[string][]string{KeyLicenseType: {"Admins"}},
			wantDefaulted: []string{KeyRoles},
			wantProfiled:  true,
		},
		{
			name: "license: highest wins regardless of group order",
			in: Input{Priority: priority, Groups: []Group{
				grp("A", config.GroupProfile{LicenseType: "Viewer_Analytics"}),
				grp("B", config.GroupProfile{LicenseType: "Internal_Collaborator"}),
				grp("C", config.GroupProfile{LicenseType: "Viewer_Analytics"}),
			}},
			wantLicense:  "Viewer_Analytics",
			wantSources:  map[string][]string{KeyLicenseType: {"A", "C"}},
			wantProfiled: true,
		},
		{
			name: "license: user's own takes part in highest wins (own higher)",
			in: Input{Defaults: defaults, Priority: priority, Own: Attributes{LicenseType: "Full"}, Groups: []Group{
				grp("Viewers", config.GroupProfile{LicenseType: "Viewer"}),
			}},
			wantLicense:   "Full",
			wantRoles:     []string{"Basic"},
			wantOwn:       []string{KeyLicenseType},
			wantDefaulted: []string{KeyRoles},
			wantSources:   map[string][]string{},
			wantProfiled:  true,
		},
		{
			name: "license: user's own takes part in highest wins (group higher)",
			in: Input{Priority: priority, Own: Attributes{LicenseType: "Viewer"}, Groups: []Group{
				grp("Analysts", config.GroupProfile{LicenseType: "Viewer_Analytics"}),
			}},
			wantLicense:  "Viewer_Analytics",
			wantSources:  map[string][]string{KeyLicenseType: {"Analysts"}},
			wantProfiled: true,
		},
		{
			name: "license: a type outside the priority list ranks lowest",
			in: Input{Priority: priority, Own: Attributes{LicenseType: "External"}, Groups: []Group{
				grp("Collab", config.GroupProfile{LicenseType: "Internal_Collaborator"}),
			}},
			wantLicense:  "Internal_Collaborator",
			wantSources:  map[string][]string{KeyLicenseType: {"Collab"}},
			wantProfiled: true,
		},
		{
			name:        "license: own only, no groups",
			in:          Input{Defaults: defaults, Priority: priority, Own: Attributes{LicenseType: "External", Roles: []string{"R"}}},
			wantLicense: "External",
			wantRoles:   []string{"R"},
			wantOwn:     []string{KeyLicenseType, KeyRoles},
			wantSources: map[string][]string{},
		},
		{
			name: "seed: super admin forces Full",
			in: Input{Defaults: defaults, Priority: priority, Groups: []Group{
				grp("Viewers", config.GroupProfile{LicenseType: "Viewer"}),
				grp("Root", config.GroupProfile{SuperAdmin: ptr(true), LicenseType: "Internal_Collaborator"}),
			}},
			wantSuper:     true,
			wantLicense:   "Full",
			wantRoles:     []string{"Basic"},
			wantDefaulted: []string{KeyRoles},
			wantSources:   map[string][]string{KeySuperAdmin: {"Root"}, KeyLicenseType: {"Root"}},
			wantProfiled:  true,
		},
		{
			name: "super admin forces the top of a custom priority list",
			in: Input{Priority: []string{"Lite", "Pro"}, Groups: []Group{
				grp("Root", config.GroupProfile{SuperAdmin: ptr(true), LicenseType: "Lite"}),
			}},
			wantSuper:    true,
			wantLicense:  "Pro",
			wantSources:  map[string][]string{KeySuperAdmin: {"Root"}, KeyLicenseType: {"Root"}},
			wantProfiled: true,
		},
		{
			name: "super admin: true wins over false",
			in: Input{Priority: priority, Groups: []Group{
				grp("NotRoot", config.GroupProfile{SuperAdmin: ptr(false)}),
				grp("Root", config.GroupProfile{SuperAdmin: ptr(true)}),
			}},
			wantSuper:    true,
			wantLicense:  "Full",
			wantSources:  map[string][]string{KeySuperAdmin: {"Root"}, KeyLicenseType: {"Root"}},
			wantProfiled: true,
		},
		{
			name: "super admin: all false is false and names the groups",
			in: Input{Priority: priority, Groups: []Group{
				grp("NotRoot", config.GroupProfile{SuperAdmin: ptr(false), LicenseType: "Viewer"}),
			}},
			wantLicense:  "Viewer",
			wantSources:  map[string][]string{KeySuperAdmin: {"NotRoot"}, KeyLicenseType: {"NotRoot"}},
			wantProfiled: true,
		},
		{
			name:        "super admin: user's own true counts",
			in:          Input{Priority: priority, Own: Attributes{SuperAdmin: ptr(true)}},
			wantSuper:   true,
			wantLicense: "Full",
			wantOwn:     []string{KeySuperAdmin, KeyLicenseType},
			wantSources: map[string][]string{},
		},
		{
			name: "seed: roles Admin + Manager gives both",
			in: Input{Defaults: defaults, Priority: priority, Groups: []Group{
				grp("Managers", config.GroupProfile{Roles: []string{"Manager"}}),
				grp("Admins", config.GroupProfile{Roles: []string{"Admin"}}),
			}},
			wantLicense:   "Viewer",
			wantRoles:     []string{"Admin", "Manager"},
			wantSources:   map[string][]string{KeyRoles: {"Admins", "Managers"}},
			wantDefaulted: []string{KeyLicenseType},
			wantProfiled:  true,
		},
		{
			name: "roles: own first, union deduplicated, groups that add nothing are not sources",
			in: Input{Priority: priority, Own: Attributes{Roles: []string{"Own", "Admin"}}, Groups: []Group{
				grp("b", config.GroupProfile{Roles: []string{"Admin", "Extra"}}),
				grp("A", config.GroupProfile{Roles: []string{"Own"}}),
			}},
			wantRoles:    []string{"Own", "Admin", "Extra"},
			wantOwn:      []string{KeyRoles},
			wantSources:  map[string][]string{KeyRoles: {"b"}},
			wantProfiled: true,
		},
		{
			name: "seed: multiPicklist US,EU + APAC gives all three",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Groups: []Group{
				grp("Americas+Europe", config.GroupProfile{Fields: map[string]any{"Regions__gc": []any{"US", "EU"}}}),
				grp("Asia", config.GroupProfile{Fields: map[string]any{"Regions__gc": []string{"APAC", "US"}}}),
			}},
			wantFields:   map[string]any{"Regions__gc": []string{"US", "EU", "APAC"}},
			wantSources:  map[string][]string{"Regions__gc": {"Americas+Europe", "Asia"}},
			wantProfiled: true,
		},
		{
			name: "multiPicklist: own values united, own first; a single string is one value",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Own: Attributes{Fields: map[string]any{"Products__gc": "CS"}}, Groups: []Group{
				grp("G", config.GroupProfile{Fields: map[string]any{"Products__gc": []string{"PX", "CS"}}}),
			}},
			wantFields:   map[string]any{"Products__gc": []string{"CS", "PX"}},
			wantOwn:      []string{"Products__gc"},
			wantSources:  map[string][]string{"Products__gc": {"G"}},
			wantProfiled: true,
		},
		{
			name: "seed: dropdown East vs West conflicts",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Groups: []Group{
				grp("West", config.GroupProfile{Fields: map[string]any{"Region__gc": "west"}}),
				grp("East", config.GroupProfile{Fields: map[string]any{"Region__gc": "east"}}),
			}},
			wantSources:  map[string][]string{},
			wantProfiled: true,
			wantConflict: &Conflict{Field: "Region__gc", Values: []string{"east", "west"}, Groups: []string{"East", "West"}},
		},
		{
			name: "dropdown: agreeing groups give the value",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Groups: []Group{
				grp("East", config.GroupProfile{Fields: map[string]any{"Region__gc": "east"}}),
				grp("East2", config.GroupProfile{Fields: map[string]any{"Region__gc": "east"}}),
			}},
			wantFields:   map[string]any{"Region__gc": "east"},
			wantSources:  map[string][]string{"Region__gc": {"East", "East2"}},
			wantProfiled: true,
		},
		{
			name: "dropdown: the user's own value wins over disagreeing groups",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Own: Attributes{Fields: map[string]any{"Region__gc": "north"}}, Groups: []Group{
				grp("East", config.GroupProfile{Fields: map[string]any{"Region__gc": "east"}}),
				grp("West", config.GroupProfile{Fields: map[string]any{"Region__gc": "west"}}),
			}},
			wantFields:   map[string]any{"Region__gc": "north"},
			wantOwn:      []string{"Region__gc"},
			wantSources:  map[string][]string{},
			wantProfiled: true,
		},
		{
			name: "string: three groups, two values; other attributes still resolved",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Groups: []Group{
				grp("C", config.GroupProfile{Fields: map[string]any{"Team__gc": "blue"}, LicenseType: "Viewer"}),
				grp("A", config.GroupProfile{Fields: map[string]any{"Team__gc": "red"}}),
				grp("B", config.GroupProfile{Fields: map[string]any{"Team__gc": "red", "Beta__gc": true}}),
			}},
			wantLicense:  "Viewer",
			wantFields:   map[string]any{"Beta__gc": true},
			wantSources:  map[string][]string{KeyLicenseType: {"C"}, "Beta__gc": {"B"}},
			wantProfiled: true,
			wantConflict: &Conflict{Field: "Team__gc", Values: []string{"red", "blue"}, Groups: []string{"A", "B", "C"}},
		},
		{
			name: "number: compared as text, must agree",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Groups: []Group{
				grp("A", config.GroupProfile{Fields: map[string]any{"CostCtr__gc": 42}}),
				grp("B", config.GroupProfile{Fields: map[string]any{"CostCtr__gc": 42.0}}),
			}},
			wantFields:   map[string]any{"CostCtr__gc": "42"},
			wantSources:  map[string][]string{"CostCtr__gc": {"A", "B"}},
			wantProfiled: true,
		},
		{
			name: "boolean: true wins",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Groups: []Group{
				grp("Off", config.GroupProfile{Fields: map[string]any{"Beta__gc": false}}),
				grp("On", config.GroupProfile{Fields: map[string]any{"Beta__gc": true}}),
			}},
			wantFields:   map[string]any{"Beta__gc": true},
			wantSources:  map[string][]string{"Beta__gc": {"On"}},
			wantProfiled: true,
		},
		{
			name: "boolean: all false is false",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Groups: []Group{
				grp("Off", config.GroupProfile{Fields: map[string]any{"Beta__gc": false}}),
				grp("Off2", config.GroupProfile{Fields: map[string]any{"Beta__gc": "False"}}),
			}},
			wantFields:   map[string]any{"Beta__gc": false},
			wantSources:  map[string][]string{"Beta__gc": {"Off", "Off2"}},
			wantProfiled: true,
		},
		{
			name: "boolean: a group's true beats the user's own false",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Own: Attributes{Fields: map[string]any{"Beta__gc": false}}, Groups: []Group{
				grp("On", config.GroupProfile{Fields: map[string]any{"Beta__gc": true}}),
			}},
			wantFields:   map[string]any{"Beta__gc": true},
			wantSources:  map[string][]string{"Beta__gc": {"On"}},
			wantProfiled: true,
		},
		{
			name: "boolean: the user's own true stands against a group's false",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Own: Attributes{Fields: map[string]any{"Beta__gc": true}}, Groups: []Group{
				grp("Off", config.GroupProfile{Fields: map[string]any{"Beta__gc": false}}),
			}},
			wantFields:   map[string]any{"Beta__gc": true},
			wantOwn:      []string{"Beta__gc"},
			wantSources:  map[string][]string{},
			wantProfiled: true,
		},
		{
			name: "untyped fields are typed by value",
			in: Input{Priority: priority, FieldTypes: fieldTypes, Groups: []Group{
				grp("A", config.GroupProfile{Fields: map[string]any{"Untyped__gc": true, "Other__gc": []any{"x"}, "Str__gc": "s"}}),
				grp("B", config.GroupProfile{Fields: map[string]any{"Untyped__gc": false, "Other__gc": []any{"y"}, "Str__gc": "s"}}),
			}},
			wantFields:   map[string]any{"Untyped__gc": true, "Other__gc": []string{"x", "y"}, "Str__gc": "s"},
			wantSources:  map[string][]string{"Untyped__gc": {"A"}, "Other__gc": {"A", "B"}, "Str__gc": {"A", "B"}},
			wantProfiled: true,
		},
		{
			name: "defaults only fill what nobody set",
			in: Input{Defaults: defaults, Priority: priority, Groups: []Group{
				grp("Plain", config.GroupProfile{Fields: map[string]any{"Team__gc": "x"}}),
			}, FieldTypes: fieldTypes},
			wantLicense:   "Viewer",
			wantRoles:     []string{"Basic"},
			wantFields:    map[string]any{"Team__gc": "x"},
			wantSources:   map[string][]string{"Team__gc": {"Plain"}},
			wantDefaulted: []string{KeyLicenseType, KeyRoles},
			wantProfiled:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.in)
			if tt.wantConflict != nil {
				var c *Conflict
				if !errors.As(err, &c) {
					t.Fatalf("err = %v, want conflict %v", err, tt.wantConflict)
				}
				if !reflect.DeepEqual(c, tt.wantConflict) {
					t.Fatalf("conflict = %#v, want %#v", c, tt.wantConflict)
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got.SuperAdmin == nil || *got.SuperAdmin != tt.wantSuper {
				t.Errorf("SuperAdmin = %v, want %v", got.SuperAdmin, tt.wantSuper)
			}
			if got.LicenseType != tt.wantLicense {
				t.Errorf("LicenseType = %q, want %q", got.LicenseType, tt.wantLicense)
			}
			if !reflect.DeepEqual(got.Roles, tt.wantRoles) {
				t.Errorf("Roles = %#v, want %#v", got.Roles, tt.wantRoles)
			}
			if len(got.Fields) != 0 || len(tt.wantFields) != 0 {
				if !reflect.DeepEqual(got.Fields, tt.wantFields) {
					t.Errorf("Fields = %#v, want %#v", got.Fields, tt.wantFields)
				}
			}
			if !reflect.DeepEqual(got.Sources, tt.wantSources) {
				t.Errorf("Sources = %#v, want %#v", got.Sources, tt.wantSources)
			}
			if !reflect.DeepEqual(keys(got.Own), set(tt.wantOwn)) {
				t.Errorf("Own = %v, want %v", got.Own, tt.wantOwn)
			}
			if !reflect.DeepEqual(keys(got.Defaulted), set(tt.wantDefaulted)) {
				t.Errorf("Defaulted = %v, want %v", got.Defaulted, tt.wantDefaulted)
			}
			if got.Profiled != tt.wantProfiled {
				t.Errorf("Profiled = %v, want %v", got.Profiled, tt.wantProfiled)
			}
		})
	}
}

func keys(m map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k, v := range m {
		if v {
			out[k] = true
		}
	}
	return out
}

func set(list []string) map[string]bool {
	out := map[string]bool{}
	for _, k := range list {
		out[k] = true
	}
	return out
}

func TestResolveDoesNotModifyInput(t *testing.T) {
	groups := []Group{
		grp("Z", config.GroupProfile{Roles: []string{"b"}}),
		grp("A", config.GroupProfile{Roles: []string{"a"}}),
	}
	own := []string{"o"}
	if _, err := Resolve(Input{Groups: groups, Own: Attributes{Roles: own}}); err != nil {
		t.Fatal(err)
	}
	if groups[0].Name != "Z" || own[0] != "o" || len(own) != 1 {
		t.Fatalf("input modified: %v %v", groups, own)
	}
}

func TestConflictError(t *testing.T) {
	tests := []struct {
		c    Conflict
		want string
	}{
		{Conflict{Field: "Region__gc", Values: []string{"east", "west"}, Groups: []string{"East", "West"}},
			`Region__gc: groups "East" and "West" set different values "east", "west"`},
		{Conflict{Field: "Team__gc", Values: []string{"red", "blue"}, Groups: []string{"A", "B", "C"}},
			`Team__gc: groups "A", "B" and "C" set different values "red", "blue"`},
	}
	for _, tt := range tests {
		if got := tt.c.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestResolveGroups(t *testing.T) {
	east := grp("East", config.GroupProfile{Fields: map[string]any{"Region__gc": "east"}})
	west := grp("West", config.GroupProfile{Fields: map[string]any{"Region__gc": "west"}})
	full := grp("Full", config.GroupProfile{LicenseType: "Full", Roles: []string{"Admin"}})
	tests := []struct {
		name      string
		groups    []Group
		wantField string
	}{
		{"none", nil, ""},
		{"compatible", []Group{east, full}, ""},
		{"conflict", []Group{full, west, east}, "Region__gc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ResolveGroups(tt.groups, priority, fieldTypes)
			var c *Conflict
			switch {
			case tt.wantField == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantField != "" && !errors.As(err, &c):
				t.Fatalf("err = %v, want a conflict", err)
			case tt.wantField != "" && c.Field != tt.wantField:
				t.Fatalf("conflict field = %q, want %q", c.Field, tt.wantField)
			}
		})
	}
}

func TestProfilesMatch(t *testing.T) {
	cfg := &config.Config{
		Groups: []config.GroupProfile{
			{Name: "admins", DisplayName: "GS Admins", LicenseType: "Full"},
			{Name: "byext", ExternalID: "ext-123", LicenseType: "Viewer"},
			{Name: "both", DisplayName: "Both", ExternalID: "ext-both"},
			{Name: "Bare"},
			{Name: "dup", DisplayName: "gs admins"},
		},
		CustomFields: []config.CustomField{{Name: "Region__gc", Type: config.FieldDropdown}},
	}
	p := NewProfiles(cfg)
	tests := []struct {
		name, displayName, externalID string
		want                          string // profile name, "" = no match
	}{
		{"displayName exact", "GS Admins", "", "admins"},
		{"displayName case-insensitive, first profile wins", "gs ADMINS", "", "admins"},
		{"externalId exact", "Whatever", "ext-123", "byext"},
		{"externalId is case-sensitive", "", "EXT-123", ""},
		{"externalId preferred over displayName", "GS Admins", "ext-123", "byext"},
		{"either key of a profile", "both", "", "both"},
		{"either key of a profile (ext)", "renamed", "ext-both", "both"},
		{"profile without keys matches its name", "bare", "", "Bare"},
		{"unknown", "Nobody", "ext-none", ""},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := p.Match(tt.displayName, tt.externalID)
			if ok != (tt.want != "") || got.Name != tt.want {
				t.Fatalf("Match(%q, %q) = %q, %v; want %q", tt.displayName, tt.externalID, got.Name, ok, tt.want)
			}
		})
	}
	if p.Len() != 5 {
		t.Errorf("Len = %d", p.Len())
	}
	if got := p.FieldTypes(); !reflect.DeepEqual(got, map[string]string{"Region__gc": config.FieldDropdown}) {
		t.Errorf("FieldTypes = %v", got)
	}
	var nilP *Profiles
	if _, ok := nilP.Match("x", "y"); ok || nilP.Len() != 0 || len(nilP.FieldTypes()) != 0 {
		t.Error("nil Profiles matched")
	}
	if NewProfiles(nil).Len() != 0 {
		t.Error("nil config gives profiles")
	}
}
