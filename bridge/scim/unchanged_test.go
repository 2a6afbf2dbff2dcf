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
