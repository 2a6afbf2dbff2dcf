package scim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// createBodies are POST /Users bodies as identity providers send them, and
// some the bridge or the library refuses.
var createBodies = []struct {
	name, body string
	status     int
}{
	{"okta", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","name":{"givenName":"Ann","familyName":"Lee"},` +
		`"emails":[{"primary":true,"value":"ann@example.com","type":"work"}],"displayName":"Ann Lee","locale":"en-US","externalId":"00u1","groups":[],"active":true}`, http.StatusCreated},
	{"entra", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],` +
		`"externalId":"e-bob","userName":"bob@example.com","active":"True","displayName":"Bob","title":"Boss 🙂 <&>",` +
		`"emails":[{"primary":true,"type":"work","value":"bob@example.com"}],"name":{"formatted":"Bob \u2028 B","familyName":"B","givenName":"Bob"},` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","employeeNumber":"7"}}`, http.StatusCreated},
	{"no schemas, unknown attributes, read-only id", `{"userName":"cid@example.com","id":"mine","nickName":"c\"id","x-count":12345678901234567890,"emails":"cid@example.com"}`, http.StatusCreated},
	{"inactive, empty externalId", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dee@example.com","active":false,"externalId":""}`, http.StatusCreated},
	{"userName taken in another case", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ANN@example.com"}`, http.StatusConflict},
	{"not an email", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"eve@example.com","emails":[{"value":"Eve <eve@example.com>"}]}`, http.StatusBadRequest},
	{"refused by the validator", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"fay@example.com","timezone":"Mars/Olympus"}`, http.StatusBadRequest},
	{"active not a boolean", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"gus@example.com","active":"maybe"}`, http.StatusBadRequest},
	{"extension of the wrong type", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"hal@example.com",` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":7}}`, http.StatusBadRequest},
	{"no userName", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"Ivy"}`, http.StatusBadRequest},
}

// countedIDs gives the users of a fixture the ids u-1, u-2, …
func countedIDs(o *Options) {
	n := 0
	o.NewID = func() string { n++; return fmt.Sprintf("u-%d", n) }
}

// TestFastCreateMatchesLibrary checks that a create answered without the
// library (fastcreate.go) is what the library answers, and stores the
// same user: two bridges with the same clock and ids are sent the same
// bodies, one as identity providers send them, the other with an
// excludedAttributes that hands them to the library.
func TestFastCreateMatchesLibrary(t *testing.T) {
	fast := newFixture(t, nil, countedIDs)
	lib := newFixture(t, nil, countedIDs)
	for _, tc := range createBodies {
		a := fast.do(http.MethodPost, "/scim/v2/Users", tc.body)
		b := lib.do(http.MethodPost, "/scim/v2/Users?excludedAttributes=nickNameX", tc.body)
		if a.status != tc.status || b.status != tc.status {
			t.Errorf("%s: status %d, the library's %d, want %d: %s", tc.name, a.status, b.status, tc.status, a.raw)
		}
		if a.raw != b.raw {
			t.Errorf("%s:\n%s\nthe library answers:\n%s", tc.name, a.raw, b.raw)
		}
		for _, h := range []string{"Content-Type", "Location", "Etag"} {
			if got, want := a.header.Get(h), b.header.Get(h); got != want {
				t.Errorf("%s: %s %q, the library's %q", tc.name, h, got, want)
			}
		}
	}
	// What was stored is the same too.
	a := fast.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users", "")
	b := lib.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users", "")
	if a.raw != b.raw {
		t.Errorf("stored users:\n%s\nthrough the library:\n%s", a.raw, b.raw)
	}
	if n := fmt.Sprint(a.body["totalResults"]); n != "4" {
		t.Errorf("%v users stored, want 4", n)
	}
}

// TestServeCreateAnswersValidBodies: serveCreate answers a body the
// library's validation accepts, and leaves one it refuses to the library
// untouched.
func TestServeCreateAnswersValidBodies(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range createBodies {
		req := httptest.NewRequest(http.MethodPost, "http://bridge.test/scim/v2/Users", strings.NewReader(tc.body))
		_, doc, serr := f.handler.schemasOf(req).user.normalizeBody(http.MethodPost, []byte(tc.body), f.handler.opts.Limits)
		if serr != nil {
			continue // refused before the library or this path
		}
		rec := httptest.NewRecorder()
		answered := f.handler.serveCreate(rec, req, doc)
		// The library refuses these bodies itself, with its own errors.
		refusedByLibrary := strings.HasPrefix(tc.name, "active not") || strings.HasPrefix(tc.name, "extension of")
		if answered == refusedByLibrary {
			t.Errorf("%s: answered %v", tc.name, answered)
		}
		if answered && rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, rec.Code, tc.status, rec.Body)
		}
		if !answered {
			checkUntouched(t, rec, tc.name)
		}
	}
	// A request with a projection is the library's.
	body := `{"userName":"jo@example.com"}`
	req := httptest.NewRequest(http.MethodPost, "http://bridge.test/scim/v2/Users?attributes=userName", strings.NewReader(body))
	_, doc, _ := f.handler.schemasOf(req).user.normalizeBody(http.MethodPost, []byte(body), f.handler.opts.Limits)
	if f.handler.serveCreate(httptest.NewRecorder(), req, doc) {
		t.Error("a create with attributes= was answered without the library")
	}
}

// putBodies are PUT /Users/{id} bodies, as Okta sends its profile updates,
// and some the bridge or the library refuses.
var putBodies = []struct {
	name, body string
	status     int
}{
	{"okta profile update", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"ignored","userName":"ann@example.com","name":{"givenName":"Ann","familyName":"Lee-Smith"},` +
		`"emails":[{"primary":true,"value":"ann@example.com","type":"work"}],"displayName":"Ann Lee-Smith","externalId":"00u1","active":true}`, http.StatusOK},
	{"the same again (unchanged)", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","name":{"givenName":"Ann","familyName":"Lee-Smith"},` +
		`"emails":[{"primary":true,"value":"ann@example.com","type":"work"}],"displayName":"Ann Lee-Smith","externalId":"00u1","active":true}`, http.StatusOK},
	{"deactivation with string boolean and extension", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],` +
		`"userName":"ann@example.com","active":"False","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D"}}`, http.StatusOK},
	{"userName of another user", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"BOB@example.com"}`, http.StatusConflict},
	{"not an email", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","emails":[{"value":"Ann <ann@example.com>"}]}`, http.StatusBadRequest},
	{"active not a boolean", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","active":"maybe"}`, http.StatusBadRequest},
	{"over the document limit", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","title":"` + strings.Repeat("x", 40<<10) + `"}`, http.StatusRequestEntityTooLarge},
}

// TestFastPutMatchesLibrary: a PUT answered without the library's handler
// is what the library answers, and stores the same user; If-Match, an
// unknown id and a projection included.
func TestFastPutMatchesLibrary(t *testing.T) {
	fast := newFixture(t, nil, countedIDs)
	lib := newFixture(t, nil, countedIDs)
	var id string
	for _, f := range []*fixture{fast, lib} {
		id = f.createUser("ann@example.com", `,"externalId":"00u1"`)
		f.createUser("bob@example.com", "")
	}
	type put struct{ name, path, body, ifMatch string }
	var puts []put
	for _, tc := range putBodies {
		puts = append(puts, put{tc.name, "/scim/v2/Users/" + id, tc.body, ""})
	}
	puts = append(puts,
		put{"stale If-Match", "/scim/v2/Users/" + id, putBodies[0].body, `W/"1"`},
		put{"unknown id", "/scim/v2/Users/no-such-user", putBodies[0].body, ""})
	for i, p := range puts {
		var headers []string
		if p.ifMatch != "" {
			headers = []string{"If-Match", p.ifMatch}
		}
		a := fast.do(http.MethodPut, p.path, p.body, headers...)
		b := lib.do(http.MethodPut, p.path+"?excludedAttributes=nickNameX", p.body, headers...)
		if a.status != b.status || a.raw != b.raw {
			t.Errorf("%s: %d %s\nthe library answers: %d %s", p.name, a.status, a.raw, b.status, b.raw)
		}
		if i < len(putBodies) && a.status != putBodies[i].status {
			t.Errorf("%s: status %d, want %d", p.name, a.status, putBodies[i].status)
		}
		for _, h := range []string{"Content-Type", "Etag"} {
			if got, want := a.header.Get(h), b.header.Get(h); got != want {
				t.Errorf("%s: %s %q, the library's %q", p.name, h, got, want)
			}
		}
	}
	if a, b := fast.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users", ""), lib.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users", ""); a.raw != b.raw {
		t.Errorf("stored users:\n%s\nthrough the library:\n%s", a.raw, b.raw)
	}
}

// TestServePutAnswersValidBodies: servePut answers a PUT whose body the
// library's validation accepts, and leaves the others to the library
// untouched.
func TestServePutAnswersValidBodies(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createUser("ann@example.com", "")
	for _, tc := range []struct {
		path, body string
		answered   bool
	}{
		{"/scim/v2/Users/" + id, putBodies[0].body, true},
		{"/scim/v2/Users/" + id, putBodies[5].body, false},
		{"/scim/v2/Users/" + id + "?attributes=userName", putBodies[0].body, false},
		{"/scim/v2/Users/u%2541", putBodies[0].body, false},
	} {
		req := httptest.NewRequest(http.MethodPut, "http://bridge.test"+tc.path, strings.NewReader(tc.body))
		_, doc, serr := f.handler.schemasOf(req).user.normalizeBody(http.MethodPut, []byte(tc.body), f.handler.opts.Limits)
		if serr != nil {
			t.Fatalf("%s: %v", tc.body, serr)
		}
		rec := httptest.NewRecorder()
		if got := f.handler.servePut(rec, req, doc); got != tc.answered {
			t.Errorf("PUT %s %.60s: answered %v", tc.path, tc.body, got)
		}
		if !tc.answered {
			checkUntouched(t, rec, "PUT "+tc.path)
		}
	}
}

// checkUntouched fails t when a fast path that left the request to the
// library wrote anything of an answer.
func checkUntouched(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	if rec.Body.Len() > 0 || len(rec.Header()) > 0 {
		t.Errorf("%s: not answered, but wrote %v %s", what, rec.Header(), rec.Body)
	}
}
