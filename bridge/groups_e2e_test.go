package bridge_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func profiles() []config.GroupProfile {
	yes := true
	return []config.GroupProfile{
		{Name: "viewers", DisplayName: "Gainsight Viewers", LicenseType: "Viewer"},
		{Name: "full", DisplayName: "Gainsight Full", LicenseType: "Full", Roles: []string{"Manager"}},
		{Name: "admins", DisplayName: "Gainsight Admins", SuperAdmin: &yes, Roles: []string{"Admin"}},
		{Name: "us", DisplayName: "Region US", Fields: map[string]any{"Region__gc": []any{"US"}}},
		{Name: "eu-apac", ExternalID: "ext-eu-apac", Fields: map[string]any{"Region__gc": []any{"EU", "APAC"}}},
		{Name: "east", DisplayName: "East", Fields: map[string]any{"Division__gc": "East"}},
		{Name: "west", DisplayName: "West", Fields: map[string]any{"Division__gc": "West"}},
	}
}

func withProfiles(c *config.Config) {
	c.Groups = profiles()
	c.Defaults.LicenseType = "Internal_Collaborator"
	c.Defaults.PermissionBundles = []string{"User"}
}

func (h *harness) simUserByEmail(email string) map[string]any {
	h.t.Helper()
	for _, u := range h.sim.Users() {
		if strings.EqualFold(fmt.Sprint(u["Email"]), email) {
			return u
		}
	}
	h.t.Fatalf("no gainsight user %s", email)
	return nil
}

func (h *harness) createGroup(name, externalID string, members ...string) string {
	h.t.Helper()
	doc := map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": name,
	}
	if externalID != "" {
		doc["externalId"] = externalID
	}
	var ms []any
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	doc["members"] = ms
	var out map[string]any
	if s := h.do(http.MethodPost, "/Groups", doc, &out); s != http.StatusCreated {
		h.t.Fatalf("create group %s: %d %v", name, s, out)
	}
	return out["id"].(string)
}

func (h *harness) patchGroup(id string, want int, ops ...map[string]any) map[string]any {
	h.t.Helper()
	var out map[string]any
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
	if s := h.do(http.MethodPatch, "/Groups/"+id, body, &out); s != want {
		h.t.Fatalf("patch group: status %d, want %d: %v", s, want, out)
	}
	return out
}

func bundles(u map[string]any) []string {
	var out []string
	switch l := u["permissionBundles"].(type) {
	case []any:
		for _, x := range l {
			out = append(out, fmt.Sprint(x))
		}
	case []string:
		out = l
	}
	return out
}

// TestGroupsOneLoginStyle pushes groups with their members in the create,
// as OneLogin's rules do, and checks the attributes members inherit and
// lose.
func TestGroupsOneLoginStyle(t *testing.T) {
	h := startHarness(t, harnessOpts{configure: withProfiles})
	ann := h.createUser(userDoc("ann@example.com", nil))
	bob := h.createUser(userDoc("bob@example.com", nil))
	cid := h.createUser(userDoc("cid@example.com", nil))

	viewers := h.createGroup("Gainsight Viewers", "", ann, bob)
	full := h.createGroup("Gainsight Full", "", ann)
	h.createGroup("Region US", "", ann, cid)
	h.createGroup("Region EU and APAC", "ext-eu-apac", ann)
	admins := h.createGroup("Gainsight Admins", "", cid)
	h.waitSynced(30 * time.Second)
	h.checkConverged()

	a := h.simUserByEmail("ann@example.com")
	if a["LicenseType"] != "Full" || !sameValue(bundles(a), []string{"Manager"}) || !sameValue(a["Region__gc"], []string{"US", "EU", "APAC"}) {
		t.Errorf("ann (Viewer+Full, US+EU/APAC): %v", a)
	}
	b := h.simUserByEmail("bob@example.com")
	if b["LicenseType"] != "Viewer" || !sameValue(bundles(b), []string{"User"}) {
		t.Errorf("bob (Viewer): %v", b)
	}
	c := h.simUserByEmail("cid@example.com")
	if c["LicenseType"] != "Full" || !sameValue(bundles(c), []string{"Admin"}) {
		t.Errorf("cid (super admin forces Full): %v", c)
	}
	if _, ok := c["IsSuperAdmin"]; ok && c["IsSuperAdmin"] == true {
		t.Errorf("super admin must not be pushed: %v", c)
	}

	// Leaving the Full group takes its license and role away.
	h.patchGroup(full, http.StatusOK, map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, ann)})
	// Deleting the admins group takes cid back to defaults.
	if s := h.do(http.MethodDelete, "/Groups/"+admins, nil, nil); s != http.StatusNoContent {
		t.Fatalf("delete group: %d", s)
	}
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	a = h.simUserByEmail("ann@example.com")
	if a["LicenseType"] != "Viewer" || !sameValue(bundles(a), []string{"User"}) {
		t.Errorf("ann after leaving Full: %v", a)
	}
	c = h.simUserByEmail("cid@example.com")
	if c["LicenseType"] != "Internal_Collaborator" || !sameValue(bundles(c), []string{"User"}) {
		t.Errorf("cid after admins deleted: %v", c)
	}

	// A conflicting add is rejected whole and changes nothing.
	east := h.createGroup("East", "", bob)
	west := h.createGroup("West", "")
	h.waitSynced(30 * time.Second)
	before := h.sim.Stats()
	out := h.patchGroup(west, http.StatusBadRequest, map[string]any{"op": "add", "path": "members", "value": []any{
		map[string]any{"value": bob}, map[string]any{"value": ann},
	}})
	if out["scimType"] != "invalidValue" || !strings.Contains(fmt.Sprint(out["detail"]), "Division__gc") {
		t.Errorf("conflict answer: %v", out)
	}
	var g map[string]any
	h.do(http.MethodGet, "/Groups/"+west, nil, &g)
	if ms, _ := g["members"].([]any); len(ms) != 0 {
		t.Errorf("rejected change was applied: %v", g["members"])
	}
	h.waitSynced(30 * time.Second)
	if after := h.sim.Stats(); writeCalls(after) != writeCalls(before) {
		t.Errorf("a rejected change reached gainsight: %v → %v", before.Calls, after.Calls)
	}
	if u := h.simUserByEmail("bob@example.com"); u["Division__gc"] != "East" {
		t.Errorf("bob after the rejected change: %v", u)
	}
	// Entra's group lookup keeps working and the groups are intact.
	for _, g := range []string{east, viewers} {
		if s := h.do(http.MethodGet, "/Groups/"+g, nil, nil); s != http.StatusOK {
			t.Errorf("group %s: %d", g, s)
		}
	}
}

