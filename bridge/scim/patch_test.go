package scim

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestPatchUserDialects(t *testing.T) {
	const base = `,"externalId":"e1","title":"Engineer","name":{"givenName":"Ann","familyName":"Lee"},
		"emails":[{"value":"ann@work.example","type":"work","primary":true},{"value":"ann@home.example","type":"home"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","manager":{"value":"m0"}}`
	cases := []struct {
		name   string
		ops    string
		checks map[string]any // slash-separated path → want (nil = absent)
	}{
		{"okta deactivate without path", `{"op":"replace","value":{"active":false}}`,
			map[string]any{"active": false, "title": "Engineer"}},
		{"entra string boolean", `{"op":"Replace","path":"active","value":"False"}`,
			map[string]any{"active": false}},
		{"entra string boolean true", `{"op":"Replace","path":"active","value":"True"}`,
			map[string]any{"active": true}},
		{"capitalised add", `{"op":"Add","path":"title","value":"Lead"}`,
			map[string]any{"title": "Lead"}},
		{"remove attribute", `{"op":"Remove","path":"title"}`,
			map[string]any{"title": nil, "userName": "ann@example.com"}},
		{"sub-attribute path", `{"op":"replace","path":"name.givenName","value":"Anna"}`,
			map[string]any{"name/givenName": "Anna", "name/familyName": "Lee"}},
		{"value filter path", `{"op":"replace","path":"emails[type eq \"work\"].value","value":"anna@work.example"}`,
			map[string]any{"emails/0/value": "anna@work.example", "emails/0/type": "work", "emails/1/value": "ann@home.example"}},
		{"replace of an email type the user lacks adds it (Entra)", `{"op":"replace","path":"emails[type eq \"other\"].value","value":"x@other.example"}`,
			map[string]any{"emails/2/value": "x@other.example", "emails/2/type": "other"}},
		{"remove filtered element", `{"op":"remove","path":"emails[type eq \"home\"]"}`,
			map[string]any{"emails/0/type": "work", "emails/1": nil}},
		{"path-less dotted and URN keys", `{"op":"Replace","value":{"name.givenName":"Annie","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"Sales","active":false,"shoeSize":"44","id":"forged"}}`,
			map[string]any{"name/givenName": "Annie", URNEnterprise + "/department": "Sales", "active": false, "shoeSize": nil, "id": "__id__"}},
		{"path-less URN container", `{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Legal"}}}`,
			map[string]any{URNEnterprise + "/department": "Legal", URNEnterprise + "/manager/value": "m0"}},
		{"bare-string manager", `{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m1"}`,
			map[string]any{URNEnterprise + "/manager/value": "m1"}},
		{"bare-string manager path-less", `{"op":"Replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"m2"}}`,
			map[string]any{URNEnterprise + "/manager/value": "m2"}},
		{"remove manager", `{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}`,
			map[string]any{URNEnterprise + "/manager": nil, URNEnterprise + "/department": "R&D"}},
		{"add email appends", `{"op":"add","path":"emails","value":[{"value":"ann@new.example","type":"other"}]}`,
			map[string]any{"emails/2/value": "ann@new.example"}},
		{"add existing email is a no-op", `{"op":"add","path":"emails","value":[{"value":"ann@home.example","type":"home"}]}`,
			map[string]any{"emails/2": nil}},
		{"replace externalId", `{"op":"replace","path":"externalId","value":"e2"}`,
			map[string]any{"externalId": "e2"}},
		{"gainsight extension", `{"op":"add","path":"urn:ietf:params:scim:schemas:extension:gainsight:2.0:User:LicenseType","value":"Viewer"}`,
			map[string]any{URNGainsight + "/LicenseType": "Viewer"}},
		{"several ops in order", `{"op":"replace","path":"title","value":"A"},{"op":"replace","path":"title","value":"B"}`,
			map[string]any{"title": "B"}},
		{"remove missing is no-op", `{"op":"remove","path":"nickName"}`,
			map[string]any{"nickName": nil, "title": "Engineer"}},
		{"adding a primary email demotes the old one", `{"op":"add","path":"emails","value":[{"value":"ann@new.example","type":"work","primary":true}]}`,
			map[string]any{"emails/0/primary": false, "emails/2/value": "ann@new.example", "emails/2/primary": true}},
		{"making a filtered email primary demotes the old one", `{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}`,
			map[string]any{"emails/0/primary": false, "emails/1/primary": true}},
		{"replacing a filtered email with a primary one", `{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"ann@home2.example","type":"home","primary":true}}`,
			map[string]any{"emails/0/primary": false, "emails/1/value": "ann@home2.example", "emails/1/primary": true}},
		{"a non-primary change keeps the primary", `{"op":"add","path":"emails","value":[{"value":"ann@new.example","type":"other"}]}`,
			map[string]any{"emails/0/primary": true, "emails/2/primary": nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			id := f.createUser("ann@example.com", base)
			r := f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[`+c.ops+`]}`)
			for p, want := range c.checks {
				if want == "__id__" {
					want = id
				}
				if got := at(r.body, splitSlash(p)...); !jsonEqual(got, want) {
					t.Errorf("%s = %v, want %v\n%s", p, got, want, r.raw)
				}
			}
			// The stored user reflects the response.
			g := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+id, "")
			for p, want := range c.checks {
				if want == "__id__" {
					want = id
				}
				if got := at(g.body, splitSlash(p)...); !jsonEqual(got, want) {
					t.Errorf("stored %s = %v, want %v", p, got, want)
				}
			}
		})
	}
}

func splitSlash(p string) []string {
	var out []string
	start := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

func jsonEqual(got, want any) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return string(a) == string(b)
}

func TestPatchIndexFieldsFollowDoc(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createUser("idx@example.com", `,"emails":[{"value":"idx@work.example","type":"work"}]`)
	f.mustDo(200, "PATCH", "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[
		{"op":"replace","path":"userName","value":"renamed@example.com"},
		{"op":"replace","path":"emails[type eq \"work\"].value","value":"new@work.example"},
		{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"boss"},
		{"op":"replace","path":"active","value":"false"}]}`)
	u, err := f.store.GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if u.UserName != "renamed@example.com" || len(u.Emails) != 1 || u.Emails[0] != "new@work.example" || u.ManagerID != "boss" || u.Active {
		t.Errorf("index fields = %+v", u)
	}
}

// TestReplaceMatchingNothing: RFC 7644 §3.5.2.3 — a replace whose value
// filter matches nothing fails with 400 noTarget and changes nothing. The
// one exception is Entra's: "attr[type eq "t"].sub" on emails, phoneNumbers
// or addresses adds a value of that type when there is none.
func TestReplaceMatchingNothing(t *testing.T) {
	const base = `,"emails":[{"value":"nt@work.example","type":"work","primary":true}],"phoneNumbers":[{"value":"+1 555 0100","type":"work"}]`
	refused := []struct{ name, ops string }{
		{"filter on value", `{"op":"replace","path":"emails[value eq \"nobody@example.com\"].type","value":"home"}`},
		{"whole element", `{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"nt@home.example","type":"home"}}`},
		{"compound filter", `{"op":"replace","path":"emails[type eq \"home\" and primary eq true].value","value":"nt@home.example"}`},
		{"sub-attribute the IdP does not map", `{"op":"replace","path":"emails[type eq \"home\"].display","value":"Home"}`},
		{"attribute outside the exception", `{"op":"replace","path":"ims[type eq \"xmpp\"].value","value":"nt@chat.example"}`},
		{"other operator", `{"op":"replace","path":"phoneNumbers[type co \"mob\"].value","value":"+1 555 0199"}`},
		{"path-less key", `{"op":"replace","value":{"phoneNumbers[value eq \"+1 555 0199\"].type":"mobile"}}`},
		{"after a valid operation", `{"op":"replace","path":"title","value":"Changed"},{"op":"replace","path":"emails[value eq \"x@example.com\"].value","value":"y@example.com"}`},
	}
	f := newFixture(t, nil)
	id := f.createUser("nt@example.com", base)
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(http.MethodPatch, "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[`+c.ops+`]}`)
			if r.status != http.StatusBadRequest || at(r.body, "scimType") != "noTarget" {
				t.Fatalf("status %d, want 400 noTarget: %s", r.status, r.raw)
			}
		})
	}
	if u, err := f.store.GetUser(t.Context(), id); err != nil || u.Version != 1 {
		t.Fatalf("user changed by refused PATCHes: %+v %v", u, err)
	}

	gid := f.createGroup("NoTarget", id)
	r := f.do(http.MethodPatch, "/scim/v2/Groups/"+gid, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"members[value eq \"nobody\"]","value":{"value":"`+id+`"}}]}`)
	if r.status != http.StatusBadRequest || at(r.body, "scimType") != "noTarget" {
		t.Errorf("group member replace matching nothing: status %d: %s", r.status, r.raw)
	}

	upserted := []struct {
		name, ops string
		checks    map[string]any
	}{
		{"entra email", `{"op":"Replace","path":"emails[type eq \"home\"].value","value":"nt@home.example"}`,
			map[string]any{"emails/1/type": "home", "emails/1/value": "nt@home.example"}},
		{"entra phone", `{"op":"Replace","path":"phoneNumbers[type eq \"fax\"].value","value":"+1 555 0102"}`,
			map[string]any{"phoneNumbers/1/type": "fax", "phoneNumbers/1/value": "+1 555 0102"}},
		{"entra address", `{"op":"Replace","path":"addresses[type eq \"work\"].locality","value":"Berlin"}`,
			map[string]any{"addresses/0/type": "work", "addresses/0/locality": "Berlin"}},
		{"entra path-less", `{"op":"Replace","value":{"addresses[type eq \"home\"].postalCode":"10115"}}`,
			map[string]any{"addresses/1/type": "home", "addresses/1/postalCode": "10115"}},
		{"a match is replaced", `{"op":"replace","path":"phoneNumbers[type eq \"work\"].value","value":"+1 555 0109"}`,
			map[string]any{"phoneNumbers/0/value": "+1 555 0109", "phoneNumbers/2": nil}},
	}
	for _, c := range upserted {
		t.Run(c.name, func(t *testing.T) {
			r := f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[`+c.ops+`]}`)
			for p, want := range c.checks {
				if got := at(r.body, splitSlash(p)...); !jsonEqual(got, want) {
					t.Errorf("%s = %v, want %v: %s", p, got, want, r.raw)
				}
			}
		})
	}
}

