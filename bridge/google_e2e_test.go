package bridge_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/source/google/googletest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// TestGoogleSourceEndToEnd polls a fake Google Workspace (real service
// account login against a fake token endpoint) through the whole bridge into
// the Gainsight simulator: the initial sync, a title change, a suspension, a
// membership change that changes the license, a user leaving scope — each
// with the fewest Gainsight writes.
func TestGoogleSourceEndToEnd(t *testing.T) {
	dir := googletest.New()
	endpoint := dir.Start(t)
	tokens := &googletest.TokenServer{}
	keyFile := googletest.WriteServiceAccountKey(t, t.TempDir(), tokens.Start(t))

	dir.PutUser(googletest.User{Email: "ann@example.com", GivenName: "Ann", FamilyName: "Lee", Title: "Engineer", OrgUnitPath: "/Staff"})
	dir.PutUser(googletest.User{Email: "bob@example.com", GivenName: "Bob", FamilyName: "Ray", Title: "Analyst", OrgUnitPath: "/Staff", Manager: "ann@example.com"})
	dir.PutUser(googletest.User{Email: "cy@example.com", GivenName: "Cy", FamilyName: "Ode", OrgUnitPath: "/Staff"})
	dir.PutUser(googletest.User{Email: "out@example.com", GivenName: "Out", FamilyName: "Side", OrgUnitPath: "/Contractors"})
	dir.PutGroup(googletest.Group{Email: "gs-full@example.com", Name: "Gainsight Full"})
	dir.PutGroup(googletest.Group{Email: "random@example.com", Name: "Random"})
	dir.AddMember("gs-full@example.com", googletest.MemberUser, "ann@example.com")
	dir.AddMember("random@example.com", googletest.MemberUser, "bob@example.com")

	h := startHarness(t, harnessOpts{configure: func(c *config.Config) {
		withProfiles(c)
		c.Google = &config.GoogleSource{
			CredentialsFile: keyFile,
			Subject:         "admin@example.com",
			Customer:        "my_customer",
			Endpoint:        endpoint,
			Interval:        100 * time.Millisecond,
			OrgUnits:        []string{"/Staff"},
			GroupPatterns:   []string{"Gainsight *"},
		}
	}})
	settle := func() {
		t.Helper()
		// Two polls after the change, then the engine drains.
		n := dir.Requests(googletest.KindUsers)
		waitFor(t, func() bool { return dir.Requests(googletest.KindUsers) >= n+2 })
		h.waitSynced(30 * time.Second)
	}
	waitFor(t, func() bool { return len(h.sim.Users()) == 3 })
	settle()
	h.checkConverged()
	if u := h.simUserByEmail("ann@example.com"); u["LicenseType"] != "Full" || u["Title"] != "Engineer" {
		t.Errorf("ann: %v", u)
	}
	ann := h.simUserByEmail("ann@example.com")
	if u := h.simUserByEmail("bob@example.com"); u["Manager"] != ann["Gsid"] {
		t.Errorf("bob's manager: %v, want %v", u["Manager"], ann["Gsid"])
	}
	for _, u := range h.sim.Users() {
		if strings.Contains(u["Email"].(string), "out@") {
			t.Errorf("a user outside the org units reached gainsight: %v", u)
		}
	}
	var groups map[string]any
	h.do(http.MethodGet, "/Groups", nil, &groups)
	if groups["totalResults"] != float64(1) {
		t.Errorf("groups pushed: %v (only the pattern's)", groups)
	}

	step := func(name string, change func(), wantWrites int, check func()) {
		t.Helper()
		before := h.sim.Stats()
		change()
		settle()
		h.checkConverged()
		check()
		after := h.sim.Stats()
		if got := after.Records["update"] + after.Records["status"] - before.Records["update"] - before.Records["status"]; got != wantWrites {
			t.Errorf("%s: %d records written to gainsight, want %d (%v → %v)", name, got, wantWrites, before.Records, after.Records)
		}
	}
	step("title change", func() {
		dir.UpdateUser("bob@example.com", func(u *googletest.User) { u.Title = "Lead" })
	}, 1, func() {
		if u := h.simUserByEmail("bob@example.com"); u["Title"] != "Lead" {
			t.Errorf("bob: %v", u)
		}
	})
	step("suspension", func() {
		dir.UpdateUser("cy@example.com", func(u *googletest.User) { u.Suspended = true })
	}, 1, func() {
		if u := h.simUserByEmail("cy@example.com"); u["IsActiveUser"] != false {
			t.Errorf("suspended cy still active: %v", u)
		}
	})
	step("membership change", func() {
		dir.AddMember("gs-full@example.com", googletest.MemberUser, "bob@example.com")
	}, 1, func() {
		if u := h.simUserByEmail("bob@example.com"); u["LicenseType"] != "Full" {
			t.Errorf("bob in Gainsight Full: %v", u)
		}
	})
	// Leaving scope also takes bob out of the pushed groups (they hold only
	// users in scope), so his roles change as he is deactivated: one update
	// and one status record.
	step("leaving scope", func() {
		dir.UpdateUser("bob@example.com", func(u *googletest.User) { u.OrgUnitPath = "/Contractors" })
	}, 2, func() {
		if u := h.simUserByEmail("bob@example.com"); u["IsActiveUser"] != false {
			t.Errorf("bob left scope but is active: %v", u)
		}
	})

	// A SCIM push never fights the Google source over its users.
	var list map[string]any
	h.do(http.MethodGet, `/Users?filter=userName+eq+%22ann%40example.com%22`, nil, &list)
	id := list["Resources"].([]any)[0].(map[string]any)["id"].(string)
	var out map[string]any
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "CEO"}}}
	if s := h.do(http.MethodPatch, "/Users/"+id, body, &out); s != http.StatusConflict || !strings.Contains(strings.ToLower(out["detail"].(string)), "google") {
		t.Errorf("SCIM edit of a Google user: %d %v", s, out)
	}

	// The Google metrics the dashboard and alerts use are exported.
	names := h.exported()
	for _, m := range []string{"scim_bridge_google_last_success_timestamp_seconds", "scim_bridge_google_users_in_scope", "scim_bridge_google_changes_total", "scim_bridge_google_errors_total", "scim_bridge_google_poll_duration_seconds"} {
		if !names[m] {
			t.Errorf("metric %s not exported", m)
		}
	}
}
