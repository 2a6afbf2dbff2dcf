package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestListFiltersAndPagination(t *testing.T) {
	f := newFixture(t, nil)
	ids := map[string]string{}
	people := []struct{ user, extra string }{
		{"alice@example.com", `,"externalId":"E-1","title":"Engineer","emails":[{"value":"alice@work.example","type":"work"}],"name":{"givenName":"Alice"}`},
		{"bob@example.com", `,"externalId":"E-2","title":"Manager","active":false,"emails":[{"value":"bob@home.example","type":"home"}]`},
		{"carol@corp.example", `,"externalId":"e-1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}`},
		{"dave@example.com", ``},
	}
	for _, p := range people {
		body := `{"userName":"` + p.user + `"` + p.extra + `}`
		r := f.mustDo(201, "POST", "/scim/v2/Users", body)
		ids[p.user] = r.body["id"].(string)
	}
	cases := []struct {
		filter string
		want   []string
	}{
		{`userName eq "ALICE@example.com"`, []string{"alice@example.com"}},
		{`externalId eq "E-1"`, []string{"alice@example.com"}},
		{`externalId eq "e-1"`, []string{"carol@corp.example"}},
		{`emails.value eq "BOB@home.example"`, []string{"bob@example.com"}},
		{`emails[type eq "work" and value eq "alice@work.example"]`, []string{"alice@example.com"}},
		{`id eq "` + "ID:bob@example.com" + `"`, []string{"bob@example.com"}},
		{`userName eq "alice@example.com" and active eq true`, []string{"alice@example.com"}},
		{`userName eq "bob@example.com" and active eq true`, nil},
		{`userName ne "alice@example.com"`, []string{"bob@example.com", "carol@corp.example", "dave@example.com"}},
		{`userName co "corp"`, []string{"carol@corp.example"}},
		{`userName sw "b"`, []string{"bob@example.com"}},
		{`userName ew "example.com"`, []string{"alice@example.com", "bob@example.com", "dave@example.com"}},
		{`title pr`, []string{"alice@example.com", "bob@example.com"}},
		{`userName gt "c"`, []string{"carol@corp.example", "dave@example.com"}},
		{`userName lt "b"`, []string{"alice@example.com"}},
		{`userName ge "carol@corp.example"`, []string{"carol@corp.example", "dave@example.com"}},
		{`userName le "bob@example.com"`, []string{"alice@example.com", "bob@example.com"}},
		{`title eq "Engineer" or title eq "Manager"`, []string{"alice@example.com", "bob@example.com"}},
		{`not (title pr)`, []string{"carol@corp.example", "dave@example.com"}},
		{`active eq false`, []string{"bob@example.com"}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales"`, []string{"carol@corp.example"}},
		{`name.givenName eq "alice"`, []string{"alice@example.com"}},
		{`meta.created gt "2000-01-01T00:00:00Z"`, []string{"alice@example.com", "bob@example.com", "carol@corp.example", "dave@example.com"}},
		{`userName eq "nobody@example.com"`, nil},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			flt := c.filter
			for u, id := range ids {
				flt = strings.ReplaceAll(flt, "ID:"+u, id)
			}
			r := f.mustDo(200, "GET", "/scim/v2/Users?filter="+urlq(flt), "")
			var got []string
			res, _ := r.body["Resources"].([]any)
			for _, x := range res {
				got = append(got, at(x, "userName").(string))
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("got %v, want %v", got, c.want)
			}
			if at(r.body, "totalResults") != jsonNum(len(c.want)) {
				t.Errorf("totalResults %v", at(r.body, "totalResults"))
			}
		})
	}

	pages := []struct {
		query      string
		want       []string
		total      int
		startIndex int
	}{
		{"startIndex=1&count=2", []string{"alice@example.com", "bob@example.com"}, 4, 1},
		{"startIndex=3&count=2", []string{"carol@corp.example", "dave@example.com"}, 4, 3},
		{"startIndex=4&count=100", []string{"dave@example.com"}, 4, 4},
		{"startIndex=9&count=2", nil, 4, 9},
		{"count=0", nil, 4, 1},
		{"startIndex=0&count=1", []string{"alice@example.com"}, 4, 1},
		{"filter=" + urlq(`userName ew "example.com"`) + "&startIndex=2&count=1", []string{"bob@example.com"}, 3, 2},
		{"filter=" + urlq(`userName eq "dave@example.com"`) + "&startIndex=1&count=100", []string{"dave@example.com"}, 1, 1},
	}
	for _, p := range pages {
		t.Run(p.query, func(t *testing.T) {
			r := f.mustDo(200, "GET", "/scim/v2/Users?"+p.query, "")
			var got []string
			res, _ := r.body["Resources"].([]any)
			for _, x := range res {
				got = append(got, at(x, "userName").(string))
			}
			if strings.Join(got, ",") != strings.Join(p.want, ",") || at(r.body, "totalResults") != jsonNum(p.total) || at(r.body, "startIndex") != jsonNum(p.startIndex) {
				t.Errorf("got %v total %v start %v, want %v %d %d", got, at(r.body, "totalResults"), at(r.body, "startIndex"), p.want, p.total, p.startIndex)
			}
			// itemsPerPage is the number of resources on the page (RFC 7644 §3.4.2).
			if at(r.body, "itemsPerPage") != jsonNum(len(p.want)) {
				t.Errorf("itemsPerPage %v, want %d", at(r.body, "itemsPerPage"), len(p.want))
			}
			if ct := r.header.Get("Content-Type"); ct != "application/scim+json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	f.mustDo(400, "GET", "/scim/v2/Users?count=abc", "")
	// Groups list the same way; a list error passes through untouched.
	f.createGroup("Only")
	r := f.mustDo(200, "GET", "/scim/v2/Groups?count=100", "")
	if at(r.body, "itemsPerPage") != jsonNum(1) || at(r.body, "totalResults") != jsonNum(1) {
		t.Errorf("groups page: %s", r.raw)
	}
	r = f.mustDo(400, "GET", "/scim/v2/Groups?filter="+urlq("displayName eq"), "")
	if at(r.body, "scimType") != "invalidFilter" {
		t.Errorf("bad filter: %s", r.raw)
	}
}

func TestAttributesProjection(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createUser("proj@example.com", `,"externalId":"x1","title":"T","name":{"givenName":"G","familyName":"F"},"emails":[{"value":"p@example.com","type":"work"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","costCenter":"C"}`)
	cases := []struct {
		query   string
		present []string
		absent  []string
	}{
		{"attributes=userName", []string{"id", "userName", "meta", "schemas"}, []string{"title", "name", "emails", "externalId", URNBridge}},
		{"attributes=name.givenName,emails.value", []string{"name/givenName", "emails/0/value"}, []string{"name/familyName", "emails/0/type", "userName"}},
		{"attributes=" + URNEnterprise + ":department", []string{URNEnterprise + "/department"}, []string{URNEnterprise + "/costCenter", "title"}},
		{"excludedAttributes=title,emails", []string{"userName", "name/givenName", "externalId"}, []string{"title", "emails"}},
		{"excludedAttributes=name.familyName," + URNEnterprise + ":costCenter", []string{"name/givenName", URNEnterprise + "/department"}, []string{"name/familyName", URNEnterprise + "/costCenter"}},
		{"excludedAttributes=groups," + URNBridge, []string{"userName"}, []string{URNBridge}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			for _, path := range []string{"/scim/v2/Users/" + id + "?" + c.query, "/scim/v2/Users?filter=" + urlq(`userName eq "proj@example.com"`) + "&" + c.query} {
				r := f.mustDo(200, "GET", path, "")
				body := any(r.body)
				if strings.Contains(path, "filter") {
					body = at(r.body, "Resources", "0")
				}
				for _, p := range c.present {
					if at(body, splitSlash(p)...) == nil {
						t.Errorf("%s: %s missing: %v", path, p, body)
					}
				}
				for _, p := range c.absent {
					if at(body, splitSlash(p)...) != nil {
						t.Errorf("%s: %s present", path, p)
					}
				}
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	f := newFixture(t, nil)
	r := f.mustDo(200, "GET", "/scim/v2/ServiceProviderConfig", "")
	for path, want := range map[string]any{
		"patch/supported": true, "filter/supported": true, "filter/maxResults": jsonNum(200),
		"bulk/supported": false, "changePassword/supported": false, "sort/supported": false,
		"etag/supported": true, "authenticationSchemes/0/type": "oauthbearertoken",
	} {
		if got := at(r.body, splitSlash(path)...); !jsonEqual(got, want) {
			t.Errorf("ServiceProviderConfig %s = %v, want %v", path, got, want)
		}
	}
	r = f.mustDo(200, "GET", "/scim/v2/ResourceTypes", "")
	if at(r.body, "totalResults") != jsonNum(2) || at(r.body, "Resources", "0", "endpoint") != "/Users" || at(r.body, "Resources", "1", "endpoint") != "/Groups" {
		t.Errorf("ResourceTypes: %s", r.raw)
	}
	var exts []string
	for _, e := range at(r.body, "Resources", "0", "schemaExtensions").([]any) {
		exts = append(exts, at(e, "schema").(string))
	}
	if strings.Join(exts, ",") != strings.Join([]string{URNEnterprise, URNGainsight, URNBridge}, ",") {
		t.Errorf("user schema extensions %v", exts)
	}
	r = f.mustDo(200, "GET", "/scim/v2/Schemas", "")
	found := map[string]bool{}
	for _, s := range r.body["Resources"].([]any) {
		found[at(s, "id").(string)] = true
	}
	for _, id := range []string{URNUser, URNGroup, URNEnterprise, URNGainsight, URNBridge} {
		if !found[id] {
			t.Errorf("/Schemas lacks %s", id)
		}
	}
	r = f.mustDo(200, "GET", "/scim/v2/Schemas/"+URNGainsight, "")
	if at(r.body, "attributes", "0", "name") != "LicenseType" {
		t.Errorf("gainsight schema: %s", r.raw)
	}
	f.mustDo(200, "GET", "/scim/v2/ResourceTypes/User", "")
}

func TestMetricsAndExternalURL(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.ExternalURL = "https://scim.example.org"; o.BasePath = "/api/scim/v2/" })
	r := f.mustDo(201, "POST", "/api/scim/v2/Users", `{"userName":"m@example.com"}`)
	id := r.body["id"].(string)
	if got, want := r.header.Get("Location"), "https://scim.example.org/api/scim/v2/Users/"+id; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	f.mustDo(200, "GET", "/api/scim/v2/Users/"+id, "")
	f.mustDo(200, "GET", "/api/scim/v2/Users/"+id, "")
	f.do("GET", "/api/scim/v2/Users", "", "Authorization", "")
	text := f.gatherText()
	for _, want := range []string{
		`scim_bridge_scim_requests_total{code="201",method="POST",route="/api/scim/v2/Users"} 1`,
		`scim_bridge_scim_requests_total{code="200",method="GET",route="/api/scim/v2/Users/{id}"} 2`,
		`scim_bridge_scim_requests_total{code="401",method="GET",route="/api/scim/v2/Users"} 1`,
		`scim_bridge_scim_request_duration_seconds_count{method="GET",route="/api/scim/v2/Users/{id}"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s\n%s", want, text)
		}
	}
	if f.do("GET", "/scim/v2/Users", "").status != http.StatusNotFound {
		t.Error("old base path served")
	}
}

func TestNewHandlerRejectsMissingDependencies(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"store", func(o *Options) { o.Store = nil }, "Store"},
		{"validator", func(o *Options) { o.Validator = nil }, "Validator"},
		{"tokens", func(o *Options) { o.TokenHashes = nil }, "TokenHashes"},
		{"logger", func(o *Options) { o.Logger = nil }, "Logger"},
		{"registerer", func(o *Options) { o.Registerer = nil }, "Registerer"},
		{"external url", func(o *Options) { o.ExternalURL = "not a url" }, "ExternalURL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			o := Options{Store: f.store, Validator: testValidator{}, TokenHashes: func() [][]byte { return nil }, Logger: zapNop(), Registerer: newRegistry()}
			c.mod(&o)
			_, err := NewHandler(o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want mention of %s", err, c.want)
			}
		})
	}
}

func TestTokenRotation(t *testing.T) {
	hashes := [][]byte{hashOf("old")}
	f := newFixture(t, nil, func(o *Options) { o.TokenHashes = func() [][]byte { return hashes } })
	try := func(tok string) int { return f.do("GET", "/scim/v2/Users", "", "Authorization", "Bearer "+tok).status }
	if try("old") != 200 || try("new") != 401 {
		t.Fatal("before rotation")
	}
	hashes = [][]byte{hashOf("old"), hashOf("new")}
	if try("old") != 200 || try("new") != 200 {
		t.Fatal("during rotation")
	}
	hashes = [][]byte{hashOf("new")}
	if try("old") != 401 || try("new") != 200 {
		t.Fatal("after rotation")
	}
}

// TestFiltersAcrossSchemas: a filter may compare attributes of the core
// schema and of an extension together (RFC 7644 §3.4.2.2); the library
// validates the whole filter against one schema at a time and refused
// them. Each attribute must still be valid in its own schema, and the
// answer is the library's list response. The same filters are answered
// by POST /Users/.search and at the server root.
func TestFiltersAcrossSchemas(t *testing.T) {
	f := newFixture(t, nil)
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	f.createUser("ann@example.com", `,"title":"Engineer","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","employeeNumber":"7"}`)
	f.createUser("ben@example.com", `,"active":false,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}`)
	f.createUser("cat@example.com", `,"title":"Manager"`)
	f.createGroup("Sales")
	cases := []struct {
		filter string
		want   []string
	}{
		{ent + `department eq "Sales" and active eq true`, []string{"ann@example.com"}},
		{`active eq true and ` + ent + `department eq "Sales"`, []string{"ann@example.com"}},
		{`active eq false or ` + ent + `employeeNumber eq "7"`, []string{"ann@example.com", "ben@example.com"}},
		{`title pr and not (` + ent + `department pr)`, []string{"cat@example.com"}},
		{ent + `department eq "Sales" and urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b"`, []string{"ben@example.com"}},
		{`(userName ew "example.com" and ` + ent + `department pr) and title eq "Engineer"`, []string{"ann@example.com"}},
		// An extension's attribute without its URN is looked up in the
		// extension that has it, alone (which the library accepted, and
		// which matched nothing) or beside the core's.
		{`employeeNumber eq "7"`, []string{"ann@example.com"}},
		{`department eq "Sales" and active eq false`, []string{"ben@example.com"}},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			get := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users?filter="+urlq(c.filter), "")
			var got []string
			res, _ := get.body["Resources"].([]any)
			for _, x := range res {
				got = append(got, at(x, "userName").(string))
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") || at(get.body, "totalResults") != jsonNum(len(c.want)) {
				t.Errorf("got %v (total %v), want %v", got, at(get.body, "totalResults"), c.want)
			}
			body, _ := json.Marshal(map[string]any{"filter": c.filter})
			if post := f.mustDo(http.StatusOK, http.MethodPost, "/scim/v2/Users/.search", string(body)); post.raw != get.raw {
				t.Errorf("search answered\n%s\nGET answered\n%s", post.raw, get.raw)
			}
			// At the server root the users are found the same way; the
			// group has none of the attributes.
			root := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/?filter="+urlq(c.filter), "")
			if at(root.body, "totalResults") != jsonNum(len(c.want)) {
				t.Errorf("root: %s", root.raw)
			}
		})
	}
	// The answer is the library's, as for a filter of one schema that
	// selects the same user, with a projection and paging.
	q := "&attributes=userName," + urlq(ent+"department") + "&startIndex=1&count=5"
	mixed := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users?filter="+urlq(ent+`employeeNumber eq "7" and active eq true`)+q, "")
	single := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users?filter="+urlq(ent+`employeeNumber eq "7"`)+q, "")
	if mixed.raw != single.raw {
		t.Errorf("across schemas:\n%s\none schema:\n%s", mixed.raw, single.raw)
	}
	if at(mixed.body, "Resources", "0", "title") != nil || at(mixed.body, "Resources", "0", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department") != "Sales" {
		t.Errorf("projection not applied: %s", mixed.raw)
	}
	// Each attribute is still validated in its own schema.
	for _, bad := range []string{
		ent + `department eq "Sales" and shoeSize eq "42"`,
		`urn:ietf:params:scim:schemas:extension:nosuch:2.0:User:department eq "Sales" and active eq true`,
		ent + `department eq "Sales" and active gt true`,
		ent + `manager.nosuch eq "x" and active eq true`,
		`not (` + ent + `nosuch pr) or active eq true`,
	} {
		for _, path := range []string{"/scim/v2/Users?filter=", "/scim/v2/?filter="} {
			r := f.do(http.MethodGet, path+urlq(bad), "")
			if r.status != http.StatusBadRequest || at(r.body, "scimType") != "invalidFilter" {
				t.Errorf("%s%s: %d %s", path, bad, r.status, r.raw)
			}
		}
	}
	// Groups have no extension: a user's extension attribute is not theirs.
	r := f.do(http.MethodGet, "/scim/v2/Groups?filter="+urlq(`displayName eq "Sales" and `+ent+`department eq "Sales"`), "")
	if r.status != http.StatusBadRequest || at(r.body, "scimType") != "invalidFilter" {
		t.Errorf("groups: %d %s", r.status, r.raw)
	}
}

