package scim

import (
	"net/http"
	"testing"
)

// TestMethodNotAllowed: a method an existing endpoint does not serve is
// 405 with an Allow header naming the methods it does serve and a SCIM
// error body, never 404 (which would tell a client the endpoint is
// missing). Authentication still comes first.
func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, nil)
	uid := f.createUser("allow@example.com", "")
	gid := f.createGroup("Allow", uid)
	cases := []struct{ method, path, allow string }{
		{"POST", "/scim/v2/ServiceProviderConfig", "GET"},
		{"PUT", "/scim/v2/ServiceProviderConfig", "GET"},
		{"POST", "/scim/v2/ResourceTypes", "GET"},
		{"DELETE", "/scim/v2/ResourceTypes/User", "GET"},
		{"POST", "/scim/v2/Schemas", "GET"},
		{"PATCH", "/scim/v2/Schemas/" + URNUser, "GET"},
		{"PATCH", "/scim/v2/Users", "GET, POST"},
		{"DELETE", "/scim/v2/Groups", "GET, POST"},
		{"POST", "/scim/v2/Users/" + uid, "GET, PUT, PATCH, DELETE"},
		{"POST", "/scim/v2/Groups/" + gid, "GET, PUT, PATCH, DELETE"},
		{"GET", "/scim/v2/Users/.search", "POST"},
		{"PUT", "/scim/v2/Groups/.search", "POST"},
		{"GET", "/scim/v2/.search", "POST"},
		{"POST", "/scim/v2/", "GET"},
		{"DELETE", "/scim/v2", "GET"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := f.do(c.method, c.path, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x@example.com"}`)
			if r.status != http.StatusMethodNotAllowed {
				t.Fatalf("status %d, want 405: %s", r.status, r.raw)
			}
			if got := r.header.Get("Allow"); got != c.allow {
				t.Errorf("Allow %q, want %q", got, c.allow)
			}
			if at(r.body, "status") != "405" || at(r.body, "schemas", "0") != "urn:ietf:params:scim:api:messages:2.0:Error" {
				t.Errorf("body is not a SCIM error: %s", r.raw)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/scim+json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	if r := f.do("POST", "/scim/v2/Schemas", "", "Authorization", ""); r.status != http.StatusUnauthorized {
		t.Errorf("unauthenticated: status %d", r.status)
	}
	// Nothing was written.
	if r := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users", ""); at(r.body, "totalResults") != jsonNum(1) {
		t.Errorf("users: %s", r.raw)
	}
	// RFC 7644 §3.11: /Me is not implemented, which is 501.
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		if r := f.do(m, "/scim/v2/Me", ""); r.status != http.StatusNotImplemented {
			t.Errorf("%s /Me: status %d: %s", m, r.status, r.raw)
		}
	}
}
