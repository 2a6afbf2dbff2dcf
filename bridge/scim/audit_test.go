package scim

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// TestAuditOfWrites: every write that changes a user's intent is handed
// to Options.Audit with the request id and the token's name; reads,
// refused writes and writes that change nothing are not.
func TestAuditOfWrites(t *testing.T) {
	var (
		mu      sync.Mutex
		entries []store.AuditEntry
	)
	f := newFixture(t, nil, func(o *Options) {
		o.Audit = func(_ context.Context, es []store.AuditEntry) {
			mu.Lock()
			defer mu.Unlock()
			entries = append(entries, es...)
		}
		o.TokenName = func([]byte) string { return "okta-prod" }
	})
	take := func() []store.AuditEntry {
		mu.Lock()
		defer mu.Unlock()
		out := entries
		entries = nil
		return out
	}
	id := f.createUser("jane@example.com", `,"title":"Analyst"`)
	got := take()
	if len(got) != 1 || got[0].Op != store.AuditUserCreated || got[0].UserID != id || got[0].UserName != "jane@example.com" ||
		got[0].Source != store.AuditSourceSCIM || got[0].Actor != "okta-prod" || got[0].RequestID == "" {
		t.Fatalf("create: %+v", got)
	}

	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false,"title":"Lead"}}]}`
	r := f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+id, patch, "X-Request-Id", "idp-req-7")
	got = take()
	if len(got) != 2 || got[0].Op != store.AuditUserDeactivated || got[1].Op != store.AuditUserUpdated {
		t.Fatalf("disable and retitle: %+v", got)
	}
	if got[0].RequestID != "idp-req-7" || r.header.Get("X-Request-Id") != "idp-req-7" {
		t.Errorf("request id %q, want the IdP's idp-req-7", got[0].RequestID)
	}
	if c := got[1].Changes; len(c) != 1 || c[0].Field != "title" || c[0].Old != "Analyst" || c[0].New != "Lead" {
		t.Errorf("changes %+v, want title Analyst → Lead", c)
	}
	// The same PATCH again changes nothing; a read and a refused write
	// record nothing.
	f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+id, patch)
	f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+id, "")
	f.mustDo(http.StatusBadRequest, http.MethodPatch, "/scim/v2/Users/"+id,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"timezone","value":"Mars/Base"}]}`)
	if got := take(); len(got) != 0 {
		t.Fatalf("no-op, read and refused write recorded %+v", got)
	}

	other := f.createUser("bob@example.com", "")
	take()
	gid := f.createGroup("Admins", id)
	if got := take(); len(got) != 1 || got[0].UserID != id || got[0].Op != store.AuditMembership || got[0].Detail != "added to group Admins" {
		t.Fatalf("group create: %+v", got)
	}
	f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"add","path":"members","value":[{"value":"`+other+`"}]},{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`)
	got = take()
	if len(got) != 2 || got[0].UserID != other || got[0].Detail != "added to group Admins" ||
		got[1].UserID != id || got[1].Detail != "removed from group Admins" || got[1].Actor != "okta-prod" {
		t.Fatalf("membership patch: %+v", got)
	}
	f.mustDo(http.StatusNoContent, http.MethodDelete, "/scim/v2/Groups/"+gid, "")
	if got := take(); len(got) != 1 || got[0].UserID != other || got[0].Detail != "removed from group Admins" {
		t.Fatalf("group delete: %+v", got)
	}
	f.mustDo(http.StatusNoContent, http.MethodDelete, "/scim/v2/Users/"+id, "")
	if got := take(); len(got) != 1 || got[0].Op != store.AuditUserDeleted || got[0].UserName != "jane@example.com" {
		t.Fatalf("user delete: %+v", got)
	}
}
