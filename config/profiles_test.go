package config

import (
	"reflect"
	"testing"
	"time"
)

func TestDiffProfiles(t *testing.T) {
	viewers := GroupProfile{Name: "viewers", DisplayName: "Gainsight Viewers", LicenseType: "Viewer"}
	admins := GroupProfile{Name: "admins", DisplayName: "Gainsight Admins", LicenseType: "Full", Roles: []string{"Admin", "Manager"}}
	managers := GroupProfile{ExternalID: "00g1", Roles: []string{"Manager"}}
	us := GroupProfile{DisplayName: "Region US", Fields: map[string]any{"Region__gc": []any{"US", "EU"}}}
	both := GroupProfile{DisplayName: "Sales", ExternalID: "00g2", LicenseType: "Viewer_Analytics"}

	with := func(p GroupProfile, f func(*GroupProfile)) GroupProfile {
		f(&p)
		return p
	}
	tests := []struct {
		name     string
		old, new []GroupProfile
		want     []GroupRef
	}{
		{"identical", []GroupProfile{viewers, admins, managers}, []GroupProfile{viewers, admins, managers}, nil},
		{"reordered", []GroupProfile{viewers, admins}, []GroupProfile{admins, viewers}, nil},
		{"renamed profile only", []GroupProfile{viewers}, []GroupProfile{with(viewers, func(p *GroupProfile) { p.Name = "v" })}, nil},
		{"roles reordered", []GroupProfile{admins}, []GroupProfile{with(admins, func(p *GroupProfile) { p.Roles = []string{"Manager", "Admin"} })}, nil},
		{"picklist reordered, decoded vs typed", []GroupProfile{us}, []GroupProfile{with(us, func(p *GroupProfile) { p.Fields = map[string]any{"Region__gc": []string{"EU", "US"}} })}, nil},
		{"displayName case changed", []GroupProfile{viewers}, []GroupProfile{with(viewers, func(p *GroupProfile) { p.DisplayName = "GAINSIGHT VIEWERS" })}, nil},
		{"added", []GroupProfile{viewers}, []GroupProfile{viewers, admins}, []GroupRef{{DisplayName: "Gainsight Admins"}}},
		{"removed", []GroupProfile{viewers, managers}, []GroupProfile{viewers}, []GroupRef{{ExternalID: "00g1"}}},
		{"license changed", []GroupProfile{viewers, admins}, []GroupProfile{with(viewers, func(p *GroupProfile) { p.LicenseType = "Viewer_Analytics" }), admins}, []GroupRef{{DisplayName: "Gainsight Viewers"}}},
		{"role removed", []GroupProfile{admins}, []GroupProfile{with(admins, func(p *GroupProfile) { p.Roles = []string{"Admin"} })}, []GroupRef{{DisplayName: "Gainsight Admins"}}},
		{"superAdmin set", []GroupProfile{admins}, []GroupProfile{with(admins, func(p *GroupProfile) { p.SuperAdmin = new(true) })}, []GroupRef{{DisplayName: "Gainsight Admins"}}},
		{"field value changed", []GroupProfile{us}, []GroupProfile{with(us, func(p *GroupProfile) { p.Fields = map[string]any{"Region__gc": []string{"US"}} })}, []GroupRef{{DisplayName: "Region US"}}},
		{"matcher moved", []GroupProfile{viewers}, []GroupProfile{with(viewers, func(p *GroupProfile) { p.DisplayName = "Viewers" })}, []GroupRef{{DisplayName: "Gainsight Viewers"}, {DisplayName: "Viewers"}}},
		{"both matchers reported, externalIds first", []GroupProfile{viewers}, []GroupProfile{viewers, both}, []GroupRef{{ExternalID: "00g2"}, {DisplayName: "Sales"}}},
		{"from nothing", nil, []GroupProfile{viewers, managers}, []GroupRef{{ExternalID: "00g1"}, {DisplayName: "Gainsight Viewers"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DiffProfiles(tt.old, tt.new)
			if len(got) == 0 && len(tt.want) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DiffProfiles = %+v, want %+v", got, tt.want)
			}
			if eq := ProfilesEqual(tt.old, tt.new); eq != (len(tt.want) == 0) {
				t.Errorf("ProfilesEqual = %v", eq)
			}
		})
	}
}

