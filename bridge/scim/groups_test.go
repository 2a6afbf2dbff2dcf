package scim

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
)

func memberSet(t *testing.T, f *fixture, gid string) []string {
	t.Helper()
	g, err := f.store.GetGroup(t.Context(), gid)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]string(nil), g.Members...)
	sort.Strings(out)
	return out
}

func sorted(ids ...string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

func TestGroupMembershipDialects(t *testing.T) {
	type ids struct{ a, b, c string }
	cases := []struct {
		name    string
		initial func(ids) []string
		ops     func(ids) string
		want    func(ids) []string
		display string
	}{
		{"add members", func(i ids) []string { return nil },
			func(i ids) string {
				return `{"op":"add","path":"members","value":[{"value":"` + i.a + `"},{"value":"` + i.b + `","display":"B"}]}`
			},
			func(i ids) []string { return []string{i.a, i.b} }, ""},
		{"add is idempotent", func(i ids) []string { return []string{i.a} },
			func(i ids) string {
				return `{"op":"Add","path":"members","value":[{"value":"` + i.a + `"}]},{"op":"add","path":"members","value":[{"value":"` + i.a + `"}]}`
			},
			func(i ids) []string { return []string{i.a} }, ""},
		{"remove by value path", func(i ids) []string { return []string{i.a, i.b} },
			func(i ids) string { return `{"op":"remove","path":"members[value eq \"` + i.a + `\"]"}` },
			func(i ids) []string { return []string{i.b} }, ""},
		{"entra remove with value list", func(i ids) []string { return []string{i.a, i.b, i.c} },
			func(i ids) string {
				return `{"op":"Remove","path":"members","value":[{"value":"` + i.a + `"},{"value":"` + i.c + `"}]}`
			},
			func(i ids) []string { return []string{i.b} }, ""},
		{"remove absent member is a no-op", func(i ids) []string { return []string{i.b} },
			func(i ids) string { return `{"op":"remove","path":"members[value eq \"` + i.a + `\"]"}` },
			func(i ids) []string { return []string{i.b} }, ""},
		{"okta rename plus members", func(i ids) []string { return []string{i.a} },
			func(i ids) string {
				return `{"op":"replace","value":{"id":"x","displayName":"Renamed"}},{"op":"add","path":"members","value":[{"value":"` + i.b + `","display":"b"}]}`
			},
			func(i ids) []string { return []string{i.a, i.b} }, "Renamed"},
		{"path-less add members", func(i ids) []string { return nil },
			func(i ids) string { return `{"op":"add","value":{"members":[{"value":"` + i.c + `"}]}}` },
			func(i ids) []string { return []string{i.c} }, ""},
		{"replace members", func(i ids) []string { return []string{i.a, i.b} },
			func(i ids) string { return `{"op":"replace","path":"members","value":[{"value":"` + i.c + `"}]}` },
			func(i ids) []string { return []string{i.c} }, ""},
		{"remove all members", func(i ids) []string { return []string{i.a, i.b} },
			func(i ids) string { return `{"op":"remove","path":"members"}` },
			func(i ids) []string { return nil }, ""},
		{"plain string member ids", func(i ids) []string { return nil },
			func(i ids) string { return `{"op":"add","path":"members","value":["` + i.a + `"]}` },
			func(i ids) []string { return []string{i.a} }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			i := ids{f.createUser("a@example.com", ""), f.createUser("b@example.com", ""), f.createUser("c@example.com", "")}
			gid := f.createGroup("Team", c.initial(i)...)
			r := f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Groups/"+gid, `{`+patchSchema+`,"Operations":[`+c.ops(i)+`]}`)
			if got, want := memberSet(t, f, gid), sorted(c.want(i)...); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("members = %v, want %v", got, want)
			}
			want := "Team"
			if c.display != "" {
				want = c.display
			}
			if at(r.body, "displayName") != want {
				t.Errorf("displayName = %v: %s", at(r.body, "displayName"), r.raw)
			}
		})
	}
}

