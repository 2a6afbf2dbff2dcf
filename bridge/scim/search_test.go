package scim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// searchFixture holds three users and two groups.
func searchFixture(t *testing.T) (*fixture, []string, []string) {
	t.Helper()
	f := newFixture(t, nil)
	ann := f.createUser("ann@example.com", `,"externalId":"ext-ann","displayName":"Ann","title":"Engineer","emails":[{"value":"ann@work.example","type":"work"}]`)
	bob := f.createUser("bob@example.com", `,"externalId":"ext-bob","displayName":"Bob","title":"Manager"`)
	cid := f.createUser("cid@example.com", `,"displayName":"Sales","title":"Engineer"`)
	sales := f.createGroup("Sales", ann, bob)
	ops := f.createGroup("Ops", cid)
	return f, []string{ann, bob, cid}, []string{sales, ops}
}

// TestSearchIsTheGet: POST /Users/.search and /Groups/.search (RFC 7644
// §3.4.3) answer exactly what the GET with the same parameters answers:
// filter (indexed and in memory, common attributes included), paging and
// attribute selection.
func TestSearchIsTheGet(t *testing.T) {
	f, _, _ := searchFixture(t)
	cases := []struct {
		endpoint string
		query    url.Values
		body     string
	}{
		{"/Users", url.Values{}, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}`},
		{"/Users", url.Values{}, ``},
		{"/Users", url.Values{"filter": {`userName eq "bob@example.com"`}},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName eq \"bob@example.com\""}`},
		{"/Users", url.Values{"filter": {`externalId eq "ext-ann"`}}, `{"filter":"externalId eq \"ext-ann\""}`},
		{"/Users", url.Values{"filter": {`title eq "Engineer"`}, "startIndex": {"2"}, "count": {"1"}},
			`{"filter":"title eq \"Engineer\"","startIndex":2,"count":1}`},
		{"/Users", url.Values{"filter": {`meta.version eq "W/\"1\""`}, "attributes": {"userName,emails.value"}},
			`{"FILTER":"meta.version eq \"W/\\\"1\\\"\"","Attributes":["userName","emails.value"]}`},
		{"/Users", url.Values{"excludedAttributes": {"emails,urn:ietf:params:scim:schemas:extension:gainsight-scim-bridge:2.0:User"}, "count": {"2"}},
			`{"excludedAttributes":["emails","urn:ietf:params:scim:schemas:extension:gainsight-scim-bridge:2.0:User"],"count":"2"}`},
		{"/Users", url.Values{"sortBy": {"userName"}, "sortOrder": {"descending"}}, `{"sortBy":"userName","sortOrder":"descending"}`},
		{"/Users", url.Values{"count": {"0"}}, `{"count":0}`},
		{"/Groups", url.Values{"filter": {`displayName eq "Sales"`}, "excludedAttributes": {"members"}},
			`{"filter":"displayName eq \"Sales\"","excludedAttributes":["members"]}`},
		{"/Groups", url.Values{"attributes": {"displayName"}}, `{"attributes":"displayName","userName":"ignored"}`},
		{"/Groups", url.Values{"filter": {`members[value eq "nobody"]`}}, `{"filter":"members[value eq \"nobody\"]"}`},
	}
	for _, c := range cases {
		t.Run(c.endpoint+"?"+c.query.Encode(), func(t *testing.T) {
			get := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2"+c.endpoint+"?"+c.query.Encode(), "")
			post := f.mustDo(http.StatusOK, http.MethodPost, "/scim/v2"+c.endpoint+"/.search", c.body)
			if !jsonEqual(get.body, post.body) {
				t.Errorf("search answered\n%s\nGET answered\n%s", post.raw, get.raw)
			}
			if post.body["Resources"] == nil && at(post.body, "totalResults") != jsonNum(0) && c.query.Get("count") != "0" {
				t.Errorf("no resources: %s", post.raw)
			}
		})
	}
	// Errors are the GET's too.
	r := f.do(http.MethodPost, "/scim/v2/Users/.search", `{"filter":"shoeSize eq \"42\""}`)
	if r.status != http.StatusBadRequest || at(r.body, "scimType") != "invalidFilter" {
		t.Errorf("unknown filter attribute: %d %s", r.status, r.raw)
	}
}