// TestPatchExtensionURNPath: a PATCH whose path is a bare extension URN
// means the attributes of that extension: add and replace set the
// attributes given (others stay), remove drops the whole extension.
func TestPatchExtensionURNPath(t *testing.T) {
	const base = `,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","costCenter":"CC-1","manager":{"value":"m0"}},
		"urn:ietf:params:scim:schemas:extension:gainsight:2.0:User":{"LicenseType":"Full"}`
	cases := []struct {
		name   string
		ops    string
		checks map[string]any
	}{
		{"replace", `{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"department":"Sales","manager":"m1"}}`,
			map[string]any{URNEnterprise + "/department": "Sales", URNEnterprise + "/manager/value": "m1", URNEnterprise + "/costCenter": "CC-1"}},
		{"add, capitalised, other case", `{"op":"Add","path":"URN:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"division":"EMEA"}}`,
			map[string]any{URNEnterprise + "/division": "EMEA", URNEnterprise + "/department": "R&D"}},
		{"gainsight extension", `{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:gainsight:2.0:User","value":{"LicenseType":"Viewer"}}`,
			map[string]any{URNGainsight + "/LicenseType": "Viewer"}},
		{"remove", `{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}`,
			map[string]any{URNEnterprise: nil, URNGainsight + "/LicenseType": "Full"}},
		{"remove then add", `{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"department":"Ops"}}`,
			map[string]any{URNEnterprise + "/department": "Ops", URNEnterprise + "/costCenter": nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			id := f.createUser("urn@example.com", base)
			r := f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[`+c.ops+`]}`)
			g := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+id, "")
			for p, want := range c.checks {
				if got := at(r.body, splitSlash(p)...); !jsonEqual(got, want) {
					t.Errorf("%s = %v, want %v\n%s", p, got, want, r.raw)
				}
				if got := at(g.body, splitSlash(p)...); !jsonEqual(got, want) {
					t.Errorf("stored %s = %v, want %v", p, got, want)
				}
			}
			u, err := f.store.GetUser(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if want, ok := c.checks[URNEnterprise+"/manager/value"]; ok && u.ManagerID != want {
				t.Errorf("indexed manager %q, want %v", u.ManagerID, want)
			}
		})
	}
	f := newFixture(t, nil)
	id := f.createUser("urn@example.com", base)
	for _, bad := range []string{
		`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":"Sales"}`,
		`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}`,
	} {
		r := f.do(http.MethodPatch, "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[`+bad+`]}`)
		if r.status != http.StatusBadRequest || at(r.body, "scimType") != "invalidValue" {
			t.Errorf("%s: status %d, want 400 invalidValue: %s", bad, r.status, r.raw)
		}
	}
	if u, _ := f.store.GetUser(t.Context(), id); u.Version != 1 {
		t.Errorf("refused PATCH changed the user: %+v", u)
	}
}
