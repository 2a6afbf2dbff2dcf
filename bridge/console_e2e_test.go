package bridge_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

const adminToken = "console-admin-token-0123456789"

func withConsole(c *config.Config) {
	withAdminsProfile(c)
	c.Console.Enabled = true
	c.Console.Tokens = []config.Token{{Name: "alice-admin", SHA256: config.Secret(config.HashToken(adminToken))}}
	c.Console.SessionKey = "a-session-key-of-at-least-32-characters"
	c.Gainsight.Budget = config.Budget{PerHour: 100, PerDay: 1000}
}

// consoleUser is a user whose userName is not its email, so a test can
// tell the email (personal data) apart on a page.
func consoleUser(userName, email, title string) map[string]any {
	doc := userDoc(email, map[string]any{"title": title})
	doc["userName"] = userName
	return doc
}

// userIDByName returns the SCIM id of userName.
func userIDByName(t *testing.T, h *harness, userName string) string {
	t.Helper()
	us, _, err := h.store.ListUsers(context.Background(), store.Query{Field: "userName", Value: userName})
	if err != nil || len(us) != 1 {
		t.Fatalf("user %s: %v, %v", userName, us, err)
	}
	return us[0].ID
}

// TestConsoleInBrowser drives the console in headless Chromium: sign in,
// find a user, see its attributes and history after a group change, retry
// a failed user and see it synced, and the groups page. Assertions are on
// the rendered DOM; each page is saved as a screenshot.
func TestConsoleInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	h := startHarness(t, harnessOpts{configure: withConsole})
	h.sim.SetRefused("Title", "Contractor")
	jane := h.createUser(consoleUser("jdoe", "jane.doe@corp.example", "Analyst"))
	for _, n := range []string{"amy", "bert", "jdunn"} {
		h.createUser(consoleUser(n, n+"@corp.example", "Engineer"))
	}
	h.createUser(consoleUser("cfail", "carl.fail@corp.example", "Contractor"))
	h.waitSynced(15 * time.Second)
	if s := h.do(http.MethodPost, "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Gainsight Admins",
		"members": []any{map[string]any{"value": jane}},
	}, nil); s != http.StatusCreated {
		t.Fatalf("create group: %d", s)
	}
	h.waitSynced(15 * time.Second)
	ui := h.adminURL + "/ui/"

	// Signing in: the console sends a stranger to the form.
	browse(t, ctx, "open the console", chromedp.Navigate(ui), chromedp.WaitVisible(chromedp.CSS("#token")))
	screenshot(t, ctx, "login")
	browse(t, ctx, "sign in with a wrong token",
		chromedp.SendKeys(chromedp.CSS("#token"), "not-a-token"), chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#message")))
	if msg := textOf(t, ctx, "#message"); !strings.Contains(msg, "not an admin token") {
		t.Errorf("wrong token: %q", msg)
	}
	browse(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#token"), adminToken), chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#overview")))
	if who := textOf(t, ctx, "#admin"); who != "alice-admin" {
		t.Errorf("signed in as %q", who)
	}

	// Overview.
	if got := textOf(t, ctx, `td[data-state="failed"]`); got != "1" {
		t.Errorf("failed users on the overview: %q", got)
	}
	if got := textOf(t, ctx, `td[data-state="synced"]`); got != "4" {
		t.Errorf("synced users on the overview: %q", got)
	}
	if got := textOf(t, ctx, "#queue-depth"); got != "0" {
		t.Errorf("queue depth %q", got)
	}
	if got := textOf(t, ctx, "#eta"); !strings.HasPrefix(got, "now") {
		t.Errorf("ETA of an empty queue: %q", got)
	}
	if got := textOf(t, ctx, "#reasons"); !strings.Contains(got, "validation") {
		t.Errorf("failures by reason: %q", got)
	}
	if got := textOf(t, ctx, "#failures"); !strings.Contains(got, "cfail") || !strings.Contains(got, "refused") {
		t.Errorf("failures: %q", got)
	}
	screenshot(t, ctx, "overview")

	// Users: search.
	browse(t, ctx, "search users",
		chromedp.Click(chromedp.CSS(`nav a[href="/ui/users"]`)), chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "jd"), chromedp.Click(chromedp.CSS("#search")),
		// The results page echoes the query in the field's value attribute;
		// the form's own page only has it typed in.
		chromedp.WaitVisible(chromedp.CSS(`#q[value="jd"]`)), chromedp.WaitVisible(chromedp.CSS("#users")))
	names := run(t, ctx, "read results", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#users a.user")].map(a => a.textContent)`))
	if strings.Join(names, ",") != "jdoe,jdunn" {
		t.Errorf("search jd: %v", names)
	}
	screenshot(t, ctx, "users")

	// A user: attributes with their groups, history after the group change.
	browse(t, ctx, "open jdoe", chromedp.Click(chromedp.CSS(`#users a.user`)), chromedp.WaitVisible(chromedp.CSS("#history")))
	if got := textOf(t, ctx, "#username"); got != "jdoe" {
		t.Fatalf("user page of %q", got)
	}
	if got := textOf(t, ctx, `tr[data-attr="LicenseType"]`); !strings.Contains(got, "Full") || !strings.Contains(got, "Gainsight Admins") {
		t.Errorf("LicenseType row %q, want Full from Gainsight Admins", got)
	}
	if got := textOf(t, ctx, `tr[data-op="group-membership"]`); !strings.Contains(got, "added to group Gainsight Admins") || !strings.Contains(got, "scim: test") {
		t.Errorf("membership row %q", got)
	}
	if got := textOf(t, ctx, `tr[data-op="update"]`); !strings.Contains(got, "LicenseType: Viewer → Full") || !strings.Contains(got, "sync") {
		t.Errorf("update row %q, want LicenseType: Viewer → Full", got)
	}
	if got := textOf(t, ctx, `tr[data-op="create"]`); !strings.Contains(got, "Email: changed") || !strings.Contains(got, "Title: — → Analyst") {
		t.Errorf("create row %q, want Email as changed and the title's value", got)
	}
	html := run(t, ctx, "read the page", chromedp.OuterHTML(chromedp.CSS("html")))
	for _, secret := range []string{"jane.doe@corp.example", "jane.doe@", testToken, testAccessKey, adminToken} {
		if strings.Contains(html, secret) {
			t.Errorf("the user page shows %q", secret)
		}
	}
	screenshot(t, ctx, "user")

	// A failed user: filter, retry once Gainsight accepts it, see it synced.
	browse(t, ctx, "filter failed",
		chromedp.Navigate(ui+"users?state=failed"), chromedp.WaitVisible(chromedp.CSS("#users")))
	names = run(t, ctx, "read results", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#users a.user")].map(a => a.textContent)`))
	if strings.Join(names, ",") != "cfail" {
		t.Fatalf("failed users: %v", names)
	}
	browse(t, ctx, "open cfail", chromedp.Click(chromedp.CSS(`#users a.user`)), chromedp.WaitVisible(chromedp.CSS("#action-retry")))
	if got := textOf(t, ctx, "#state"); got != store.StateFailed {
		t.Fatalf("cfail state %q", got)
	}
	if got := textOf(t, ctx, "#last-error"); !strings.Contains(got, "refused") {
		t.Errorf("last error %q", got)
	}
	h.sim.SetRefused("Title")
	browse(t, ctx, "retry", chromedp.Click(chromedp.CSS("#action-retry")), chromedp.WaitVisible(chromedp.CSS("#done")))
	deadline := time.Now().Add(15 * time.Second)
	for textOf(t, ctx, "#state") != store.StateSynced {
		if time.Now().After(deadline) {
			t.Fatalf("cfail not synced after a retry: %s", textOf(t, ctx, "#state"))
		}
		time.Sleep(100 * time.Millisecond)
		browse(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#state")))
	}
	if got := textOf(t, ctx, `tr[data-op="retry"]`); !strings.Contains(got, "console: alice-admin") {
		t.Errorf("retry row %q, want the admin's name", got)
	}
	if got := textOf(t, ctx, "#gsid"); got == "" {
		t.Errorf("no GSID after the retry")
	}
	screenshot(t, ctx, "user-retried")
	es, err := h.store.ListAudit(context.Background(), store.AuditQuery{UserID: userIDByName(t, h, "cfail")})
	if err != nil || len(es) == 0 || es[0].Op != store.AuditCreate || es[0].Result != store.AuditOK {
		t.Errorf("cfail's newest entry: %+v, %v; want the create after the retry", es, err)
	}

	// Groups.
	browse(t, ctx, "groups", chromedp.Click(chromedp.CSS(`nav a[href="/ui/groups"]`)), chromedp.WaitVisible(chromedp.CSS("#profiles")))
	if got := textOf(t, ctx, `tr[data-profile="admins"] td.members`); got != "1" {
		t.Errorf("admins members %q", got)
	}
	if got := textOf(t, ctx, `tr[data-profile="admins"]`); !strings.Contains(got, "licenseType: Full") {
		t.Errorf("admins row %q", got)
	}
	screenshot(t, ctx, "groups")

	// Signing out ends the session.
	browse(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`header form.who button`)), chromedp.WaitVisible(chromedp.CSS("#token")))
	browse(t, ctx, "back to a page", chromedp.Navigate(ui+"users"), chromedp.WaitVisible(chromedp.CSS("#token")))
}

// TestConsoleGuardInBrowser drives the plan page and the guard's actions
// in headless Chromium: deactivations held beyond the threshold are listed,
// one is approved from its user page and the rest from the plan page, and
// in shadow mode the page lists what would be sent.
func TestConsoleGuardInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	h := startHarness(t, harnessOpts{configure: func(c *config.Config) {
		withConsole(c)
		c.Sync.Guard = config.Guard{Enabled: true, MaxUsers: 2, Window: time.Hour}
	}})
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = h.createUser(consoleUser(fmt.Sprintf("leaver%d", i), fmt.Sprintf("leaver%d@corp.example", i), "Engineer"))
	}
	h.waitSynced(15 * time.Second)
	h.setActive(ids[:5], false)
	h.waitSettled(15 * time.Second)
	ui := h.adminURL + "/ui/"

	browse(t, ctx, "sign in", chromedp.Navigate(ui+"plan"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), adminToken), chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#held")))
	held := run(t, ctx, "read held users", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#held a.user")].map(a => a.textContent)`))
	if len(held) != 3 {
		t.Fatalf("held users on the plan page: %v", held)
	}
	if got := textOf(t, ctx, "#held"); !strings.Contains(got, "awaiting a decision") {
		t.Errorf("held table %q", got)
	}
	if got := textOf(t, ctx, "#guard"); !strings.Contains(got, "beyond 2 users per 1h0m0s") {
		t.Errorf("guard %q", got)
	}
	screenshot(t, ctx, "plan-held")

	// One from its user page.
	browse(t, ctx, "open a held user", chromedp.Click(chromedp.CSS(`#held a.user`)), chromedp.WaitVisible(chromedp.CSS("#action-approve")))
	if got := textOf(t, ctx, "#state"); got != store.StateHeld {
		t.Fatalf("held user's state %q", got)
	}
	first := textOf(t, ctx, "#username")
	browse(t, ctx, "approve", chromedp.Click(chromedp.CSS("#action-approve")), chromedp.WaitVisible(chromedp.CSS("#done")))
	deadline := time.Now().Add(15 * time.Second)
	for textOf(t, ctx, "#state") != store.StateSynced {
		if time.Now().After(deadline) {
			t.Fatalf("%s not deactivated after approval: %s", first, textOf(t, ctx, "#state"))
		}
		time.Sleep(100 * time.Millisecond)
		browse(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#state")))
	}
	if got := textOf(t, ctx, `tr[data-op="approve"]`); !strings.Contains(got, "console: alice-admin") {
		t.Errorf("approve row %q, want the admin's name", got)
	}
	if h.gainsightActive(first + "@corp.example") {
		t.Errorf("%s still active in gainsight after approval", first)
	}
	screenshot(t, ctx, "user-approved")

	// The rest from the plan page.
	browse(t, ctx, "approve all", chromedp.Click(chromedp.CSS(`nav a[href="/ui/plan"]`)), chromedp.WaitVisible(chromedp.CSS("#approve-all")),
		chromedp.Click(chromedp.CSS("#approve-all")), chromedp.WaitVisible(chromedp.CSS("#done")))
	h.waitSynced(15 * time.Second)
	for i := range 5 {
		if h.gainsightActive(fmt.Sprintf("leaver%d@corp.example", i)) {
			t.Errorf("leaver%d still active after approving all", i)
		}
	}
	browse(t, ctx, "reload the plan", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#held")))
	if got := textOf(t, ctx, "#held"); !strings.Contains(got, "No deactivation is held.") {
		t.Errorf("held after approving all: %q", got)
	}

	// Shadow mode: a new user and a change are planned, not sent.
	next := *h.bridge.Config()
	next.Sync.Mode = config.ModeShadow
	if _, err := h.bridge.Apply(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	before := writeCalls(h.sim.Stats())
	h.createUser(consoleUser("newbie", "newbie@corp.example", "Analyst"))
	h.waitPlanned(1, 15*time.Second)
	if w := writeCalls(h.sim.Stats()) - before; w != 0 {
		t.Errorf("shadow mode wrote %d calls", w)
	}
	browse(t, ctx, "the plan in shadow mode", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#plans")))
	if got := textOf(t, ctx, "#mode"); !strings.Contains(got, "Shadow") {
		t.Errorf("mode %q", got)
	}
	if got := textOf(t, ctx, "#count-create"); got != "1" {
		t.Errorf("planned creates %q", got)
	}
	row := textOf(t, ctx, "#plans")
	if !strings.Contains(row, "newbie") || !strings.Contains(row, "Title: — → Analyst") || strings.Contains(row, "newbie@corp.example") {
		t.Errorf("planned row %q: want the create with its title, the email hidden", row)
	}
	screenshot(t, ctx, "plan-shadow")
}
