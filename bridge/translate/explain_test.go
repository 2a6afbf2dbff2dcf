package translate

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/record"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/resolve"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func TestExplain(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(*config.Config)
		user   store.User
		groups []store.GroupRef
		want   Explanation
	}{
		{
			name: "sources: groups, user and defaults",
			user: store.User{ID: "u1", UserName: "ann", Doc: map[string]any{
				"userName": "ann", "title": "CFO",
				"roles":       []any{map[string]any{"value": "Basic"}},
				GainsightURN:  map[string]any{"LicenseType": "Viewer"},
				EnterpriseURN: map[string]any{"manager": map[string]any{"value": "boss"}},
			}},
			groups: []store.GroupRef{ref("GS Full"), ref("GS Admins"), {ID: "x", DisplayName: "Sales", ExternalID: "e-sales"}},
			want: Explanation{
				UserID: "u1", UserName: "ann", Active: true, ManagerID: "boss",
				Groups: []ExplainedGroup{
					{ID: "id-gs full", DisplayName: "GS Full", Profiled: true, Profile: "full"},
					{ID: "id-gs admins", DisplayName: "GS Admins", Profiled: true, Profile: "admins"},
					{ID: "x", DisplayName: "Sales", ExternalID: "e-sales"},
				},
				Attributes: []ExplainedAttribute{
					{Name: "Email", Value: "ann", Sources: []string{"user"}},
					{Name: "LicenseType", Value: "Full", Sources: []string{"GS Full"}},
					{Name: "SFDCUserName", Value: "ann", Sources: []string{"user"}},
					{Name: "SuperAdmin", Value: false, Sources: []string{"default"}},
					{Name: "SystemType", Value: "Internal", Sources: []string{"default"}},
					{Name: "Title", Value: "CFO", Sources: []string{"user"}},
					{Name: "permissionBundles", Value: []string{"Admin", "Basic"}, Sources: []string{"GS Admins", "user"}},
				},
				Record: record.Record{
					"Email": "ann", "SFDCUserName": "ann", "Title": "CFO", "LicenseType": "Full", "SystemType": "Internal",
					"permissionBundles": []string{"Admin", "Basic"},
				},
			},
		},
		{
			name: "defaults, and the user's own license winning",
			user: store.User{ID: "u2", UserName: "bo", Doc: map[string]any{"userName": "bo", GainsightURN: map[string]any{"LicenseType": "Full"}}},
			want: Explanation{
				UserID: "u2", UserName: "bo", Active: true, Groups: []ExplainedGroup{},
				Attributes: []ExplainedAttribute{
					{Name: "Email", Value: "bo", Sources: []string{"user"}},
					{Name: "LicenseType", Value: "Full", Sources: []string{"user"}},
					{Name: "SFDCUserName", Value: "bo", Sources: []string{"user"}},
					{Name: "SuperAdmin", Value: false, Sources: []string{"default"}},
					{Name: "SystemType", Value: "Internal", Sources: []string{"default"}},
					{Name: "permissionBundles", Value: []string{"Basic"}, Sources: []string{"default"}},
				},
				Record: record.Record{"Email": "bo", "SFDCUserName": "bo", "LicenseType": "Full", "SystemType": "Internal", "permissionBundles": []string{"Basic"}},
			},
		},
		{
			name:   "super admin and deprovisioning reason",
			cfg:    func(c *config.Config) { c.Deprovision.OnNoProfiledGroups = "deactivate" },
			user:   store.User{ID: "u3", UserName: "cy", Doc: map[string]any{"userName": "cy", "active": "false"}},
			groups: []store.GroupRef{ref("Root")},
			want: Explanation{
				UserID: "u3", UserName: "cy", Active: false, InactiveReason: "active is false", SuperAdmin: true,
				Groups: []ExplainedGroup{{ID: "id-root", DisplayName: "Root", Profiled: true, Profile: "root"}},
				Attributes: []ExplainedAttribute{
					{Name: "Email", Value: "cy", Sources: []string{"user"}},
					{Name: "LicenseType", Value: "Full", Sources: []string{"Root"}},
					{Name: "SFDCUserName", Value: "cy", Sources: []string{"user"}},
					{Name: "SuperAdmin", Value: true, Sources: []string{"Root"}},
					{Name: "SystemType", Value: "Internal", Sources: []string{"default"}},
					{Name: "permissionBundles", Value: []string{"Basic"}, Sources: []string{"default"}},
				},
				Record: record.Record{"Email": "cy", "SFDCUserName": "cy", "LicenseType": "Full", "SystemType": "Internal", "permissionBundles": []string{"Basic"}},
			},
		},
		{
			name:   "no profiled group under deactivate",
			cfg:    func(c *config.Config) { c.Deprovision.OnNoProfiledGroups = "deactivate" },
			user:   store.User{ID: "u4", UserName: "di", Doc: map[string]any{"userName": "di"}},
			groups: []store.GroupRef{ref("Sales")},
			want: Explanation{
				UserID: "u4", UserName: "di", Active: false,
				InactiveReason: "in no profiled group (deprovision.onNoProfiledGroups: deactivate)",
				Groups:         []ExplainedGroup{{ID: "id-sales", DisplayName: "Sales"}},
				Attributes: []ExplainedAttribute{
					{Name: "Email", Value: "di", Sources: []string{"user"}},
					{Name: "LicenseType", Value: "Viewer", Sources: []string{"default"}},
					{Name: "SFDCUserName", Value: "di", Sources: []string{"user"}},
					{Name: "SuperAdmin", Value: false, Sources: []string{"default"}},
					{Name: "SystemType", Value: "Internal", Sources: []string{"default"}},
					{Name: "permissionBundles", Value: []string{"Basic"}, Sources: []string{"default"}},
				},
				Record: record.Record{"Email": "di", "SFDCUserName": "di", "LicenseType": "Viewer", "SystemType": "Internal", "permissionBundles": []string{"Basic"}},
			},
		},
		{
			name:   "conflict is reported, not returned; other attributes still explained",
			user:   store.User{ID: "u5", UserName: "ed", Doc: map[string]any{"userName": "ed"}},
			groups: []store.GroupRef{ref("East"), ref("West"), ref("Beta")},
			want: Explanation{
				UserID: "u5", UserName: "ed", Active: true,
				Groups: []ExplainedGroup{
					{ID: "id-east", DisplayName: "East", Profiled: true, Profile: "east"},
					{ID: "id-west", DisplayName: "West", Profiled: true, Profile: "west"},
					{ID: "id-beta", DisplayName: "Beta", Profiled: true, Profile: "beta"},
				},
				Attributes: []ExplainedAttribute{
					{Name: "Beta__gc", Value: true, Sources: []string{"Beta"}},
					{Name: "Email", Value: "ed", Sources: []string{"user"}},
					{Name: "LicenseType", Value: "Viewer", Sources: []string{"default"}},
					{Name: "SFDCUserName", Value: "ed", Sources: []string{"user"}},
					{Name: "SuperAdmin", Value: false, Sources: []string{"default"}},
					{Name: "SystemType", Value: "Internal", Sources: []string{"default"}},
					{Name: "permissionBundles", Value: []string{"Basic"}, Sources: []string{"default"}},
				},
				Conflict: &resolve.Conflict{Field: "Region__gc", Values: []string{"east", "west"}, Groups: []string{"East", "West"}},
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
			got, err := m.Explain(tt.user, tt.groups)
			if err != nil {
				t.Fatalf("Explain: %v", err)
			}
			withUserNameAsName(&tt.want)
			if !reflect.DeepEqual(got, tt.want) {
				gj, _ := json.MarshalIndent(got, "", " ")
				wj, _ := json.MarshalIndent(tt.want, "", " ")
				t.Fatalf("Explain =\n%s\nwant\n%s", gj, wj)
			}
			if _, err := json.Marshal(got); err != nil {
				t.Fatalf("not JSON-encodable: %v", err)
			}
		})
	}
}

func TestExplainError(t *testing.T) {
	m, err := NewMapper(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Explain(store.User{UserName: "x", Doc: map[string]any{"active": 3}}, nil); err == nil {
		t.Fatal("Explain accepted an unparsable active attribute")
	}
}

// withUserNameAsName adds to want the Name every nameless user gets from
// its userName.
func withUserNameAsName(want *Explanation) {
	var un any
	for _, a := range want.Attributes {
		switch a.Name {
		case "Name":
			return
		case "SFDCUserName":
			un = a.Value
		}
	}
	if un == nil {
		return
	}
	if want.Record != nil {
		want.Record["Name"] = un
	}
	attrs := append([]ExplainedAttribute{}, want.Attributes...)
	attrs = append(attrs, ExplainedAttribute{Name: "Name", Value: un, Sources: []string{"user"}})
	sort.SliceStable(attrs, func(i, j int) bool { return attrs[i].Name < attrs[j].Name })
	want.Attributes = attrs
}
