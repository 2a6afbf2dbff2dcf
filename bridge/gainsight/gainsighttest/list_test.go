package gainsighttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// listTenant has five users to filter and page over.
func listTenant() Tenant {
	t := seedTenant()
	t.Users = []map[string]any{
		{"Gsid": "G1", "Email": "a@x.com", "SFDCUserName": "a", "Name": "A", "LicenseType": "Full", "Region__gc": "EMEA", "permissionBundles": []any{"Admin", "User"}},
		{"Gsid": "G2", "Email": "b@x.com", "SFDCUserName": "b", "Name": "B", "LicenseType": "Viewer", "Region__gc": "AMER"},
		{"Gsid": "G3", "Email": "c@y.com", "SFDCUserName": "c", "Name": "C", "LicenseType": "Viewer", "Region__gc": "EMEA", "permissionBundles": []any{"User"}},
		{"Gsid": "G4", "Email": "d@y.com", "SFDCUserName": "d", "Name": "D", "IsActiveUser": false},
		{"Gsid": "G5", "Email": "E@Y.com", "SFDCUserName": "e", "Name": "E", "LicenseType": "Full", "Remote__gc": true},
	}
	return t
}

func cond(name, op string, values ...any) map[string]any {
	return map[string]any{"name": name, "operator": op, "value": values}
}

func where(expr string, conds ...map[string]any) map[string]any {
	return map[string]any{"where": map[string]any{"conditions": conds, "expression": expr}}
}

