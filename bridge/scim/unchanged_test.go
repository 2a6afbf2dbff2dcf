package scim

import (
	"net/http"
	"testing"
)

// TestUnchangedWritesAreNoOps repeats what IdPs repeat: a PUT of the same
// user and a PATCH to the value it already has answer 200 with the
// resource, without a new version or a sync.
func TestUnchangedWritesAreNoOps(t *testing.T) {
	f := newFixture(t, nil)
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"same@example.com","title":"Engineer","active":true,"emails":[{"value":"same@example.com","type":"work","primary":true}]}`
	created := f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Users", body)
	id := created.body["id"].(string)
	version := at(created.body, "meta", "version")
	notified := f.notified.Load()

	tests := []struct{ name, method, body string }{
		{"same PUT", http.MethodPut, body},
		{"PATCH to the current value", http.MethodPatch, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Engineer"}]}`},
		{"Okta path-less replace of active", http.MethodPatch, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.mustDo(http.StatusOK, tt.method, "/scim/v2/Users/"+id, tt.body)
			if got := at(r.body, "meta", "version"); got != version {
				t.Errorf("version %v, want %v (unchanged)", got, version)
			}
			if at(r.body, "title") != "Engineer" || r.body["id"] != id {
				t.Errorf("answer is not the resource: %v", r.body)
			}
			if f.notified.Load() != notified {
				t.Errorf("an unchanged write woke the sync engine")
			}
		})
	}
	// A real change still writes.
	r := f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Lead"}]}`)
	if at(r.body, "meta", "version") == version || f.notified.Load() == notified {
		t.Errorf("a real change was not written: %v", r.body)
	}
}

// TestUnchangedGroupWritesAreNoOps: a repeated member add (JumpCloud) or a
// rename to the current name riding along a push (Okta) keeps the version.
func TestUnchangedGroupWritesAreNoOps(t *testing.T) {
	f := newFixture(t, nil)
	u := f.createUser("member@example.com", "")
	g := f.createGroup("Sales", u)
	before := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Groups/"+g, "")
	version := at(before.body, "meta", "version")
	notified := f.notified.Load()
	for _, body := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + u + `"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Sales"}]}`,
	} {
		r := f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Groups/"+g, body)
		if got := at(r.body, "meta", "version"); got != version {
			t.Errorf("version %v, want %v", got, version)
		}
		if ms, _ := r.body["members"].([]any); len(ms) != 1 {
			t.Errorf("answer lacks the members: %v", r.body)
		}
	}
	if f.notified.Load() != notified {
		t.Errorf("an unchanged group write woke the sync engine")
	}
	r := f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Sales EMEA"}]}`)
	if at(r.body, "meta", "version") == version {
		t.Errorf("a rename was not written")
	}
}
