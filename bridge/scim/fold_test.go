package scim

import (
	"net/http"
	"testing"
)

// TestFiltersFoldCaseLikeTheStore: an in-memory filter (co, sw) and an
// indexed lookup (eq) agree on what "case-insensitive" means, Greek final
// sigma included.
func TestFiltersFoldCaseLikeTheStore(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createUser("ΣΊΣΥΦΟΣ@example.com", "")
	for _, filter := range []string{
		`userName eq "σίσυφος@example.com"`,
		`userName sw "σίσυφος"`,
		`userName co "ΊΣΥΦΟς"`,
	} {
		r := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users?filter="+urlq(filter), "")
		if at(r.body, "totalResults") != jsonNum(1) || at(r.body, "Resources", "0", "id") != id {
			t.Errorf("%s: %v", filter, r.body)
		}
	}
}