func gsidsOf(t *testing.T, r reply) ([]string, map[string]any) {
	t.Helper()
	var d struct {
		Records []map[string]any `json:"records"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatalf("list data %s: %v", r.Data, err)
	}
	var out []string
	for _, rec := range d.Records {
		out = append(out, fmt.Sprint(rec["Gsid"]))
	}
	return out, r.object(t)
}

func TestList(t *testing.T) {
	tests := []struct {
		name       string
		body       map[string]any
		wantStatus int
		want       string // Gsids, comma separated, in order
		wantTotal  any
		check      func(t *testing.T, data map[string]any)
	}{
		{name: "all", body: map[string]any{}, wantStatus: 200, want: "G1,G2,G3,G4,G5"},
		{name: "EQ any of values ignoring case", body: where("A", cond("Email", "EQ", "b@x.com", "e@y.com")), wantStatus: 200, want: "G2,G5"},
		{name: "EQ on list field", body: where("A", cond("permissionBundles", "EQ", "User")), wantStatus: 200, want: "G1,G3"},
		{name: "EQ boolean", body: where("A", cond("IsActiveUser", "EQ", false)), wantStatus: 200, want: "G4"},
		{name: "EQ scalar value", body: map[string]any{"where": map[string]any{"conditions": []any{map[string]any{"name": "Gsid", "operator": "EQ", "value": "G3"}}}}, wantStatus: 200, want: "G3"},
		{name: "NE", body: where("A", cond("LicenseType", "NE", "Viewer")), wantStatus: 200, want: "G1,G4,G5"},
		{name: "CONTAINS", body: where("A", cond("Email", "contains", "@y.")), wantStatus: 200, want: "G3,G4,G5"},
		{name: "IS_NULL", body: where("A", map[string]any{"name": "Region__gc", "operator": "IS_NULL"}), wantStatus: 200, want: "G4,G5"},
		{name: "AND", body: where("A AND B", cond("Region__gc", "EQ", "EMEA"), cond("LicenseType", "EQ", "Viewer")), wantStatus: 200, want: "G3"},
		{name: "OR", body: where("A OR B", cond("Email", "EQ", "a@x.com"), cond("SFDCUserName", "EQ", "d")), wantStatus: 200, want: "G1,G4"},
		{name: "AND binds tighter than OR", body: where("A OR B AND C", cond("Gsid", "EQ", "G5"), cond("Region__gc", "EQ", "EMEA"), cond("LicenseType", "EQ", "Full")), wantStatus: 200, want: "G1,G5"},
		{name: "parentheses", body: where("(A OR B) AND C", cond("Gsid", "EQ", "G5"), cond("Region__gc", "EQ", "EMEA"), cond("LicenseType", "EQ", "Viewer")), wantStatus: 200, want: "G3"},
		{name: "without parentheses", body: where("A OR B AND C", cond("Gsid", "EQ", "G5"), cond("Region__gc", "EQ", "EMEA"), cond("LicenseType", "EQ", "Viewer")), wantStatus: 200, want: "G3,G5"},
		{name: "no expression ANDs", body: where("", cond("Region__gc", "EQ", "EMEA"), cond("LicenseType", "EQ", "Full")), wantStatus: 200, want: "G1"},
		{name: "aliases", body: where("X or Y", map[string]any{"name": "Gsid", "alias": "X", "operator": "EQ", "value": []any{"G2"}}, map[string]any{"name": "Gsid", "alias": "Y", "operator": "EQ", "value": []any{"G4"}}), wantStatus: 200, want: "G2,G4"},
		{name: "page 1 of 2", body: map[string]any{"limit": 2, "page": 1, "includeTotal": true}, wantStatus: 200, want: "G3,G4", wantTotal: float64(5)},
		{name: "last page short", body: map[string]any{"limit": 2, "page": 2, "includeTotal": true}, wantStatus: 200, want: "G5", wantTotal: float64(5)},
		{name: "page past end", body: map[string]any{"limit": 2, "page": 3}, wantStatus: 200, want: "",
			check: func(t *testing.T, d map[string]any) {
				if _, has := d["totalCount"]; has {
					t.Errorf("totalCount without includeTotal: %v", d)
				}
			}},
		{name: "total counts matches", body: with(where("A", cond("LicenseType", "EQ", "Full")), "limit", 1, "includeTotal", true), wantStatus: 200, want: "G1", wantTotal: float64(2)},
		{name: "select", body: with(where("A", cond("Gsid", "EQ", "G1")), "select", []any{"Email", "Region__gc"}), wantStatus: 200, want: "G1",
			check: func(t *testing.T, d map[string]any) {
				rec := d["records"].([]any)[0].(map[string]any)
				keys := make([]string, 0, len(rec))
				for k := range rec {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				if strings.Join(keys, ",") != "Email,Gsid,Region__gc" {
					t.Errorf("selected fields = %v", keys)
				}
			}},
		{name: "unknown operator", body: where("A", cond("Email", "LIKE", "a")), wantStatus: 400},
		{name: "expression names unknown condition", body: where("A AND B", cond("Email", "EQ", "a")), wantStatus: 400},
		{name: "unbalanced expression", body: where("(A", cond("Email", "EQ", "a")), wantStatus: 400},
		{name: "trailing tokens", body: where("A A", cond("Email", "EQ", "a")), wantStatus: 400},
		{name: "no value", body: where("A", map[string]any{"name": "Email", "operator": "EQ"}), wantStatus: 400},
		{name: "limit too big", body: map[string]any{"limit": 1001}, wantStatus: 400},
		{name: "negative page", body: map[string]any{"page": -1}, wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, listTenant())
			r := h.must(http.MethodPost, "/v1/users/services/list", tc.body)
			if r.Status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%v)", r.Status, tc.wantStatus, r.ErrorDesc)
			}
			if r.Status != 200 {
				if r.Result || r.ErrorDesc == nil {
					t.Errorf("refusal without errorDesc or with result true: %+v", r)
				}
				return
			}
			got, data := gsidsOf(t, r)
			if strings.Join(got, ",") != tc.want {
				t.Errorf("Gsids = %v, want %s", got, tc.want)
			}
			if tc.wantTotal != nil && data["totalCount"] != tc.wantTotal {
				t.Errorf("totalCount = %v, want %v", data["totalCount"], tc.wantTotal)
			}
			if tc.check != nil {
				tc.check(t, data)
			}
			if c := h.sim.Stats().Calls[OpList]; c != 1 {
				t.Errorf("Stats.Calls[list] = %d", c)
			}
		})
	}
}
