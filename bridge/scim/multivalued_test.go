package scim

import (
	"net/http"
	"testing"
)

// TestOnePrimaryPerAttribute: RFC 7643 §2.4 — the primary value true
// appears at most once per attribute. A POST or PUT that marks several
// values primary keeps the first and demotes the others, on every
// multi-valued attribute; the stored user says the same.
func TestOnePrimaryPerAttribute(t *testing.T) {
	const attrs = `"emails":[{"value":"a@work.example","type":"work","primary":true},{"value":"a@home.example","type":"home","primary":"true"}],
		"phoneNumbers":[{"value":"+1 555 0100","type":"work"},{"value":"+1 555 0101","type":"mobile","primary":true},{"value":"+1 555 0102","type":"fax","primary":true}],
		"addresses":[{"streetAddress":"1 Main St","type":"work","primary":true},{"streetAddress":"2 Side St","type":"home","primary":true}],
		"roles":[{"value":"Admin","primary":true},{"value":"User","primary":true}]`
	want := map[string]any{
		"emails/0/primary":       true,
		"emails/1/primary":       false,
		"phoneNumbers/0/primary": nil,
		"phoneNumbers/1/primary": true,
		"phoneNumbers/2/primary": false,
		"addresses/0/primary":    true,
		"addresses/1/primary":    false,
		"roles/0/primary":        true,
		"roles/1/primary":        false,
	}
	check := func(t *testing.T, what string, body map[string]any) {
		t.Helper()
		for p, w := range want {
			if got := at(body, splitSlash(p)...); !jsonEqual(got, w) {
				t.Errorf("%s: %s = %v, want %v", what, p, got, w)
			}
		}
	}
	f := newFixture(t, nil)
	created := f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Users", `{"userName":"prim@example.com",`+attrs+`}`)
	id := created.body["id"].(string)
	check(t, "POST answer", created.body)
	check(t, "stored after POST", f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+id, "").body)

	f.mustDo(http.StatusOK, http.MethodPut, "/scim/v2/Users/"+id, `{"userName":"prim@example.com"}`)
	replaced := f.mustDo(http.StatusOK, http.MethodPut, "/scim/v2/Users/"+id, `{"userName":"prim@example.com",`+attrs+`}`)
	check(t, "PUT answer", replaced.body)

	// A PATCH that adds two primary values at once keeps the first of them.
	patched := f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[{"op":"add","path":"emails","value":[
		{"value":"b@work.example","type":"work","primary":true},{"value":"c@work.example","type":"other","primary":true}]}]}`)
	for p, w := range map[string]any{"emails/0/primary": false, "emails/1/primary": false, "emails/2/primary": true, "emails/3/primary": false} {
		if got := at(patched.body, splitSlash(p)...); !jsonEqual(got, w) {
			t.Errorf("PATCH: %s = %v, want %v: %s", p, got, w, patched.raw)
		}
	}
	u, err := f.store.GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got := at(u.Doc, "emails", "2", "primary"); got != true {
		t.Errorf("stored primary email: %v", u.Doc["emails"])
	}
}

// TestDuplicateValuesDropped: RFC 7643 §2.4 — the same (type, value) pair
// is not returned twice. Duplicates are dropped on write (POST, PUT, PATCH),
// the first occurrence is kept, and a dropped duplicate's primary moves to
// it.
func TestDuplicateValuesDropped(t *testing.T) {
	f := newFixture(t, nil)
	created := f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Users", `{"userName":"dup@example.com",
		"emails":[{"value":"dup@example.com","type":"work"},{"value":"DUP@Example.com","type":"Work","primary":true},{"value":"dup@example.com","type":"home"}],
		"phoneNumbers":[{"value":"+1 555 0100","type":"work"},{"value":"+1 555 0100","type":"work"}],
		"addresses":[{"locality":"Berlin","type":"work"},{"locality":"Berlin","type":"work","primary":true}]}`)
	id := created.body["id"].(string)
	checks := map[string]any{
		"emails/0/value":         "dup@example.com",
		"emails/0/primary":       true,
		"emails/1/type":          "home",
		"emails/2":               nil,
		"phoneNumbers/1":         nil,
		"addresses/0/primary":    true,
		"addresses/1":            nil,
		"phoneNumbers/0/value":   "+1 555 0100",
		"addresses/0/locality":   "Berlin",
		"emails/1/value":         "dup@example.com",
		"phoneNumbers/0/primary": nil,
	}
	for p, w := range checks {
		if got := at(created.body, splitSlash(p)...); !jsonEqual(got, w) {
			t.Errorf("POST: %s = %v, want %v", p, got, w)
		}
	}
	u, err := f.store.GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(u.Doc["emails"].([]any)); n != 2 {
		t.Errorf("stored %d emails: %v", n, u.Doc["emails"])
	}

	r := f.mustDo(http.StatusOK, http.MethodPut, "/scim/v2/Users/"+id, `{"userName":"dup@example.com","emails":[{"value":"x@example.com","type":"work"},{"value":"x@example.com","type":"work"}]}`)
	if at(r.body, "emails", "1") != nil {
		t.Errorf("PUT kept a duplicate: %s", r.raw)
	}
	r = f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+id, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"emails","value":[
		{"value":"y@example.com","type":"work"},{"value":"Y@example.com","type":"work","primary":true}]}]}`)
	if at(r.body, "emails", "1") != nil || at(r.body, "emails", "0", "primary") != true {
		t.Errorf("PATCH kept a duplicate: %s", r.raw)
	}
}