func TestProfileFor(t *testing.T) {
	cfg := Default()
	cfg.Groups = []GroupProfile{
		{Name: "by-name", DisplayName: "Gainsight Admins", LicenseType: "Full"},
		{Name: "by-id", ExternalID: "00gADMINS", LicenseType: "Viewer_Analytics"},
	}
	tests := []struct {
		displayName, externalID string
		want                    string
		ok                      bool
	}{
		{"Gainsight Admins", "", "by-name", true},
		{"gainsight ADMINS", "other", "by-name", true},
		{"Gainsight Admins", "00gADMINS", "by-id", true}, // externalId wins
		{"Anything", "00gADMINS", "by-id", true},
		{"Anything", "00gadmins", "", false}, // externalId is case-exact
		{"", "", "", false},
		{"Gainsight Admin", "", "", false},
	}
	for _, tt := range tests {
		got, ok := cfg.ProfileFor(tt.displayName, tt.externalID)
		if ok != tt.ok || got.Name != tt.want {
			t.Errorf("ProfileFor(%q, %q) = %q, %v; want %q, %v", tt.displayName, tt.externalID, got.Name, ok, tt.want, tt.ok)
		}
	}
}

func TestLicenseRank(t *testing.T) {
	cfg := Default()
	tests := []struct {
		license string
		rank    int
		ok      bool
	}{
		{"Internal_Collaborator", 0, true},
		{"Viewer", 1, true},
		{"Viewer_Analytics", 2, true},
		{"Full", 3, true},
		{"External", -1, true},
		{"Ful", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		rank, ok := cfg.LicenseRank(tt.license)
		if rank != tt.rank || ok != tt.ok {
			t.Errorf("LicenseRank(%q) = %d, %v; want %d, %v", tt.license, rank, ok, tt.rank, tt.ok)
		}
	}
}

func TestNeedsFullResync(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   bool
	}{
		{"nothing", func(*Config) {}, false},
		{"group profiles only", func(c *Config) { c.Groups = []GroupProfile{{DisplayName: "A", LicenseType: "Full"}} }, false},
		{"tokens and log level", func(c *Config) { c.SCIM.Tokens = nil; c.Log.Level = "debug" }, false},
		{"default license", func(c *Config) { c.Defaults.LicenseType = "Full" }, true},
		{"default bundles", func(c *Config) { c.Defaults.PermissionBundles = []string{"User"} }, true},
		{"license priority", func(c *Config) { c.Licenses.Priority = []string{"Full", "Viewer"} }, true},
		{"custom field values", func(c *Config) { c.CustomFields = []CustomField{{Name: "A__gc", Type: FieldString}} }, true},
		{"mapping", func(c *Config) { c.Mapping.UserNameField = "Email" }, true},
		{"deprovision", func(c *Config) { c.Deprovision.OnNoProfiledGroups = DeprovisionDeactivate }, true},
		{"users-v1 default role", func(c *Config) { c.Gainsight.DefaultRole = "User" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := Default()
			cur := Default()
			tt.change(&cur)
			if got := NeedsFullResync(&old, &cur); got != tt.want {
				t.Errorf("NeedsFullResync = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateProgrammatic(t *testing.T) {
	valid := func() Config {
		c := Default()
		c.SCIM.Tokens = []Token{{Name: "t", SHA256: Secret(HashToken("t"))}}
		c.Gainsight.BaseURL = "https://t.example.com"
		c.Gainsight.AccessKey = "k"
		c.CustomFields = []CustomField{
			{Name: "Region__gc", Type: FieldMultiPicklist, Values: []string{"US", "EU"}},
			{Name: "Beta__gc", Type: FieldBoolean},
			{Name: "Seats__gc", Type: FieldNumber},
		}
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"valid", func(*Config) {}, nil},
		{"typed []string multiPicklist", func(c *Config) {
			c.Groups = []GroupProfile{{DisplayName: "US", Fields: map[string]any{"Region__gc": []string{"US"}}}}
		}, nil},
		{"decoded []any multiPicklist", func(c *Config) {
			c.Groups = []GroupProfile{{DisplayName: "US", Fields: map[string]any{"Region__gc": []any{"US", "EU"}}}}
		}, nil},
		{"list with a non-string", func(c *Config) {
			c.Groups = []GroupProfile{{DisplayName: "US", Fields: map[string]any{"Region__gc": []any{"US", 3}}}}
		}, []string{"groups[0].fields.Region__gc: want a list of values for a multiPicklist field, got a list"}},
		{"boolean and number", func(c *Config) {
			c.Groups = []GroupProfile{{DisplayName: "Beta", Fields: map[string]any{"Beta__gc": true, "Seats__gc": 2.5}}}
		}, nil},
		{"boolean missing value", func(c *Config) {
			c.Groups = []GroupProfile{{DisplayName: "Beta", Fields: map[string]any{"Beta__gc": nil}}}
		}, []string{"groups[0].fields.Beta__gc: want true or false for a boolean field, got nothing"}},
		{"superAdmin differs from unset", func(c *Config) {
			c.Groups = []GroupProfile{{DisplayName: "A", LicenseType: "Full"}, {DisplayName: "B", LicenseType: "Full", SuperAdmin: new(true)}}
		}, nil},
		{"two empty profiles", func(c *Config) {
			c.Groups = []GroupProfile{{DisplayName: "A"}, {ExternalID: "B"}}
		}, []string{"groups[1]: same attributes as groups[0]; Gainsight forbids two groups with identical attribute sets"}},
		{"External license in defaults", func(c *Config) { c.Defaults.LicenseType = LicenseExternal }, nil},
		{"basePath trailing slash", func(c *Config) { c.SCIM.BasePath = "/scim/v2/" }, []string{`scim.basePath: must not end with "/", got "/scim/v2/"`}},
		{"backoff order", func(c *Config) { c.Sync.MaxBackoff = time.Second }, []string{"sync.maxBackoff: must not be less than sync.minBackoff (30s), got 1s"}},
		{"unlimited budget, default windows", func(c *Config) { c.Gainsight.Budget = Budget{} }, nil},
		{"negative window", func(c *Config) { c.Gainsight.Budget.WindowHour = -time.Minute },
			[]string{"gainsight.budget.windowHour: must not be negative, got -1m0s"}},
		{"reconcile off, no batch window", func(c *Config) { c.Sync.ReconcileInterval = 0; c.Sync.BatchWindow = 0 }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			var got []string
			if err != nil {
				got = err.(ValidationErrors).Strings()
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate:\n%s\nwant:\n%s", join(got), join(tt.want))
			}
		})
	}
}

// TestBudgetReserved: the urgent share rounds up to whole calls and never
// takes a window's last call.
func TestBudgetReserved(t *testing.T) {
	tests := []struct{ percent, limit, want int }{
		{10, 100, 10}, {10, 1000, 100}, {10, 14, 2}, {10, 5, 1}, {10, 1, 0}, {50, 2, 1}, {0, 100, 0}, {10, 0, 0},
	}
	for _, tt := range tests {
		if got := (Budget{ReservedPercent: tt.percent}).Reserved(tt.limit); got != tt.want {
			t.Errorf("%d%% of %d = %d, want %d", tt.percent, tt.limit, got, tt.want)
		}
	}
}
