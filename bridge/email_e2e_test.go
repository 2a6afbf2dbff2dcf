package bridge_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUserNameAsEmailChecked: a user without a work email reaches
// Gainsight with its userName as Email, so such a userName must be an
// email address; the SCIM write is refused at once (400 naming userName)
// instead of the user failing at sync time. A userName that is not an
// address is fine when a work email is what Gainsight gets.
func TestUserNameAsEmailChecked(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	var out map[string]any
	status := h.do(http.MethodPost, "/Users", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "jdoe",
		"name": map[string]any{"givenName": "J", "familyName": "Doe"},
	}, &out)
	if detail, _ := out["detail"].(string); status != http.StatusBadRequest || out["scimType"] != "invalidValue" || !strings.Contains(detail, "userName") {
		t.Fatalf("userName used as Email: status %d %v", status, out)
	}

	id := h.createUser(map[string]any{
		"userName": "jdoe", "name": map[string]any{"givenName": "J", "familyName": "Doe"},
		"emails": []any{map[string]any{"value": "jdoe@example.com", "type": "work"}},
	})
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	users := h.sim.Users()
	if len(users) != 1 || users[0]["Email"] != "jdoe@example.com" || users[0]["SFDCUserName"] != "jdoe" {
		t.Fatalf("gainsight users %v", users)
	}

	// Dropping the work email would make the userName the Email.
	out = nil
	status = h.do(http.MethodPatch, "/Users/"+id, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "remove", "path": "emails"}},
	}, &out)
	if status != http.StatusBadRequest || out["scimType"] != "invalidValue" {
		t.Fatalf("removing the work email: status %d %v", status, out)
	}
}