// TestFiltersTestedOnGroupsMembersAndSyncState: a filter the store cannot
// answer alone is tested on each candidate with what it compares loaded:
// a user's groups, its sync state (the bridge extension, also by its short
// name), a group's members, and their $ref and type and meta.location as
// a response shows them; wherever the filter arrives from (GET, POST
// .search, the server root).
func TestFiltersTestedOnGroupsMembersAndSyncState(t *testing.T) {
	f := newFixture(t, nil)
	ann := f.createUser("ann@example.com", `,"title":"Engineer"`)
	f.createUser("bob@example.com", `,"title":"Manager"`)
	admins := f.createGroup("Admins", ann)
	f.createGroup("Others")
	cases := []struct {
		path, filter string
		want         string // the one resource found, by userName or displayName
	}{
		{"/Users", `groups.value eq "` + admins + `" or userName eq "nobody"`, "ann@example.com"},
		{"/Users", `title eq "Engineer" and groups.display eq "Admins"`, "ann@example.com"},
		{"/Users", `not (groups pr) and title pr`, "bob@example.com"},
		{"/Users", URNBridge + `:syncState eq "pending" and title eq "Engineer"`, "ann@example.com"},
		{"/Users", `syncState eq "pending" and title eq "Engineer"`, "ann@example.com"},
		{"/Groups", `members.value eq "` + ann + `" or displayName eq "zzz"`, "Admins"},
		{"/Groups", `members pr and displayName sw "A"`, "Admins"},
		// Tested as answered: with the $ref and type a response shows.
		{"/Users", `groups.$ref pr or userName eq "nobody"`, "ann@example.com"},
		{"/Groups", `members.type eq "User" or displayName eq "zzz"`, "Admins"},
		{"/Groups", `members.$ref ew "/Users/` + ann + `" or displayName eq "zzz"`, "Admins"},
		{"/Users", `meta.location ew "/Users/` + ann + `" or userName eq "nobody"`, "ann@example.com"},
		{"/Groups", `meta.location ew "/Groups/` + admins + `" or displayName eq "zzz"`, "Admins"},
	}
	name := func(r response) string {
		res, _ := r.body["Resources"].([]any)
		if len(res) != 1 {
			return fmt.Sprintf("%d resources", len(res))
		}
		if n, ok := at(res[0], "userName").(string); ok {
			return n
		}
		n, _ := at(res[0], "displayName").(string)
		return n
	}
	for _, c := range cases {
		t.Run(c.path+" "+c.filter, func(t *testing.T) {
			for _, q := range []string{"", "&attributes=displayName,userName"} {
				get := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2"+c.path+"?filter="+urlq(c.filter)+q, "")
				if got := name(get); got != c.want {
					t.Errorf("GET%s: %s, want %s: %s", q, got, c.want, get.raw)
				}
			}
			body, _ := json.Marshal(map[string]any{"filter": c.filter})
			if got := name(f.mustDo(http.StatusOK, http.MethodPost, "/scim/v2"+c.path+"/.search", string(body))); got != c.want {
				t.Errorf(".search: %s, want %s", got, c.want)
			}
			if got := name(f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/?filter="+urlq(c.filter), "")); got != c.want {
				t.Errorf("root: %s, want %s", got, c.want)
			}
		})
	}
}
