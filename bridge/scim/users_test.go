package scim

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

const patchSchema = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`

func TestCreateUser(t *testing.T) {
	f := newFixture(t, nil)
	r := f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Users", `{
		"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"userName":"Bob@Example.com","externalId":"ext-1","active":"True","password":"hunter2",
		"name":{"givenName":"Bob","familyName":"Builder"},
		"emails":[{"value":"bob@example.com","type":"work","primary":"true"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Ops","manager":"mgr-1"},
		"urn:ietf:params:scim:schemas:extension:gainsight:2.0:User":{"LicenseType":"Full"},
		"urn:ietf:params:scim:schemas:extension:gainsight-scim-bridge:2.0:User":{"syncState":"synced","gsid":"forged"},
		"favouriteColour":"blue"}`)
	id, _ := r.body["id"].(string)
	if id == "" {
		t.Fatalf("no id: %s", r.raw)
	}
	if got, want := r.header.Get("Location"), "http://bridge.test/scim/v2/Users/"+id; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if got := r.header.Get("Etag"); got != `W/"1"` {
		t.Errorf("ETag = %q", got)
	}
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"userName"}, "Bob@Example.com"},
		{[]string{"externalId"}, "ext-1"},
		{[]string{"active"}, true},
		{[]string{"emails", "0", "primary"}, true},
		{[]string{URNEnterprise, "manager", "value"}, "mgr-1"},
		{[]string{URNGainsight, "LicenseType"}, "Full"},
		{[]string{URNBridge, "syncState"}, "pending"},
		{[]string{URNBridge, "gsid"}, nil},
		{[]string{"password"}, nil},
		{[]string{"favouriteColour"}, nil},
		{[]string{"meta", "resourceType"}, "User"},
		{[]string{"meta", "version"}, `W/"1"`},
		{[]string{"meta", "location"}, "http://bridge.test/scim/v2/Users/" + id},
	}
	for _, c := range checks {
		if got := at(r.body, c.path...); got != c.want {
			t.Errorf("%v = %v, want %v", c.path, got, c.want)
		}
	}
	u, err := f.store.GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if u.UserName != "Bob@Example.com" || u.ExternalID != "ext-1" || u.ManagerID != "mgr-1" || !u.Active ||
		len(u.Emails) != 1 || u.Emails[0] != "bob@example.com" || u.Source != store.SourceSCIM {
		t.Errorf("stored user = %+v", u)
	}
	if _, ok := u.Doc["password"]; ok {
		t.Error("password stored")
	}
	if f.notified.Load() != 1 {
		t.Errorf("notified %d times", f.notified.Load())
	}
}

func TestUserErrors(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createUser("taken@example.com", "")
	patch := func(ops string) string { return `{` + patchSchema + `,"Operations":[` + ops + `]}` }
	cases := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		scimType                 string
		detail                   string
	}{
		{"missing userName", "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`, nil, 400, "invalidValue", "userName"},
		{"empty userName", "POST", "/scim/v2/Users", `{"userName":"  "}`, nil, 400, "invalidValue", "userName"},
		{"numeric userName", "POST", "/scim/v2/Users", `{"userName":42}`, nil, 400, "invalidValue", "userName"},
		{"duplicate userName", "POST", "/scim/v2/Users", `{"userName":"TAKEN@example.com"}`, nil, 409, "uniqueness", ""},
		{"malformed body", "POST", "/scim/v2/Users", `{"userName":`, nil, 400, "invalidSyntax", ""},
		{"validator", "POST", "/scim/v2/Users", `{"userName":"x","timezone":"Mars/Base","urn:ietf:params:scim:schemas:extension:gainsight:2.0:User":{"LicenseType":"Ful"}}`, nil, 400, "invalidValue", "LicenseType"},
		{"validator names timezone", "POST", "/scim/v2/Users", `{"userName":"x","timezone":"Mars/Base"}`, nil, 400, "invalidValue", "timezone"},
		{"bad filter", "GET", `/scim/v2/Users?filter=userName+eq`, "", nil, 400, "invalidFilter", ""},
		{"unknown filter attribute", "GET", `/scim/v2/Users?filter=shoeSize+eq+%2242%22`, "", nil, 400, "invalidFilter", ""},
		{"get unknown", "GET", "/scim/v2/Users/nope", "", nil, 404, "", ""},
		{"put unknown", "PUT", "/scim/v2/Users/nope", `{"userName":"n"}`, nil, 404, "", ""},
		{"patch unknown", "PATCH", "/scim/v2/Users/nope", patch(`{"op":"replace","path":"active","value":false}`), nil, 404, "", ""},
		{"delete unknown", "DELETE", "/scim/v2/Users/nope", "", nil, 404, "", ""},
		{"patch bad path", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"replace","path":"emails[type eq","value":"x"}`), nil, 400, "invalidPath", ""},
		{"patch unknown path", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"replace","path":"shoeSize","value":"x"}`), nil, 400, "invalidPath", ""},
		{"patch remove without path", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"remove"}`), nil, 400, "noTarget", ""},
		{"patch bad op", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"move","path":"title","value":"x"}`), nil, 400, "invalidValue", ""},
		{"patch no operations", "PATCH", "/scim/v2/Users/" + id, `{` + patchSchema + `,"Operations":[]}`, nil, 400, "invalidValue", ""},
		{"patch to invalid user", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"remove","path":"userName"}`), nil, 400, "invalidValue", "userName"},
		{"patch validator", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"add","path":"timezone","value":"Nowhere"}`), nil, 400, "invalidValue", "timezone"},
		{"put if-match", "PUT", "/scim/v2/Users/" + id, `{"userName":"taken@example.com"}`, []string{"If-Match", `W/"7"`}, 412, "", ""},
		{"patch if-match", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"replace","path":"active","value":false}`), []string{"If-Match", `W/"7"`}, 412, "", ""},
		{"delete if-match", "DELETE", "/scim/v2/Users/" + id, "", []string{"If-Match", `"9"`}, 412, "", ""},
		{"no token", "GET", "/scim/v2/Users", "", []string{"Authorization", ""}, 401, "", ""},
		{"wrong token", "GET", "/scim/v2/Users", "", []string{"Authorization", "Bearer nope"}, 401, "", ""},
		{"basic auth", "GET", "/scim/v2/Users", "", []string{"Authorization", "Basic " + testToken}, 401, "", ""},
		{"media type", "POST", "/scim/v2/Users", `{"userName":"m"}`, []string{"Content-Type", "text/plain"}, 415, "", ""},
		{"too large", "POST", "/scim/v2/Users", `{"userName":"` + strings.Repeat("a", 2<<20) + `"}`, nil, 413, "", ""},
		{"unknown endpoint", "GET", "/scim/v2/Widgets", "", nil, 404, "", ""},
		{"outside base path", "GET", "/other", "", nil, 404, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(c.method, c.path, c.body, c.headers...)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/scim+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := at(r.body, "status"); got != itoa(c.status) {
				t.Errorf("body status %v: %s", got, r.raw)
			}
			if got, _ := at(r.body, "scimType").(string); got != c.scimType {
				t.Errorf("scimType %q, want %q: %s", got, c.scimType, r.raw)
			}
			if d, _ := at(r.body, "detail").(string); !strings.Contains(d, c.detail) {
				t.Errorf("detail %q does not name %q", d, c.detail)
			}
			if c.status == 401 && r.header.Get("WWW-Authenticate") != `Bearer realm="scim-bridge"` {
				t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	// Nothing was written by any failing request.
	u, err := f.store.GetUser(t.Context(), id)
	if err != nil || u.Version != 1 {
		t.Errorf("user changed by failing requests: %+v %v", u, err)
	}
	if _, total, _ := f.store.ListUsers(t.Context(), store.Query{}); total != 1 {
		t.Errorf("%d users stored, want 1", total)
	}
}

func itoa(i int) string { return fmtInt(i) }

func fmtInt(i int) string { return strconv.Itoa(i) }

func TestContentTypesAndAuthRotation(t *testing.T) {
	f := newFixture(t, nil)
	for i, ct := range []string{"application/scim+json", "application/json", "application/scim+json; charset=utf-8", "application/json;charset=UTF-8", ""} {
		name := "ct" + fmtInt(i) + "@example.com"
		r := f.do("POST", "/scim/v2/Users", `{"userName":"`+name+`"}`, "Content-Type", ct)
		if r.status != 201 {
			t.Errorf("Content-Type %q: status %d: %s", ct, r.status, r.raw)
		}
	}
}

func TestIfMatchAndETag(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createUser("etag@example.com", "")
	r := f.mustDo(200, "PUT", "/scim/v2/Users/"+id, `{"userName":"etag@example.com","title":"CTO"}`, "If-Match", `W/"1"`)
	if r.header.Get("Etag") != `W/"2"` || at(r.body, "title") != "CTO" {
		t.Fatalf("PUT: %v %s", r.header, r.raw)
	}
	f.mustDo(412, "PATCH", "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"title","value":"CEO"}]}`, "If-Match", `W/"1"`)
	r = f.mustDo(200, "PATCH", "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"title","value":"CEO"}]}`, "If-Match", `W/"2"`)
	if at(r.body, "title") != "CEO" || r.header.Get("Etag") != `W/"3"` {
		t.Fatalf("PATCH: %s", r.raw)
	}
	f.mustDo(204, "DELETE", "/scim/v2/Users/"+id, "", "If-Match", `W/"3"`)
	f.mustDo(404, "GET", "/scim/v2/Users/"+id, "")
}

