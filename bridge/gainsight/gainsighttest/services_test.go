package gainsighttest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// recErr is an expected data.errors[] entry.
type recErr struct {
	code string
	msg  string // substring of errorMessage
}

func checkBatch(t *testing.T, r reply, wantStatus, wantOK int, wantErrs []recErr) batchData {
	t.Helper()
	if r.Status != wantStatus {
		t.Fatalf("status = %d, want %d (%s %s)", r.Status, wantStatus, r.code(), r.Data)
	}
	b := r.batch(t)
	if len(b.Success) != wantOK {
		t.Errorf("success = %d records, want %d: %v", len(b.Success), wantOK, b.Success)
	}
	if len(b.Errors) != len(wantErrs) {
		t.Fatalf("errors = %v, want %d", b.Errors, len(wantErrs))
	}
	for i, w := range wantErrs {
		got := b.Errors[i]
		if got["errorCode"] != w.code || !strings.Contains(fmt.Sprint(got["errorMessage"]), w.msg) {
			t.Errorf("errors[%d] = %v, want code %s and message containing %q", i, got, w.code, w.msg)
		}
	}
	if wantOK > 0 != r.Result {
		t.Errorf("result = %v with %d successes", r.Result, wantOK)
	}
	return b
}

func TestCreate(t *testing.T) {
	many := make([]map[string]any, 51)
	for i := range many {
		many[i] = newUser(fmt.Sprintf("u%d", i))
	}
	tests := []struct {
		name       string
		body       any
		path       string
		wantStatus int
		wantCode   string
		wantOK     int
		wantErrs   []recErr
	}{
		{name: "valid", body: records(with(newUser("bob"), "LicenseType", "Full", "permissionBundles", []any{"Admin", "User"}, "Region__gc", "EMEA", "Remote__gc", true, "Level__gc", 3, "Skills__gc", "go; sql", "Timezone", "Europe/Paris", "Manager", "G-ADA")), wantStatus: 200, wantOK: 1},
		{name: "name only", body: records(map[string]any{"Email": "n@example.com", "SFDCUserName": "n", "Name": "N"}), wantStatus: 200, wantOK: 1},
		{name: "missing email", body: records(with(newUser("x"), "Email", nil)), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "Email is required"}}},
		{name: "invalid email", body: records(with(newUser("x"), "Email", "nope")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "not a valid email"}}},
		{name: "missing SFDCUserName", body: records(with(newUser("x"), "SFDCUserName", "")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "SFDCUserName is required"}}},
		{name: "missing name", body: records(map[string]any{"Email": "x@example.com", "SFDCUserName": "x"}), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "name is required"}}},
		{name: "external without CompanyID", body: records(with(newUser("x"), "SystemType", "External")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "CompanyID is required"}}},
		{name: "external license without CompanyID", body: records(with(newUser("x"), "LicenseType", "External")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "CompanyID is required"}}},
		{name: "external with CompanyID", body: records(with(newUser("x"), "SystemType", "External", "CompanyID", "C9", "LicenseType", "External")), wantStatus: 200, wantOK: 1},
		{name: "unknown system type", body: records(with(newUser("x"), "SystemType", "Robot")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "SystemType"}}},
		{name: "unknown license", body: records(with(newUser("x"), "LicenseType", "Ful")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, `LicenseType "Ful" does not exist`}}},
		{name: "unknown bundle", body: records(with(newUser("x"), "permissionBundles", []any{"admin"})), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, `permission bundle "admin" does not exist`}}},
		{name: "bundles not a list", body: records(with(newUser("x"), "permissionBundles", "Admin")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "permissionBundles"}}},
		{name: "duplicate email ignoring case", body: records(with(newUser("x"), "Email", "ADA@example.com")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeDuplicate, "Email"}}},
		{name: "duplicate SFDCUserName ignoring case", body: records(with(newUser("x"), "SFDCUserName", "ROOT")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeDuplicate, "SFDCUserName"}}},
		{name: "duplicate of inactive user", body: records(with(newUser("x"), "Email", "ext@partner.com")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeDuplicate, "Email"}}},
		{name: "duplicate within batch", body: records(newUser("dup"), with(newUser("dup"), "SFDCUserName", "other")), wantStatus: 200, wantOK: 1, wantErrs: []recErr{{codeDuplicate, "Email"}}},
		{name: "super admin rejected", body: records(with(newUser("x"), "IsSuperAdmin", false)), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "Super admin"}}},
		{name: "gsid rejected", body: records(with(newUser("x"), "Gsid", "G-NEW")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "read-only"}}},
		{name: "unknown custom field", body: records(with(newUser("x"), "Shoe__gc", "42")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "custom field Shoe__gc does not exist"}}},
		{name: "boolean custom field as string", body: records(with(newUser("x"), "Remote__gc", "true")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "not a boolean"}}},
		{name: "number custom field as string", body: records(with(newUser("x"), "Level__gc", "3")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "not a number"}}},
		{name: "dropdown custom field as number", body: records(with(newUser("x"), "Region__gc", 1)), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "not a string"}}},
		{name: "unknown field", body: records(with(newUser("x"), "Shoe", "42")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "unknown field Shoe"}}},
		{name: "string field of wrong type", body: records(with(newUser("x"), "Title", 7)), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "Title must be a string"}}},
		{name: "bad timezone", body: records(with(newUser("x"), "Timezone", "Mars/Olympus")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "IANA"}}},
		{name: "unknown manager", body: records(with(newUser("x"), "Manager", "G-NOBODY")), wantStatus: 400, wantCode: codeBulkCreate, wantErrs: []recErr{{codeBulkCreate, "Manager"}}},
		{name: "partial success", body: records(newUser("p1"), with(newUser("p2"), "LicenseType", "Gold"), newUser("p3")), wantStatus: 200, wantOK: 2, wantErrs: []recErr{{codeBulkCreate, "Gold"}}},
		{name: "51 records", body: records(many...), wantStatus: 400, wantCode: codeBulkCreate},
		{name: "no records key", body: map[string]any{}, wantStatus: 400, wantCode: codeBulkCreate},
		{name: "invalid json", body: "{", wantStatus: 400, wantCode: codeBulkCreate},
		{name: "lookups refused", body: map[string]any{"records": []any{newUser("x")}, "lookups": map[string]any{"Manager": map[string]any{"fields": map[string]any{"Email": "ManagerEmail"}}}}, wantStatus: 400, wantCode: codeLookup},
		{name: "empty batch", body: records(), wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, seedTenant())
			before := len(h.sim.Users())
			r := h.must(http.MethodPost, "/v1/users/services?notify=false", tc.body)
			if r.code() != tc.wantCode {
				t.Errorf("errorCode = %q, want %q", r.code(), tc.wantCode)
			}
			if tc.wantOK == 0 && len(tc.wantErrs) == 0 {
				if r.Status != tc.wantStatus {
					t.Fatalf("status = %d, want %d", r.Status, tc.wantStatus)
				}
			} else {
				b := checkBatch(t, r, tc.wantStatus, tc.wantOK, tc.wantErrs)
				for _, rec := range b.Success {
					g, _ := rec["Gsid"].(string)
					stored, ok := h.sim.User(g)
					if !ok || stored["Email"] != rec["Email"] || stored["IsActiveUser"] != true {
						t.Errorf("success record %v not stored as answered (stored %v)", rec, stored)
					}
				}
				for _, e := range b.Errors {
					if e["Email"] == nil && e["SFDCUserName"] == nil {
						t.Errorf("error entry %v names no record", e)
					}
				}
			}
			if got := len(h.sim.Users()) - before; got != tc.wantOK {
				t.Errorf("users created = %d, want %d", got, tc.wantOK)
			}
			if got := h.sim.Stats().Records[OpCreate]; got != tc.wantOK {
				t.Errorf("Stats.Records[create] = %d, want %d", got, tc.wantOK)
			}
		})
	}
}