func TestSearchRequestErrors(t *testing.T) {
	f, _, _ := searchFixture(t)
	for _, body := range []string{
		`[]`, `"filter"`, `{"filter":`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new@example.com"}`,
		`{"filter":42}`, `{"attributes":[1]}`, `{"excludedAttributes":{"a":1}}`,
		`{"count":"ten"}`, `{"startIndex":1.5}`, `{"sortOrder":true}`,
	} {
		for _, endpoint := range []string{"/Users", "/Groups", ""} {
			r := f.do(http.MethodPost, "/scim/v2"+endpoint+"/.search", body)
			if r.status != http.StatusBadRequest || at(r.body, "scimType") != "invalidSyntax" {
				t.Errorf("%s/.search %s: %d %s", endpoint, body, r.status, r.raw)
			}
		}
	}
	if r := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users", ""); at(r.body, "totalResults") != jsonNum(3) {
		t.Errorf("a search created a user: %s", r.raw)
	}
}

// TestRootQuery: GET / and POST /.search list users and groups together,
// users first, paged as one list; a filter applies to each type, with an
// attribute a type lacks having no value there (RFC 7644 §3.4.2.1–2).
func TestRootQuery(t *testing.T) {
	f, users, groups := searchFixture(t)
	ids := func(body map[string]any) []string {
		var out []string
		list, _ := body["Resources"].([]any)
		for _, r := range list {
			out = append(out, at(r, "id").(string))
		}
		return out
	}
	cases := []struct {
		name  string
		query url.Values
		body  string
		total int
		want  []string
	}{
		{"everything", url.Values{}, `{}`, 5, append(append([]string{}, users...), groups...)},
		{"page across the types", url.Values{"startIndex": {"3"}, "count": {"2"}}, `{"startIndex":3,"count":2}`, 5, []string{users[2], groups[0]}},
		{"page of groups only", url.Values{"startIndex": {"5"}, "count": {"10"}}, `{"startIndex":5,"count":10}`, 5, []string{groups[1]}},
		{"count zero", url.Values{"count": {"0"}}, `{"count":0}`, 5, nil},
		{"user attribute", url.Values{"filter": {`userName eq "bob@example.com"`}}, `{"filter":"userName eq \"bob@example.com\""}`, 1, []string{users[1]}},
		{"attribute of both types", url.Values{"filter": {`displayName eq "Sales"`}}, `{"filter":"displayName eq \"Sales\""}`, 2, []string{users[2], groups[0]}},
		{"absent attribute under not", url.Values{"filter": {`not (userName pr)`}}, `{"filter":"not (userName pr)"}`, 2, groups},
		{"resource type", url.Values{"filter": {`meta.resourceType eq "Group"`}}, `{"filter":"meta.resourceType eq \"Group\""}`, 2, groups},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			get := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/?"+c.query.Encode(), "")
			post := f.mustDo(http.StatusOK, http.MethodPost, "/scim/v2/.search", c.body)
			if !jsonEqual(get.body, post.body) {
				t.Errorf("search answered\n%s\nGET answered\n%s", post.raw, get.raw)
			}
			if at(get.body, "totalResults") != jsonNum(c.total) || !jsonEqual(ids(get.body), c.want) {
				t.Errorf("total %v ids %v, want %d %v: %s", at(get.body, "totalResults"), ids(get.body), c.total, c.want, get.raw)
			}
			if n := len(c.want); at(get.body, "itemsPerPage") != jsonNum(n) {
				t.Errorf("itemsPerPage %v, want %d", at(get.body, "itemsPerPage"), n)
			}
		})
	}
	r := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2?attributes=userName,displayName", "")
	for i, want := range []string{"User", "User", "User", "Group", "Group"} {
		res := at(r.body, "Resources", itoa(i))
		if at(res, "meta", "resourceType") != want || at(res, "schemas", "0") == nil || at(res, "meta", "version") == nil {
			t.Errorf("resource %d: %v", i, res)
		}
		if loc, _ := at(res, "meta", "location").(string); !strings.HasPrefix(loc, "http://bridge.test/scim/v2/"+want+"s/") {
			t.Errorf("location %q", loc)
		}
		if at(res, "emails") != nil || at(res, "members") != nil {
			t.Errorf("attributes not applied: %v", res)
		}
	}
	for _, flt := range []string{`shoeSize eq "42"`, `userName eq`} {
		r := f.do(http.MethodGet, "/scim/v2/?filter="+url.QueryEscape(flt), "")
		if r.status != http.StatusBadRequest || at(r.body, "scimType") != "invalidFilter" {
			t.Errorf("filter %q: %d %s", flt, r.status, r.raw)
		}
	}
}
