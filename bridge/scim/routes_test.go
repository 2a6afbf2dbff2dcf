package scim

import (
	"net/http"
	"net/http/httptest"
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
		{"POST", "/scim/v2/ServiceProviderConfig", "GET, HEAD"},
		{"PUT", "/scim/v2/ServiceProviderConfig", "GET, HEAD"},
		{"POST", "/scim/v2/ResourceTypes", "GET, HEAD"},
		{"DELETE", "/scim/v2/ResourceTypes/User", "GET, HEAD"},
		{"POST", "/scim/v2/Schemas", "GET, HEAD"},
		{"PATCH", "/scim/v2/Schemas/" + URNUser, "GET, HEAD"},
		{"PATCH", "/scim/v2/Users", "GET, POST, HEAD"},
		{"DELETE", "/scim/v2/Groups", "GET, POST, HEAD"},
		{"POST", "/scim/v2/Users/" + uid, "GET, PUT, PATCH, DELETE, HEAD"},
		{"POST", "/scim/v2/Groups/" + gid, "GET, PUT, PATCH, DELETE, HEAD"},
		{"GET", "/scim/v2/Users/.search", "POST"},
		{"PUT", "/scim/v2/Groups/.search", "POST"},
		{"GET", "/scim/v2/.search", "POST"},
		{"POST", "/scim/v2/", "GET, HEAD"},
		{"DELETE", "/scim/v2", "GET, HEAD"},
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
	// HEAD is served wherever GET is.
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodHead, srv.URL+"/scim/v2/Users/"+uid, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Etag") != `W/"1"` {
		t.Errorf("HEAD: %d %v", resp.StatusCode, resp.Header)
	}
	// RFC 7644 §3.11: /Me is not implemented, which is 501.
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		if r := f.do(m, "/scim/v2/Me", ""); r.status != http.StatusNotImplemented {
			t.Errorf("%s /Me: status %d: %s", m, r.status, r.raw)
		}
	}
}

// TestIfNoneMatch: RFC 7644 §3.14 — a GET whose If-None-Match names the
// resource's current version is 304 Not Modified without a body; any
// other version gets the resource.
func TestIfNoneMatch(t *testing.T) {
	f := newFixture(t, nil)
	uid := f.createUser("inm@example.com", "")
	gid := f.createGroup("INM", uid)
	for _, path := range []string{"/scim/v2/Users/" + uid, "/scim/v2/Groups/" + gid} {
		for _, c := range []struct {
			header string
			status int
		}{
			{`W/"1"`, http.StatusNotModified},
			{`"1"`, http.StatusNotModified},
			{`W/"7", W/"1"`, http.StatusNotModified},
			{`*`, http.StatusNotModified},
			{`W/"2"`, http.StatusOK},
		} {
			r := f.do(http.MethodGet, path, "", "If-None-Match", c.header)
			if r.status != c.status {
				t.Errorf("GET %s If-None-Match %s: status %d, want %d", path, c.header, r.status, c.status)
			}
			if c.status == http.StatusNotModified && (r.raw != "" || r.header.Get("Etag") != `W/"1"`) {
				t.Errorf("304 with body %q, ETag %q", r.raw, r.header.Get("Etag"))
			}
			if c.status == http.StatusOK && r.body["id"] == nil {
				t.Errorf("200 without the resource: %s", r.raw)
			}
		}
	}
	r := f.do(http.MethodGet, "/scim/v2/Users/nope", "", "If-None-Match", "*")
	if r.status != http.StatusNotFound {
		t.Errorf("missing user with If-None-Match *: %d", r.status)
	}
	r = f.do(http.MethodGet, "/scim/v2/Users", "", "If-None-Match", "*")
	if r.status != http.StatusOK || at(r.body, "totalResults") != jsonNum(1) {
		t.Errorf("list with If-None-Match: %d %s", r.status, r.raw)
	}
}

// TestWriteAnswersHonourAttributes: RFC 7644 §3.9 — attributes and
// excludedAttributes apply to every answer that carries a resource, writes
// included.
func TestWriteAnswersHonourAttributes(t *testing.T) {
	f := newFixture(t, nil)
	r := f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Users?attributes=userName",
		`{"userName":"attrs@example.com","title":"Engineer","emails":[{"value":"attrs@example.com","type":"work"}]}`)
	if r.body["userName"] != "attrs@example.com" || r.body["title"] != nil || r.body["emails"] != nil || r.body["id"] == nil {
		t.Errorf("POST ?attributes=userName: %s", r.raw)
	}
	id := r.body["id"].(string)
	r = f.mustDo(http.StatusOK, http.MethodPut, "/scim/v2/Users/"+id+"?excludedAttributes=emails",
		`{"userName":"attrs@example.com","title":"Lead","emails":[{"value":"attrs@example.com","type":"work"}]}`)
	if r.body["title"] != "Lead" || r.body["emails"] != nil {
		t.Errorf("PUT ?excludedAttributes=emails: %s", r.raw)
	}
	r = f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+id+"?attributes=title",
		`{`+patchSchema+`,"Operations":[{"op":"replace","path":"title","value":"CTO"}]}`)
	if r.body["title"] != "CTO" || r.body["userName"] != nil {
		t.Errorf("PATCH ?attributes=title: %s", r.raw)
	}
	g := f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Groups?excludedAttributes=members",
		`{"displayName":"Attrs","members":[{"value":"`+id+`"}]}`)
	if g.body["displayName"] != "Attrs" || g.body["members"] != nil {
		t.Errorf("POST group ?excludedAttributes=members: %s", g.raw)
	}
	g = f.mustDo(http.StatusOK, http.MethodPut, "/scim/v2/Groups/"+g.body["id"].(string)+"?excludedAttributes=members",
		`{"displayName":"Attrs","members":[{"value":"`+id+`"}]}`)
	if g.body["members"] != nil {
		t.Errorf("PUT group ?excludedAttributes=members: %s", g.raw)
	}
}
