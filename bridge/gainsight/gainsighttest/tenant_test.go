package gainsighttest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig("testdata/tenant.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKey != "yaml-key" || fmt.Sprint(c.LicenseTypes) != "[Full Viewer]" || fmt.Sprint(c.PermissionBundles) != "[Admin Support]" ||
		c.CustomFields["Remote__gc"] != FieldBoolean || c.PerHour != 100 || c.PerDay != 1000 ||
		c.HourWindow != 2*time.Second || c.DayWindow != time.Minute || len(c.Users) != 2 {
		t.Errorf("tenant = %+v", c.Tenant)
	}
	if want := (Faults{ErrorRate: 0.1, Latency: 5 * time.Millisecond, Seed: 3}); c.Faults != want {
		t.Errorf("faults = %+v, want %+v", c.Faults, want)
	}
	if fmt.Sprintf("%T", c.Users[0]["permissionBundles"]) != "[]interface {}" {
		t.Errorf("seed values not normalised: %T", c.Users[0]["permissionBundles"])
	}
}

func TestLoadTenantInvalid(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{file: "testdata/invalid-unknown-key.yaml", want: "field faultz not found"},
		{file: "testdata/invalid-field-type.yaml", want: `customFields.Region__gc: unknown type "colour"`},
		{file: "testdata/invalid-field-name.yaml", want: `customFields: "Region" does not end in __gc`},
		{file: "testdata/invalid-rate.yaml", want: "faults.dropRate: 1.5 is not between 0 and 1"},
		{file: "testdata/invalid-duration.yaml", want: "soon"},
		{file: "testdata/invalid-per-hour.yaml", want: "perHour: must not be negative"},
		{file: "testdata/missing.yaml", want: "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := LoadTenant(tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadTenant(%s) = %v, want error containing %q", tc.file, err, tc.want)
			}
		})
	}
}

// TestSeedFileServes loads each seed file and serves it.
func TestSeedFileServes(t *testing.T) {
	tests := []struct {
		file     string
		key      string
		wantGsid string
		create   map[string]any
		wantCode int
	}{
		{file: "testdata/tenant.yaml", key: "yaml-key", wantGsid: "G-1",
			create: with(newUser("s1"), "permissionBundles", []any{"Support"}, "LicenseType", "Viewer", "Remote__gc", false), wantCode: 200},
		{file: "testdata/tenant.yaml", key: "yaml-key", wantGsid: "G-1",
			create: with(newUser("s2"), "LicenseType", "Viewer_Analytics"), wantCode: 400},
		{file: "testdata/tenant.json", key: "json-key", wantGsid: "J-1",
			create: with(newUser("s3"), "Level__gc", 4.5), wantCode: 200},
		{file: "testdata/tenant.json", key: "json-key", wantGsid: "J-1",
			create: with(newUser("s4"), "permissionBundles", []any{"Support"}), wantCode: 400},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			tn, err := LoadTenant(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, tn)
			if _, ok := h.sim.User(tc.wantGsid); !ok {
				t.Fatalf("seed user %s missing: %v", tc.wantGsid, h.sim.Users())
			}
			r, err := h.doKey(http.MethodPost, "/v1/users/services", records(tc.create), "accesskey", tc.key)
			if err != nil || r.Status != tc.wantCode {
				t.Fatalf("create: %v, status %d (%s), want %d", err, r.Status, r.Data, tc.wantCode)
			}
		})
	}
}

// TestSetRefused changes a validation rule while the simulator runs.
func TestSetRefused(t *testing.T) {
	s := New(Tenant{AccessKey: "k"})
	rec := map[string]any{"Email": "a@x.com", "SFDCUserName": "a@x.com", "Name": "A", "Title": "Contractor"}
	s.SetRefused("Title", "Contractor")
	if err := s.checkRecord(rec, "", "GU_2401"); err == nil {
		t.Fatal("a refused title was accepted")
	}
	s.SetRefused("Title")
	if err := s.checkRecord(rec, "", "GU_2401"); err != nil {
		t.Fatalf("after lifting the rule: %v", err)
	}
}