func TestGroupErrorsAndUnknownMembers(t *testing.T) {
	f := newFixture(t, nil)
	a := f.createUser("a@example.com", "")
	gid := f.createGroup("Team", a)
	cases := []struct {
		name, method, path, body string
		status                   int
		scimType, detail         string
	}{
		{"unknown member on create", "POST", "/scim/v2/Groups", `{"displayName":"X","members":[{"value":"ghost-1"},{"value":"` + a + `"},{"value":"ghost-2"}]}`, 400, "invalidValue", "ghost-1, ghost-2"},
		{"unknown member on patch", "PATCH", "/scim/v2/Groups/" + gid, `{` + patchSchema + `,"Operations":[{"op":"add","path":"members","value":[{"value":"ghost-3"}]}]}`, 400, "invalidValue", "ghost-3"},
		{"unknown member on put", "PUT", "/scim/v2/Groups/" + gid, `{"displayName":"Team","members":[{"value":"ghost-4"}]}`, 400, "invalidValue", "ghost-4"},
		{"duplicate displayName", "POST", "/scim/v2/Groups", `{"displayName":"team"}`, 409, "uniqueness", ""},
		{"missing displayName", "POST", "/scim/v2/Groups", `{"members":[]}`, 400, "invalidValue", "displayName"},
		{"group not found", "GET", "/scim/v2/Groups/nope", "", 404, "", ""},
		{"patch removes displayName", "PATCH", "/scim/v2/Groups/" + gid, `{` + patchSchema + `,"Operations":[{"op":"remove","path":"displayName"}]}`, 400, "invalidValue", "displayName"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(c.method, c.path, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
			}
			if got, _ := at(r.body, "scimType").(string); got != c.scimType {
				t.Errorf("scimType %q, want %q", got, c.scimType)
			}
			if d, _ := at(r.body, "detail").(string); !strings.Contains(d, c.detail) {
				t.Errorf("detail %q does not contain %q", d, c.detail)
			}
		})
	}
	if got := memberSet(t, f, gid); len(got) != 1 || got[0] != a {
		t.Errorf("members changed: %v", got)
	}
	if g, _ := f.store.GetGroup(t.Context(), gid); g.Version != 1 || g.DisplayName != "Team" {
		t.Errorf("group changed: %+v", g)
	}
}

