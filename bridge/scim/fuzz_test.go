package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// fuzzFixture holds a user and a group to patch and list.
func fuzzFixture(t testing.TB) (*fixture, string, string) {
	f := newFixture(t, nil, func(o *Options) { o.Logger = zapNop() })
	uid := f.createUser("fuzz@example.com", `,"emails":[{"value":"fuzz@example.com","type":"work"}],"name":{"givenName":"F"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}}`)
	other := f.createUser("other@example.com", "")
	gid := f.createGroup("Fuzzers", uid, other)
	return f, uid, gid
}

func FuzzPatch(f *testing.F) {
	seeds := []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"emails[type eq \"work\"].value","value":"x@y"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"name.givenName":"A","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"b"}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"x\"]"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"value":"x"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"x"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"x","displayName":"y"}}]}`,
		`{"Operations":[{"op":"replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"1"}]}`,
		`{"Operations":[{"op":"replace","path":"emails","value":{"value":"a","primary":"true"}}]}`,
		`{"Operations":[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}}]}`,
		`{"Operations":[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]}`,
		`{"Operations":[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"department":"x","manager":"m"}}]}`,
		`{"Operations":[{"op":"replace","path":"emails[value eq \"none\"].type","value":"home"}]}`,
		`{"Operations":[{"op":"replace","path":"addresses[type eq \"work\"].locality","value":"Berlin"}]}`,
		`{"Operations":null}`, `[]`, `{"Operations":[1,"x",null]}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	fx, uid, gid := fuzzFixture(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range []string{"/scim/v2/Users/" + uid, "/scim/v2/Groups/" + gid} {
			r := fx.doRaw(http.MethodPatch, p, body)
			if r >= 500 {
				t.Fatalf("PATCH %s %q: status %d", p, body, r)
			}
		}
	})
}

func FuzzFilter(f *testing.F) {
	seeds := []string{
		`userName eq "fuzz@example.com"`, `externalId eq "x"`, `emails[type eq "work" and value co "@"]`,
		`emails.value eq "FUZZ@example.com"`, `displayName eq "Fuzzers"`, `members[value eq "x"]`,
		`title pr or not (active eq false)`, `meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m"`,
		`userName eq "a" and (name.givenName sw "F" or name.familyName ew "x")`, `active eq "true"`,
		`userName gt 5`, `id eq null`, `(((`, `userName eq`, `emails[`, `not()`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "d" and active eq true`,
		`department pr or not (manager[value eq "m"] and userName pr)`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	fx, _, _ := fuzzFixture(f)
	f.Fuzz(func(t *testing.T, flt string) {
		for _, p := range []string{"/scim/v2/Users", "/scim/v2/Groups", "/scim/v2/"} {
			r := fx.doRaw(http.MethodGet, p+"?filter="+url.QueryEscape(flt)+"&attributes="+url.QueryEscape(flt), "")
			if r >= 500 {
				t.Fatalf("GET %s filter %q: status %d", p, flt, r)
			}
		}
		body, _ := json.Marshal(map[string]any{"filter": flt, "excludedAttributes": []string{flt}})
		if r := fx.doRaw(http.MethodPost, "/scim/v2/.search", string(body)); r >= 500 {
			t.Fatalf("POST /.search filter %q: status %d", flt, r)
		}
	})
}