func TestPutReplacesWholeUser(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createUser("put@example.com", `,"title":"Engineer","name":{"givenName":"P"}`)
	r := f.mustDo(200, "PUT", "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"`+id+`","userName":"put@example.com","active":false,"name":{"familyName":"Q"}}`)
	if at(r.body, "title") != nil || at(r.body, "name", "givenName") != nil || at(r.body, "name", "familyName") != "Q" || at(r.body, "active") != false {
		t.Fatalf("PUT result: %s", r.raw)
	}
	u, _ := f.store.GetUser(t.Context(), id)
	if u.Active {
		t.Error("stored user still active")
	}
}

func TestSyncExtension(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createUser("sync@example.com", "")
	link, err := f.sqlite.GetSync(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sqlite.UpdateSync(t.Context(), link.LinkID, func(i store.SyncInfo) (store.SyncInfo, error) {
		i.GSID, i.State, i.LastError = "GS-1", store.StateFailed, "Gainsight said no"
		return i, nil
	}); err != nil {
		t.Fatal(err)
	}
	r := f.mustDo(200, "GET", "/scim/v2/Users/"+id, "")
	if at(r.body, URNBridge, "syncState") != "failed" || at(r.body, URNBridge, "gsid") != "GS-1" || at(r.body, URNBridge, "lastError") != "Gainsight said no" {
		t.Fatalf("extension: %s", r.raw)
	}
	r = f.mustDo(200, "GET", `/scim/v2/Users?filter=`+urlq(`urn:ietf:params:scim:schemas:extension:gainsight-scim-bridge:2.0:User:syncState eq "failed"`), "")
	if at(r.body, "totalResults") != jsonNum(1) {
		t.Fatalf("filter on sync state: %s", r.raw)
	}
	// A PATCH to the read-only extension is ignored or refused, never stored.
	f.do("PATCH", "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:gainsight-scim-bridge:2.0:User":{"syncState":"synced"}}}]}`)
	u, _ := f.store.GetUser(t.Context(), id)
	if _, ok := u.Doc[URNBridge]; ok {
		t.Errorf("bridge extension stored: %v", u.Doc)
	}
}
