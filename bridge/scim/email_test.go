package scim

import (
	"net/http"
	"strings"
	"testing"
)

// TestEmailSyntax: an emails[].value that is not an email address is a 400
// invalidValue naming the attribute on every write, and nothing is stored;
// Gainsight would otherwise refuse the user at sync time.
func TestEmailSyntax(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createUser("mail@example.com", `,"emails":[{"value":"mail@example.com","type":"work","primary":true}]`)
	patch := func(ops string) string { return `{` + patchSchema + `,"Operations":[` + ops + `]}` }
	refused := []struct{ name, method, path, body string }{
		{"POST no at sign", "POST", "/scim/v2/Users", `{"userName":"n@example.com","emails":[{"value":"not-an-email","type":"work"}]}`},
		{"POST display name", "POST", "/scim/v2/Users", `{"userName":"n@example.com","emails":[{"value":"Ann <ann@example.com>","type":"work"}]}`},
		{"POST second email", "POST", "/scim/v2/Users", `{"userName":"n@example.com","emails":[{"value":"ann@example.com","type":"work"},{"value":"ann@@example.com","type":"home"}]}`},
		{"POST trailing space", "POST", "/scim/v2/Users", `{"userName":"n@example.com","emails":[{"value":"ann@example.com ","type":"work"}]}`},
		{"POST double dot", "POST", "/scim/v2/Users", `{"userName":"n@example.com","emails":[{"value":"ann..lee@example.com"}]}`},
		{"PUT", "PUT", "/scim/v2/Users/" + id, `{"userName":"mail@example.com","emails":[{"value":"mail at example.com","type":"work"}]}`},
		{"PATCH add", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"add","path":"emails","value":[{"value":"nope","type":"home"}]}`)},
		{"PATCH Entra filtered", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"nope"}`)},
		{"PATCH path-less", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"replace","value":{"emails[type eq \"work\"].value":"@example.com"}}`)},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(c.method, c.path, c.body)
			if r.status != http.StatusBadRequest || at(r.body, "scimType") != "invalidValue" {
				t.Fatalf("status %d, want 400 invalidValue: %s", r.status, r.raw)
			}
			if d, _ := r.body["detail"].(string); !strings.Contains(d, "emails.value") || !strings.Contains(d, "not an email address") {
				t.Errorf("detail %q does not name emails.value", d)
			}
		})
	}
	if u, err := f.store.GetUser(t.Context(), id); err != nil || u.Version != 1 {
		t.Errorf("user changed: %+v %v", u, err)
	}
	r := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users", "")
	if at(r.body, "totalResults") != jsonNum(1) {
		t.Errorf("users created: %s", r.raw)
	}
	// Addresses net/mail accepts are accepted, and an empty value stays
	// allowed (it is no address at all).
	for i, v := range []string{"o'brien+tag@example.com", "jörg@müller.example", "ops@[192.0.2.1]", ""} {
		f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Users", `{"userName":"ok`+itoa(i)+`@example.com","emails":[{"value":"`+v+`","type":"work"}]}`)
	}
}