func TestGroupNullAndEmptyMembers(t *testing.T) {
	f := newFixture(t, nil)
	for i, body := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G0","members":null}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G1","members":[]}`,
		`{"displayName":"G2","members":[{"value":"` + f.createUser("m@example.com", "") + `","type":"User"}],"unknownAttr":{"x":1}}`,
	} {
		r := f.do("POST", "/scim/v2/Groups", body)
		if r.status != 201 || r.header.Get("Location") == "" {
			t.Errorf("body %d: status %d: %s", i, r.status, r.raw)
		}
	}
}

func TestGroupConflictRejected(t *testing.T) {
	f := newFixture(t, nil)
	u := f.createUser("conflicted@example.com", "")
	v := f.createUser("other@example.com", "")
	east := f.createGroup("East", u)
	west := f.createGroup("West", v)
	cases := []struct{ name, method, path, body string }{
		{"patch add", "PATCH", "/scim/v2/Groups/" + west, `{` + patchSchema + `,"Operations":[{"op":"add","path":"members","value":[{"value":"` + u + `"}]}]}`},
		{"put", "PUT", "/scim/v2/Groups/" + west, `{"displayName":"West","members":[{"value":"` + v + `"},{"value":"` + u + `"}]}`},
		{"create", "POST", "/scim/v2/Groups", `{"displayName":"West","members":[{"value":"` + u + `"}]}`},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.method == "POST" {
				f.mustDo(204, "DELETE", "/scim/v2/Groups/"+west, "")
			}
			r := f.do(c.method, c.path, c.body)
			if r.status != 400 || at(r.body, "scimType") != "invalidValue" {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			d, _ := at(r.body, "detail").(string)
			for _, want := range []string{"conflicted@example.com", u, "Region__gc", "East", "West"} {
				if !strings.Contains(d, want) {
					t.Errorf("detail %q does not name %q", d, want)
				}
			}
			if got := f.metric("scim_bridge_resolve_conflicts_total"); got != float64(i+1) {
				t.Errorf("conflicts_total = %v, want %d", got, i+1)
			}
		})
	}
	if got := memberSet(t, f, east); len(got) != 1 {
		t.Errorf("East members %v", got)
	}
}

func TestConcurrentMembershipPatches(t *testing.T) {
	f := newFixture(t, nil)
	const n = 50
	users := make([]string, n)
	for i := range users {
		users[i] = f.createUser(fmt.Sprintf("u%02d@example.com", i), "")
	}
	// Start with the odd users; concurrently add every even user and
	// remove every odd one.
	var odd []string
	for i := 1; i < n; i += 2 {
		odd = append(odd, users[i])
	}
	gid := f.createGroup("Busy", odd...)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			op := `{"op":"add","path":"members","value":[{"value":"` + users[i] + `"}]}`
			if i%2 == 1 {
				op = `{"op":"remove","path":"members[value eq \"` + users[i] + `\"]"}`
			}
			r := f.do("PATCH", "/scim/v2/Groups/"+gid, `{`+patchSchema+`,"Operations":[`+op+`]}`)
			if r.status != 200 {
				errs <- fmt.Sprintf("patch %d: %d %s", i, r.status, r.raw)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	var even []string
	for i := 0; i < n; i += 2 {
		even = append(even, users[i])
	}
	if got, want := memberSet(t, f, gid), sorted(even...); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("members = %v\nwant %v", got, want)
	}
	g, _ := f.store.GetGroup(t.Context(), gid)
	if g.Version != n+1 {
		t.Errorf("version %d, want %d", g.Version, n+1)
	}
}

func TestUserGroupsAttributeAndExcludedMembers(t *testing.T) {
	f := newFixture(t, nil)
	u := f.createUser("member@example.com", "")
	gid := f.createGroup("Admins", u)
	r := f.mustDo(200, "GET", "/scim/v2/Users/"+u, "")
	if at(r.body, "groups", "0", "value") != gid || at(r.body, "groups", "0", "display") != "Admins" {
		t.Errorf("groups attribute: %s", r.raw)
	}
	// groups is read-only: a client value is ignored.
	f.mustDo(200, "PUT", "/scim/v2/Users/"+u, `{"userName":"member@example.com","groups":[{"value":"forged"}]}`)
	r = f.mustDo(200, "GET", "/scim/v2/Users/"+u, "")
	if at(r.body, "groups", "0", "value") != gid || at(r.body, "groups", "1") != nil {
		t.Errorf("groups after PUT: %s", r.raw)
	}
	r = f.mustDo(200, "GET", "/scim/v2/Groups?filter="+urlq(`displayName eq "admins"`)+"&excludedAttributes=members", "")
	if at(r.body, "totalResults") != jsonNum(1) || at(r.body, "Resources", "0", "members") != nil || at(r.body, "Resources", "0", "displayName") != "Admins" {
		t.Errorf("excludedAttributes=members: %s", r.raw)
	}
	r = f.mustDo(200, "GET", "/scim/v2/Groups/"+gid, "")
	if at(r.body, "members", "0", "value") != u {
		t.Errorf("group members: %s", r.raw)
	}
	// Entra's test connection: a random filter answers an empty list.
	r = f.mustDo(200, "GET", "/scim/v2/Groups?filter="+urlq(`displayName eq "9f3c1d"`)+"&excludedAttributes=members", "")
	if at(r.body, "totalResults") != jsonNum(0) || r.body["Resources"] == nil {
		t.Errorf("empty list: %s", r.raw)
	}
	// Deleting the group removes it from the user.
	f.mustDo(204, "DELETE", "/scim/v2/Groups/"+gid, "")
	r = f.mustDo(200, "GET", "/scim/v2/Users/"+u, "")
	if at(r.body, "groups") != nil {
		t.Errorf("groups after delete: %s", r.raw)
	}
}