// TestGroupsEntraStyle creates groups empty and manages members with
// Entra's PATCH shapes.
func TestGroupsEntraStyle(t *testing.T) {
	h := startHarness(t, harnessOpts{configure: withProfiles})
	ann := h.createUser(userDoc("ann@example.com", nil))
	bob := h.createUser(userDoc("bob@example.com", nil))
	g := h.createGroup("Gainsight Full", "")
	// Lookup as Entra does.
	var list map[string]any
	if s := h.do(http.MethodGet, `/Groups?filter=displayName+eq+%22Gainsight+Full%22&excludedAttributes=members`, nil, &list); s != http.StatusOK || list["totalResults"] != float64(1) {
		t.Fatalf("group lookup: %d %v", s, list)
	}
	h.patchGroup(g, http.StatusOK, map[string]any{"op": "Add", "path": "members", "value": []any{
		map[string]any{"value": ann}, map[string]any{"value": bob},
	}})
	// Repeated add (JumpCloud does this) is a no-op.
	h.patchGroup(g, http.StatusOK, map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": ann}}})
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	if u := h.simUserByEmail("bob@example.com"); u["LicenseType"] != "Full" {
		t.Errorf("bob: %v", u)
	}
	// Entra without the 2020 flag removes with a value list.
	h.patchGroup(g, http.StatusOK, map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": bob}}})
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	if u := h.simUserByEmail("bob@example.com"); u["LicenseType"] != "Internal_Collaborator" {
		t.Errorf("bob after removal: %v", u)
	}
	if u := h.simUserByEmail("ann@example.com"); u["LicenseType"] != "Full" {
		t.Errorf("ann: %v", u)
	}
}

// TestProfileFanOut changes the profile of a group with 2,000 members:
// every member is updated, in batches of 50.
func TestProfileFanOut(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 2,000 users")
	}
	h := startHarness(t, harnessOpts{configure: withProfiles})
	const n = 2000
	ids := h.createMany("fan", n)
	h.createGroup("Gainsight Viewers", "", ids...)
	h.waitSynced(3 * time.Minute)
	before := h.sim.Stats()

	next := *h.bridge.Config()
	next.Groups = profiles()
	next.Groups[0].LicenseType = "Viewer_Analytics"
	marked, err := h.bridge.Apply(t.Context(), &next)
	if err != nil {
		t.Fatal(err)
	}
	if marked != n {
		t.Errorf("profile change marked %d users dirty, want %d", marked, n)
	}
	h.waitSynced(3 * time.Minute)
	after := h.sim.Stats()
	updates := after.Calls["update"] - before.Calls["update"]
	limit := int(1.1 * float64((n+49)/50))
	if updates > limit || writeCalls(after)-writeCalls(before) > limit {
		t.Errorf("fan-out of %d users took %d update calls (%v → %v), want ≤ %d", n, updates, before.Calls, after.Calls, limit)
	}
	for _, u := range h.sim.Users() {
		if u["LicenseType"] != "Viewer_Analytics" {
			t.Fatalf("user not updated: %v", u)
		}
	}
	t.Logf("fan-out: %d users, %d update calls", n, updates)
}

// TestDeprovisionOnNoProfiledGroups assigns Gainsight by group, as Google
// and OneLogin customers do: leaving the last profiled group deactivates
// the user; joining one again reactivates it with its license.
func TestDeprovisionOnNoProfiledGroups(t *testing.T) {
	h := startHarness(t, harnessOpts{configure: func(c *config.Config) {
		withProfiles(c)
		c.Deprovision.OnNoProfiledGroups = "deactivate"
	}})
	ann := h.createUser(userDoc("ann@example.com", nil))
	g := h.createGroup("Gainsight Viewers", "", ann)
	h.waitSynced(30 * time.Second)
	if u := h.simUserByEmail("ann@example.com"); u["IsActiveUser"] != true || u["LicenseType"] != "Viewer" {
		t.Fatalf("ann in a profiled group: %v", u)
	}
	h.patchGroup(g, http.StatusOK, map[string]any{"op": "remove", "path": "members", "value": []any{map[string]any{"value": ann}}})
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	if u := h.simUserByEmail("ann@example.com"); u["IsActiveUser"] != false {
		t.Errorf("ann left her last profiled group but is still active: %v", u)
	}
	h.patchGroup(g, http.StatusOK, map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": ann}}})
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	if u := h.simUserByEmail("ann@example.com"); u["IsActiveUser"] != true || u["LicenseType"] != "Viewer" {
		t.Errorf("ann rejoined: %v", u)
	}
}
