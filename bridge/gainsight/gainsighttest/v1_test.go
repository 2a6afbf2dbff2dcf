package gainsighttest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestUsersV1(t *testing.T) {
	v1User := func(n string) map[string]any {
		return map[string]any{"email": n + "@example.com", "firstName": n, "lastName": "V", "role": "User"}
	}
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   string
		wantWrites int
		check      func(t *testing.T, s *Server, data map[string]any)
	}{
		{name: "get", method: http.MethodGet, path: "/v1/users/G-ADA", wantStatus: 200,
			check: func(t *testing.T, _ *Server, d map[string]any) {
				if d["userId"] != "G-ADA" || d["email"] != "ada@example.com" || d["role"] != "User" || d["isActive"] != true || d["licenseType"] != "Viewer" {
					t.Errorf("user = %v", d)
				}
			}},
		{name: "get unknown", method: http.MethodGet, path: "/v1/users/G-NONE", wantStatus: 404},
		{name: "create", method: http.MethodPost, path: "/v1/users", body: with(v1User("vic"), "licenseType", "Viewer", "Region__gc", "APAC", "title", "Eng"), wantStatus: 200, wantWrites: 1,
			check: func(t *testing.T, s *Server, d map[string]any) {
				u, ok := s.User(fmt.Sprint(d["userId"]))
				if !ok || u["SFDCUserName"] != "vic@example.com" || u["Region__gc"] != "APAC" || fmt.Sprint(u["permissionBundles"]) != "[User]" || u["Title"] != "Eng" || u["IsActiveUser"] != true {
					t.Errorf("stored %v from answer %v", u, d)
				}
			}},
		{name: "create needs role", method: http.MethodPost, path: "/v1/users", body: with(v1User("x"), "role", nil), wantStatus: 400, wantCode: codeBulkCreate},
		{name: "create needs lastName", method: http.MethodPost, path: "/v1/users", body: with(v1User("x"), "lastName", ""), wantStatus: 400, wantCode: codeBulkCreate},
		{name: "role is case-sensitive", method: http.MethodPost, path: "/v1/users", body: with(v1User("x"), "role", "user"), wantStatus: 400, wantCode: codeBulkCreate},
		{name: "create duplicate", method: http.MethodPost, path: "/v1/users", body: with(v1User("x"), "email", "Ada@Example.com"), wantStatus: 400, wantCode: codeDuplicate},
		{name: "create super admin", method: http.MethodPost, path: "/v1/users", body: with(v1User("x"), "isSuperAdmin", true), wantStatus: 400, wantCode: codeBulkCreate},
		{name: "create unknown field", method: http.MethodPost, path: "/v1/users", body: with(v1User("x"), "shoe", 42), wantStatus: 400, wantCode: codeBulkCreate},
		{name: "create unknown license", method: http.MethodPost, path: "/v1/users", body: with(v1User("x"), "licenseType", "Gold"), wantStatus: 400, wantCode: codeBulkCreate},
		{name: "partial update", method: http.MethodPut, path: "/v1/users/G-ADA", body: map[string]any{"title": "Countess", "role": "Admin"}, wantStatus: 200, wantWrites: 1,
			check: func(t *testing.T, s *Server, d map[string]any) {
				u, _ := s.User("G-ADA")
				if u["Title"] != "Countess" || fmt.Sprint(u["permissionBundles"]) != "[Admin]" || u["Name"] != "Ada Lovelace" || d["role"] != "Admin" {
					t.Errorf("user = %v, answer %v", u, d)
				}
			}},
		{name: "update unknown", method: http.MethodPut, path: "/v1/users/G-NONE", body: map[string]any{"title": "x"}, wantStatus: 404},
		{name: "update bad role", method: http.MethodPut, path: "/v1/users/G-ADA", body: map[string]any{"role": "Root"}, wantStatus: 400, wantCode: codeBulkUpdate},
		{name: "update self manager", method: http.MethodPut, path: "/v1/users/G-ADA", body: map[string]any{"manager": "G-ADA"}, wantStatus: 400, wantCode: codeSelfManager},
		{name: "update userId", method: http.MethodPut, path: "/v1/users/G-ADA", body: map[string]any{"userId": "G-ROOT"}, wantStatus: 400, wantCode: codeBulkUpdate},
		{name: "update deactivates", method: http.MethodPut, path: "/v1/users/G-ADA", body: map[string]any{"isActive": false, "title": "gone"}, wantStatus: 200, wantWrites: 1,
			check: func(t *testing.T, s *Server, d map[string]any) {
				u, _ := s.User("G-ADA")
				if u["IsActiveUser"] != false || u["LicenseType"] != nil || u["Title"] != "gone" {
					t.Errorf("user = %v", u)
				}
			}},
		{name: "update cannot reactivate external", method: http.MethodPut, path: "/v1/users/G-EXT", body: map[string]any{"isActive": true, "title": "back"}, wantStatus: 400, wantCode: codeBulkUpdate,
			check: func(t *testing.T, s *Server, _ map[string]any) {
				if u, _ := s.User("G-EXT"); u["IsActiveUser"] != false || u["Title"] != nil {
					t.Errorf("refused update applied: %v", u)
				}
			}},
		{name: "delete deactivates", method: http.MethodDelete, path: "/v1/users/G-ADA", wantStatus: 200, wantWrites: 1,
			check: func(t *testing.T, s *Server, d map[string]any) {
				u, ok := s.User("G-ADA")
				if !ok || u["IsActiveUser"] != false || u["LicenseType"] != nil || d["isActive"] != false {
					t.Errorf("user = %v, answer %v", u, d)
				}
			}},
		{name: "delete unknown", method: http.MethodDelete, path: "/v1/users/G-NONE", wantStatus: 404},
		{name: "unknown route", method: http.MethodPatch, path: "/v1/users/G-ADA", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := seedTenant()
			tn.Users[2]["Gsid"] = "G-EXT"
			h := newHarness(t, tn)
			r := h.must(tc.method, tc.path, tc.body)
			if r.Status != tc.wantStatus || r.code() != tc.wantCode {
				t.Fatalf("answer %d %q (%v), want %d %q", r.Status, r.code(), r.ErrorDesc, tc.wantStatus, tc.wantCode)
			}
			if (r.Status == 200) != r.Result {
				t.Errorf("result = %v with status %d", r.Result, r.Status)
			}
			var writes int
			for _, op := range []string{OpV1Create, OpV1Update, OpV1Delete} {
				writes += h.sim.Stats().Records[op]
			}
			if writes != tc.wantWrites {
				t.Errorf("records written = %d, want %d", writes, tc.wantWrites)
			}
			if tc.check != nil {
				var d map[string]any
				if r.Status == 200 {
					d = r.object(t)
				}
				tc.check(t, h.sim, d)
			}
		})
	}
}

