package scim

import (
	"net/http"
	"net/url"
	"testing"
)

// TestMemberRefAndDisplay: group members carry what /Schemas says is
// returned by default (RFC 7643 §4.2, §7): value, $ref (the member's URL,
// built from scim.externalURL when set), type and display (displayName,
// else userName), on reads, lists and writes; reads get the names with
// the members, not by looking each member up.
func TestMemberRefAndDisplay(t *testing.T) {
	for _, c := range []struct {
		name, externalURL, base string
	}{
		{"from the request", "", "http://bridge.test/scim/v2"},
		{"from externalURL", "https://idp-facing.example.com/tenant/scim", "https://idp-facing.example.com/tenant/scim"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := newFixture(t, nil)
			cs := &countingStore{Store: base.sqlite}
			f := newFixture(t, cs, func(o *Options) { o.ExternalURL = c.externalURL })
			ann := f.createUser("ann@example.com", `,"displayName":"Ann Lee"`)
			bob := f.createUser("bob@example.com", "")
			gid := f.createGroup("Named", ann)
			want := map[string]string{ann: "Ann Lee", bob: "bob@example.com"}
			check := func(what string, members any, ids ...string) {
				t.Helper()
				list, _ := members.([]any)
				if len(list) != len(ids) {
					t.Fatalf("%s: members %v, want %v", what, members, ids)
				}
				for _, el := range list {
					id, _ := at(el, "value").(string)
					if at(el, "$ref") != c.base+"/Users/"+url.PathEscape(id) || at(el, "display") != want[id] || at(el, "type") != "User" {
						t.Errorf("%s: member %v, want $ref %s/Users/%s and display %q", what, el, c.base, id, want[id])
					}
				}
			}

			r := f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Groups/"+gid, `{`+patchSchema+`,"Operations":[{"op":"add","path":"members","value":[{"value":"`+bob+`"}]}]}`)
			check("PATCH answer", r.body["members"], ann, bob)
			created := f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Groups", `{"displayName":"Second","members":[{"value":"`+bob+`"}]}`)
			check("POST answer", created.body["members"], bob)

			cs.reset()
			r = f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Groups/"+gid, "")
			check("GET", r.body["members"], ann, bob)
			r = f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Groups?filter="+urlq(`displayName eq "Named"`), "")
			check("filtered list", at(r.body, "Resources", "0", "members"), ann, bob)
			r = f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Groups?startIndex=1&count=10", "")
			check("list page", at(r.body, "Resources", "0", "members"), ann, bob)
			if n := cs.getUser.Load(); n != 0 {
				t.Errorf("%d GetUser calls to name members", n)
			}

			// A filter can use the names; the user's groups carry $ref too.
			r = f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Groups?filter="+urlq(`members[display eq "Ann Lee"]`), "")
			if at(r.body, "totalResults") != jsonNum(1) {
				t.Errorf("filter on members.display: %s", r.raw)
			}
			r = f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+ann, "")
			if at(r.body, "groups", "0", "$ref") != c.base+"/Groups/"+gid {
				t.Errorf("user groups: %v", r.body["groups"])
			}

			// A renamed user is shown by its new name.
			f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+bob, `{`+patchSchema+`,"Operations":[{"op":"add","path":"displayName","value":"Bob B."}]}`)
			want[bob] = "Bob B."
			check("after a rename", f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Groups/"+gid, "").body["members"], ann, bob)
		})
	}
}