func TestCreateStoresNormalisedRecord(t *testing.T) {
	h := newHarness(t, seedTenant())
	r := h.must(http.MethodPost, "/v1/users/services", records(with(newUser("eve"), "Skills__gc", "go; sql", "Title", "")))
	b := checkBatch(t, r, 200, 1, nil)
	got := b.Success[0]
	want := map[string]any{"Name": "eve Test", "SystemType": "Internal", "IsActiveUser": true, "Skills__gc": []any{"go", "sql"}}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, has := got["Title"]; has {
		t.Errorf("empty Title stored: %v", got)
	}
	if users := h.sim.FindByEmail("EVE@example.com"); len(users) != 1 || users[0]["Gsid"] != got["Gsid"] {
		t.Errorf("FindByEmail = %v", users)
	}
}

func TestUpdate(t *testing.T) {
	tests := []struct {
		name       string
		query      string
		body       any
		wantStatus int
		wantCode   string
		wantOK     int
		wantErrs   []recErr
		check      func(t *testing.T, s *Server)
	}{
		{name: "fields by Gsid", query: "?key=Gsid", body: records(map[string]any{"Gsid": "G-ADA", "Title": "Countess", "LicenseType": "Full", "Region__gc": "EMEA"}), wantStatus: 200, wantOK: 1,
			check: func(t *testing.T, s *Server) {
				u, _ := s.User("G-ADA")
				if u["Title"] != "Countess" || u["LicenseType"] != "Full" || u["Region__gc"] != "EMEA" || u["Name"] != "Ada Lovelace" {
					t.Errorf("user = %v", u)
				}
			}},
		{name: "default key is Gsid", body: records(map[string]any{"Gsid": "G-ADA", "Title": "T"}), wantStatus: 200, wantOK: 1},
		{name: "by SFDCUserName ignoring case", query: "?key=SFDCUserName", body: records(map[string]any{"SFDCUserName": "ADA@EXAMPLE.COM", "Title": "T"}), wantStatus: 200, wantOK: 1,
			check: func(t *testing.T, s *Server) {
				u, _ := s.User("G-ADA")
				if u["SFDCUserName"] != "ada@example.com" || u["Title"] != "T" {
					t.Errorf("user = %v", u)
				}
			}},
		{name: "unsupported key", query: "?key=Email", body: records(map[string]any{"Email": "ada@example.com"}), wantStatus: 400, wantCode: codeKeyNotSupp},
		{name: "missing key field", body: records(map[string]any{"Title": "T", "Email": "ada@example.com"}), wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeBulkUpdate, "key field Gsid is required"}}},
		{name: "unknown gsid", body: records(map[string]any{"Gsid": "G-NONE", "Title": "T"}), wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeBulkUpdate, "not found"}}},
		{name: "self manager", body: records(map[string]any{"Gsid": "G-ADA", "Manager": "G-ADA"}), wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeSelfManager, "own manager"}}},
		{name: "manager set", body: records(map[string]any{"Gsid": "G-ADA", "Manager": "G-ROOT"}), wantStatus: 200, wantOK: 1},
		{name: "duplicate email", body: records(map[string]any{"Gsid": "G-ADA", "Email": "Root@example.com"}), wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeDuplicate, "Email"}}},
		{name: "own email again", body: records(map[string]any{"Gsid": "G-ADA", "Email": "ADA@example.com"}), wantStatus: 200, wantOK: 1},
		{name: "super admin write", body: records(map[string]any{"Gsid": "G-ADA", "IsSuperAdmin": true}), wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeBulkUpdate, "Super admin"}}},
		{name: "super admin keeps Full", body: records(map[string]any{"Gsid": "G-ROOT", "LicenseType": "Viewer"}), wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeBulkUpdate, "Full"}}},
		{name: "status through update", body: records(map[string]any{"Gsid": "G-ADA", "IsActiveUser": false}), wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeBulkUpdate, "status endpoint"}}},
		{name: "unchanged IsActiveUser accepted", body: records(map[string]any{"Gsid": "G-ADA", "IsActiveUser": true}), wantStatus: 200, wantOK: 1},
		{name: "gsid change", query: "?key=SFDCUserName", body: records(map[string]any{"SFDCUserName": "root", "Gsid": "G-ADA"}), wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeBulkUpdate, "cannot be changed"}}},
		{name: "null clears optional field", body: records(map[string]any{"Gsid": "G-ADA", "LicenseType": nil}), wantStatus: 200, wantOK: 1,
			check: func(t *testing.T, s *Server) {
				if u, _ := s.User("G-ADA"); u["LicenseType"] != nil {
					t.Errorf("LicenseType not cleared: %v", u)
				}
			}},
		{name: "clearing email refused", body: records(map[string]any{"Gsid": "G-ADA", "Email": nil}), wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeBulkUpdate, "Email is required"}}},
		{name: "bundles overwrite", body: map[string]any{"records": []any{map[string]any{"Gsid": "G-ADA", "permissionBundles": []any{"Manager"}}}, "permissionBundleAction": "overwrite"}, wantStatus: 200, wantOK: 1,
			check: func(t *testing.T, s *Server) {
				if u, _ := s.User("G-ADA"); fmt.Sprint(u["permissionBundles"]) != "[Manager]" {
					t.Errorf("bundles = %v", u["permissionBundles"])
				}
			}},
		{name: "bundles append", body: map[string]any{"records": []any{map[string]any{"Gsid": "G-ADA", "permissionBundles": []any{"Manager", "User"}}}, "permissionBundleAction": "append"}, wantStatus: 200, wantOK: 1,
			check: func(t *testing.T, s *Server) {
				if u, _ := s.User("G-ADA"); fmt.Sprint(u["permissionBundles"]) != "[User Manager]" {
					t.Errorf("bundles = %v", u["permissionBundles"])
				}
			}},
		{name: "bad bundle action", body: map[string]any{"records": []any{map[string]any{"Gsid": "G-ADA"}}, "permissionBundleAction": "merge"}, wantStatus: 400, wantCode: codeBulkUpdate},
		{name: "partial", body: records(map[string]any{"Gsid": "G-ADA", "Title": "ok"}, map[string]any{"Gsid": "G-ROOT", "Level__gc": "high"}), wantStatus: 200, wantOK: 1, wantErrs: []recErr{{codeBulkUpdate, "not a number"}},
			check: func(t *testing.T, s *Server) {
				if u, _ := s.User("G-ROOT"); u["Level__gc"] != nil {
					t.Errorf("refused record applied: %v", u)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, seedTenant())
			r := h.must(http.MethodPut, "/v1/users/services"+tc.query, tc.body)
			if r.code() != tc.wantCode {
				t.Errorf("errorCode = %q, want %q (%s)", r.code(), tc.wantCode, r.Data)
			}
			if tc.wantOK == 0 && len(tc.wantErrs) == 0 {
				if r.Status != tc.wantStatus {
					t.Fatalf("status = %d, want %d", r.Status, tc.wantStatus)
				}
			} else {
				b := checkBatch(t, r, tc.wantStatus, tc.wantOK, tc.wantErrs)
				for _, e := range b.Errors {
					if tc.name != "missing key field" && e["Gsid"] == nil && e["SFDCUserName"] == nil {
						t.Errorf("error entry %v names no record", e)
					}
				}
			}
			if got := h.sim.Stats().Records[OpUpdate]; got != tc.wantOK {
				t.Errorf("Stats.Records[update] = %d, want %d", got, tc.wantOK)
			}
			if tc.check != nil {
				tc.check(t, h.sim)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	extGsid := func(s *Server) string { return s.FindByEmail("ext@partner.com")[0]["Gsid"].(string) }
	type step struct {
		status     string
		gsids      func(s *Server) any
		wantStatus int
		wantCode   string
		wantOK     int
		wantErrs   []recErr
	}
	ids := func(g ...string) func(*Server) any { return func(*Server) any { return g } }
	tests := []struct {
		name  string
		steps []step
		check func(t *testing.T, s *Server)
	}{
		{name: "deactivate strips license, reactivate keeps none",
			steps: []step{
				{status: "false", gsids: ids("G-ADA"), wantStatus: 200, wantOK: 1},
				{status: "true", gsids: ids("G-ADA"), wantStatus: 200, wantOK: 1},
			},
			check: func(t *testing.T, s *Server) {
				u, _ := s.User("G-ADA")
				if u["IsActiveUser"] != true || u["LicenseType"] != nil {
					t.Errorf("user = %v, want active without license", u)
				}
			}},
		{name: "deactivate is idempotent",
			steps: []step{
				{status: "false", gsids: ids("G-ADA", "G-ADA"), wantStatus: 200, wantOK: 2},
			},
			check: func(t *testing.T, s *Server) {
				if u, _ := s.User("G-ADA"); u["IsActiveUser"] != false || u["LicenseType"] != nil {
					t.Errorf("user = %v", u)
				}
			}},
		{name: "super admin reactivated with Full",
			steps: []step{
				{status: "false", gsids: ids("G-ROOT"), wantStatus: 200, wantOK: 1},
				{status: "true", gsids: ids("G-ROOT"), wantStatus: 200, wantOK: 1},
			},
			check: func(t *testing.T, s *Server) {
				if u, _ := s.User("G-ROOT"); u["LicenseType"] != "Full" {
					t.Errorf("super admin = %v", u)
				}
			}},
		{name: "external cannot be reactivated",
			steps: []step{{status: "true", gsids: func(s *Server) any { return []string{extGsid(s)} }, wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeBulkUpdate, "External"}}}},
			check: func(t *testing.T, s *Server) {
				if u := s.FindByEmail("ext@partner.com")[0]; u["IsActiveUser"] != false {
					t.Errorf("external user = %v", u)
				}
			}},
		{name: "seeded inactive External license cannot be reactivated",
			steps: []step{{status: "true", gsids: ids("G-OLD"), wantStatus: 400, wantCode: codeBulkUpdate, wantErrs: []recErr{{codeBulkUpdate, "External"}}}}},
		{name: "unknown gsid partial",
			steps: []step{{status: "false", gsids: ids("G-ADA", "G-NONE"), wantStatus: 200, wantOK: 1, wantErrs: []recErr{{codeBulkUpdate, "not found"}}}}},
		{name: "bad status", steps: []step{{status: "maybe", gsids: ids("G-ADA"), wantStatus: 400, wantCode: codeBulkUpdate}}},
		{name: "not an array", steps: []step{{status: "false", gsids: func(*Server) any { return map[string]any{"gsids": []string{"G-ADA"}} }, wantStatus: 400, wantCode: codeBulkUpdate}}},
		{name: "51 gsids", steps: []step{{status: "false", gsids: func(*Server) any {
			g := make([]string, 51)
			for i := range g {
				g[i] = "G-ADA"
			}
			return g
		}, wantStatus: 400, wantCode: codeBulkUpdate}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := seedTenant()
			tn.Users = append(tn.Users, map[string]any{"Gsid": "G-OLD", "Email": "old@example.com", "SFDCUserName": "old", "Name": "Old", "LicenseType": "External", "CompanyID": "C2", "IsActiveUser": false})
			h := newHarness(t, tn)
			for i, st := range tc.steps {
				r := h.must(http.MethodPut, "/v1/users/services/status?status="+st.status, st.gsids(h.sim))
				if r.code() != st.wantCode {
					t.Errorf("step %d: errorCode = %q, want %q", i, r.code(), st.wantCode)
				}
				if st.wantOK == 0 && len(st.wantErrs) == 0 {
					if r.Status != st.wantStatus {
						t.Errorf("step %d: status = %d, want %d", i, r.Status, st.wantStatus)
					}
					continue
				}
				checkBatch(t, r, st.wantStatus, st.wantOK, st.wantErrs)
			}
			if tc.check != nil {
				tc.check(t, h.sim)
			}
		})
	}
}