func TestUsersV1List(t *testing.T) {
	tests := []struct {
		query      string
		wantStatus int
		want       string
	}{
		{query: "", wantStatus: 200, want: "G1,G2,G3,G4,G5"},
		{query: "?page=1&pageSize=2", wantStatus: 200, want: "G1,G2"},
		{query: "?page=3&pageSize=2", wantStatus: 200, want: "G5"},
		{query: "?page=4&pageSize=2", wantStatus: 200, want: ""},
		{query: "?pageSize=1000", wantStatus: 200, want: "G1,G2,G3,G4,G5"},
		{query: "?pageSize=1001", wantStatus: 400},
		{query: "?page=0", wantStatus: 400},
		{query: "?page=x", wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			h := newHarness(t, listTenant())
			r := h.must(http.MethodGet, "/v1/users"+tc.query, nil)
			if r.Status != tc.wantStatus {
				t.Fatalf("status = %d, want %d", r.Status, tc.wantStatus)
			}
			if r.Status != 200 {
				return
			}
			d := r.object(t)
			var got []string
			for _, u := range d["records"].([]any) {
				got = append(got, fmt.Sprint(u.(map[string]any)["userId"]))
			}
			if strings.Join(got, ",") != tc.want || d["totalCount"] != float64(5) {
				t.Errorf("userIds = %v (total %v), want %s", got, d["totalCount"], tc.want)
			}
		})
	}
}
